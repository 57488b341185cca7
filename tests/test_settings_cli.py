"""config, key and model commands: what a user sees, and what lands on disk."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from chatpro.config import coerce, load_settings, parse_key
from chatpro.errors import ConfigError, InputError
from tests.conftest import SENTINEL_KEY


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_config_set_get_unset_round_trip(run_offline, home):
    assert run_offline("config", "set", "history.retention_days", "30").returncode == 0
    assert (
        run_offline("config", "set", "profile.skills", "Python, Technical writing").returncode == 0
    )
    assert (
        run_offline("config", "set", "models.gpt-3.5-turbo.monthly_messages", "500").returncode == 0
    )
    assert run_offline("config", "get", "history.retention_days").stdout == "30\n"
    got = run_offline("config", "get", "profile.skills", "--json")
    assert json.loads(got.stdout) == {
        "key": "profile.skills",
        "value": ["Python", "Technical writing"],
        "source": "file",
    }
    settings = load_settings(home / "config" / "config.toml")
    assert settings.retention_days == 30
    assert settings.models["gpt-3.5-turbo"]["monthly_messages"] == 500
    assert run_offline("config", "unset", "history.retention_days").returncode == 0
    assert run_offline("config", "get", "history.retention_days").stdout == "90\n"
    assert mode(home / "config" / "config.toml") == 0o600
    assert mode(home / "config") == 0o700


@pytest.mark.parametrize(
    "key,value,needle",
    [
        ("history.retention_days", "91", "between 1 and 90"),
        ("history.retention_days", "soon", "integer"),
        ("privacy.on_secret", "shout", "warn, redact, block"),
        ("api.timeout", "-1", "greater than 0"),
        ("no.such", "1", "unknown config key"),
    ],
)
def test_config_set_rejects_bad_values_and_changes_nothing(run_offline, home, key, value, needle):
    run_offline("config", "set", "api.timeout", "30")
    cfg = home / "config" / "config.toml"
    before = cfg.read_bytes()
    result = run_offline("config", "set", key, value)
    assert result.returncode == 2
    assert needle in result.stderr
    assert cfg.read_bytes() == before


def test_invalid_file_is_never_rewritten(run_offline, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("default_model = [\n")
    result = run_offline("config", "set", "api.timeout", "30")
    assert result.returncode == 4
    assert str(cfg) in result.stderr
    assert cfg.read_text() == "default_model = [\n"


def test_wrong_type_names_the_key(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[usage]\nwarn_at = [50, "x"]\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert "usage.warn_at" in err.value.message
    assert str(cfg) in err.value.message


def test_unknown_keys_are_a_warning(run_offline, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("colour = 'blue'\n[api]\nspeed = 3\n")
    result = run_offline("config", "get", "api.timeout")
    assert result.returncode == 0
    assert "warning" in result.stderr and "colour" in result.stderr and "api.speed" in result.stderr


def test_keys_with_dotted_model_names():
    key = parse_key("models.gpt-3.5-turbo.fallback")
    assert key.parts == ("models", "gpt-3.5-turbo", "fallback")
    assert parse_key('models."gpt-3.5-turbo".fallback').parts == key.parts
    with pytest.raises(InputError):
        coerce(parse_key("models.x.colour"), "1")


def test_config_path_lists_every_file(run_offline, home):
    data = json.loads(run_offline("config", "path", "--json").stdout)
    assert data["config"] == str(home / "config" / "config.toml")
    assert data["chats"] == str(home / "data" / "chats.jsonl")
    assert {"credentials", "ledger", "templates", "data_dir", "config_dir"} <= set(data)


def test_key_set_from_stdin_is_stored_0600_and_shown_masked(run_offline, home):
    result = run_offline(
        "key", "set", input="sk-abcdefghijklmnop1234\n", env={"OPENAI_API_KEY": ""}
    )
    assert result.returncode == 0, result.stderr
    cred = home / "config" / "credentials"
    assert mode(cred) == 0o600
    assert mode(cred.parent) == 0o700
    shown = run_offline("key", "show", env={"OPENAI_API_KEY": ""})
    assert shown.stdout.startswith("sk-…1234")
    assert "abcdefghijklmnop" not in shown.stdout + shown.stderr
    assert "file" in shown.stdout
    data = json.loads(run_offline("key", "show", "--json").stdout)
    assert data["source"] == "env"  # the environment wins over the file
    assert SENTINEL_KEY not in json.dumps(data)
    assert run_offline("key", "remove").returncode == 0
    assert not cred.exists()
    assert run_offline("key", "show", env={"OPENAI_API_KEY": ""}).returncode == 4


def test_key_set_refuses_an_empty_line(run_offline, home):
    result = run_offline("key", "set", input="\n")
    assert result.returncode == 2
    assert not (home / "config" / "credentials").exists()


def test_stored_key_is_used_when_env_is_unset(run, server, home):
    run("key", "set", input="sk-stored-key-0000111122223333\n")
    result = run("ask", "hi", env={"OPENAI_API_KEY": ""})
    assert result.returncode == 0, result.stderr
    assert server.requests[-1].headers["authorization"] == "Bearer sk-stored-key-0000111122223333"


def test_model_list_and_set(run_offline, home):
    listing = json.loads(run_offline("model", "list", "--json").stdout)
    by_name = {m["name"]: m for m in listing}
    assert by_name["gpt-4o"]["default"] is True
    assert by_name["gpt-4o"]["files"] is True
    assert by_name["gpt-4o"]["context_window"] == 128_000
    assert by_name["gpt-3.5-turbo"]["context_window"] == 16_385
    assert by_name["gpt-3.5-turbo"]["aliases"] == ["fast"]
    assert by_name["gpt-4o"]["allowance"] == 300
    assert run_offline("model", "set", "fast").returncode == 0
    assert json.loads(run_offline("model", "--json").stdout)["model"] == "gpt-3.5-turbo"
    text = run_offline("model").stdout
    assert "gpt-3.5-turbo" in text and "1000" in text


def test_model_set_unknown_suggests(run_offline, home):
    result = run_offline("model", "set", "gtp-4o")
    assert result.returncode == 2
    assert "gpt-4o" in result.stderr
    assert not (home / "config" / "config.toml").exists()


def test_config_adds_a_model(run_offline, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[models."llama3.1"]\ncontext_window = 131072\nmonthly_messages = 0\n')
    listing = {m["name"]: m for m in json.loads(run_offline("model", "list", "--json").stdout)}
    assert listing["llama3.1"]["context_window"] == 131072
    assert listing["llama3.1"]["allowance"] == 0


HEAVY = ("openai", "tiktoken", "pypdf", "pptx")


@pytest.mark.parametrize(
    "args",
    [["--help"], ["model", "list"], ["config", "show"], ["usage"], ["history"], ["ask", "--help"]],
)
def test_fast_commands_import_nothing_heavy(run_offline, args):
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['chatpro', *{args!r}]\n"
        "try:\n    runpy.run_module('chatpro', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}), file=sys.stderr)\n"
    )
    env = run_offline.environment()
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr


def test_a_bug_is_exit_1_with_one_line_and_a_debug_hint(monkeypatch, capsys):
    """The mapping of unexpected exceptions: exit 1, one line, the key scrubbed, no traceback."""
    import chatpro.app
    from chatpro.cli.main import main

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom near {SENTINEL_KEY}")

    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL_KEY)
    monkeypatch.setattr(chatpro.app, "build_catalog", broken)
    assert main(["model", "list"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith("chatpro: error: internal error: RuntimeError")
    assert "--debug" in err
    assert "Traceback" not in err
    assert SENTINEL_KEY not in err
    assert main(["model", "list"], debug=True) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert SENTINEL_KEY not in err

"""config, key and model commands: what a user sees, and what lands on disk."""

from __future__ import annotations

import json
import os
import stat
import sys
from decimal import Decimal

import pytest

from chatpro.config import coerce, load_settings, parse_key
from chatpro.errors import ConfigError, InputError
from chatpro.models import build_catalog
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
    import chatpro.models
    from chatpro.cli.main import main

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom near {SENTINEL_KEY}")

    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL_KEY)
    monkeypatch.setattr(chatpro.models, "build_catalog", broken)  # the App imports it on use
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


# --- in-process: config show/get/set against the real command tree --------------------------


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `chatpro ARGS` in this process (CHATPRO_HOME is the test's own), env vars as given."""
    from chatpro.cli.main import main

    def call(*args: str, env: dict[str, str] | None = None) -> Result:
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


COMMENTED = """\
# my settings: hand-written
default_model = "gpt-4o"   # the good one

[api]
# a slow proxy
timeout = 20.5   # seconds
max_retries = 3
"""


def write_config(home, text: str):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    return cfg


def test_config_set_keeps_comments_and_writes_integers_as_typed(cli, home):
    cfg = write_config(home, COMMENTED)
    assert cli("config", "set", "api.timeout", "30").returncode == 0
    assert cfg.read_text() == COMMENTED.replace("timeout = 20.5", "timeout = 30")
    assert cli("config", "set", "models.gpt-4o.input_per_mtok", "2.50").returncode == 0
    text = cfg.read_text()
    assert text.startswith(COMMENTED.replace("timeout = 20.5", "timeout = 30"))
    assert "input_per_mtok = 2.50\n" in text
    assert load_settings(cfg).models["gpt-4o"]["input_per_mtok"] == Decimal("2.50")
    assert cli("config", "unset", "api.max_retries").returncode == 0
    assert "max_retries" not in cfg.read_text()
    assert "# a slow proxy" in cfg.read_text()
    assert mode(cfg) == 0o600


def test_config_show_and_get_print_effective_values_with_their_source(cli, home):
    write_config(home, '[api]\nbase_url = "https://proxy.example/v1"\ntimeout = 30\n')
    env = {"OPENAI_BASE_URL": "http://localhost:9/v1", "CHATPRO_MODEL": "fast"}
    assert cli("config", "get", "api.base_url", env=env).stdout == "http://localhost:9/v1\n"
    assert cli("config", "get", "default_model", env=env).stdout == "fast\n"
    got = json.loads(cli("config", "get", "api.base_url", "--json", env=env).stdout)
    assert got == {
        "key": "api.base_url",
        "value": "http://localhost:9/v1",
        "source": "env",
        "env": "OPENAI_BASE_URL",
    }
    assert cli("config", "get", "api.base_url", "--source").stdout == (
        "https://proxy.example/v1  # file\n"
    )
    shown = cli("config", "show", "--source", env=env).stdout
    assert 'base_url = "http://localhost:9/v1"  # env (OPENAI_BASE_URL)' in shown
    assert "timeout = 30  # file" in shown
    assert "max_retries = 2  # default" in shown
    assert 'fast = "gpt-3.5-turbo"  # default' in shown
    data = json.loads(cli("config", "show", "--json", env=env).stdout)
    assert data["default_model"] == {"value": "fast", "source": "env", "env": "CHATPRO_MODEL"}
    assert data["api"]["timeout"] == {"value": 30.0, "source": "file"}
    assert data["history"]["retention_days"] == {"value": 90, "source": "default"}
    assert data["money"]["currency"] == {"value": "USD", "source": "default"}


def test_config_get_a_built_in_models_figures(cli, home):
    assert cli("config", "get", "models.gpt-4.1.context_window").stdout == "1047576\n"
    got = json.loads(cli("config", "get", "models.gpt-4o-mini.input_per_mtok", "--json").stdout)
    assert got == {"key": "models.gpt-4o-mini.input_per_mtok", "value": "0.15", "source": "default"}


@pytest.mark.parametrize(
    "key,value,needle",
    [
        ("aliases.quick", "gpt-4o-mimi", "unknown model 'gpt-4o-mimi'"),
        ("default_model", "nonsense", "unknown model 'nonsense'"),
        ("models.gpt-4o.fallback", "gpt-5-turbo", "unknown model 'gpt-5-turbo'"),
        ("aliases.fast", "powerful2", "unknown model 'powerful2'"),
    ],
)
def test_config_set_refuses_a_reference_to_an_unknown_model(cli, home, key, value, needle):
    cfg = write_config(home, COMMENTED)
    result = cli("config", "set", key, value)
    assert result.returncode == 2
    assert needle in result.stderr
    assert cfg.read_text() == COMMENTED


@pytest.mark.parametrize(
    "key,value",
    [
        ("aliases.fast", "gpt-4o-mini"),  # built in
        ("aliases.local", "llama3.1"),  # declared in the file
        ("aliases.quick", "fast"),  # an alias of an alias
        ("default_model", "llama3.1"),
        ("models.gpt-4o.fallback", "gpt-4.1-nano"),
    ],
)
def test_config_set_accepts_a_known_model_and_it_resolves(cli, home, key, value):
    write_config(home, '[models."llama3.1"]\ncontext_window = 131072\n')
    assert cli("config", "set", key, value).returncode == 0
    settings = load_settings(home / "config" / "config.toml")
    catalog = build_catalog(settings)
    name = key.split(".")[-1] if key.startswith("aliases.") else None
    if name:
        assert catalog.resolve(name).name == catalog.resolve(value).name
    listing = cli("model", "list", "--json")
    assert listing.returncode == 0, listing.stderr


def test_an_alias_cycle_in_the_file_is_exit_4_naming_it_and_unset_repairs_it(cli, home):
    cfg = write_config(home, '[aliases]\npowerful = "fast"\nfast = "powerful"\n')
    result = cli("model", "list")
    assert result.returncode == 4
    assert str(cfg) in result.stderr
    assert "alias cycle" in result.stderr and "powerful" in result.stderr
    assert "did you mean" not in result.stderr
    assert cli("config", "unset", "aliases.fast").returncode == 0
    assert cli("model", "list").returncode == 0


def test_config_set_refuses_to_make_an_alias_cycle(cli, home):
    assert cli("config", "set", "aliases.a", "fast").returncode == 0
    before = (home / "config" / "config.toml").read_text()
    result = cli("config", "set", "aliases.fast", "a")
    assert result.returncode == 2
    assert "alias cycle: fast → a → fast" in result.stderr
    assert (home / "config" / "config.toml").read_text() == before


def test_an_alias_naming_an_unknown_model_says_so(cli, home):
    write_config(home, '[aliases]\nquick = "gpt-9"\n')
    result = cli("model", "set", "quick")
    assert result.returncode == 2
    assert "alias 'quick' names unknown model 'gpt-9'" in result.stderr
    assert "did you mean" not in result.stderr


@pytest.mark.parametrize("number", ["nan", "inf", "-inf", "1e400"])
def test_timeout_must_be_a_finite_number(cli, home, number):
    cfg = write_config(home, f"[api]\ntimeout = {number}\n")
    result = cli("config", "show")
    assert result.returncode == 4
    assert "api.timeout" in result.stderr and str(cfg) in result.stderr
    cfg.unlink()
    result = cli("config", "set", "api.timeout", number)
    assert result.returncode == 2
    assert "api.timeout" in result.stderr
    assert not cfg.exists()


@pytest.mark.parametrize(
    "text,key",
    [
        ('[models."gpt-4o"]\ninput_per_mtok = -1\n', "input_per_mtok"),
        ('[models."gpt-4o"]\noutput_per_mtok = "cheap"\n', "output_per_mtok"),
        ("[money]\nmonthly_budget = -5\n", "money.monthly_budget"),
        ('[money]\ncurrency = "dollars"\n', "money.currency"),
    ],
)
def test_a_bad_price_or_budget_is_exit_4_naming_the_key(cli, home, text, key):
    cfg = write_config(home, text)
    result = cli("model", "list")
    assert result.returncode == 4
    assert key in result.stderr and str(cfg) in result.stderr


def test_model_list_shows_prices_and_the_date_read(cli, home):
    write_config(home, '[models."gpt-4o"]\ninput_per_mtok = 2.75\n[models.local]\nfiles = true\n')
    rows = {m["name"]: m for m in json.loads(cli("model", "list", "--json").stdout)}
    assert rows["gpt-4o-mini"]["input_per_mtok"] == "0.15"
    assert rows["gpt-4o-mini"]["output_per_mtok"] == "0.60"
    assert rows["gpt-4o-mini"]["prices_read"] == "2026-11-01"
    assert rows["gpt-4o-mini"]["allowance"] == 0
    assert rows["gpt-4.1-nano"]["context_window"] == 1_047_576
    assert rows["gpt-4o"]["input_per_mtok"] == "2.75"
    assert rows["gpt-4o"]["output_per_mtok"] == "10.00"
    assert rows["gpt-4o"]["prices_read"] is None  # configured, not the published price
    assert rows["local"]["input_per_mtok"] is None
    assert rows["local"]["currency"] == "USD"
    table = cli("model", "list").stdout
    assert "0.15/0.60" in table and "2026-11-01" in table


def test_a_loose_credentials_file_is_set_to_0600_with_a_notice(cli, home):
    cred = home / "config" / "credentials"
    cred.parent.mkdir(parents=True)
    cred.write_text("sk-stored-key-0000111122223333\n")
    os.chmod(cred, 0o644)
    result = cli("key", "show")
    assert result.returncode == 0
    assert mode(cred) == 0o600
    assert "0644" in result.stderr and "0600" in result.stderr
    assert cli("key", "show").stderr == ""  # once fixed, nothing more to say

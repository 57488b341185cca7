"""Shell completion: the committed scripts match the code, and candidates come from live data."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from chatpro.cli.completion import SHELLS, completion_source
from tests.conftest import REPO, Runner


@pytest.fixture
def run_offline(home: Path) -> Runner:
    """Completion is Click's standalone mode driven by environment variables: a real process."""
    return Runner(home, None)


def complete(run_offline, words: str, shell: str = "bash") -> list[str]:
    """Ask chatpro for completions the way the generated script does; return the values."""
    cword = len(words.split(" ")) - 1
    result = run_offline(
        env={
            "_CHATPRO_COMPLETE": f"{shell}_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    if shell == "bash":
        return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]
    lines = result.stdout.splitlines()
    return [lines[i + 1] for i in range(0, len(lines), 3)]  # zsh: type, value, help


def write_chat(home: Path, chat_id: str, content: str, ts: str) -> None:
    data = home / "data"
    data.mkdir(parents=True, exist_ok=True)
    record = {
        "v": 1,
        "id": f"m_{chat_id}",
        "chat_id": chat_id,
        "ts": ts,
        "role": "user",
        "model": "gpt-4o",
        "content": content,
        "attachments": [],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "units": 1},
    }
    with open(data / "chats.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_scripts_are_current(shell):
    committed = (REPO / "completions" / f"chatpro.{shell}").read_text(encoding="utf-8")
    assert committed.rstrip("\n") == completion_source(shell).rstrip("\n"), (
        f"completions/chatpro.{shell} is stale: run python scripts/gen_docs.py"
    )


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_command_prints_the_committed_script(run_offline, shell):
    result = run_offline("completion", shell)
    assert result.returncode == 0
    committed = (REPO / "completions" / f"chatpro.{shell}").read_text(encoding="utf-8")
    assert result.stdout.rstrip("\n") == committed.rstrip("\n")


def test_unknown_shell_is_bad_usage(run_offline):
    result = run_offline("completion", "tcsh")
    assert result.returncode == 2
    assert result.stdout == ""


def test_every_command_completes(run_offline):
    from chatpro.cli.main import COMMANDS

    missing = [n for n, (mod, _, _) in COMMANDS.items() if importlib.util.find_spec(mod) is None]
    if missing:
        pytest.skip(f"not implemented yet: {', '.join(missing)}")
    assert set(complete(run_offline, "chatpro ")) == set(COMMANDS)


def test_subcommands_and_options_complete(run_offline):
    assert set(complete(run_offline, "chatpro u")) == {"upload", "usage"}
    assert {"show", "search", "prune"} <= set(complete(run_offline, "chatpro history "))
    assert "--no-fallback" in complete(run_offline, "chatpro ask --no")


def test_models_and_aliases_complete_after_model_option(run_offline):
    got = complete(run_offline, "chatpro ask -m ")
    assert {"gpt-4o", "gpt-3.5-turbo", "powerful", "fast"} <= set(got)
    assert complete(run_offline, "chatpro ask --model gpt-3") == ["gpt-3.5-turbo"]
    assert "powerful" in complete(run_offline, "chatpro upload -m ")


def test_models_from_config_complete_everywhere_a_model_is_named(run_offline, home):
    config = home / "config"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(
        '[aliases]\nlocal = "llama3.1"\n[models."llama3.1"]\ncontext_window = 131072\n'
    )
    for words in ("chatpro ask -m ", "chatpro model set ", "chatpro usage "):
        got = set(complete(run_offline, words))
        assert {"llama3.1", "local", "gpt-4o", "fast"} <= got, words


def test_a_broken_config_still_completes_built_in_models(run_offline, home):
    config = home / "config"
    config.mkdir(parents=True)
    (config / "config.toml").write_text("this is = = not toml")
    assert {"gpt-4o", "fast"} <= set(complete(run_offline, "chatpro ask -m "))


def test_templates_complete_after_template_option(run_offline, home):
    templates = home / "config" / "templates"
    templates.mkdir(parents=True)
    (templates / "invoice.toml").write_text(
        'description = "Chase an invoice"\nprompt = "{input}"\n'
    )
    got = complete(run_offline, "chatpro ask -t ")
    assert {"proposal", "client-reply", "summarize", "code-review", "estimate", "rewrite"} <= set(
        got
    )
    assert "invoice" in got
    assert complete(run_offline, "chatpro upload --template pro") == ["proposal"]
    assert "invoice" in complete(run_offline, "chatpro templates show ")


def test_template_help_text_reaches_zsh(run_offline):
    result = run_offline(
        env={
            "_CHATPRO_COMPLETE": "zsh_complete",
            "COMP_WORDS": "chatpro ask -t prop",
            "COMP_CWORD": "3",
        }
    )
    assert result.stdout.splitlines()[1] == "proposal"
    assert "proposal" in result.stdout.splitlines()[2].lower()


def test_chat_ids_complete_after_history_show(run_offline, home):
    write_chat(home, "c_older0001", "Write a proposal", "2026-11-20T10:00:00+00:00")
    write_chat(home, "c_newer0002", "Chase the invoice", "2026-11-24T10:00:00+00:00")
    env = {"CHATPRO_NOW": "2026-11-25T12:00:00+00:00"}
    run_offline.env.update(env)
    got = complete(run_offline, "chatpro history show ")
    assert set(got) == {"c_older0001", "c_newer0002"}
    assert complete(run_offline, "chatpro history show c_new") == ["c_newer0002"]
    assert set(complete(run_offline, "chatpro history delete ")) == set(got)
    assert set(complete(run_offline, "chatpro history export ")) == set(got)
    assert set(complete(run_offline, "chatpro ask --chat ")) == set(got)


def test_no_chat_log_means_no_chat_ids(run_offline):
    assert complete(run_offline, "chatpro history show ") == []

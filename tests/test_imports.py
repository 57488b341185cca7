"""Fast start (issue 15): what a command imports before it prints.

Each case runs chatpro in a fresh process and lists the heavy modules it loaded. The table
commands run over a real chat and ledger (an `ask` first), so their reading paths are taken.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# never on a table command: the model's client, tokenizer, document readers, schema checks and
# config writing are for other commands; pathlib and platformdirs cost 3 and 5 ms of start-up
TABLE_HEAVY = ("openai", "tiktoken", "pypdf", "pptx", "jsonschema", "tomlkit", "pathlib")
TABLE_HEAVY += ("platformdirs",)
# never on a plain `ask hi`: tiktoken is skipped for a short prompt; no file, no schema, no table
ASK_HEAVY = ("tiktoken", "pypdf", "pptx", "jsonschema", "tomlkit", "tabulate")


def loaded(runner, args: list[str], heavy: tuple[str, ...]) -> list[str]:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['chatpro', *{args!r}]\n"
        "try:\n    runpy.run_module('chatpro', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        f"heavy = {heavy!r}\n"
        "print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)),"
        " file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=runner.environment(),
        stdin=subprocess.DEVNULL,
        cwd=runner.home.parent,
    )
    assert proc.returncode == 0, proc.stderr
    return eval(proc.stderr.strip().splitlines()[-1])  # our own repr of a list


@pytest.mark.parametrize(
    "args",
    [["model", "list"], ["usage"], ["history"], ["history", "search", "hello"]],
)
def test_table_commands_import_nothing_heavy(run_process, args):
    assert run_process("ask", "hello there").returncode == 0  # a chat and a charge to read
    assert loaded(run_process, args, TABLE_HEAVY) == []


def test_table_commands_find_the_xdg_dirs_without_platformdirs(run_process, tmp_path):
    run_process.env = {"CHATPRO_HOME": None, "XDG_DATA_HOME": str(tmp_path / "data")}
    assert run_process("ask", "hello there").returncode == 0
    assert (tmp_path / "data" / "chatpro" / "chats.jsonl").is_file()
    assert loaded(run_process, ["history"], TABLE_HEAVY) == []
    assert loaded(run_process, ["usage"], TABLE_HEAVY) == []


def test_a_plain_ask_loads_only_the_client(run_process):
    assert loaded(run_process, ["ask", "hi"], ASK_HEAVY) == []
    # and the answer really came through the SDK
    assert "openai" in loaded(run_process, ["ask", "hi"], ("openai",))


def test_help_builds_no_settings(run_process):
    """`--help` prints without the settings schema, the model catalog or exact money, and
    without the paths, JSON or dataclasses that only a command's work needs."""
    wanted = ("chatpro.config", "chatpro.settings_schema", "chatpro.models", "decimal")
    wanted += ("chatpro.paths", "pathlib", "json", "dataclasses")
    assert loaded(run_process, ["--help"], wanted) == []


def test_table_commands_load_only_the_chat_log_parts_they_read(run_process):
    assert run_process("ask", "hello there").returncode == 0
    # the usage table reads the log's blocks, not the store, its queries or its search
    store = ("chatpro.chatlog.store", "chatpro.chatlog.queries", "chatpro.chatlog.search")
    assert loaded(run_process, ["usage"], store) == []
    # listing chats needs neither search nor the per-client totals
    rest = ("chatpro.chatlog.search", "chatpro.chatlog.totals")
    assert loaded(run_process, ["history"], rest) == []

"""Clients and money end to end: tags from --client, CHATPRO_CLIENT and .chatpro.toml, kept
through continued chats, and the cost of every request in --json and on the log."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from chatpro.money import money_from_json
from tests.fakeserver import Behaviour


def log(home: Path) -> list[dict]:
    path = home / "data" / "chats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def ask(run, *args: str, **kwargs) -> dict:
    result = run("ask", "--json", *args, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_client_flag_tags_the_log_and_the_answer(run, server, home):
    data = ask(run, "--client", "Acme Corp", "Draft the proposal")
    assert data["client"] == "Acme Corp"
    assert {r.get("client") for r in log(home)} == {"Acme Corp"}


def test_a_continued_chat_keeps_its_client(run, server, home):
    ask(run, "--client", "acme", "Draft the proposal")
    follow = ask(run, "-c", "Shorter", env={"CHATPRO_CLIENT": "globex"})
    assert follow["client"] == "acme"
    # an explicit --client wins over the chat's own
    switched = ask(run, "-c", "--client", "globex", "Now for Globex")
    assert switched["client"] == "globex"


def test_chatpro_toml_is_found_from_the_working_directory(run_process, server, home):
    project = home.parent / "acme-project"
    (project / "deep" / "er").mkdir(parents=True)
    (project / ".chatpro.toml").write_text('client = "acme"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "chatpro", "ask", "--json", "hello"],
        capture_output=True,
        text=True,
        env=run_process.environment(),
        cwd=project / "deep" / "er",
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["client"] == "acme"
    # CHATPRO_CLIENT comes before the file
    proc = subprocess.run(
        [sys.executable, "-m", "chatpro", "ask", "--json", "hello"],
        capture_output=True,
        text=True,
        env={**run_process.environment(), "CHATPRO_CLIENT": "globex"},
        cwd=project / "deep",
        timeout=60,
    )
    assert json.loads(proc.stdout)["client"] == "globex"


def test_an_unreadable_chatpro_toml_is_exit_4_naming_it(run, server, home):
    bad = home.parent / ".chatpro.toml"
    bad.write_text("client = \n")
    result = run("ask", "hello")
    assert result.returncode == 4
    assert ".chatpro.toml" in result.stderr
    assert server.requests == []


@pytest.mark.parametrize("name", ["", "a" * 65, "acme/evil", "tab\there"])
def test_bad_client_names_are_exit_2_and_send_nothing(run, server, home, name):
    result = run("ask", "--client", name, "hello")
    assert result.returncode == 2
    assert result.stderr.startswith("chatpro: error:")
    assert server.requests == []
    assert not (home / "data" / "chats.jsonl").exists()


def test_client_command_in_chat(run, server, home):
    result = run("chat", input="/client Initech\nhello\n/client\n")
    assert result.returncode == 0, result.stderr
    assert "client: Initech" in result.stderr
    assert {r.get("client") for r in log(home)} == {"Initech"}


def test_the_cost_is_exact_and_on_the_user_line(run, server, home):
    server.queue(Behaviour(prompt_tokens=1234, text="x" * 400))  # 100 completion tokens
    data = ask(run, "-m", "gpt-4o", "price this")
    # gpt-4o: 2.50 per million in, 10.00 per million out
    expected = Decimal(1234) * Decimal("2.50") / 10**6 + Decimal(100) * Decimal("10.00") / 10**6
    assert money_from_json(data["usage"]["cost"]) == expected
    user = next(r for r in log(home) if r["role"] == "user")
    assert money_from_json(user["cost"]) == expected
    assistant = next(r for r in log(home) if r["role"] == "assistant")
    assert "cost" not in assistant


def test_a_model_without_a_price_has_no_cost(run, server, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[models."llama3.1"]\ncontext_window = 8192\n')
    data = ask(run, "-m", "llama3.1", "hello")
    assert data["usage"]["cost"] is None

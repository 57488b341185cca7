"""`chatpro history` as a user runs it: real processes over a real chats.jsonl."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from chatpro.chatlog import make_record

NOW = "2026-11-25T12:00:00+00:00"


def write_log(home: Path, records: list[dict]) -> Path:
    path = home / "data" / "chats.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def chat(chat_id: str, when: str, prompt: str, answer: str, model: str = "gpt-4o") -> list[dict]:
    from datetime import datetime

    ts = datetime.fromisoformat(when)
    return [
        make_record(chat_id=chat_id, role="user", model=model, content=prompt, ts=ts),
        make_record(chat_id=chat_id, role="assistant", model=model, content=answer, ts=ts),
    ]


@pytest.fixture
def log(home: Path) -> Path:
    return write_log(
        home,
        chat(
            "c_aaaa11112222",
            "2026-11-20T09:00:00+00:00",
            "Draft an invoice reminder\nfor ACME",
            "Dear ACME, ...",
        )
        + chat(
            "c_bbbb33334444",
            "2026-11-24T09:00:00+00:00",
            "Estimate the Shopify job",
            "About 12 days.",
            "gpt-3.5-turbo",
        )
        + chat(
            "c_cccc55556666", "2026-08-20T09:00:00+00:00", "Old question", "Old answer"
        ),  # 97 days old
    )


def test_list_newest_first_without_expired_chats(run_offline, log):
    result = run_offline("history", "--json", env={"CHATPRO_NOW": NOW})
    assert result.returncode == 0, result.stderr
    chats = json.loads(result.stdout)
    assert [c["chat_id"] for c in chats] == ["c_bbbb33334444", "c_aaaa11112222"]
    first = chats[1]
    assert first["title"] == "Draft an invoice reminder"
    assert first["messages"] == 2
    assert first["model"] == "gpt-4o"
    assert first["expires_in_days"] == 85
    text = run_offline("history", "list", env={"CHATPRO_NOW": NOW}).stdout
    assert text.index("c_bbbb33334444") < text.index("c_aaaa11112222")
    assert "Old question" not in text
    assert (
        run_offline("history", "--limit", "1", "--json", env={"CHATPRO_NOW": NOW}).stdout.count(
            "chat_id"
        )
        == 1
    )


def test_show_by_prefix_text_and_json(run_offline, log):
    result = run_offline("history", "show", "c_aaaa", env={"CHATPRO_NOW": NOW})
    assert result.returncode == 0, result.stderr
    assert "Draft an invoice reminder" in result.stdout and "Dear ACME" in result.stdout
    data = json.loads(
        run_offline("history", "show", "c_aaaa", "--json", env={"CHATPRO_NOW": NOW}).stdout
    )
    assert data["chat_id"] == "c_aaaa11112222"
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]


@pytest.mark.parametrize(
    "ident,needle", [("c_zzzz", "unknown"), ("c_", "ambiguous"), ("c_cccc", "unknown")]
)
def test_unknown_ambiguous_or_expired_ids_are_exit_2(run_offline, log, ident, needle):
    result = run_offline("history", "show", ident, env={"CHATPRO_NOW": NOW})
    assert result.returncode == 2
    assert needle in result.stderr


def test_search_is_case_insensitive_with_snippets(run_offline, log):
    result = run_offline("history", "search", "SHOPIFY", "--json", env={"CHATPRO_NOW": NOW})
    hits = json.loads(result.stdout)
    assert [h["chat_id"] for h in hits] == ["c_bbbb33334444"]
    assert hits[0]["role"] == "user" and "Shopify" in hits[0]["snippet"]
    assert (
        run_offline(
            "history", "search", "old answer", "--json", env={"CHATPRO_NOW": NOW}
        ).stdout.strip()
        == "[]"
    )


@pytest.mark.parametrize("fmt", ["jsonl", "json", "md"])
def test_export_formats(run_offline, log, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    result = run_offline(
        "history", "export", "c_aaaa", "--format", fmt, "-o", str(out), env={"CHATPRO_NOW": NOW}
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "Dear ACME" in text and "Shopify" not in text
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    if fmt == "jsonl":
        assert [json.loads(line)["role"] for line in text.splitlines()] == ["user", "assistant"]
    elif fmt == "json":
        assert json.loads(text)[0]["chat_id"] == "c_aaaa11112222"
    else:
        assert text.startswith("# ")


def test_export_all_to_stdout_skips_expired(run_offline, log):
    lines = run_offline("history", "export", env={"CHATPRO_NOW": NOW}).stdout.splitlines()
    assert len(lines) == 4
    assert all(json.loads(line)["chat_id"] != "c_cccc55556666" for line in lines)


def test_delete_needs_yes_without_a_terminal(run_offline, log):
    before = log.read_bytes()
    refused = run_offline("history", "delete", "c_aaaa", env={"CHATPRO_NOW": NOW})
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert log.read_bytes() == before
    assert (
        run_offline("history", "delete", "c_aaaa", "--yes", env={"CHATPRO_NOW": NOW}).returncode
        == 0
    )
    ids = {json.loads(line)["chat_id"] for line in log.read_text().splitlines()}
    assert "c_aaaa11112222" not in ids and "c_bbbb33334444" in ids
    assert run_offline("history", "clear", env={"CHATPRO_NOW": NOW}).returncode == 2
    assert run_offline("history", "clear", "--yes", env={"CHATPRO_NOW": NOW}).returncode == 0
    assert run_offline("history", "--json", env={"CHATPRO_NOW": NOW}).stdout.strip() == "[]"


def test_prune_removes_expired_lines_from_the_file(run_offline, log):
    assert "Old question" in log.read_text()
    result = run_offline("history", "prune", env={"CHATPRO_NOW": NOW})
    assert result.returncode == 0
    assert "Old question" not in log.read_text()
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert len(log.read_text().splitlines()) == 4


def test_retention_days_from_config(run_offline, log, home):
    run_offline("config", "set", "history.retention_days", "3")
    chats = json.loads(run_offline("history", "--json", env={"CHATPRO_NOW": NOW}).stdout)
    assert [c["chat_id"] for c in chats] == ["c_bbbb33334444"]


def test_a_torn_line_is_skipped_with_a_warning(run_offline, log):
    with log.open("a") as fh:
        fh.write('{"v": 1, "id": "m_torn", "chat_id": "c_dd')
    result = run_offline("history", "--json", env={"CHATPRO_NOW": NOW})
    assert result.returncode == 0
    assert len(json.loads(result.stdout)) == 2
    assert "warning" in result.stderr


def test_ask_continues_a_chat_by_prefix_with_context(run, server, home):
    write_log(
        home, chat("c_eeee77778888", "2026-11-25T11:00:00+00:00", "Remember BLUEBIRD", "Noted.")
    )
    result = run("ask", "--chat", "c_eeee", "What did I say?", env={"CHATPRO_NOW": NOW})
    assert result.returncode == 0, result.stderr
    contents = [m["content"] for m in server.requests[-1].messages]
    assert contents[:2] == ["Remember BLUEBIRD", "Noted."]
    assert run("ask", "--chat", "c_nope", "x", env={"CHATPRO_NOW": NOW}).returncode == 2
    notice = run("ask", "-c", "x", env={"CHATPRO_HOME": str(home.parent / "other")})
    assert "new" in notice.stderr


def test_no_log_leaves_the_log_alone(run, server, home):
    assert run("ask", "--no-log", "secret plans").returncode == 0
    assert (
        not (home / "data" / "chats.jsonl").exists()
        or "secret plans" not in (home / "data" / "chats.jsonl").read_text()
    )

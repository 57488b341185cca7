"""Hand-edited, hostile or huge chats.jsonl lines: every history command keeps working.

SPEC "Robustness against servers, logs and terminals": a line of any shape is skipped with a
warning, reading stays linear and bounded in memory, unpaired surrogates come out as U+FFFD.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from chatpro.chatlog import blocks
from tests.chatlog_support import lines_of, make_log, rec, write_raw
from tests.test_history_cli import NOW, chat, write_log

HOSTILE = [
    b"[" * 100_000,  # RecursionError in json.loads
    b'{"v": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"v": 1, "id": "m_1", "chat_id": "c_bad", "ts": 1e400, "role": "user", "content": "x"}',
    b'{"v": 1, "usage": {"units": ' + b"9" * 400 + b"}}",
    b'{"v": 1, "id": "m_\xff\xfe", "content": "\x00"}',
    b'{"v": 1, "id": "m_2", "chat_id": "c_x", "ts": NaN}',
    b"\x00" * 1000,
]


@pytest.fixture
def hostile_log(home: Path) -> Path:
    path = write_log(home, chat("c_aaaa11112222", "2026-11-20T09:00:00+00:00", "Invoice", "Sure"))
    with path.open("ab") as fh:
        fh.write(b"\n".join(HOSTILE) + b"\n")
    write_log(home, chat("c_bbbb33334444", "2026-11-24T09:00:00+00:00", "Estimate", "12 days"))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("history",),
        ("history", "list", "--all"),
        ("history", "--json"),
        ("history", "show", "c_aaaa"),
        ("history", "search", "estimate"),
        ("history", "export"),
        ("history", "export", "c_bbbb", "--format", "md"),
    ],
)
def test_hostile_lines_are_skipped_with_a_warning(run_offline, hostile_log, args):
    result = run_offline(*args, env={"CHATPRO_NOW": NOW})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if args[:2] in {("history",), ("history", "list"), ("history", "--json")}:
        assert "c_aaaa11112222" in result.stdout and "c_bbbb33334444" in result.stdout
        assert "skipped 7 unreadable lines" in result.stderr  # SPEC: readers warn


def test_list_warns_about_one_invalid_line_in_the_middle(run_offline, home):
    path = write_log(home, chat("c_aaaa11112222", "2026-11-20T09:00:00+00:00", "A", "B"))
    with path.open("a") as fh:
        fh.write("this is not json\n")
    write_log(home, chat("c_bbbb33334444", "2026-11-24T09:00:00+00:00", "C", "D"))
    result = run_offline("history", env={"CHATPRO_NOW": NOW})
    assert result.returncode == 0
    assert "skipped 1 unreadable line" in result.stderr


def test_prune_and_prune_on_append_survive_hostile_lines(tmp_path):
    from datetime import timedelta

    path = tmp_path / "chats.jsonl"
    write_raw(path, [rec("c_000000000001", "old", age=timedelta(days=200))])
    with path.open("ab") as fh:
        fh.write(b"\n".join(HOSTILE) + b"\n")
    write_raw(path, [rec("c_000000000002", "kept")])
    log, warnings = make_log(path)
    log.append([rec("c_000000000003", "new")])  # the daily prune runs first
    assert [r["content"] for r in log.iter_records()] == ["kept", "new"]
    assert len(lines_of(path)) == 2
    assert any("removed 7 unreadable lines" in w for w in warnings)


def test_unpaired_surrogates_come_out_as_replacement_characters(run_offline, home):
    records = chat("c_aaaa11112222", "2026-11-20T09:00:00+00:00", "lone \ud800 here", "ok \udfff")
    path = home / "data" / "chats.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))  # json escapes them: \\ud800
    for args in (
        ("history", "show", "c_aaaa"),
        ("history", "show", "c_aaaa", "--json"),
        ("history", "search", "lone"),
        ("history", "export"),
        ("history", "export", "--format", "md"),
        ("history", "export", "--format", "json"),
    ):
        result = run_offline(*args, env={"CHATPRO_NOW": NOW})
        assert result.returncode == 0, (args, result.stderr)
        assert "\ufffd" in result.stdout or "\\ufffd" in result.stdout, args


def test_a_stored_surrogate_is_written_as_replacement_character(tmp_path):
    log, _ = make_log(tmp_path / "chats.jsonl")
    log.append([rec("c_000000000001", "a \ud800 b")])
    assert "a \ufffd b".encode() in (tmp_path / "chats.jsonl").read_bytes()


def test_an_over_long_line_is_skipped_unparsed(tmp_path, monkeypatch):
    from datetime import timedelta

    monkeypatch.setattr(blocks, "MAX_LINE", 300_000)
    path = tmp_path / "chats.jsonl"
    write_raw(path, [rec("c_000000000001", "before", age=timedelta(hours=1))])
    huge = rec("c_000000000002", "x" * 1_000_000)  # a valid record, but past the cap
    write_raw(path, [huge, rec("c_000000000003", "after")], tail=b"y" * 700_000)
    log, warnings = make_log(path)
    assert [r["content"] for r in log.iter_records()] == ["before", "after"]
    assert [c.chat_id for c in log.chats()] == ["c_000000000003", "c_000000000001"]
    assert [c.chat_id for c in log.chats(limit=5)] == ["c_000000000003", "c_000000000001"]
    assert log.latest_chat_id() == "c_000000000003"
    assert [h.chat_id for h in log.search("after")] == ["c_000000000003"]
    assert "skipped 2 unreadable lines" in warnings[0]
    assert log.prune() == 0
    assert [json.loads(line)["content"] for line in lines_of(path)] == ["before", "after"]


def _limited(mem_bytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))

    return apply


def test_a_1gb_file_without_a_newline_is_read_in_bounded_memory(run_offline, home):
    path = write_log(home, chat("c_aaaa11112222", "2026-11-24T09:00:00+00:00", "Hi", "Hello"))
    with path.open("ab") as fh:
        fh.truncate(path.stat().st_size + (1 << 30))  # sparse: a 1 GB line of NULs, no newline
    env = run_offline.environment({"CHATPRO_NOW": NOW})
    for args in (("history",), ("history", "show", "c_aaaa"), ("history", "prune")):
        proc = subprocess.run(
            [sys.executable, "-m", "chatpro", *args],
            capture_output=True,
            env=env,
            timeout=300,
            preexec_fn=_limited(600 << 20),  # far less than the file: it must never be loaded
        )
        assert proc.returncode == 0, (args, proc.stderr[-2000:])
    assert path.stat().st_size < 1000  # the prune removed the unreadable line
    assert os.stat(path).st_mode & 0o777 == 0o600

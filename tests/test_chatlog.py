"""The chat log as its users see it: what survives, what is shown, what a crash leaves behind."""

from __future__ import annotations

import json
import os
import signal
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chatpro.chatlog import ChatLog, dump_line, make_record, new_chat_id
from chatpro.chatlog.records import format_ts
from chatpro.clock import FixedClock
from chatpro.errors import ConfigError, InputError
from tests.chatlog_support import (
    FROZEN_PRUNE,
    FULL_DISK,
    NOW,
    PRUNER,
    WRITER,
    all_lines_parse,
    lines_of,
    make_log,
    rec,
    run_child,
    start_child,
    wait_for,
    write_raw,
)

DAY = timedelta(days=1)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "chats.jsonl"


# --- format --------------------------------------------------------------------------------------


def test_append_writes_one_line_per_message_in_spec_format_mode_0600(path: Path) -> None:
    log, _ = make_log(path)
    chat = new_chat_id()
    log.append(
        [
            rec(chat, "Draft an invoice"),
            make_record(
                chat_id=chat,
                role="assistant",
                model="gpt-4o",
                content="Sure — here",
                ts=NOW,
                usage={"prompt_tokens": 3, "completion_tokens": 4, "units": 1},
                interrupted=True,
            ),
        ]
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first, second = (json.loads(line) for line in lines_of(path))
    assert list(first) == [
        "v", "id", "chat_id", "ts", "role", "model", "content", "attachments", "usage",
    ]  # fmt: skip
    assert first["v"] == 1 and first["id"].startswith("m_") and first["chat_id"] == chat
    assert first["ts"] == "2026-11-25T19:20:00.123+01:00"
    assert "interrupted" not in first and second["interrupted"] is True
    assert "Sure — here" in path.read_text(encoding="utf-8")  # non-ASCII written raw
    assert chat.startswith("c_") and len(chat) == 14


def test_retention_days_outside_1_to_90_is_a_config_error(path: Path) -> None:
    for days in (0, 91, -3):
        with pytest.raises(ConfigError):
            ChatLog(path, clock=FixedClock(NOW), retention_days=days)


# --- retention -----------------------------------------------------------------------------------


def test_retention_boundary_at_90_days(path: Path) -> None:
    ages = {
        "89 days": 89 * DAY,
        "90 days minus a minute": 90 * DAY - timedelta(minutes=1),
        "exactly 90 days": 90 * DAY,
        "90 days and a millisecond": 90 * DAY + timedelta(milliseconds=1),
        "91 days": 91 * DAY,
    }
    chats = {label: new_chat_id() for label in ages}
    write_raw(path, [rec(chats[label], label, age=age) for label, age in ages.items()])
    log, _ = make_log(path)
    kept = {"89 days", "90 days minus a minute", "exactly 90 days"}
    shown = {s.title for s in log.chats()}
    assert shown == kept
    assert {r["content"] for r in log.iter_records()} == kept
    assert [h.snippet for h in log.search("days and a")] == []
    assert log.messages(chats["91 days"]) == []
    assert {s.expires_in_days for s in log.chats()} == {1, 0}

    assert log.prune() == 2
    assert {json.loads(line)["content"] for line in lines_of(path)} == kept


def test_shorter_retention_and_expires_in_days(path: Path) -> None:
    a, b, c = new_chat_id(), new_chat_id(), new_chat_id()
    write_raw(path, [rec(a, "eight", age=8 * DAY), rec(b, "six", age=6 * DAY), rec(c, "now")])
    log, _ = make_log(path, days=7)
    assert [(s.title, s.expires_in_days) for s in log.chats()] == [("now", 7), ("six", 1)]
    assert log.prune() == 1
    assert log.prune() == 0


def test_chat_disappears_with_its_last_message(path: Path) -> None:
    old, mixed = new_chat_id(), new_chat_id()
    write_raw(
        path,
        [
            rec(old, "old q", age=95 * DAY),
            rec(old, "old a", age=95 * DAY, role="assistant"),
            rec(mixed, "first q", age=93 * DAY),
            rec(mixed, "later q", age=10 * DAY),
        ],
    )
    log, _ = make_log(path)
    [summary] = log.chats()
    assert summary.chat_id == mixed and summary.messages == 1 and summary.title == "later q"
    with pytest.raises(InputError):
        log.resolve(old)
    log.prune()
    assert old not in path.read_text()
    log2, _ = make_log(path, now=NOW + 81 * DAY)
    assert log2.chats() == [] and log2.latest_chat_id() is None


def test_prune_runs_at_most_once_a_day_on_append(path: Path) -> None:
    chat = new_chat_id()
    write_raw(path, [rec(chat, "expired", age=100 * DAY)])
    log, _ = make_log(path)
    log.append([rec(chat, "today 1")])
    assert [json.loads(x)["content"] for x in lines_of(path)] == ["today 1"]
    assert (path.parent / "chats.jsonl.pruned").read_text().strip() == "2026-11-25"

    write_raw(path, [rec(chat, "expired again", age=100 * DAY)])  # e.g. a clock that went back
    inode = path.stat().st_ino
    log.append([rec(chat, "today 2")])
    assert path.stat().st_ino == inode  # no rewrite the same day
    assert len(lines_of(path)) == 3
    assert [r["content"] for r in log.messages(chat)] == ["today 1", "today 2"]

    tomorrow, _ = make_log(path, now=NOW + DAY)
    tomorrow.append([rec(chat, "tomorrow", now=NOW + DAY)])
    assert path.stat().st_ino != inode
    contents = [json.loads(x)["content"] for x in lines_of(path)]
    assert contents == ["today 1", "today 2", "tomorrow"]


def test_prune_with_nothing_expired_leaves_the_file_alone(path: Path) -> None:
    log, _ = make_log(path)
    log.append([rec(new_chat_id(), f"m{i}") for i in range(10)])
    inode = path.stat().st_ino
    assert log.prune() == 0
    assert path.stat().st_ino == inode


def test_prune_over_many_blocks_removes_exactly_what_has_expired(path: Path) -> None:
    """Whole blocks are decided by their stamps (kept, or dropped); a timestamp whose UTC offset
    is beyond ±14h, a torn line and lines out of order still get the exact per-line answer."""
    cutoff = NOW - 90 * DAY
    chat = new_chat_id()

    def at(moment: datetime, hours: int, content: str) -> dict[str, Any]:
        record = rec(chat, content)
        record["ts"] = format_ts(moment.astimezone(timezone(timedelta(hours=hours))))
        return record

    second = timedelta(seconds=1)
    old = [rec(chat, f"old {i}", age=100 * DAY - i * second) for i in range(2500)]
    new = [rec(chat, f"new {i}", age=50 * DAY + i * second) for i in range(2500)]
    # kept by an hour, written at -20:00: its local time looks 19 hours before the cutoff
    old[1200:1200] = [at(cutoff + timedelta(hours=1), -20, "kept, far west")]
    old[1800:1800] = [rec(chat, "kept among the old", age=DAY)]
    # expired by an hour, written at +20:00: its local time looks 19 hours after the cutoff
    new[1300:1300] = [at(cutoff - timedelta(hours=1), 20, "expired, far east")]
    new[2000:2000] = [rec(chat, "expired among the new", age=95 * DAY)]
    write_raw(path, old)
    torn = dump_line(rec(chat, "torn"))[:40] + b"\n"  # a killed appender's half line
    write_raw(path, [], tail=torn)
    write_raw(path, new)
    expected = [
        r["content"]
        for r in [*old, *new]
        if datetime.fromisoformat(r["ts"]) >= cutoff  # the oracle: real time comparison
    ]

    log, warnings = make_log(path)
    assert log.prune() == len(old) + len(new) - len(expected)
    assert [json.loads(line)["content"] for line in lines_of(path)] == expected
    assert "kept, far west" in expected and "kept among the old" in expected
    assert "expired, far east" not in expected
    assert warnings == [f"removed 1 unreadable line from {path}"]


# --- reading -------------------------------------------------------------------------------------


def test_chats_summaries_newest_first(path: Path) -> None:
    a, b = new_chat_id(), new_chat_id()
    write_raw(
        path,
        [
            rec(a, "  \n  Write a proposal for ACME\nwith details", age=3 * DAY),
            rec(a, "answer", age=3 * DAY, role="assistant", model="gpt-3.5-turbo"),
            rec(b, "x" * 200, age=2 * DAY, model="gpt-4o"),
            rec(a, "follow-up", age=DAY, model="gpt-4o"),
        ],
    )
    log, _ = make_log(path)
    first, second = log.chats()
    assert first.chat_id == a and second.chat_id == b
    assert first.title == "Write a proposal for ACME"
    assert first.model == "gpt-3.5-turbo"  # model of the last assistant message
    assert first.messages == 3 and first.first_ts == NOW - 3 * DAY and first.last_ts == NOW - DAY
    assert first.expires_in_days == 89
    assert len(second.title) <= 60 and second.title.endswith("…")
    assert log.chats(limit=1) == [first]
    assert log.chats(limit=5) == [first, second]
    assert log.latest_chat_id() == a


def test_resolve_full_id_prefix_ambiguous_and_unknown(path: Path) -> None:
    ids = ["c_abc111111111", "c_abc222222222", "c_def333333333"]
    write_raw(path, [rec(i) for i in ids])
    log, _ = make_log(path)
    assert log.resolve("c_abc111111111") == "c_abc111111111"
    assert log.resolve("abc1") == "c_abc111111111"
    assert log.resolve("c_d") == "c_def333333333"
    with pytest.raises(InputError) as err:
        log.resolve("abc")
    assert err.value.exit_code == 2
    assert "c_abc111111111" in err.value.message and "c_abc222222222" in err.value.message
    for unknown in ("c_zzz", "nope!", ""):
        with pytest.raises(InputError, match="unknown chat id"):
            log.resolve(unknown)


def test_search_is_case_insensitive_newest_first_with_one_line_snippet(path: Path) -> None:
    a, b = new_chat_id(), new_chat_id()
    long_text = "lorem ipsum " * 20 + "The INVOICE for\nACME is due" + " dolor sit" * 20
    write_raw(
        path,
        [
            rec(a, "no match here", age=3 * DAY),
            rec(a, long_text, age=2 * DAY, role="assistant"),
            rec(b, "Invoice number 7", age=DAY),
        ],
    )
    log, _ = make_log(path)
    hits = log.search("invoice")
    assert [(h.chat_id, h.role) for h in hits] == [(b, "user"), (a, "assistant")]
    assert hits[0].snippet == "Invoice number 7"
    snip = hits[1].snippet
    assert "INVOICE for ACME" in snip and "\n" not in snip and len(snip) <= 82
    assert snip.startswith("…") and snip.endswith("…")
    assert log.search("INVOICE", limit=1) == hits[:1]
    assert log.search("gpt-4o") == []  # only the message text is searched
    with pytest.raises(InputError):
        log.search("   ")


def test_search_text_with_quotes_backslashes_and_non_ascii(path: Path) -> None:
    chat = new_chat_id()
    texts = ['say "Hi" now', "C:\\Users\\ana", "Überweisung für ÉCOLE", "tab\there", "emoji 😀 ok"]
    write_raw(path, [rec(chat, t) for t in texts])
    log, _ = make_log(path)
    assert [h.snippet for h in log.search('"hi"')] == ['say "Hi" now']
    assert [h.snippet for h in log.search("users\\ANA")] == ["C:\\Users\\ana"]
    assert [h.snippet for h in log.search("überweisung FÜR école")] == [texts[2]]
    assert len(log.search("tab\th")) == 1
    assert len(log.search("😀")) == 1


def test_lines_from_other_writers_are_read_and_kept(path: Path) -> None:
    chat = new_chat_id()
    foreign = {
        "chat_id": chat,
        "ts": (NOW - DAY).isoformat(),
        "role": "user",
        "id": "m_foreign",
        "content": "written by jq",
        "v": 1,
        "model": "gpt-4o",
    }
    path.parent.mkdir(mode=0o700, parents=True)
    path.write_text(json.dumps(foreign, separators=(",", ":")) + "\n")
    path.chmod(0o600)
    log, warnings = make_log(path)
    log.append([rec(chat, "ours")])
    assert [r["content"] for r in log.messages(chat)] == ["written by jq", "ours"]
    assert log.chats()[0].messages == 2 and log.chats(limit=1)[0].messages == 2
    assert log.search("JQ")[0].message_id == "m_foreign"
    assert log.resolve(chat[:6]) == chat
    assert log.prune() == 0 and log.delete(["c_other"]) == 0
    assert len(lines_of(path)) == 2 and warnings == []


def test_delete_and_clear(path: Path) -> None:
    a, b = new_chat_id(), new_chat_id()
    log, _ = make_log(path)
    log.append([rec(a, "1"), rec(b, "2"), rec(a, "3")])
    assert log.delete([a]) == 2
    assert [s.chat_id for s in log.chats()] == [b]
    assert log.delete([a]) == 0
    assert log.clear() == 1
    assert log.chats() == [] and path.read_bytes() == b""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_log_reads_as_empty(path: Path) -> None:
    log, warnings = make_log(path)
    assert log.chats() == [] and log.search("x") == [] and log.latest_chat_id() is None
    assert log.prune() == 0 and log.clear() == 0 and warnings == []


# --- damage --------------------------------------------------------------------------------------


def test_torn_tail_is_skipped_with_one_warning_and_next_append_starts_a_new_line(
    path: Path,
) -> None:
    chat = new_chat_id()
    good = [rec(chat, f"valid {i}") for i in range(3)]
    torn = dump_line(rec(chat, "torn record"))[:40]
    write_raw(path, good, tail=torn)
    log, warnings = make_log(path)
    assert [r["content"] for r in log.messages(chat)] == ["valid 0", "valid 1", "valid 2"]
    assert warnings == [f"skipped 1 unreadable line in {path}"]
    assert log.chats()[0].messages == 3

    (path.parent / "chats.jsonl.pruned").write_text("2026-11-25\n")  # keep the torn line for now
    log.append([rec(chat, "after")])
    raw = lines_of(path)
    assert raw[3] == torn and json.loads(raw[4])["content"] == "after"
    warnings.clear()
    assert len(list(log.iter_records())) == 4 and len(warnings) == 1
    assert log.prune() == 0  # the torn line goes, every valid one stays
    assert all_lines_parse(path) and len(lines_of(path)) == 4


def test_garbage_lines_in_the_middle_are_skipped_not_fatal(path: Path) -> None:
    chat = new_chat_id()
    write_raw(path, [rec(chat, "a")], tail=b"not json\n[1, 2]\n\n")
    write_raw(path, [rec(chat, "b")])
    log, warnings = make_log(path)
    assert [r["content"] for r in log.messages(chat)] == ["a", "b"]
    assert [s.messages for s in log.chats()] == [2]
    assert warnings == [f"skipped 2 unreadable lines in {path}"]  # from the full scan only
    assert log.prune() == 0
    assert [r["content"] for r in log.iter_records()] == ["a", "b"] and len(lines_of(path)) == 2


# --- real processes ------------------------------------------------------------------------------


def test_concurrent_writers_racing_prunes_lose_nothing(tmp_path: Path, path: Path) -> None:
    writers, per_writer = 20, 200
    log, _ = make_log(path)
    log.append([rec("c_seed00000000", "seed")])
    stop = tmp_path / "stop"
    pruner = start_child(PRUNER, str(path), NOW.isoformat(), str(stop))
    procs = [
        start_child(WRITER, str(path), NOW.isoformat(), str(n), str(per_writer))
        for n in range(writers)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    stop.touch()
    out, err = pruner.communicate(timeout=300)
    assert pruner.returncode == 0, err
    rounds, removed = map(int, out.split())
    assert rounds >= 5 and removed == rounds

    assert all_lines_parse(path)
    contents = [r["content"] for r in log.iter_records()]
    expected = {
        f"writer {w} message {i} " + "x" * (i % 50)
        for w in range(writers)
        for i in range(per_writer)
    }
    assert set(contents) == expected | {"seed"}
    assert len(contents) == len(expected) + 1  # nothing lost, nothing doubled
    assert "expired" not in {json.loads(x)["content"] for x in lines_of(path) if x}


def test_sigkill_during_prune_leaves_old_file_and_next_prune_cleans_up(
    tmp_path: Path, path: Path
) -> None:
    total, expired = 200_000, 50_000
    template = dump_line(rec("c_%012x", "message number %d"))
    old_ts = rec("c_0", age=100 * DAY)["ts"].encode()
    path.parent.mkdir(parents=True)
    with open(path, "wb") as fh:
        for i in range(total):
            line = template.replace(b"c_%012x", b"c_%012x" % (i // 10)).replace(b"%d", b"%d" % i)
            if i < expired:
                line = line.replace(
                    json.dumps(NOW.isoformat(timespec="milliseconds")).encode()[1:-1], old_ts
                )
            fh.write(line)
    before = path.read_bytes()
    ready = tmp_path / "ready"
    child = start_child(FROZEN_PRUNE, str(path), NOW.isoformat(), str(ready))
    try:
        assert wait_for(ready.exists), child.stderr.read() if child.poll() is not None else ""
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert path.read_bytes() == before  # the old content, whole
    temps = [p for p in path.parent.iterdir() if p.name.startswith(".chats.jsonl.tmp-")]
    assert len(temps) == 1

    log, warnings = make_log(path)
    assert log.prune() == expired
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".chats.jsonl.tmp-")]
    assert len(lines_of(path)) == total - expired and all_lines_parse(path)
    assert warnings == []


def test_full_disk_append_fails_cleanly_and_leaves_whole_lines(path: Path) -> None:
    log, _ = make_log(path)
    log.append([rec("c_aaaaaaaaaaaa", f"line {i}") for i in range(5)])
    before = path.read_bytes()
    result = run_child(FULL_DISK, str(path), NOW.isoformat(), "1000", "5000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("StorageError: cannot write") and str(path) in result.stdout
    assert path.read_bytes() == before

    small = run_child(FULL_DISK, str(path), NOW.isoformat(), "1000", "100")
    assert small.stdout.strip() == "appended"
    assert all_lines_parse(path) and len(lines_of(path)) == 6

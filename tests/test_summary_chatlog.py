"""The chat log's summary (chats.jsonl.summary) is only a cache: `report`'s totals are exactly the
same with it absent, fresh, stale, corrupt, after appends, prunes, deletes, a clear, a replaced
or truncated log, for every query and retention cutoff (lines on the cutoff's day, before and after
it, chats spanning days, clients and models, hostile lines in the covered part and after it)."""

from __future__ import annotations

import json
import random
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from chatpro import summary
from chatpro.chatlog import ChatLog
from chatpro.chatlog.blocks import Skipped
from chatpro.chatlog.records import Window, dump_line, make_record
from chatpro.chatlog.totals import client_model_totals
from tests.summary_support import unsummarised_copy
from tests.test_report_perf_equivalence import HOSTILE, NOW, _log

QUERIES = [
    (b"", b"\xff", None),
    (b"", b"\xff", "acme"),
    (b"", b"\xff", ""),
    (b"2026-11-20", b"2026-11-24", None),
    (b"2026-08-20", b"2026-08-31", None),  # around the 90-day cutoff
    (b"2026-08-27", b"2026-08-27", "globex"),
]
SHIFTS = [timedelta(0), timedelta(hours=7), timedelta(days=1, hours=2), timedelta(days=3)]


@pytest.fixture(params=[1, 30_000], ids=["rebuilt", "tail"])
def min_bytes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """1: every read rewrites the summary; 30,000: appends are read after a kept summary."""
    monkeypatch.setattr(summary, "MIN_BYTES", request.param)
    return request.param


def answers(path: Path, days: tuple[int, ...] = (90, 30)) -> list[object]:
    """Every query at several clocks and retentions: rows with exact cost text, total chats,
    warnings."""
    out: list[object] = []
    for shift in SHIFTS:
        for keep in days:
            for since, until, client in QUERIES:
                warnings: list[str] = []
                got = client_model_totals(
                    path,
                    Window(NOW + shift, keep),
                    Skipped(path, warnings.append),
                    since=since,
                    until=until,
                    client=client,
                )
                rows = sorted(
                    (
                        k,
                        g.chats,
                        g.messages,
                        g.prompt_tokens,
                        g.completion_tokens,
                        g.units,
                        str(g.cost()),
                        g.first,
                        g.last,
                    )
                    for k, g in got.items()
                )
                out.append((rows, got.chats, warnings))
    return out


def reference(path: Path, tmp_path: Path, days: tuple[int, ...] = (90, 30)) -> list[object]:
    """The answers from a copy of the log with no summary beside it, none written."""
    with unsummarised_copy(path, tmp_path) as copy:
        result = answers(copy, days)
    return [
        (rows, chats, [w.replace(str(copy), str(path)) for w in warns])
        for rows, chats, warns in result
    ]  # type: ignore[misc]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "chats.jsonl"
    path.parent.mkdir()
    _log(path, random.Random(7))
    return path


def appended(path: Path, seed: int, n: int = 200) -> None:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        record = make_record(
            chat_id=f"c_{rng.randrange(400):04x}",  # old chats continued, and new ones
            role="user",
            model=rng.choice(["gpt-4o", "gpt-4o-mini", "o1"]),
            content="more",
            ts=NOW - timedelta(days=rng.choice([0, 1, 88, 89, 90, 91]), hours=rng.randrange(24)),
            usage={"prompt_tokens": i, "completion_tokens": 1, "units": 1},
            client=rng.choice(["acme", "globex", None]),
        )
        record["cost"] = 0.0125
        lines.append(dump_line(record))
        if i % 50 == 0:
            lines.append(rng.choice(HOSTILE) + b"\n")
    with open(path, "ab") as fh:
        fh.write(b"".join(lines))


def test_a_read_writes_a_private_summary_that_later_reads_trust(
    log_path, tmp_path, min_bytes, monkeypatch
):
    expected = reference(log_path, tmp_path)
    assert answers(log_path) == expected
    side = Path(summary.path_for(log_path))
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    assert answers(log_path) == expected
    monkeypatch.setattr(summary, "MIN_BYTES", 1 << 62)  # read, never rewritten
    assert answers(log_path) == expected
    # Proof that it is used: a summary that still matches the log but says other figures wins.
    doc = json.loads(side.read_text(encoding="utf-8"))
    for cell in doc["data"]["cells"]:
        cell[3] += 1000
    side.write_text(json.dumps(doc), encoding="utf-8")
    assert answers(log_path) != expected


def test_appends_after_the_summary_are_read(log_path, tmp_path, min_bytes):
    answers(log_path, (90,))
    appended(log_path, 1)
    assert answers(log_path) == reference(log_path, tmp_path)
    appended(log_path, 2, 20)
    with open(log_path, "ab") as fh:
        fh.write(HOSTILE[1][:50])  # a torn tail
    assert answers(log_path) == reference(log_path, tmp_path)


def test_a_short_log_gets_no_summary(log_path, tmp_path, monkeypatch):
    monkeypatch.setattr(summary, "MIN_BYTES", log_path.stat().st_size + 1)
    answers(log_path, (90,))
    assert not Path(summary.path_for(log_path)).exists()


@pytest.mark.parametrize(
    "text",
    ["", "{", "[]", "null", '{"version": 1}', "\x00\xff garbage"],
)
def test_a_corrupt_summary_is_ignored(log_path, tmp_path, text):
    expected = reference(log_path, tmp_path, (90,))
    Path(summary.path_for(log_path)).write_text(text, errors="surrogateescape")
    assert answers(log_path, (90,)) == expected


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["cells"][0].__setitem__(7, "NaN"),
        lambda d: d["cells"][0].__setitem__(3, -3),
        lambda d: d["cells"][0].__setitem__(3, True),
        lambda d: d["cells"][0].pop(),
        lambda d: d["days"].pop(),
        lambda d: d["days"][0].__setitem__(2, 10**12),
        lambda d: d["sigs"][0].__setitem__(0, [10**6]),
        lambda d: d["sigs"][0].__setitem__(1, 5),
        lambda d: d.__setitem__("skipped", "3"),
        lambda d: d.pop("sigs"),
    ],
)
def test_a_damaged_summary_is_ignored(log_path, tmp_path, damage, monkeypatch):
    monkeypatch.setattr(summary, "MIN_BYTES", 1 << 62)  # not rewritten: it stays damaged
    expected = reference(log_path, tmp_path, (90,))
    monkeypatch.setattr(summary, "MIN_BYTES", 1)
    answers(log_path, (90,))
    monkeypatch.setattr(summary, "MIN_BYTES", 1 << 62)
    side = Path(summary.path_for(log_path))
    doc = json.loads(side.read_text(encoding="utf-8"))
    damage(doc["data"])
    side.write_text(json.dumps(doc), encoding="utf-8")
    assert answers(log_path, (90,)) == expected


def test_a_replaced_or_truncated_log_is_read_again(log_path, tmp_path, min_bytes):
    answers(log_path, (90,))
    data = log_path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    with open(log_path, "r+b") as fh:  # same inode, shorter
        fh.truncate(cut)
    assert answers(log_path) == reference(log_path, tmp_path)
    answers(log_path, (90,))
    other = tmp_path / "other.jsonl"
    other.write_bytes(data[:cut] + data[: len(data) // 3].rsplit(b"\n", 1)[0] + b"\n")
    other.replace(log_path)  # a new file that starts the same
    assert answers(log_path) == reference(log_path, tmp_path)


@pytest.mark.parametrize("operation", ["prune", "delete", "clear"])
def test_prune_delete_and_clear_remove_the_summary(log_path, tmp_path, operation, min_bytes):
    answers(log_path, (90,))
    assert Path(summary.path_for(log_path)).exists()

    class Clock:
        def now(self):  # type: ignore[no-untyped-def]
            return NOW

    log = ChatLog(log_path, clock=Clock(), retention_days=90)  # type: ignore[arg-type]
    if operation == "prune":
        assert log.prune() > 0
    elif operation == "delete":
        assert log.delete(["c_0001", "c_0002"]) > 0
    else:
        log.clear()
    assert not Path(summary.path_for(log_path)).exists()
    assert answers(log_path) == reference(log_path, tmp_path)
    appended(log_path, 3)
    assert answers(log_path) == reference(log_path, tmp_path)


def test_costs_folded_early_into_the_exact_sum_give_the_same_answers(
    log_path, tmp_path, min_bytes, monkeypatch
):
    """A cell folds its counted cost texts into its exact sum once it holds more than a few (to
    bound memory on big logs): the answers stay the same."""
    from chatpro.chatlog import totals_summary

    monkeypatch.setattr(totals_summary, "FOLD_COSTS_AT", 1)
    expected = reference(log_path, tmp_path)
    assert answers(log_path) == expected
    assert answers(log_path) == expected

"""The ledger's summary (usage.jsonl.summary) is only a cache: `usage --by` answers exactly the
same with it absent, fresh, stale, corrupt, after appends, and after the file was replaced."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from chatpro import summary
from chatpro.errors import StorageError
from chatpro.usage import Ledger
from chatpro.usage import spend as spend_mod
from tests.summary_support import unsummarised_copy
from tests.usage_support import GPT4O, GPT35, LLAMA, MovableClock, local

CLIENTS = ["acme", "globex", None, "Stark Industries", "ünïcode"]
QUERIES = [("client", None), ("model", None), ("day", None), ("model", "acme"), ("day", "nobody")]


@pytest.fixture(autouse=True)
def small_summaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary, "MIN_BYTES", 1)


def charge(path: Path, clock: MovableClock, count: int, *, first: int = 0) -> None:
    ledger = Ledger(path, clock=clock)
    for n in range(first, first + count):
        model = (GPT4O, GPT35, LLAMA)[n % 3]
        clock.at += timedelta(hours=7)
        ledger.charge(
            model,
            units=1 + n % 2,
            prompt_tokens=100 + n,
            completion_tokens=7 * n,
            warn_at=(50, 90),
            client=CLIENTS[n % len(CLIENTS)],
            cost=None if n % 4 == 0 else f"0.{n:03d}5",
        )


def answers(path: Path, clock: MovableClock) -> list[object]:
    """Every query's result, costs as exact text (Decimal("1.0") == Decimal("1") would hide it)."""
    today = clock.now().date()
    out: list[object] = []
    for by, client in QUERIES:
        s = spend_mod.spend(path, today, by=by, client=client)  # type: ignore[arg-type]
        rows = [*s.rows, s.total]
        out.append(
            (
                s.cycle_start,
                s.renewal_date,
                s.started,
                [
                    (r.key, r.requests, r.units, r.prompt_tokens, r.completion_tokens, str(r.cost))
                    for r in rows
                ],
            )
        )
    return out


def reference(path: Path, clock: MovableClock, tmp_path: Path) -> list[object]:
    """The answers read from a copy of the file with no summary beside it, none written."""
    with unsummarised_copy(path, tmp_path) as copy:
        return answers(copy, clock)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(local(2026, 10, 20, 9))


@pytest.fixture
def ledger_path(tmp_path: Path, clock: MovableClock) -> Path:
    path = tmp_path / "data" / "usage.jsonl"
    charge(path, clock, 60)
    return path


def test_a_read_writes_a_private_summary_that_later_reads_trust(ledger_path, clock, tmp_path):
    expected = reference(ledger_path, clock, tmp_path)
    assert answers(ledger_path, clock) == expected
    side = Path(summary.path_for(ledger_path))
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    assert answers(ledger_path, clock) == expected
    # Proof that it is used: a summary that still matches the file but says other figures wins.
    doc = json.loads(side.read_text())
    for cell in doc["data"]["cells"]:
        cell[4] += 1000
    side.write_text(json.dumps(doc))
    assert answers(ledger_path, clock) != expected


def test_appends_after_the_summary_are_read(ledger_path, clock, tmp_path):
    answers(ledger_path, clock)
    charge(ledger_path, clock, 25, first=60)
    assert answers(ledger_path, clock) == reference(ledger_path, clock, tmp_path)
    charge(ledger_path, clock, 3, first=85)  # a summary of the first appends, then more
    assert answers(ledger_path, clock) == reference(ledger_path, clock, tmp_path)


def test_the_next_cycle_counts_only_its_charges(ledger_path, clock, tmp_path):
    answers(ledger_path, clock)
    clock.at += timedelta(days=31)
    charge(ledger_path, clock, 5, first=200)
    expected = reference(ledger_path, clock, tmp_path)
    assert answers(ledger_path, clock) == expected
    assert expected[0][3][-1][1] == 5  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "null",
        '{"version": 1}',
        '{"version": 1, "kind": "ledger-spend", "offset": "12", "dev": 0, "ino": 0}',
        "\x00\xff garbage",
    ],
)
def test_a_corrupt_summary_is_ignored(ledger_path, clock, tmp_path, text):
    expected = reference(ledger_path, clock, tmp_path)
    Path(summary.path_for(ledger_path)).write_text(text, errors="surrogateescape")
    assert answers(ledger_path, clock) == expected


@pytest.mark.parametrize(
    "damage",
    [
        lambda doc: doc["data"]["cells"][0].__setitem__(8, "NaN"),
        lambda doc: doc["data"]["cells"][0].__setitem__(5, -3),
        lambda doc: doc["data"]["cells"][0].pop(),
        lambda doc: doc["data"].__setitem__("anchor", "not a date"),
        lambda doc: doc["data"].__setitem__("lines", True),
        lambda doc: doc.__setitem__("offset", doc["offset"] - 1),
        lambda doc: doc.__setitem__("offset", 10**9),
        lambda doc: doc.__setitem__("digest", "0" * 64),
        lambda doc: doc.__setitem__("ino", doc["ino"] + 1),
        lambda doc: doc.__setitem__("version", 2),
    ],
)
def test_a_summary_with_bad_data_is_ignored(ledger_path, clock, tmp_path, damage):
    expected = reference(ledger_path, clock, tmp_path)
    answers(ledger_path, clock)
    side = Path(summary.path_for(ledger_path))
    doc = json.loads(side.read_text())
    damage(doc)
    side.write_text(json.dumps(doc))
    assert answers(ledger_path, clock) == expected


def test_a_replaced_or_rewritten_file_invalidates_the_summary(ledger_path, clock, tmp_path):
    answers(ledger_path, clock)
    side = Path(summary.path_for(ledger_path))
    kept = side.read_bytes()
    # The same bytes in a new file (new inode) with a summary that lies: ignored by identity.
    doc = json.loads(kept)
    for cell in doc["data"]["cells"]:
        cell[4] += 1000
    fresh = ledger_path.with_name("fresh")
    fresh.write_bytes(ledger_path.read_bytes())
    os.replace(fresh, ledger_path)  # as an atomic rewrite does: the new inode differs
    side.write_text(json.dumps(doc))
    assert answers(ledger_path, clock) == reference(ledger_path, clock, tmp_path)
    # Rewritten in place (same inode), one figure changed near the end: ignored by the hash.
    answers(ledger_path, clock)
    lines = ledger_path.read_bytes().splitlines(keepends=True)
    i = max(i for i, line in enumerate(lines) if b'"type":"charge"' in line)
    lines[i] = lines[i].replace(b'"units":1,', b'"units":9,').replace(b'"units":2,', b'"units":8,')
    with open(ledger_path, "r+b") as fh:
        fh.write(b"".join(lines))
    assert answers(ledger_path, clock) == reference(ledger_path, clock, tmp_path)
    # Truncated below the offset the summary covers.
    answers(ledger_path, clock)
    with open(ledger_path, "r+b") as fh:
        fh.truncate(len(b"".join(lines[:-3])))
    assert answers(ledger_path, clock) == reference(ledger_path, clock, tmp_path)


def test_torn_tails_and_corrupt_lines_after_the_summary(ledger_path, clock, tmp_path):
    answers(ledger_path, clock)
    with open(ledger_path, "ab") as fh:
        fh.write(b'{"v":1,"type":"charge","model":"gpt-4o","uni')
    assert answers(ledger_path, clock) == reference(ledger_path, clock, tmp_path)
    with open(ledger_path, "ab") as fh:
        fh.write(b"\n")
    lines = len(ledger_path.read_bytes().splitlines())
    with pytest.raises(StorageError, match=f"corrupt at line {lines}:"):
        answers(ledger_path, clock)
    with pytest.raises(StorageError, match=f"corrupt at line {lines}:"):
        reference(ledger_path, clock, tmp_path)


def test_a_second_start_record_after_the_summary_is_still_an_error(ledger_path, clock):
    answers(ledger_path, clock)
    with open(ledger_path, "ab") as fh:
        fh.write(b'{"v":1,"type":"start","anchor":"2026-10-20","ts":"x"}\n')
    with pytest.raises(StorageError, match="a second start record"):
        answers(ledger_path, clock)


def test_no_summary_for_a_small_ledger(ledger_path, clock, monkeypatch):
    monkeypatch.setattr(summary, "MIN_BYTES", 1 << 20)
    answers(ledger_path, clock)
    assert not Path(summary.path_for(ledger_path)).exists()


def test_costs_too_long_to_sum_exactly_write_no_summary(tmp_path, clock):
    path = tmp_path / "usage.jsonl"
    ledger = Ledger(path, clock=clock)
    for cost in ("1E+300", "1E-300", "0.5"):
        ledger.charge(GPT4O, units=1, prompt_tokens=1, completion_tokens=1, warn_at=(), cost=cost)
    result = answers(path, clock)
    assert not Path(summary.path_for(path)).exists()
    assert result == reference(path, clock, tmp_path)


@pytest.mark.parametrize("costs", [("0.0125", "0.5", "2"), ("1E+300", "1E-300", "0.5")])
def test_costs_added_up_along_the_way_give_the_same_sums(tmp_path, clock, monkeypatch, costs):
    path = tmp_path / "usage.jsonl"
    ledger = Ledger(path, clock=clock)
    for n in range(12):
        cost = costs[n % len(costs)]
        ledger.charge(GPT4O, units=1, prompt_tokens=n, completion_tokens=1, warn_at=(), cost=cost)
    expected = reference(path, clock, tmp_path)
    monkeypatch.setattr(spend_mod, "_PENDING_COSTS", 0)  # add them up after every block
    monkeypatch.setattr("chatpro.chatlog.blocks.BLOCK", 200)  # and make many blocks
    assert answers(path, clock) == expected
    assert answers(path, clock) == expected

"""The ledger journal's parse cache: a batch reads the same journal several times per input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from chatpro.usage import journal

TODAY = date(2026, 3, 10)


def _journal(*charges: int) -> bytes:
    lines = [{"v": 1, "type": "start", "anchor": "2026-03-01"}]
    lines += [
        {
            "v": 1,
            "type": "charge",
            "model": "gpt-4o",
            "cycle": "2026-03-01",
            "units": units,
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "cost": "0.01",
        }
        for units in charges
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def test_a_repeated_parse_gives_a_state_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    data = _journal(1, 2)
    first = journal.parse(path, data, TODAY)
    first.reserved["gpt-4o"] = 7
    first.totals["gpt-4o"].units += 100
    first.warned.add(("gpt-4o", 50))
    second = journal.parse(path, data, TODAY)
    assert second.charged("gpt-4o") == 3
    assert second.reserved == {}
    assert second.warned == set()


def test_a_changed_journal_is_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    assert journal.parse(path, _journal(1), TODAY).charged("gpt-4o") == 1
    assert journal.parse(path, _journal(1, 4), TODAY).charged("gpt-4o") == 5
    # same bytes, another day: the cycle is decided afresh
    assert journal.parse(path, _journal(1, 4), date(2026, 4, 2)).charged("gpt-4o") == 0

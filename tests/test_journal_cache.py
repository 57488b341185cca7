"""The ledger journal's parse cache: a batch reads the same journal several times per input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

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


def _figures(state: journal.State) -> dict[str, object]:
    """Everything a state says, comparable."""
    figures = {name: getattr(state, name) for name in journal.State.__slots__}
    figures["totals"] = {m: repr(t) for m, t in state.totals.items()}
    return figures


def _fresh(path: Path, data: bytes, today: date = TODAY) -> journal.State:
    journal._last = None  # the uncached parse to compare with
    return journal.parse(path, data, today)


def test_a_grown_journal_folds_in_only_its_new_lines_and_agrees_with_a_full_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.jsonl"
    warned = (
        b'{"v": 1, "type": "warned", "model": "gpt-4o", "threshold": 80, "cycle": "2026-03-01"}\n'
    )
    old_cycle = _journal(9).replace(b'"cycle": "2026-03-01"', b'"cycle": "2026-02-01"')
    base = _journal(1, 2) + old_cycle.split(b"\n", 1)[1]  # a charge of an earlier cycle
    grown = base + _journal(3, 4).split(b"\n", 1)[1] + warned
    expected = _fresh(path, grown)
    _fresh(path, base)
    decoded: list[int] = []
    decode = journal._decode

    def counting(path: Path, lines: list[bytes], first: int = 1) -> list[tuple[int, object]]:
        decoded.append(len(lines))
        return decode(path, lines, first)

    monkeypatch.setattr(journal, "_decode", counting)
    state = journal.parse(path, grown, TODAY)  # from the cached state of BASE
    assert decoded == [3]  # two charges and a warning, not the whole journal again
    assert _figures(state) == _figures(expected)
    assert state.charged("gpt-4o") == 10
    assert state.spend == expected.spend == journal.Decimal("0.04")
    assert state.warned == {("gpt-4o", 80)}
    assert state.size == len(grown)


def test_a_bad_line_in_the_new_part_names_its_line_in_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    base = _journal(1, 2)
    _fresh(path, base)
    for bad, reason in (
        (b"{not json\n", "not valid JSON"),
        (b'{"v": 1, "type": "start", "anchor": "2026-03-01"}\n', "a second start record"),
    ):
        with pytest.raises(journal.StorageError, match=f"corrupt at line 5: {reason}"):
            journal.parse(path, base + _journal(3).split(b"\n", 1)[1] + bad, TODAY)


def test_a_cached_journal_with_a_torn_end_is_parsed_whole_again(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    base = _journal(1, 2)
    torn = base + b'{"v": 1, "type": "cha'
    _fresh(path, torn)
    # the next writer cut the torn tail off and appended a whole charge
    grown = base + _journal(5).split(b"\n", 1)[1]
    state = journal.parse(path, grown, TODAY)
    assert state.charged("gpt-4o") == 8
    assert not state.torn
    assert _figures(state) == _figures(_fresh(path, grown))

"""This cycle's spend from the ledger, broken down by client, model or day, in constant memory.

``chatpro usage --by client`` must stay fast on a ledger of a million charges, so the journal is
streamed in blocks and our own records (json.dumps with compact separators, keys in the writer's
order, see journal.py) are read with one regex per block instead of one ``json.loads`` a line.
A block holding any other line (a foreign writer, a torn tail) goes line by line through the JSON
parser with the same checks as ``journal.parse``: nothing valid is missed, and a corrupt line is
the same StorageError.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): typing.NamedTuple
# compiles each string annotation of its fields, about 1 ms of every start (architecture.md).

import functools
import re
from collections import Counter
from datetime import date
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation, localcontext
from typing import Any, Literal, NamedTuple

from chatpro.chatlog.blocks import forward, open_log
from chatpro.paths import StrPath
from chatpro.usage import journal
from chatpro.usage.rules import cycle_bounds, renewal_after

By = Literal["client", "model", "day"]
NO_CLIENT = "(none)"  # how untagged work is shown

_FIGURE = rb"(0|[1-9]\d{0,14})"  # below journal.MAX_FIGURE; longer numbers take the slow path


# Each pattern starts with the newline before the line (the block gets one prepended), so the
# regex engine can jump between occurrences of a literal prefix and every match is a whole line.
_CHARGE = (
    rb'\n\{"v":1,"type":"charge","model":"([^"\\\n]+)","units":'
    + _FIGURE
    + rb',"prompt_tokens":'
    + _FIGURE
    + rb',"completion_tokens":'
    + _FIGURE
    + rb',"ts":"(\d{4}-\d\d-\d\d)[^"\\\n]*",'
    rb'"cycle":"(\d{4}-\d\d-\d\d)"(?:,"client":"([^"\\\n]+)")?'
    rb'(?:,"cost":"(\d{1,30}(?:\.\d{1,30})?(?:E[+-]?\d{1,4})?)")?\}(?=\n)'
)
_WARNED = (
    rb'\n\{"v":1,"type":"warned","model":"[^"\\\n]+","threshold":\d{1,3},'
    rb'"cycle":"\d{4}-\d\d-\d\d"(?:,"kind":"budget")?\}(?=\n)'
)
_START = rb'\n\{"v":1,"type":"start","anchor":"(\d{4}-\d\d-\d\d)","ts":"[^"\\\n]*"\}(?=\n)'


@functools.cache
def _patterns() -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]:
    """The charge, warned and start patterns, compiled when a ledger is first read: compiling
    them at import cost more than the rest of `usage` on a home with no ledger yet."""
    return re.compile(_CHARGE), re.compile(_WARNED), re.compile(_START)


# (model, units, prompt tokens, completion tokens, day, cycle, client, cost) as raw bytes
Charge = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]


class Row:
    """One line of a breakdown: KEY's requests, units, tokens and exact cost this cycle.
    (A plain class, as `usage` imports this module at every run: a dataclass costs more to build.)"""

    __slots__ = ("completion_tokens", "cost", "key", "prompt_tokens", "requests", "units")

    def __init__(
        self,
        key: str,
        requests: int = 0,
        units: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: Decimal | None = None,
    ) -> None:
        self.key = key
        self.requests = requests
        self.units = units
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.cost = Decimal() if cost is None else cost

    def _values(self) -> tuple[object, ...]:
        return (
            self.key,
            self.requests,
            self.units,
            self.prompt_tokens,
            self.completion_tokens,
            self.cost,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Row) and other._values() == self._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass would be

    def __repr__(self) -> str:
        return (
            f"Row(key={self.key!r}, requests={self.requests}, units={self.units}, "
            f"prompt_tokens={self.prompt_tokens}, completion_tokens={self.completion_tokens}, "
            f"cost={self.cost!r})"
        )


class Spend(NamedTuple):
    cycle_start: date
    renewal_date: date
    started: bool
    total: Row
    rows: list[Row]  # by the chosen key, in key order (days oldest first)


# Cost sums are exact: with costs ≥ 0, a sum whose digits fit here is exact in any order, so a
# summary's per-cell sums give the same Decimal (value and exponent) as one pass over the file.
_EXACT = Context(prec=200, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])
SUMMARY_KIND = "ledger-spend"
_PENDING_COSTS = 20_000  # distinct (cell, cost) pairs held before they are added up

# (cycle, day, client, model) as written → [requests, units, prompt, completion, costs, base,
# scaled]: costs counts cost texts with an exponent; scaled maps a number of decimal places to
# the sum of plain costs with that many as a whole number ("0.0125" adds 125 at 4 places), so
# each charge costs one int(); base is the exact sum already added up (e.g. from a summary).
Cell = list[Any]


class _Fold:
    """Every charge's figures per cell, for all cycles (the current one is picked at the end)."""

    def __init__(self) -> None:
        self.cells: dict[tuple[bytes, bytes, bytes, bytes], Cell] = {}
        self.anchor: date | None = None
        self.lines = 0  # lines folded, for error messages
        self.exact = True  # sums must be exact (else rounded to _EXACT's precision, in file order)
        self.inexact = False  # an exact sum did not fit: this fold's costs cannot be trusted

    def flush(self) -> None:
        """Add the counted cost texts into each cell's exact sum (keeps memory bounded)."""
        if self.inexact:
            return
        context = _EXACT.copy()
        context.traps[Inexact] = self.exact
        try:
            with localcontext(context):
                for g in self.cells.values():
                    if g[4] or g[6]:
                        g[5], g[4], g[6] = _cell_cost(g), Counter(), {}
        except Inexact:
            self.inexact = True

    def start(self, anchor: date, today: date) -> None:
        if self.anchor is not None:
            raise journal._Corrupt("a second start record")
        self.anchor = anchor

    def add(self, charges: list[Charge]) -> None:
        if charges and self.anchor is None:
            raise journal._Corrupt("a charge record before the start record")
        cells = self.cells
        for charge in charges:
            key = (charge[5], charge[4], charge[6], charge[0])
            g = cells.get(key)
            if g is None:
                g = cells[key] = [0, 0, 0, 0, Counter(), Decimal(0), {}]
            g[0] += 1
            g[1] += int(charge[1])
            g[2] += int(charge[2])
            g[3] += int(charge[3])
            cost = charge[7]
            if cost:
                if b"E" in cost:
                    g[4][cost] += 1
                else:  # "12.50" adds 1250 hundredths: whole numbers per count of decimals
                    whole, _, decimals = cost.partition(b".")
                    scaled = g[6]
                    places = len(decimals)
                    scaled[places] = scaled.get(places, 0) + int(whole + decimals)

    def dump(self) -> dict[str, Any] | None:
        """The fold as a summary's data (bytes as latin-1 text); None when a sum is not exact."""
        if self.inexact:
            return None
        cells = []
        for key, g in self.cells.items():
            cost = _cost(g)
            if cost is None:
                return None
            cells.append([k.decode("latin-1") for k in key] + [*g[:4], str(cost)])
        anchor = None if self.anchor is None else self.anchor.isoformat()
        return {"anchor": anchor, "lines": self.lines, "cells": cells}

    @classmethod
    def restore(cls, data: Any) -> "_Fold":
        """A fold from a summary's data; ValueError (or another error) when anything is off."""
        fold = cls()
        if data["anchor"] is not None:
            fold.anchor = date.fromisoformat(data["anchor"])
        lines = data["lines"]
        if not journal.valid_figure(lines):
            raise ValueError("lines")
        fold.lines = lines
        for cycle, day, client, model, requests, units, prompt, completion, cost in data["cells"]:
            figures = [requests, units, prompt, completion]
            if not all(type(f) is int and f >= 0 for f in figures):
                raise ValueError("figures")
            base = Decimal(cost)
            if not base.is_finite() or base < 0:
                raise ValueError("cost")
            key = tuple(k.encode("latin-1") for k in (cycle, day, client, model))
            fold.cells[key] = [*figures, Counter(), base, {}]  # type: ignore[index]
        return fold


def _cost(g: Cell) -> Decimal | None:
    """A cell's exact cost, or None when it has more digits than _EXACT holds."""
    try:
        with localcontext(_EXACT) as ctx:
            ctx.traps[Inexact] = True
            return _cell_cost(g)
    except (Inexact, InvalidOperation):
        return None


def _cell_cost(g: Cell) -> Decimal:
    """A cell's cost in the current decimal context: its base, counted texts and scaled sums."""
    total: Decimal = g[5]
    for text, n in g[4].items():
        total += Decimal(text.decode()) * n
    for places, scaled in g[6].items():
        total += Decimal(f"{scaled}E-{places}")
    return total


def spend(path: StrPath, today: date, *, by: By = "model", client: str | None = None) -> Spend:
    """This cycle's charges at PATH grouped BY client, model or day (only CLIENT's if given).

    A summary beside PATH (chatpro.summary) spares re-reading what it covers; the answer is
    the same without it."""
    fold = _scan(path, today, use_summary=True)
    result = None if fold.inexact else _group(fold, today, by, client)
    if result is None:  # sums too long to be exact: one pass in file order, as without a summary
        result = _group(_scan(path, today, use_summary=False), today, by, client, exact=False)
    assert result is not None
    return result


def _scan(path: StrPath, today: date, *, use_summary: bool) -> _Fold:
    from chatpro import summary

    fold = _Fold()
    fold.exact = use_summary
    with open_log(path) as opened:
        if opened is None:
            return fold
        fh, size = opened
        start = 0
        loaded = summary.load(path, fh, size, SUMMARY_KIND) if use_summary else None
        if loaded is not None:
            try:
                fold = _Fold.restore(loaded[1])
                fold.exact = use_summary
                start = loaded[0]
            except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError):
                # a summary is only a cache: any doubt, read the whole file
                fold = _Fold()
        covered = start
        for at, block in forward(fh, size, start):
            lines = block.count(b"\n")
            if block.endswith(b"\n") and not _fast(block, lines, fold, today):
                _slow(path, block, fold.lines, fold, today)
            elif not block.endswith(b"\n"):
                _tail(block, fold, today)
                continue
            fold.lines += lines
            if sum(len(g[4]) + len(g[6]) for g in fold.cells.values()) > _PENDING_COSTS:
                fold.flush()
            covered = at + len(block)
        if covered - start >= summary.MIN_BYTES and use_summary:
            data = fold.dump()
            if data is not None:
                summary.save(path, fh, covered, SUMMARY_KIND, data)
    return fold


def _group(
    fold: _Fold, today: date, by: By, client: str | None, *, exact: bool = True
) -> Spend | None:
    """The current cycle's cells grouped BY; None when a cost sum is not exact (and EXACT)."""
    if fold.anchor is None:
        start, renews = today, renewal_after(today, 1)
    else:
        start, renews = cycle_bounds(fold.anchor, today)
    current = start.isoformat().encode()
    want = None if client is None else client.encode()
    index = {"model": 3, "day": 1, "client": 2}[by]
    groups: dict[bytes, list[Any]] = {}
    for key, g in fold.cells.items():
        if key[0] != current or (want is not None and key[2] != want):
            continue
        row = groups.get(key[index])
        if row is None:
            row = groups[key[index]] = [0, 0, 0, 0, []]
        for i in range(4):
            row[i] += g[i]
        row[4].append(g)
    rows = []
    total = Row("total")
    context = _EXACT.copy()
    context.traps[Inexact] = exact
    try:
        with localcontext(context):
            for name_, (requests, units, prompt, completion, cells) in sorted(groups.items()):
                amount = Decimal(0)
                for g in cells:
                    amount += _cell_cost(g)
                name = name_.decode("utf-8", "replace") or (NO_CLIENT if by == "client" else "")
                rows.append(Row(name, requests, units, prompt, completion, amount))
                total.requests += requests
                total.units += units
                total.prompt_tokens += prompt
                total.completion_tokens += completion
                total.cost += amount
    except Inexact:
        return None
    return Spend(start, renews, fold.anchor is not None, total, rows)


def _fast(block: bytes, lines: int, fold: _Fold, today: date) -> bool:
    """Fold BLOCK when every line is one of our records; False (nothing folded) otherwise."""
    charge, warned_line, start = _patterns()
    text = b"\n" + block
    starts = start.findall(text) if b'"type":"start"' in block else []
    warned = len(warned_line.findall(text)) if b'"type":"warned"' in block else 0
    charges: list[Charge] = charge.findall(text)
    if len(charges) + len(starts) + warned != lines:
        return False
    if starts:
        if len(starts) > 1 or not block.startswith(b'{"v":1,"type":"start"'):
            return False  # rare: let the slow path check the order line by line
        try:
            fold.start(date.fromisoformat(starts[0].decode()), today)
        except (ValueError, journal._Corrupt):
            return False
    if charges and fold.anchor is None:
        return False  # the slow path names the line
    fold.add(charges)
    return True


def _slow(path: StrPath, block: bytes, number: int, fold: _Fold, today: date) -> None:
    for offset, line in enumerate(block.split(b"\n")[:-1], 1):
        if not line.strip():
            continue
        try:
            _one(journal._loads(line), fold, today)
        except ValueError:
            raise journal._corrupt(path, number + offset, "not valid JSON") from None
        except journal._Corrupt as exc:
            raise journal._corrupt(path, number + offset, str(exc)) from None


def _tail(block: bytes, fold: _Fold, today: date) -> None:
    """A final line without its newline: a complete record counts, a torn one is ignored."""
    try:
        _one(journal._loads(block), fold, today)
    except (ValueError, journal._Corrupt):
        pass


def _one(record: object, fold: _Fold, today: date) -> None:
    """One parsed record, checked as journal.parse checks it."""
    if not isinstance(record, dict):
        raise journal._Corrupt("not a JSON object")
    kind = record.get("type")
    if kind == "start":
        try:
            anchor = date.fromisoformat(journal._str(record, "anchor"))
        except ValueError:
            raise journal._Corrupt("'anchor' must be a date") from None
        fold.start(anchor, today)
        return
    if kind not in ("charge", "warned"):
        raise journal._Corrupt(f"unknown record type {kind!r}")
    if fold.anchor is None:
        raise journal._Corrupt(f"a {kind} record before the start record")
    cycle = record.get("cycle")
    try:
        date.fromisoformat(cycle if isinstance(cycle, str) else "")
    except ValueError:
        raise journal._Corrupt("'cycle' must be a date") from None
    model = journal._str(record, "model")
    if kind == "warned":
        journal._int(record, "threshold")
        return
    units = journal._int(record, "units")
    prompt = journal._int(record, "prompt_tokens")
    completion = journal._int(record, "completion_tokens")
    cost = record.get("cost")
    amount = b"" if cost is None else str(journal.money(cost)).encode()
    client = record.get("client")
    ts = record.get("ts")
    fold.add(
        [
            (
                model.encode("utf-8", "surrogatepass"),
                str(units).encode(),
                str(prompt).encode(),
                str(completion).encode(),
                ts[:10].encode() if isinstance(ts, str) else b"",
                cycle.encode(),  # type: ignore[union-attr]
                client.encode("utf-8", "surrogatepass") if isinstance(client, str) else b"",
                amount,
            )
        ]
    )

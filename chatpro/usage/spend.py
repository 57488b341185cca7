"""This cycle's spend from the ledger, broken down by client, model or day, in constant memory.

``chatpro usage --by client`` must stay fast on a ledger of a million charges, so the journal is
streamed in blocks and our own records (json.dumps with compact separators, keys in the writer's
order, see journal.py) are read with one regex per block instead of one ``json.loads`` a line.
A block holding any other line (a foreign writer, a torn tail) goes line by line through the JSON
parser with the same checks as ``journal.parse``: nothing valid is missed, and a corrupt line is
the same StorageError.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from chatpro.chatlog.blocks import forward, open_log
from chatpro.usage import journal
from chatpro.usage.rules import cycle_bounds, renewal_after

By = Literal["client", "model", "day"]
NO_CLIENT = "(none)"  # how untagged work is shown

_FIGURE = rb"(0|[1-9]\d{0,14})"  # below journal.MAX_FIGURE; longer numbers take the slow path
# Each pattern starts with the newline before the line (the block gets one prepended), so the
# regex engine can jump between occurrences of a literal prefix and every match is a whole line.
_CHARGE = re.compile(
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
_WARNED = re.compile(
    rb'\n\{"v":1,"type":"warned","model":"[^"\\\n]+","threshold":\d{1,3},'
    rb'"cycle":"\d{4}-\d\d-\d\d"(?:,"kind":"budget")?\}(?=\n)'
)
_START = re.compile(
    rb'\n\{"v":1,"type":"start","anchor":"(\d{4}-\d\d-\d\d)","ts":"[^"\\\n]*"\}(?=\n)'
)

# (model, units, prompt tokens, completion tokens, day, cycle, client, cost) as raw bytes
Charge = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]


@dataclass
class Row:
    """One line of a breakdown: KEY's requests, units, tokens and exact cost this cycle."""

    key: str
    requests: int = 0
    units: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = field(default_factory=Decimal)


@dataclass(frozen=True)
class Spend:
    cycle_start: date
    renewal_date: date
    started: bool
    total: Row
    rows: list[Row]  # by the chosen key, in key order (days oldest first)


class _Fold:
    def __init__(self, by: By, client: str | None) -> None:
        self.index = {"model": 0, "day": 4, "client": 6}[by]
        self.want = None if client is None else client.encode()
        self.groups: dict[bytes, list[Any]] = {}
        self.anchor: date | None = None
        self.current = b""

    def start(self, anchor: date, today: date) -> None:
        if self.anchor is not None:
            raise journal._Corrupt("a second start record")
        self.anchor = anchor
        self.current = cycle_bounds(anchor, today)[0].isoformat().encode()

    def add(self, charges: list[Charge]) -> None:
        if charges and self.anchor is None:
            raise journal._Corrupt("a charge record before the start record")
        current, want, index, groups = self.current, self.want, self.index, self.groups
        for charge in charges:
            if charge[5] != current or (want is not None and charge[6] != want):
                continue
            key = charge[index]
            g = groups.get(key)
            if g is None:
                g = groups[key] = [0, 0, 0, 0, Counter()]
            g[0] += 1
            g[1] += int(charge[1])
            g[2] += int(charge[2])
            g[3] += int(charge[3])
            if charge[7]:
                g[4][charge[7]] += 1


def spend(path: Path, today: date, *, by: By = "model", client: str | None = None) -> Spend:
    """This cycle's charges at PATH grouped BY client, model or day (only CLIENT's if given)."""
    fold = _Fold(by, client)
    with open_log(path) as opened:
        if opened is not None:
            fh, size = opened
            number = 0  # lines before this block, for error messages
            for _, block in forward(fh, size):
                lines = block.count(b"\n")
                if block.endswith(b"\n") and not _fast(block, lines, fold, today):
                    _slow(path, block, number, fold, today)
                elif not block.endswith(b"\n"):
                    _tail(block, fold, today)
                number += lines
    rows = []
    total = Row("total")
    for key, (requests, units, prompt, completion, costs) in sorted(fold.groups.items()):
        amount = sum((Decimal(c.decode()) * n for c, n in costs.items()), Decimal(0))
        name = key.decode("utf-8", "replace") or (NO_CLIENT if by == "client" else "")
        rows.append(Row(name, requests, units, prompt, completion, amount))
        total.requests += requests
        total.units += units
        total.prompt_tokens += prompt
        total.completion_tokens += completion
        total.cost += amount
    if fold.anchor is None:
        start, renews = today, renewal_after(today, 1)
    else:
        start, renews = cycle_bounds(fold.anchor, today)
    return Spend(start, renews, fold.anchor is not None, total, rows)


def _fast(block: bytes, lines: int, fold: _Fold, today: date) -> bool:
    """Fold BLOCK when every line is one of our records; False (nothing folded) otherwise."""
    text = b"\n" + block
    starts = _START.findall(text) if b'"type":"start"' in block else []
    warned = len(_WARNED.findall(text)) if b'"type":"warned"' in block else 0
    charges: list[Charge] = _CHARGE.findall(text)
    if len(charges) + len(starts) + warned != lines:
        return False
    if starts:
        if len(starts) > 1 or not block.startswith(b'{"v":1,"type":"start"'):
            return False  # rare: let the slow path check the order line by line
        try:
            fold.start(date.fromisoformat(starts[0].decode()), today)
        except ValueError:
            return False
    fold.add(charges)
    return True


def _slow(path: Path, block: bytes, number: int, fold: _Fold, today: date) -> None:
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

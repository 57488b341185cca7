"""The ledger file: an append-only journal of JSON lines, folded into the current cycle's sums.

Records (one JSON object a line, ``"v": 1``):

- ``{"type": "start", "anchor": "2026-01-31", "ts": ...}`` — written once, with the first charge
  ever; the anchor is the cycle's start day (local time).
- ``{"type": "charge", "model", "units", "prompt_tokens", "completion_tokens", "ts", "cycle"}`` —
  one per answered request; ``cycle`` is the start date of the cycle it counts in.
- ``{"type": "warned", "model", "threshold", "cycle"}`` — a threshold warning was shown;
  threshold 100 is the "that was your last message" warning. A budget warning is the same record
  with ``"kind": "budget"`` (and ``"model": "(budget)"``, so older readers take it as harmless).

A charge may also carry ``client`` (its tag) and ``cost`` (the exact amount as a decimal string,
e.g. ``"0.0125"``); records written before there were prices have none and cost 0.

Writers hold an exclusive flock on ``<ledger>.lock`` around read-modify-write and add all their
records with one ``write()``, so a charge and its warnings land together or not at all. Nothing is
rewritten; a torn final line (a killed process, a power cut) is ignored on read and cut off by
the next writer. Any other invalid line is a StorageError naming the file and line, and the file
is left exactly as it was: an allowance silently reset to zero would be worse than an error.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from chatpro.errors import StorageError
from chatpro.fsutil import append_line, describe_os_error, fsync_dir
from chatpro.usage.rules import cycle_bounds, renewal_after

if TYPE_CHECKING:
    from chatpro.paths import StrPath

LEDGER_VERSION = 1
LAST_MESSAGE = 100  # the threshold recorded for "that was your last message"
BUDGET_KIND = "budget"  # the "kind" of a warned record about the money budget
BUDGET_MODEL = "(budget)"  # its "model", which no real model is called


# Totals and State are plain classes, not dataclasses: every table command reads the journal,
# and building a dataclass at import costs more than the rest of this module.


class Totals:
    """One model's sums this cycle (updated in place while the journal is read)."""

    __slots__ = ("completion_tokens", "prompt_tokens", "units")

    def __init__(self, units: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        self.units = units
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens

    def copy(self) -> Totals:
        return Totals(self.units, self.prompt_tokens, self.completion_tokens)

    def __repr__(self) -> str:
        return (
            f"Totals(units={self.units}, prompt_tokens={self.prompt_tokens}, "
            f"completion_tokens={self.completion_tokens})"
        )


class State:
    """What the journal says about the current cycle (only its sums are kept)."""

    __slots__ = (
        "anchor",
        "budget_warned",
        "cycle_start",
        "renewal_date",
        "reserved",
        "size",
        "spend",
        "torn",
        "totals",
        "warned",
    )

    def __init__(
        self,
        anchor: date | None,
        cycle_start: date,
        renewal_date: date,
        totals: dict[str, Totals] | None = None,
        warned: set[tuple[str, int]] | None = None,
        spend: Decimal = Decimal(0),
        budget_warned: set[int] | None = None,
        size: int = 0,
        torn: bool = False,
        reserved: dict[str, int] | None = None,
    ) -> None:
        self.anchor = anchor
        self.cycle_start = cycle_start
        self.renewal_date = renewal_date
        self.totals: dict[str, Totals] = {} if totals is None else totals
        self.warned: set[tuple[str, int]] = set() if warned is None else warned
        self.spend = spend  # the cycle's charges' costs, exact
        self.budget_warned: set[int] = set() if budget_warned is None else budget_warned
        self.size = (
            size  # bytes of whole records; a torn tail beyond it is cut off by the next writer
        )
        self.torn = torn
        # live reservations (not in the file)
        self.reserved: dict[str, int] = {} if reserved is None else reserved

    def charged(self, model: str) -> int:
        totals = self.totals.get(model)
        return totals.units if totals else 0

    def used(self, model: str) -> int:
        """Charged plus reserved by requests in flight: what is no longer available."""
        return self.charged(model) + self.reserved.get(model, 0)


class _Corrupt(Exception):
    pass


MAX_FIGURE = 10**15  # no count of ours comes near; 10^400 must not reach float arithmetic


def valid_figure(value: object) -> bool:
    """A count the ledger can hold: a whole number from 0 to MAX_FIGURE (bools are not)."""
    return type(value) is int and 0 <= value <= MAX_FIGURE


def _int(record: dict[str, object], key: str) -> int:
    value = record.get(key)
    if not valid_figure(value):
        raise _Corrupt(f"{key!r} must be a whole number from 0 to {MAX_FIGURE}")
    assert isinstance(value, int)
    return value


def _str(record: dict[str, object], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise _Corrupt(f"{key!r} must be a non-empty string")
    return value


def money(value: object) -> Decimal:
    """A charge's ``cost``: a decimal string of a finite amount ≥ 0 (else the line is corrupt)."""
    try:
        amount = Decimal(value) if isinstance(value, str) and len(value) <= 64 else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise _Corrupt("'cost' must be a decimal amount as a string")
    return amount


# The last journal parsed, and what it folded into: a batch reads the same journal for the
# plan, the reservation and the charge of each input, and each charge only appends to it. The key
# is the whole content (comparing bytes costs far less than parsing them), so a hit is exact; a
# journal that only grew past a cached one ending in a whole line folds just the new lines in.
_last: tuple[StrPath, bytes, date, State] | None = None


def parse(path: StrPath, data: bytes, today: date) -> State:
    """Fold the journal into the current cycle's state; raise StorageError on corruption.

    Each call returns a state of its own (callers fill in `reserved`)."""
    global _last
    last = _last  # one read: worker threads share the cache
    if last is not None and last[0] == path and last[2] == today:
        seen = last[1]
        if seen == data:
            return _copy(last[3])
        if seen.endswith(b"\n") and len(data) > len(seen) and data.startswith(seen):
            state = _parse(path, data, today, prior=_copy(last[3]), offset=len(seen))
            _last = (path, data, today, _copy(state))
            return state
    state = _parse(path, data, today)
    _last = (path, data, today, _copy(state))
    return state


def _copy(state: State) -> State:
    return State(
        state.anchor,
        state.cycle_start,
        state.renewal_date,
        totals={m: t.copy() for m, t in state.totals.items()},
        warned=set(state.warned),
        spend=state.spend,
        budget_warned=set(state.budget_warned),
        size=state.size,
        torn=state.torn,
        reserved=dict(state.reserved),
    )


def _parse(
    path: StrPath, data: bytes, today: date, *, prior: State | None = None, offset: int = 0
) -> State:
    """The state of DATA; with PRIOR, the state of DATA[:OFFSET] (whole lines), only the lines
    after OFFSET are read."""
    if prior is None:
        state = State(anchor=None, cycle_start=today, renewal_date=renewal_after(today, 1))
    else:
        state = prior
    end = max(offset, data.rfind(b"\n") + 1)
    body, tail = data[offset:end], data[end:]
    lines = body.split(b"\n")[:-1]
    if tail:
        # No newline: either a complete record that only lost its newline, or a torn write.
        try:
            record = _loads(tail)
            if not isinstance(record, dict):
                raise _Corrupt
        except (ValueError, _Corrupt):
            state.torn = True
        else:
            lines.append(tail)
            end = len(data)
    state.size = end
    cycles: dict[str, str] = {}  # validated cycle strings; only the current one counts
    current = state.cycle_start.isoformat() if state.anchor is not None else ""
    first = data.count(b"\n", 0, offset) + 1 if offset else 1
    for number, record in _decode(path, lines, first):
        try:
            if not isinstance(record, dict):
                raise _Corrupt("not a JSON object")
            kind = record.get("type")
            if kind == "charge" or kind == "warned":
                if state.anchor is None:
                    raise _Corrupt(f"a {kind} record before the start record")
                cycle = record.get("cycle")
                if cycle not in cycles:
                    if not isinstance(cycle, str):
                        raise _Corrupt("'cycle' must be a date")
                    try:
                        date.fromisoformat(cycle)
                    except ValueError:
                        raise _Corrupt("'cycle' must be a date") from None
                    cycles[cycle] = cycle
                model = _str(record, "model")
                if kind == "charge":
                    units = _int(record, "units")
                    prompt = _int(record, "prompt_tokens")
                    completion = _int(record, "completion_tokens")
                    if cycle == current:
                        totals = state.totals.get(model)
                        if totals is None:
                            totals = state.totals[model] = Totals()
                        totals.units += units
                        totals.prompt_tokens += prompt
                        totals.completion_tokens += completion
                        cost = record.get("cost")
                        if cost is not None:
                            state.spend += money(cost)
                else:
                    threshold = _int(record, "threshold")
                    if cycle == current:
                        if record.get("kind") == BUDGET_KIND:
                            state.budget_warned.add(threshold)
                        else:
                            state.warned.add((model, threshold))
            elif kind == "start":
                if state.anchor is not None:
                    raise _Corrupt("a second start record")
                try:
                    state.anchor = date.fromisoformat(_str(record, "anchor"))
                except ValueError:
                    raise _Corrupt("'anchor' must be a date") from None
                state.cycle_start, state.renewal_date = cycle_bounds(state.anchor, today)
                current = state.cycle_start.isoformat()
            else:
                raise _Corrupt(f"unknown record type {kind!r}")
        except _Corrupt as exc:
            raise _corrupt(path, number, str(exc)) from None
    return state


def _decode(path: StrPath, lines: list[bytes], first: int = 1) -> list[tuple[int, object]]:
    """The JSON value of each non-blank line, with its line number (the first is FIRST).

    One json.loads over the whole journal as an array is several times faster than one call a
    line (100k records in about 0.1 s); any doubt (a blank or invalid line, a line holding two
    values) falls back to line by line, which also finds the line number to report.
    """
    if lines:
        try:
            values = _loads(b"[" + b",".join(lines) + b"]")
        except ValueError:
            pass
        else:
            if len(values) == len(lines):
                return list(enumerate(values, first))
    decoded: list[tuple[int, object]] = []
    for number, line in enumerate(lines, first):
        if not line.strip():
            continue
        try:
            decoded.append((number, _loads(line)))
        except ValueError:
            raise _corrupt(path, number, "not valid JSON") from None
    return decoded


def _loads(data: bytes) -> Any:
    """json.loads where any shape of line (deep nesting, invalid UTF-8) is a ValueError."""
    import json  # here, not at import: `model list` on a fresh home reads no journal

    try:
        return json.loads(data)
    except (RecursionError, MemoryError) as exc:
        raise ValueError(exc.__class__.__name__) from None


def _corrupt(path: StrPath, number: int, reason: str) -> StorageError:
    return StorageError(
        f"usage ledger {path} is corrupt at line {number}: {reason}; it was left untouched",
        hint="fix or remove that line; chatpro never resets the allowance on its own",
    )


def read(path: StrPath) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        reason = describe_os_error(exc, path).replace("cannot write", "cannot read")
        raise StorageError(reason) from None


def append_records(
    path: StrPath, records: list[dict[str, object]], state: State, existed: bool
) -> None:
    """One write of all RECORDS, after cutting off a torn tail; then fsync. Lock held."""
    if state.torn:
        try:
            os.truncate(path, state.size)
        except OSError as exc:
            raise StorageError(describe_os_error(exc, path)) from None
    import json

    data = b"".join(
        json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for r in records
    )
    append_line(path, data, lock=False)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StorageError(describe_os_error(exc, path)) from None
    if not existed:
        fsync_dir(os.path.dirname(path))

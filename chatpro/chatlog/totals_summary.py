"""Report totals kept in ``chats.jsonl.summary`` (chatpro.summary), so `chatpro report` reads the
summary, the lines of the days around the retention cutoff, and what was appended, not the log.

For the covered part of the log the summary holds, per cell (day as written, client, model):
messages, tokens, units, the exact cost sum, first and last ts; per chat the set of cells it has
lines in (chats with the same set share one string of their ids); per day the byte range of the
blocks holding its lines; and how many unreadable lines were skipped. Nothing in it depends on
the clock or on the query.

A query trusts a cell only when its whole day is inside the window: a line's time is within 24
hours of its own day, so every line of a day two days after the cutoff's UTC date is kept and
every line of one two days before it is gone. The days in between are read again from their byte
ranges, taking only those days' lines (so ranges that overlap or hold other days do no harm), and
the lines after the covered part are read as without a summary. A chat counts once per (client,
model) row: in the trusted cells of its set, or else among the lines read.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta, timezone
from decimal import Decimal, Inexact, localcontext
from typing import TYPE_CHECKING, Any, BinaryIO

from chatpro.chatlog.blocks import OVERSIZED_LINE, Skipped, forward
from chatpro.chatlog.records import Window
from chatpro.chatlog.totals import (
    EXACT,
    Group,
    Key,
    Totals,
    _Fold,
    cost_of_texts,
    rows_of,
    scan,
    totals_of,
)

if TYPE_CHECKING:
    from chatpro.paths import StrPath

KIND = "chatlog-totals"
Cell = tuple[bytes, bytes, bytes, int, int, int, int, Decimal, bytes, bytes]
# day, client, model, messages, prompt tokens, completion tokens, units, cost, first ts, last ts


class _Index:
    """The figures of the log's first OFFSET bytes."""

    def __init__(
        self,
        offset: int,
        skipped: int,
        cells: list[Cell],
        days: dict[bytes, tuple[int, int]],
        sigs: list[tuple[tuple[int, ...], int, str]],  # (cells, how many chats, their ids)
    ) -> None:
        self.offset, self.skipped, self.cells, self.days, self.sigs = (
            offset,
            skipped,
            cells,
            days,
            sigs,
        )

    def dump(self) -> dict[str, Any]:
        def text(b: bytes) -> str:
            return b.decode("latin-1")

        return {
            "skipped": self.skipped,
            "cells": [
                [text(c[0]), text(c[1]), text(c[2]), *c[3:7], str(c[7]), text(c[8]), text(c[9])]
                for c in self.cells
            ],
            "days": [[text(day), *span] for day, span in self.days.items()],
            "sigs": [[list(cells), ids] for cells, _, ids in self.sigs],
        }

    @classmethod
    def restore(cls, offset: int, data: Any) -> _Index:
        """An index from a summary's data; ValueError (or another error) when anything is off."""

        def count(value: Any, low: int = 0) -> int:
            if type(value) is not int or value < low:
                raise ValueError("figure")
            return value

        def raw(value: Any) -> bytes:
            if type(value) is not str:
                raise ValueError("text")
            return value.encode("latin-1")

        days: dict[bytes, tuple[int, int]] = {}
        for day, start, end in data["days"]:
            if not count(start) < count(end) <= offset or raw(day) in days:
                raise ValueError("day")
            days[raw(day)] = (start, end)
        cells: list[Cell] = []
        for day, who, model, messages, prompt, completion, units, cost, first, last in data[
            "cells"
        ]:
            amount = Decimal(cost) if type(cost) is str else Decimal("NaN")
            if not amount.is_finite() or amount < 0 or raw(day) not in days:
                raise ValueError("cell")
            cells.append(
                (
                    raw(day),
                    raw(who),
                    raw(model),
                    count(messages, 1),
                    count(prompt),
                    count(completion),
                    count(units),
                    amount,
                    raw(first),
                    raw(last),
                )
            )
        sigs = []
        for members, ids in data["sigs"]:
            if not members or type(ids) is not str:
                raise ValueError("chats")
            sigs.append((tuple(count(i) for i in members), ids.count(" ") + 1, ids))
            if members[-1] >= len(cells):
                raise ValueError("chats")
        return cls(offset, count(data["skipped"]), cells, days, sigs)


def fold_with_summary(
    path: StrPath, fh: BinaryIO, size: int, fold: _Fold, skipped: Skipped
) -> Totals | None:
    """FOLD's totals for the log at PATH (open as FH, SIZE bytes) read through its summary, which
    is written or refreshed when that spares a later run MIN_BYTES of reading; None when there is
    none worth having (the caller reads the log itself)."""
    from chatpro import summary

    index = None
    loaded = summary.load(path, fh, size, KIND)
    if loaded is not None:
        try:
            index = _Index.restore(*loaded)
        except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError):
            index = None  # a summary is only a cache: any doubt, read the whole log
    if index is None or size - index.offset >= summary.MIN_BYTES:
        if index is None and size < summary.MIN_BYTES:
            return None
        built = _build(fh, size, fold.window)
        if built is None:
            return None
        if built.offset - (index.offset if index else 0) >= summary.MIN_BYTES:
            summary.save(path, fh, built.offset, KIND, built.dump())
        index = built
    return _answer(index, fh, size, fold, skipped)


FOLD_COSTS_AT = 512
"""Distinct cost texts a cell keeps counted before they are folded into its exact sum."""


def _build(fh: BinaryIO, size: int, window: Window) -> _Index | None:
    """An index of every whole line of the log; None when one cannot be written down."""
    cells: dict[tuple[bytes, bytes, bytes], list[Any]] = {}
    chat_cell: dict[bytes, int] = {}  # chat → the first cell it was seen in
    more: set[tuple[bytes, int]] = set()  # (chat, cell) for a chat's further cells
    days: dict[bytes, list[int]] = {}
    dated: dict[bytes, bool] = {}  # UTC offset → whether a ts with it can be in any window
    skipped = Skipped("", lambda _: None)
    covered = skipped_before = 0
    for at, block in forward(fh, size):
        if not block.endswith(b"\n"):
            break  # the unterminated tail: read with what is appended
        fast, slow = rows_of(block, skipped)
        lines: list[tuple[bytes, ...]] = []
        for row in fast:
            offset = row[1][23:]
            ok = dated.get(offset)
            if ok is None:
                ok = dated[offset] = window._cut_for(offset) is not None
            if ok:  # else Window.keeps_fixed never keeps it
                lines.append(row)
        for chat, ts, model, figures, who, _ in slow:
            lines.append((chat, ts, model, *figures[:3], who, figures[3]))
        last_chat, last_cell = b"", None
        for chat, ts, model, prompt, completion, units, who, cost in lines:
            key = (ts[:10], who, model)
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = [len(cells), 0, 0, 0, 0, Counter(), ts, ts, Decimal(0)]
            cell[1] += 1
            if prompt:
                cell[2] += int(prompt)
                cell[3] += int(completion)
                cell[4] += int(units)
            if cost:
                costs = cell[5]
                costs[cost] += 1
                if len(costs) > FOLD_COSTS_AT:  # bound the memory: fold into the exact sum
                    try:
                        with localcontext(EXACT) as ctx:
                            ctx.traps[Inexact] = True
                            cell[8] += cost_of_texts(costs)
                    except ArithmeticError:
                        return None  # a sum that cannot be exact is not written down
                    costs.clear()
            if ts < cell[6]:
                cell[6] = ts
            elif ts > cell[7]:
                cell[7] = ts
            if chat != last_chat or cell is not last_cell:
                last_chat, last_cell = chat, cell
                first = chat_cell.setdefault(chat, cell[0])
                if first != cell[0]:
                    more.add((chat, cell[0]))
        end = at + len(block)
        for day in {row[1][:10] for row in lines}:
            span = days.get(day)
            if span is None:
                days[day] = [at, end]
            else:
                span[1] = end
        if block != OVERSIZED_LINE:  # (its real length is unknown: covered by the next block)
            covered, skipped_before = end, skipped.count
    if covered == 0:
        return None
    extra: dict[bytes, list[int]] = {}
    for chat, cell_no in more:
        extra.setdefault(chat, [chat_cell[chat]]).append(cell_no)
    del more
    by_set: dict[tuple[int, ...], list[bytes]] = {}
    for chat, cell_no in chat_cell.items():
        if b" " in chat:
            return None  # ids are kept space-separated
        members = tuple(sorted(extra[chat])) if chat in extra else (cell_no,)
        by_set.setdefault(members, []).append(chat)
    del chat_cell, extra
    sigs = [(k, len(v), b" ".join(v).decode("latin-1")) for k, v in by_set.items()]
    del by_set
    rows: list[Cell] = []
    try:
        with localcontext(EXACT) as ctx:
            ctx.traps[Inexact] = True
            for (day, who, model), c in cells.items():
                cost = c[8] + cost_of_texts(c[5])
                rows.append((day, who, model, *c[1:5], cost, c[6], c[7]))  # type: ignore[arg-type]
    except ArithmeticError:
        return None
    spans = {day: (span[0], span[1]) for day, span in days.items()}
    return _Index(covered, skipped_before, rows, spans, sigs)


def _answer(index: _Index, fh: BinaryIO, size: int, fold: _Fold, skipped: Skipped) -> Totals:
    """The totals: trusted cells, the days around the cutoff read again, then what follows."""
    cut = fold.window.cutoff.astimezone(timezone.utc).date()
    lo = (cut - timedelta(days=1)).isoformat().encode()
    hi = (cut + timedelta(days=1)).isoformat().encode()
    since, until, want = fold.since, fold.until, fold.want
    trusted: dict[Key, Group] = {}
    cell_key: list[Key | None] = []
    with localcontext(EXACT):
        for day, who, model, messages, prompt, completion, units, cost, first, last in index.cells:
            if not (day > hi and since <= day <= until and (want is None or who == want)):
                cell_key.append(None)
                continue
            key = (who, model)
            cell_key.append(key)
            g = trusted.get(key)
            if g is None:
                g = trusted[key] = Group(first=first, last=last)
            g.messages += messages
            g.prompt_tokens += prompt
            g.completion_tokens += completion
            g.units += units
            g.base += cost
            g.first = min(g.first, first)
            g.last = max(g.last, last)
    # The days around the cutoff, from their byte ranges (merged, each byte read once).
    fold.since, fold.until = max(since, lo), min(until, hi)
    if fold.since <= fold.until:
        spans = sorted(span for day, span in index.days.items() if lo <= day <= hi)
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:  # their unreadable lines are already in index.skipped
            scan(fh, start, end, fold, Skipped("", lambda _: None))
    fold.since, fold.until = since, until
    scan(fh, index.offset, size, fold, skipped)
    skipped.count += index.skipped
    # Chats: per set of cells, the rows it counts in; chats also read above count once.
    chats: Counter[Key] = Counter()
    total = 0
    wanted = {chat.decode("latin-1") for chat in fold.owner}
    seen: dict[str, set[Key]] = {}  # a chat read above → its rows among the trusted cells
    for members, how_many, ids in index.sigs:
        keys = {k for k in (cell_key[i] for i in members) if k is not None}
        if not keys:
            continue
        total += how_many
        for key in keys:
            chats[key] += how_many
        if wanted:
            for chat in ids.split(" "):
                if chat in wanted:
                    seen[chat] = keys
    key_of = {id(g): key for key, g in fold.groups.items()}
    also: dict[bytes, list[Key]] = {}
    for chat_id, key in fold.also:
        also.setdefault(chat_id, []).append(key)
    for text, keys in seen.items():
        chat_id = text.encode("latin-1")
        total -= 1  # counted in len(fold.owner) too
        for key in [key_of[id(fold.owner[chat_id])], *also.get(chat_id, [])]:
            if key in keys:
                chats[key] -= 1  # counted in that fold group's chats too
    result: dict[Key, Group] = {}
    for key in trusted.keys() | fold.groups.keys():
        t, f = trusted.get(key), fold.groups.get(key)
        if t is None:
            assert f is not None
            g = f
        else:
            g = t
            if f is not None:
                g.messages += f.messages
                g.prompt_tokens += f.prompt_tokens
                g.completion_tokens += f.completion_tokens
                g.units += f.units
                g.costs = f.costs
                g.first = min(g.first, f.first)
                g.last = max(g.last, f.last)
                g.chats = f.chats
        g.chats += chats[key]
        result[key] = g
    fold.groups = result
    totals = totals_of(fold)
    totals.chats = total + len(fold.owner)
    return totals

"""Totals per client and model over the log, streamed: what `chatpro report` invoices.

A block made only of our own lines (valid UTF-8, each line in our writer's key order) is read
with one regex over the raw bytes that matches each whole line (JSON escapes every quote inside
strings, so the key literals can only match real keys, each once), and folded without building a dict a line: the per-line loop only adds numbers
already cut out, and a block whose lines all fall inside the window and the days asked for skips
the per-line date checks. Any other block goes line by line through ``load_record``, so torn or
hostile lines are skipped (and counted) as everywhere.

Chats are counted exactly in constant memory per chat: one dict from chat id to the first group
that saw it, plus the rare (chat, group) pairs of a chat that spans groups (a model change).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from chatpro.chatlog.blocks import Skipped, forward, open_log
from chatpro.chatlog.queries import plain_block, slow_rows
from chatpro.chatlog.records import Window

_NAME = rb'[^"\\\x00-\x1f]*'  # a JSON string's text without escapes or control characters
# A string's body: every quote in it escaped. Exact for valid JSON (a quote preceded by an escaped
# backslash can only be taken for an escaped one if the rest of the line still matches, and
# the literal `", "attachments": ` cannot occur inside a string), and it runs at C speed.
_TEXT = rb'"(?:[^"]*\\")*[^"]*"'
_INT = rb"(?:0|[1-9]\d{0,17})"  # the whole numbers records.loads reads (at most 18 digits)
_N = b"(" + _INT + b")"
_PAIR = _TEXT + rb": (?:" + _TEXT + b"|" + _INT + b")"
_OBJECT = rb"\{(?:" + _PAIR + rb"(?:, " + _PAIR + rb")*)?\}"  # an attachment: flat, like ours
# A cost as records.loads reads it: an int of at most 18 digits, or a finite float.
_COST = rb"(" + _INT + rb"(?:\.\d{1,30})?(?:[eE][+-]?\d{1,2})?)"
# One whole line in our writer's key order (make_record, then cost and title), each key once.
# Groups: chat id, ts, model, prompt tokens, completion tokens, units, client, cost.
_LINE = re.compile(
    rb'\n\{"v": 1, "id": "m_[0-9a-z_-]+", "chat_id": "(c_[0-9a-z_-]+)", '
    rb'"ts": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)", '
    rb'"role": "[a-z]+", "model": "('
    + _NAME
    + rb')", "content": '
    + _TEXT
    + rb', "attachments": \[(?:'
    + _OBJECT
    + rb"(?:, "
    + _OBJECT
    + rb")*)?\]"
    + rb', "usage": (?:null|\{"prompt_tokens": '
    + _N
    + rb', "completion_tokens": '
    + _N
    + rb', "units": '
    + _N
    + rb"\})"
    + rb'(?:, "interrupted": true)?(?:, "client": "('
    + _NAME
    + rb')")?'
    + rb'(?:, "cost": '
    + _COST
    + rb')?(?:, "title": '
    + _TEXT
    + rb")?\}(?=\n)"
)

Key = tuple[bytes, bytes]  # (client, model) as written


@dataclass
class Group:
    """One client and model's work within the window."""

    chats: int = 0  # distinct chat ids
    messages: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    units: int = 0
    costs: Counter[bytes] = field(default_factory=Counter)  # exact cost text → how many lines
    first: bytes = b""
    last: bytes = b""

    def cost(self) -> Decimal:
        from chatpro.money import money_from_json

        total = Decimal(0)
        for text, n in self.costs.items():
            amount = money_from_json(float(text))
            total += (amount or Decimal(0)) * n
        return total


class Totals(dict[tuple[str, str], Group]):
    """(client, model) → Group, and ``chats``: how many distinct chats in all of them."""

    chats: int = 0


class _Fold:
    """The running totals of one report."""

    def __init__(self, window: Window, since: bytes, until: bytes, client: str | None) -> None:
        self.window = window
        self.since, self.until = since, until
        self.want = None if client is None else client.encode()
        self.groups: dict[Key, Group] = {}
        self.owner: dict[bytes, Group] = {}  # chat id → the first group it was counted in
        self.also: set[tuple[bytes, Key]] = set()  # (chat, group) for a chat's further groups

    def block(self, rows: list[Any]) -> None:
        """Fold one block's lines as _LINE's groups."""
        chats, stamps, models, prompts, completions, units, clients, costs = zip(*rows, strict=True)
        if self._all_kept(stamps):
            lines: Any = range(len(stamps))
        else:  # the block holds the retention cutoff, a --since/--until day or several offsets
            lines = [i for i, ts in enumerate(stamps) if self._keeps(ts)]
        want, groups = self.want, self.groups
        last_chat, last_group = b"", None
        for i in lines:
            who = clients[i]
            if want is not None and who != want:
                continue
            ts = stamps[i]
            key = (who, models[i])
            g = groups.get(key)
            if g is None:
                g = groups[key] = Group(first=ts, last=ts)
            g.messages += 1
            if prompts[i]:  # b"" for "usage": null
                g.prompt_tokens += int(prompts[i])
                g.completion_tokens += int(completions[i])
                g.units += int(units[i])
            if costs[i]:
                g.costs[costs[i]] += 1
            if ts < g.first:
                g.first = ts
            elif ts > g.last:
                g.last = ts
            chat = chats[i]
            if chat != last_chat or g is not last_group:  # a chat's lines mostly come together
                last_chat, last_group = chat, g
                self._chat(chat, key, g)

    def line(
        self, chat: bytes, ts: bytes, model: bytes, figures: tuple[bytes, ...], who: bytes
    ) -> None:
        """Fold one line read the slow way (its ts already known to be in the window)."""
        day = ts[:10]
        if day < self.since or day > self.until:
            return
        if self.want is not None and who != self.want:
            return
        g = self.groups.get((who, model))
        if g is None:
            g = self.groups[(who, model)] = Group(first=ts, last=ts)
        g.messages += 1
        g.prompt_tokens += int(figures[0])
        g.completion_tokens += int(figures[1])
        g.units += int(figures[2])
        if figures[3]:
            g.costs[figures[3]] += 1
        g.first = min(g.first, ts)
        g.last = max(g.last, ts)
        self._chat(chat, (who, model), g)

    def _chat(self, chat: bytes, key: Key, g: Group) -> None:
        owner = self.owner.get(chat)
        if owner is None:
            self.owner[chat] = g
            g.chats += 1
        elif owner is not g and (chat, key) not in self.also:
            self.also.add((chat, key))
            g.chats += 1

    def _all_kept(self, stamps: tuple[bytes, ...]) -> bool:
        """Whether every line is in the window and within --since/--until (C-speed checks)."""
        offset = stamps[0][23:]
        if b"".join(stamps).count(offset) != len(stamps):  # an offset can only match itself
            return False
        first, last = min(stamps), max(stamps)  # within one offset, text order is time order
        return (
            self.window.keeps_fixed(first) and first[:10] >= self.since and last[:10] <= self.until
        )

    def _keeps(self, ts: bytes) -> bool:
        return self.since <= ts[:10] <= self.until and self.window.keeps_fixed(ts)


def client_model_totals(
    path: Path,
    window: Window,
    skipped: Skipped,
    *,
    since: bytes = b"",
    until: bytes = b"\xff",
    client: str | None = None,
) -> Totals:
    """(client, model) → Group for the lines within WINDOW whose day (the ts's own date, as
    written) is from SINCE to UNTIL (``YYYY-MM-DD`` bytes); untagged lines have client ""."""
    fold = _Fold(window, since, until, client)
    try:
        with open_log(path) as opened:
            if opened is not None:
                fh, size = opened
                for _, block in forward(fh, size):
                    if _ours(block):
                        lines = block.count(b"\n")
                        rows = _LINE.findall(b"\n" + block)
                        if len(rows) == lines:
                            fold.block(rows)
                            continue
                    for _, record in slow_rows(block, skipped):
                        _add_record(record, window, fold)
    finally:
        skipped.report()
    result = Totals(
        ((who.decode("utf-8", "replace"), model.decode("utf-8", "replace")), g)
        for (who, model), g in fold.groups.items()
    )
    result.chats = len(fold.owner)
    return result


def _ours(block: bytes) -> bool:
    """Every line starts and ends as our writer's lines do, and the block is valid UTF-8."""
    if not plain_block(block):
        return False
    if block.isascii():
        return True
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _add_record(record: dict[str, Any], window: Window, fold: _Fold) -> None:
    if not window.keeps_any(record["ts"]):
        return
    from chatpro.chatlog.records import parse_ts

    ts = parse_ts(record["ts"])
    assert ts is not None
    usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
    figures = []
    for key in ("prompt_tokens", "completion_tokens", "units"):
        value = usage.get(key) if usage else None
        figures.append(str(value).encode() if type(value) is int and value >= 0 else b"0")
    cost = record.get("cost")
    ok = isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0
    figures.append(repr(cost).encode() if ok else b"")
    who = record.get("client")
    fold.line(
        record["chat_id"].encode("utf-8", "surrogatepass"),
        ts.isoformat(timespec="milliseconds").encode(),
        str(record.get("model", "")).encode("utf-8", "surrogatepass"),
        tuple(figures),
        who.encode("utf-8", "surrogatepass") if isinstance(who, str) else b"",
    )

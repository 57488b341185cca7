"""Totals per client and model over the log, streamed: what `chatpro report` invoices.

A block made only of our own lines (valid UTF-8, each line in our writer's key order) is read
with one regex over the raw bytes that matches each whole line (JSON escapes every quote inside
strings, so the key literals can only match real keys, each once), and folded without building a dict a line: the per-line loop only adds numbers
already cut out, and a block whose lines all fall inside the window and the days asked for skips
the per-line date checks. Any other block goes line by line through ``load_record``, so torn or
hostile lines are skipped (and counted) as everywhere. Whether a line is read the fast or the
slow way depends on that line alone (a block with other lines is cut up around its lines that do
match), so any split of the file into blocks gives the same totals: what lets a summary
(totals_summary.py) stand in for the part of the file it covers.

Chats are counted exactly in constant memory per chat: one dict from chat id to the first group
that saw it, plus the rare (chat, group) pairs of a chat that spans groups (a model change).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, localcontext
from typing import TYPE_CHECKING, Any

from chatpro.chatlog.blocks import Skipped, forward, open_log
from chatpro.chatlog.queries import plain_block
from chatpro.chatlog.records import Window, load_record, parse_ts

if TYPE_CHECKING:
    from chatpro.paths import StrPath

_NAME = rb'[^"\\\x00-\x1f]*'  # a JSON string's text without escapes or control characters
# A string's body: every quote in it escaped. Exact for valid JSON (a quote preceded by an escaped
# backslash can only be taken for an escaped one if the rest of the line still matches, and
# the literal `", "attachments": ` cannot occur inside a string), and it runs at C speed.
_TEXT = rb'"(?:[^"\n]*\\")*[^"\n]*"'
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
# A line read the fast way: _LINE's groups (chat id, ts, model, prompt, completion, units,
# client, cost). One read the slow way: (chat id, ts as isoformat ms, model, figures, client,
# the ts as written), figures being prompt, completion, units and cost as _LINE would cut them.
FastRow = tuple[bytes, ...]
SlowRow = tuple[bytes, bytes, bytes, tuple[bytes, ...], bytes, Any]
# Costs are added up exactly (any JSON float's digits fit), so in any order the sum is the same.
EXACT = Context(prec=2000, Emax=MAX_EMAX, Emin=MIN_EMIN)


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
    base: Decimal = Decimal(0)  # cost already added up (from a summary)

    def cost(self) -> Decimal:
        with localcontext(EXACT):
            return self.base + cost_of_texts(self.costs)


def cost_of_texts(costs: Counter[bytes]) -> Decimal:
    """The exact sum of COSTS (cost text → how many lines); call under EXACT."""
    from chatpro.money import money_from_json

    total = Decimal(0)
    for text, n in costs.items():
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

    def rows(self, fast: list[FastRow], slow: list[SlowRow]) -> None:
        if fast:
            self.block(fast)
        for chat, ts, model, figures, who, written in slow:
            if self.window.keeps_any(written):
                self.line(chat, ts, model, figures, who)

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
    path: StrPath,
    window: Window,
    skipped: Skipped,
    *,
    since: bytes = b"",
    until: bytes = b"\xff",
    client: str | None = None,
) -> Totals:
    """(client, model) → Group for the lines within WINDOW whose day (the ts's own date, as
    written) is from SINCE to UNTIL (``YYYY-MM-DD`` bytes); untagged lines have client "".

    A summary beside PATH (totals_summary.py) spares re-reading what it covers; the answer is
    the same without it."""
    from chatpro.chatlog import totals_summary

    fold = _Fold(window, since, until, client)
    try:
        with open_log(path) as opened:
            if opened is not None:
                fh, size = opened
                result = totals_summary.fold_with_summary(path, fh, size, fold, skipped)
                if result is not None:
                    return result
                scan(fh, 0, size, fold, skipped)
    finally:
        skipped.report()
    return totals_of(fold)


def totals_of(fold: _Fold) -> Totals:
    result = Totals(
        ((who.decode("utf-8", "replace"), model.decode("utf-8", "replace")), g)
        for (who, model), g in fold.groups.items()
    )
    result.chats = len(fold.owner)
    return result


def scan(fh: Any, start: int, end: int, fold: _Fold, skipped: Skipped) -> None:
    """Fold the lines from byte START (a line's start) to END (a line's end, or the size)."""
    for _, block in forward(fh, end, start):
        fold.rows(*rows_of(block, skipped))


def rows_of(block: bytes, skipped: Skipped) -> tuple[list[FastRow], list[SlowRow]]:
    """BLOCK's lines: those matching _LINE whole (and valid UTF-8) the fast way, the others the
    slow way, unreadable ones counted in SKIPPED. Which way a line goes depends on it alone."""
    if _ours(block):
        rows = _LINE.findall(b"\n" + block)
        if len(rows) == block.count(b"\n"):
            return rows, []
    fast: list[FastRow] = []
    slow: list[SlowRow] = []
    data = b"\n" + block
    pos = 0  # the newline before the next line not yet taken
    for m in _LINE.finditer(data):  # _LINE never spans lines: each match is one whole line
        if m.start() > pos:
            _slow_rows(data[pos + 1 : m.start() + 1], skipped, slow)
        line = data[m.start() + 1 : m.end()]
        if _utf8(line):
            fast.append(m.groups(b""))  # as findall gives them
        else:
            _slow_rows(line, skipped, slow)
        pos = m.end()
    if pos + 1 < len(data):
        _slow_rows(data[pos + 1 :], skipped, slow)
    return fast, slow


def _ours(block: bytes) -> bool:
    """Every line starts and ends as our writer's lines do, and the block is valid UTF-8."""
    return plain_block(block) and _utf8(block)


def _utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _slow_rows(lines: bytes, skipped: Skipped, out: list[SlowRow]) -> None:
    from chatpro.chatlog.blocks import split_lines

    for line in split_lines(lines):
        record = load_record(line)
        if record is None:
            skipped.count += 1
        else:
            out.append(_slow_row(record))


def _slow_row(record: dict[str, Any]) -> SlowRow:
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
    return (
        record["chat_id"].encode("utf-8", "surrogatepass"),
        ts.isoformat(timespec="milliseconds").encode(),
        str(record.get("model", "")).encode("utf-8", "surrogatepass"),
        tuple(figures),
        who.encode("utf-8", "surrogatepass") if isinstance(who, str) else b"",
        record["ts"],
    )

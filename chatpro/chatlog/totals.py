"""Totals per client and model over the log, streamed: what `chatpro report` invoices.

A block made only of our own lines is read with two regexes over the raw bytes (the head up to
``content`` and the tail from ``usage`` on; JSON escapes every quote inside strings, so the key
literals can only match real keys); no dict is built for a line. Any other block goes line by
line through ``load_record``, so torn or hostile lines are skipped (and counted) as everywhere.
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

_HEAD = re.compile(
    rb'\n\{"v": 1, "id": "m_[0-9a-z_-]+", "chat_id": "(c_[0-9a-z_-]+)", '
    rb'"ts": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)", '
    rb'"role": "[a-z]+", "model": "([^"\\\n]*)", "content": "'
)
_N = rb"(0|[1-9]\d{0,17})"
_TAIL = re.compile(
    rb'"usage": (?:null|\{"prompt_tokens": '
    + _N
    + rb', "completion_tokens": '
    + _N
    + rb', "units": '
    + _N
    + rb"\})"
    rb'(?:, "interrupted": true)?(?:, "client": "([^"\\\n]*)")?'
    rb"(?:, \"cost\": (\d{1,30}(?:\.\d{1,30})?(?:e[+-]?\d{1,3})?))?\}\n"
)


@dataclass
class Group:
    """One client's (or one client and model's) work within the window."""

    chats: set[bytes] = field(default_factory=set)
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


def client_model_totals(
    path: Path,
    window: Window,
    skipped: Skipped,
    *,
    since: bytes = b"",
    until: bytes = b"\xff",
    client: str | None = None,
) -> dict[tuple[str, str], Group]:
    """(client, model) → Group for the lines within WINDOW whose day (the ts's own date, as
    written) is from SINCE to UNTIL (``YYYY-MM-DD`` bytes); untagged lines have client ""."""
    groups: dict[tuple[bytes, bytes], Group] = {}
    want = None if client is None else client.encode()

    def add(chat: bytes, ts: bytes, model: bytes, figures: tuple[bytes, ...], who: bytes) -> None:
        day = ts[:10]
        if day < since or day > until or (want is not None and who != want):
            return
        g = groups.get((who, model))
        if g is None:
            g = groups[(who, model)] = Group(first=ts, last=ts)
        g.chats.add(chat)
        g.messages += 1
        if figures[0]:
            g.prompt_tokens += int(figures[0])
            g.completion_tokens += int(figures[1])
            g.units += int(figures[2])
        if figures[3]:
            g.costs[figures[3]] += 1
        if ts < g.first:
            g.first = ts
        if ts > g.last:
            g.last = ts

    try:
        with open_log(path) as opened:
            if opened is not None:
                fh, size = opened
                for _, block in forward(fh, size):
                    lines = block.count(b"\n")
                    heads = _HEAD.findall(b"\n" + block) if plain_block(block) else []
                    tails = _TAIL.findall(block) if len(heads) == lines else []
                    if heads and len(tails) == lines:
                        keeps = window.keeps_fixed
                        for (chat, ts, model), (p, c, u, who, cost) in zip(
                            heads, tails, strict=True
                        ):
                            if keeps(ts):
                                add(chat, ts, model, (p, c, u, cost), who)
                        continue
                    for _, record in slow_rows(block, skipped):
                        _add_record(record, window, add)
    finally:
        skipped.report()
    return {
        (who.decode("utf-8", "replace"), model.decode("utf-8", "replace")): g
        for (who, model), g in groups.items()
    }


def _add_record(record: dict[str, Any], window: Window, add: Any) -> None:
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
    add(
        record["chat_id"].encode("utf-8", "surrogatepass"),
        ts.isoformat(timespec="milliseconds").encode(),
        str(record.get("model", "")).encode("utf-8", "surrogatepass"),
        tuple(figures),
        who.encode("utf-8", "surrogatepass") if isinstance(who, str) else b"",
    )

"""Read-side queries over the log: chats, one chat's messages, search, prefix lookup.

All of them stream the file in blocks (see blocks.py) and avoid ``json.loads`` on lines they do
not need: a block made only of lines in our own format is handled with regexes over raw bytes;
any other block (a foreign writer's format, a torn or garbage line) goes line by line through the
JSON parser, so nothing valid is ever missed and unreadable lines are counted for one warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from chatpro.chatlog.blocks import Skipped, backward, forward, line_at, open_log, split_lines
from chatpro.chatlog.records import (
    LINE_RE,
    LINE_START,
    Window,
    load_record,
    parse_ts,
    record_title,
)

if TYPE_CHECKING:
    from chatpro.paths import StrPath

SNIPPET_CHARS = 80

# (message id, chat id, ts, role, model) as bytes, for one record; `source` gives the full record
Row = tuple[bytes, bytes, bytes, bytes, bytes]


class ChatSummary(NamedTuple):
    chat_id: str
    title: str
    model: str
    messages: int
    first_ts: datetime
    last_ts: datetime
    expires_in_days: int


class SearchHit(NamedTuple):
    chat_id: str
    message_id: str
    ts: datetime
    role: str
    snippet: str


def chat_keys(chat_id: bytes) -> tuple[bytes, bytes]:
    """The raw ``chat_id`` key as json.dumps writes it and as compact writers (jq -c) do."""
    return b'"chat_id": "' + chat_id, b'"chat_id":"' + chat_id


def find_lines(block: bytes, needles: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """(start, end) of each line of BLOCK containing any of NEEDLES, in file order."""
    spans = set()
    for needle in needles:
        pos = block.find(needle)
        while pos >= 0:
            span = line_at(block, pos)
            spans.add(span)
            pos = block.find(needle, span[1])
    return sorted(spans)


def _row_of(record: dict[str, Any]) -> Row:
    return (
        record["id"].encode(),
        record["chat_id"].encode(),
        record["ts"].encode(),
        record["role"].encode(),
        str(record.get("model", "")).encode(),
    )


def slow_rows(block: bytes, skipped: Skipped) -> list[tuple[Row, dict[str, Any]]]:
    """Parse every line of BLOCK; unreadable ones are counted in SKIPPED."""
    rows = []
    for line in split_lines(block):
        record = load_record(line)
        if record is None:
            skipped.count += 1
        else:
            rows.append((_row_of(record), record))
    return rows


def block_rows(block: bytes, skipped: Skipped) -> list[tuple[Row, Any]]:
    """All records of BLOCK in file order, as (row, source): source is the raw line or the dict."""
    matches = LINE_RE.findall(block) if block.endswith(b"\n") else []
    if matches and len(matches) == block.count(b"\n"):
        lines = block.split(b"\n")
        return list(zip(matches, lines[:-1], strict=True))
    return slow_rows(block, skipped)  # type: ignore[return-value]


def record_of(source: Any) -> dict[str, Any]:
    """The full record behind a row: already parsed, a raw line, or a regex match on one."""
    if isinstance(source, dict):
        return source
    if isinstance(source, re.Match):
        source = source.group(0)
    record = load_record(source)
    return {} if record is None else record


# --- records -------------------------------------------------------------------------------------


def iter_records(path: StrPath, window: Window, skipped: Skipped) -> Iterator[dict[str, Any]]:
    try:
        with open_log(path) as opened:
            if opened is None:
                return
            fh, size = opened
            for _, block in forward(fh, size):
                for line in split_lines(block):
                    record = load_record(line)
                    if record is None:
                        skipped.count += 1
                    elif window.keeps_any(record["ts"]):
                        yield record
    finally:
        skipped.report()


def messages(path: StrPath, chat_id: str, window: Window, skipped: Skipped) -> list[dict[str, Any]]:
    """One chat's records within retention, in file (append) order."""
    needles = tuple(key + b'"' for key in chat_keys(chat_id.encode()))
    found: list[dict[str, Any]] = []

    def consider(record: dict[str, Any] | None) -> None:
        if record is None:
            skipped.count += 1
        elif record["chat_id"] == chat_id and window.keeps_any(record["ts"]):
            found.append(record)

    with open_log(path) as opened:
        if opened is None:
            return found
        fh, size = opened
        for _, block in forward(fh, size):
            if not block.endswith(b"\n"):  # the unterminated tail: torn, or being written
                consider(load_record(block))
                continue
            for start, end in find_lines(block, needles):
                consider(load_record(block[start:end]))
    skipped.report()
    return found


def latest_chat_id(path: StrPath, window: Window, skipped: Skipped) -> str | None:
    for row, _ in _newest_rows(path, skipped):
        if window.keeps_any(row[2]):
            return row[1].decode("utf-8", "replace")
    return None


def _newest_rows(path: StrPath, skipped: Skipped) -> Iterator[tuple[Row, Any]]:
    """Records from the end of the file backwards."""
    try:
        with open_log(path) as opened:
            if opened is None:
                return
            fh, size = opened
            for _, block in backward(fh, size):
                yield from reversed(block_rows(block, skipped))
    finally:
        skipped.report()


# --- chats ---------------------------------------------------------------------------------------


class _Chats:
    """Per-chat running totals: [messages, first ts, last ts, last model, assistant model, title]."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.state: dict[bytes, list[Any]] = {}

    def add(self, row: Row, source: Any, fixed: bool) -> None:
        _, cid, ts, role, model = row
        if not (self.window.keeps_fixed(ts) if fixed else self.window.keeps_any(ts)):
            return
        st = self.state.get(cid)
        if st is None:
            st = self.state[cid] = [0, ts, ts, model, None, None]
        st[0] += 1
        st[2] = ts
        st[3] = model
        if role == b"assistant":
            st[4] = model
        if st[5] is None and role == b"user":
            st[5] = record_title(record_of(source))

    def summaries(self, order: Iterable[bytes] | None = None) -> list[ChatSummary]:
        out = []
        for cid, (count, first, last, model, answer_model, title) in self.state.items():
            first_ts, last_ts = parse_ts(first), parse_ts(last)
            assert first_ts is not None and last_ts is not None
            out.append(
                ChatSummary(
                    chat_id=cid.decode("utf-8", "replace"),
                    title=title or "",
                    model=(answer_model if answer_model is not None else model).decode(
                        "utf-8", "replace"
                    ),
                    messages=count,
                    first_ts=first_ts,
                    last_ts=last_ts,
                    expires_in_days=self.window.expires_in_days(last_ts),
                )
            )
        out.sort(key=lambda s: s.last_ts, reverse=True)
        return out


def chats(path: StrPath, window: Window, skipped: Skipped, limit: int | None) -> list[ChatSummary]:
    """Chats newest first. With a limit: find the newest chat ids reading back from the end,
    then total only those in one regex pass, so memory stays small on any size of log."""
    agg = _Chats(window)
    try:
        if limit is not None:
            if limit <= 0:
                return []
            # the totals pass below reads every line and counts unreadable ones; this one may not
            wanted = _newest_chat_ids(path, window, Skipped(path, lambda m: None), limit)
            if wanted:
                _total_selected(path, agg, wanted, skipped)
        else:
            _total_all(path, agg, skipped)
    finally:
        skipped.report()
    result = agg.summaries()
    return result if limit is None else result[:limit]


def _newest_chat_ids(path: StrPath, window: Window, skipped: Skipped, limit: int) -> list[bytes]:
    wanted: dict[bytes, None] = {}
    with open_log(path) as opened:
        if opened is None:
            return []
        fh, size = opened
        for _, block in backward(fh, size):
            for row, _ in reversed(block_rows(block, skipped)):
                if row[1] not in wanted and window.keeps_any(row[2]):
                    wanted[row[1]] = None
                    if len(wanted) >= limit:
                        return list(wanted)
    return list(wanted)


def _total_all(path: StrPath, agg: _Chats, skipped: Skipped) -> None:
    with open_log(path) as opened:
        if opened is None:
            return
        fh, size = opened
        add = agg.add
        for _, block in forward(fh, size):
            # our lines back to back from the block's start to its end: the fast path is exact
            matches = list(LINE_RE.finditer(block)) if block.endswith(b"\n") else []
            end = 0
            for m in matches:
                if m.start() != end:
                    break
                end = m.end()
            if matches and end == len(block):
                for m in matches:
                    add(m.groups(), m, True)  # type: ignore[arg-type]
            else:
                for row, record in slow_rows(block, skipped):
                    add(row, record, False)


def plain_block(block: bytes) -> bool:
    """Every line of BLOCK starts and ends the way our writer's lines do (C-speed counts only).

    A torn or garbage line fails this, so callers that only look at some lines still see it."""
    lines = block.count(b"\n")
    return (
        block.startswith(LINE_START)
        and block.endswith(b"}\n")
        and block.count(b"}\n" + LINE_START) == lines - 1
    )


def _total_selected(path: StrPath, agg: _Chats, wanted: list[bytes], skipped: Skipped) -> None:
    ids = set(wanted)
    pick = re.compile(b'"chat_id": ?"(' + b"|".join(re.escape(c) for c in wanted) + b')"')
    with open_log(path) as opened:
        if opened is None:
            return
        fh, size = opened
        for _, block in forward(fh, size):
            if not plain_block(block):  # a torn tail, a garbage line, a foreign writer's format
                for row, record in slow_rows(block, skipped):
                    if row[1] in ids:
                        agg.add(row, record, False)
                continue
            pos = 0
            while (hit := pick.search(block, pos)) is not None:
                start, end = line_at(block, hit.start())
                pos = end
                m = LINE_RE.match(block, start)
                if m is not None and m.end() == end:
                    agg.add(m.groups(), m, True)  # type: ignore[arg-type]
                else:
                    loaded = load_record(block[start:end])
                    if loaded is None:
                        skipped.count += 1
                    elif loaded["chat_id"].encode() in ids:
                        agg.add(_row_of(loaded), loaded, False)


def client_chat_ids(path: StrPath, client: str, window: Window, skipped: Skipped) -> set[str]:
    """Ids of the chats with a message tagged CLIENT within retention (a byte prefilter finds
    the candidate lines of our own format; other blocks are read line by line)."""
    import json

    tag = json.dumps(client, ensure_ascii=False).encode()
    needles = (b'"client": ' + tag, b'"client":' + tag)
    found: set[str] = set()

    def consider(record: dict[str, Any] | None) -> None:
        if record is None:
            skipped.count += 1
        elif record.get("client") == client and window.keeps_any(record["ts"]):
            found.add(record["chat_id"])

    try:
        with open_log(path) as opened:
            if opened is None:
                return found
            fh, size = opened
            for _, block in forward(fh, size):
                if not plain_block(block):
                    for _, record in slow_rows(block, skipped):
                        consider(record)
                    continue
                for start, end in find_lines(block, needles):
                    consider(load_record(block[start:end]))
    finally:
        skipped.report()
    return found

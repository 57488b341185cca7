"""Case-insensitive search and chat-id prefix lookup, reading raw bytes before parsing.

Search reads blocks from the end (newest first) and stops once it has enough hits. Each block is
prefiltered on raw bytes: for plain ASCII text, ``block.lower().find``; otherwise a regex where
each character may appear in any case and in any form JSON could have written it (``\\"``,
``\\\\``, ``\\n``, ``\\u00e9``…). Only lines that pass are parsed and checked for real.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from chatpro.chatlog.blocks import Skipped, backward, forward, line_at, open_log
from chatpro.chatlog.queries import SNIPPET_CHARS, SearchHit, chat_keys, find_lines
from chatpro.chatlog.records import LINE_RE, Window, load_record, parse_ts
from chatpro.errors import InputError

if TYPE_CHECKING:
    from chatpro.paths import StrPath

_ID_TEXT = re.compile(r"[0-9A-Za-z_-]+")


class _Prefilter:
    def __init__(self, text: str) -> None:
        self.needle = text.lower()
        # The longest run of characters JSON writes as they are (ASCII, nothing to escape) is
        # found with a fast lowercase find; the rest is checked on the parsed record anyway.
        runs = re.findall(r'[^"\\/\x00-\x1f\x80-\U0010ffff]+', self.needle)
        longest = max(runs, key=len, default="")
        plain = len(longest) == len(text) or len(longest) >= 3
        self.ascii = longest.encode() if plain else None
        self.pattern = None if plain else re.compile(b"".join(_char_forms(c) for c in text))

    def line_starts(self, block: bytes) -> list[int]:
        """Starts of the lines of BLOCK that may contain the text, last line first."""
        starts: list[int] = []
        if self.ascii is not None:
            lowered = block.lower()
            pos = lowered.find(self.ascii)
            while pos >= 0:
                start, end = line_at(block, pos)
                starts.append(start)
                pos = lowered.find(self.ascii, end)
        else:
            assert self.pattern is not None
            pos = 0
            while (hit := self.pattern.search(block, pos)) is not None:
                start, pos = line_at(block, hit.start())
                starts.append(start)
        starts.reverse()
        return starts


def _char_forms(char: str) -> bytes:
    """A regex group matching CHAR in any case, raw or escaped the ways JSON may write it."""
    variants = {char, char.lower(), char.upper(), char.title(), char.swapcase()}
    forms: set[bytes] = set()
    for v in variants:
        if len(v) != 1 or v.lower() != char.lower():
            continue
        forms.add(json.dumps(v, ensure_ascii=False)[1:-1].encode())
        escaped = json.dumps(v)[1:-1]
        forms.add(escaped.encode())
        if escaped.startswith("\\u"):
            forms.add(("\\u" + escaped[2:].upper().replace("\\U", "\\u")).encode())
        if v == "/":
            forms.add(b"\\/")
    return b"(?:" + b"|".join(re.escape(f) for f in sorted(forms)) + b")"


def snippet(content: str, needle: str, width: int = SNIPPET_CHARS) -> str:
    """About WIDTH characters of CONTENT around the first match, on one line."""
    flat = " ".join(content.split())
    if len(flat) <= width:
        return flat
    at = max(0, flat.lower().find(" ".join(needle.split())))
    start = max(0, min(at - (width - len(needle)) // 2, len(flat) - width))
    text = flat[start : start + width].strip()
    return ("…" if start > 0 else "") + text + ("…" if start + width < len(flat) else "")


def search(
    path: StrPath, text: str, window: Window, skipped: Skipped, limit: int | None
) -> list[SearchHit]:
    if not text.strip():
        raise InputError("the search text is empty")
    if limit is not None and limit <= 0:
        return []
    prefilter = _Prefilter(text)
    hits: list[SearchHit] = []
    try:
        with open_log(path) as opened:
            if opened is None:
                return hits
            fh, size = opened
            for _, block in backward(fh, size):
                for start in prefilter.line_starts(block):
                    end = block.find(b"\n", start)
                    record = load_record(block[start : None if end < 0 else end])
                    if record is None:
                        skipped.count += 1
                        continue
                    hit = _hit(record, prefilter.needle, window)
                    if hit is not None:
                        hits.append(hit)
                        if limit is not None and len(hits) >= limit:
                            return hits
    finally:
        skipped.report()
    return hits


def _hit(record: dict[str, Any], needle: str, window: Window) -> SearchHit | None:
    content = record["content"]
    if needle not in content.lower() or not window.keeps_any(record["ts"]):
        return None
    ts = parse_ts(record["ts"])
    assert ts is not None
    return SearchHit(
        chat_id=record["chat_id"],
        message_id=record["id"],
        ts=ts,
        role=record["role"],
        snippet=snippet(content, needle),
    )


def resolve(path: StrPath, id_or_prefix: str, window: Window, skipped: Skipped) -> str:
    """The one chat (within retention) whose id is or starts with ID_OR_PREFIX."""
    text = id_or_prefix.strip().lower()
    if not text or not _ID_TEXT.fullmatch(text):
        raise InputError(f"unknown chat id: {id_or_prefix!r}", hint="see `chatpro history list`")
    prefix = text if text.startswith("c_") else "c_" + text
    found = _ids_with_prefix(path, prefix.encode(), window, skipped)
    if prefix in found:
        return prefix
    if len(found) == 1:
        return found.pop()
    if not found:
        raise InputError(f"unknown chat id: {id_or_prefix}", hint="see `chatpro history list`")
    names = sorted(found)
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    raise InputError(
        f"ambiguous chat id {id_or_prefix}: matches {', '.join(names[:5])}{more}",
        hint="give more characters of the id",
    )


def _ids_with_prefix(path: StrPath, prefix: bytes, window: Window, skipped: Skipped) -> set[str]:
    needles = chat_keys(prefix)
    found: set[str] = set()
    try:
        with open_log(path) as opened:
            if opened is None:
                return found
            fh, size = opened
            for _, block in forward(fh, size):
                spans = find_lines(block, needles)
                if not block.endswith(b"\n"):  # the unterminated tail: torn, or being written
                    spans = [(0, len(block))]
                for start, end in spans:
                    m = LINE_RE.match(block, start)
                    if m is not None and m.end() == end:
                        if window.keeps_fixed(m.group(3)):
                            found.add(m.group(2).decode())
                        continue
                    record = load_record(block[start:end])
                    if record is None:
                        skipped.count += 1
                    elif record["chat_id"].startswith(prefix.decode()) and window.keeps_any(
                        record["ts"]
                    ):
                        found.add(record["chat_id"])
    finally:
        skipped.report()
    return found

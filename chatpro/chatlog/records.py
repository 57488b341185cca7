"""The chat-log record format: ids, building and serialising records, reading them back, retention.

The writer puts ``v, id, chat_id, ts, role, model, content`` first, always with json's default
separators, so the fast readers can pull those fields out of a raw line with one regex instead of
parsing it. Any line that does not fit that shape still works: readers fall back to ``json.loads``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

RECORD_VERSION = 1
ROLES = ("user", "assistant", "system")
TITLE_CHARS = 60
_LEADING_KEYS = ("v", "id", "chat_id", "ts", "role", "model", "content")

# One whole record line as our writer writes it. Groups: message id, chat id, ts, role, model.
# JSON escapes every '"' and newline inside strings, so these literals can only match real keys,
# and `[^\n]*\}\n` makes sure the line is complete (a torn line almost never ends in "}").
_HEAD = (
    rb'\{"v": 1, "id": "(m_[0-9a-z_-]+)", "chat_id": "(c_[0-9a-z_-]+)", '
    rb'"ts": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)", '
    rb'"role": "([a-z]+)", "model": "([^"\\\n]*)", "content": "'
)
# `(?<![^\n])` (only at a line's start) keeps the scan linear: without it a garbage line holding
# the head many times is rescanned from each copy (a 2.4 MB line took a minute).
LINE_RE = re.compile(rb"(?<![^\n])" + _HEAD + rb"[^\n]*\}\n")
LINE_START = b'{"v": 1, "id": "'
MAX_INT_DIGITS = 18  # any count of ours fits; longer integers mark a line as unreadable
_FIXED_TS = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d")


def new_chat_id() -> str:
    """A random chat id: ``c_`` and 12 hex digits (48 bits; prefixes stay short and unique)."""
    import secrets

    return "c_" + secrets.token_hex(6)


def new_message_id() -> str:
    """A random message id: ``m_`` and 16 hex digits (64 bits, unique across millions of lines)."""
    import secrets

    return "m_" + secrets.token_hex(8)


def format_ts(ts: datetime) -> str:
    """ISO 8601 with milliseconds and the UTC offset, e.g. ``2026-11-25T19:20:00.123+00:00``."""
    if ts.tzinfo is None:
        ts = ts.astimezone()
    return ts.isoformat(timespec="milliseconds")


def parse_ts(value: object) -> datetime | None:
    """An aware datetime from a record's ``ts``, or None when it cannot be dated."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def make_record(
    *,
    chat_id: str,
    role: str,
    model: str,
    content: str,
    ts: datetime,
    attachments: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    interrupted: bool = False,
    client: str | None = None,
) -> dict[str, Any]:
    """A new message record in SPEC's key order; ``interrupted`` only appears when true."""
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "id": new_message_id(),
        "chat_id": chat_id,
        "ts": format_ts(ts),
        "role": role,
        "model": model,
        "content": content,
        "attachments": list(attachments or []),
        "usage": usage,
    }
    if interrupted:
        record["interrupted"] = True
    if client is not None:
        record["client"] = client
    return record


def dump_line(record: dict[str, Any]) -> bytes:
    """One JSON line, UTF-8, leading keys first (whatever order the caller built the dict in)."""
    ordered = {key: record[key] for key in _LEADING_KEYS if key in record}
    ordered.update((key, value) for key, value in record.items() if key not in ordered)
    import json

    try:
        return (json.dumps(ordered, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # unpaired surrogates (a server, a document): stored as U+FFFD
        return (json.dumps(_clean(ordered), ensure_ascii=False) + "\n").encode("utf-8")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number chatpro writes")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise ValueError("number out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:  # 10^400: never a figure of ours
        raise ValueError("number out of range")
    return int(text)


_DECODER: Any = None  # a json.JSONDecoder, made on first use: `history` on no log needs none


def _decoder() -> Any:
    global _DECODER
    if _DECODER is None:
        import json

        _DECODER = json.JSONDecoder(
            parse_float=_finite_float, parse_int=_bounded_int, parse_constant=_no_constant
        )
    return _DECODER


_LONE_SURROGATE = re.compile(rb"\\[uU][dD][89a-fA-F]")


def loads(line: bytes | str) -> Any:
    """json.loads for lines from disk: any shape (deep nesting, NaN, 1e400, 10^400, invalid
    UTF-8) raises ValueError, never RecursionError or OverflowError. Strings come back with
    unpaired surrogates turned into U+FFFD, so they can always be printed and re-encoded."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        value = (_DECODER or _decoder()).decode(text)
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise ValueError(f"unreadable line: {exc.__class__.__name__}") from None
    raw = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
    if _LONE_SURROGATE.search(raw):
        value = _clean(value)
    return value


def clean_text(text: str) -> str:
    """TEXT with each unpaired surrogate replaced by U+FFFD (pairs are joined as they should be)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean(v) for k, v in value.items()}
    return value


def load_record(line: bytes) -> dict[str, Any] | None:
    """The record on LINE, or None when the line is not a readable message record."""
    try:
        obj = loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    for key in ("id", "chat_id", "role", "content"):
        if not isinstance(obj.get(key), str):
            return None
    if parse_ts(obj.get("ts")) is None:
        return None
    if not isinstance(obj.get("model", ""), str):
        return None
    return obj


def is_json_object(line: bytes) -> bool:
    try:
        return isinstance(loads(line), dict)
    except ValueError:
        return False


def record_title(record: dict[str, Any]) -> str:
    """A chat's title from its first user line: its own "title" (an upload without a prompt is
    titled by its files), else the first line of what was asked."""
    title = record.get("title")
    return title_of(
        title if isinstance(title, str) and title.strip() else str(record.get("content", ""))
    )


def title_of(content: str) -> str:
    """The first non-empty line of a prompt, trimmed to about 60 characters."""
    for raw in content.splitlines():
        line = " ".join(raw.split())
        if line:
            return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"
    return ""


class Window:
    """The retention window: a message is kept while ``ts >= now - days`` (millisecond precision).

    So a message exactly ``days`` days old is still shown; one a millisecond older is expired.
    ``keeps_fixed`` compares raw ``ts`` bytes without building datetimes: within one UTC offset the
    fixed-width ISO text sorts like time, so the cutoff is rendered once per offset seen.
    """

    def __init__(self, now: datetime, days: int) -> None:
        if now.tzinfo is None:
            now = now.astimezone()
        cutoff = now - timedelta(days=days)
        self.now = now
        self.days = days
        self.cutoff = cutoff.replace(microsecond=cutoff.microsecond // 1000 * 1000)
        utc_cut = self.cutoff.astimezone(timezone.utc).replace(tzinfo=None)
        # Offsets lie within ±14h, so any fixed-format ts whose local time is at or after
        # cutoff+14h is inside the window, whatever its offset.
        self.surely_kept = _naive_ms(utc_cut + timedelta(hours=14))
        # ... and any whose local time is before cutoff-14h is outside it.
        self.surely_expired = _naive_ms(utc_cut - timedelta(hours=14))
        self._cuts: dict[bytes, bytes | None] = {}

    def keeps_fixed(self, ts: bytes) -> bool:
        """For ts in our fixed format (``LINE_RE`` checked it)."""
        offset = ts[23:]
        cut = self._cuts.get(offset, b"")
        if cut == b"":
            cut = self._cuts[offset] = self._cut_for(offset)
        if cut is None:
            return self.keeps_any(ts) is True
        return ts[:23] >= cut

    def keeps_any(self, ts: object) -> bool | None:
        """True/False, or None when TS cannot be dated."""
        if isinstance(ts, str):
            ts = ts.encode("utf-8", "replace")
        if isinstance(ts, bytes) and _FIXED_TS.fullmatch(ts) and self._cut_for(ts[23:]):
            return self.keeps_fixed(ts)
        parsed = parse_ts(ts)
        return None if parsed is None else parsed >= self.cutoff

    def expires_in_days(self, last: datetime) -> int:
        left = (last + timedelta(days=self.days) - self.now).total_seconds()
        return max(0, math.ceil(left / 86400))

    def _cut_for(self, offset: bytes) -> bytes | None:
        try:
            sign = -1 if offset[:1] == b"-" else 1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        except ValueError:
            return None
        return _naive_ms(self.cutoff.astimezone(zone).replace(tzinfo=None))


def _naive_ms(moment: datetime) -> bytes:
    return moment.isoformat(timespec="milliseconds").encode("ascii")

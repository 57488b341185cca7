"""Limits that bound what a file may cost us, and the small pieces every extractor shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_FILE_BYTES = 10 * 1024 * 1024
"""SPEC: at most 10 MiB per file; exactly 10 MiB is accepted."""

MAX_TEXT_CHARS = 2_000_000
"""Extraction stops here and marks the attachment truncated: far past any model's context."""

MAX_ZIP_MEMBERS = 10_000
MAX_ZIP_TOTAL_BYTES = 200 * 1024 * 1024
"""SPEC: a package of more than 10,000 parts or 200 MiB uncompressed is refused before inflating."""

MAX_ZIP_RATIO = 200
RATIO_CHECK_FROM_BYTES = 1024 * 1024
"""A part larger than 1 MiB that claims to inflate more than 200-fold is treated as a bomb: real
Office XML compresses 5-50 fold; deflate's ceiling (about 1030-fold) is what bombs use."""

CHUNK_BYTES = 1024 * 1024
"""Parts are inflated this much at a time, so memory follows what we keep, not what a part claims."""


@dataclass(frozen=True)
class Extracted:
    """What an extractor hands back to load_bytes."""

    text: str
    truncated: bool
    pages: int | None = None
    slides: int | None = None
    notices: tuple[str, ...] = ()
    """Lines for stderr about this file (a page skipped, text that cannot be trusted), without
    the file's name: the caller prefixes it."""
    coverage: float = 1.0
    """The share of the whole document that TEXT stands for: below 1 when extraction stopped at
    the cap, so a later cut can say how much of the document was really sent."""


Progress = Callable[[int, int], None]


class TextBuilder:
    """Collects extracted text up to MAX_TEXT_CHARS, then refuses more and remembers it stopped.

    Extractors ask `full` to stop early, so a document with endless text costs no more work than
    the cap. Runs of blank lines collapse to one, since layout blanks only spend tokens.
    """

    def __init__(self, limit: int = MAX_TEXT_CHARS) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False
        self._blank = True  # at the start, leading blank lines are dropped

    @property
    def full(self) -> bool:
        return self.truncated

    def line(self, text: str) -> None:
        """Add one line (a newline is appended)."""
        text = text.rstrip()
        if not text:
            if self._blank:
                return
            self._blank = True
        else:
            self._blank = False
        self.add(text + "\n")

    def add(self, text: str) -> None:
        if self.truncated:
            return
        room = self.limit - self.size
        if len(text) > room:
            text = text[:room]
            self.truncated = True
        self.parts.append(text)
        self.size += len(text)

    def text(self) -> str:
        return "".join(self.parts).rstrip("\n")


def cap_text(text: str, limit: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """TEXT cut to LIMIT characters, and whether it was cut."""
    if len(text) > limit:
        return text[:limit], True
    return text, False


_SURROGATE = re.compile("[\ud800-\udfff]")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ufffe\uffff]+")


def _join_pair(match: re.Match[str]) -> str:
    high, low = match.group()[0], match.group()[1]
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def clean_text(text: str) -> str:
    """TEXT without what a document must never pass on to the model or the terminal.

    Line ends become "\\n"; surrogate pairs left split (by a UTF-16 decode) are joined and
    unpaired ones dropped; U+FFFD (a character some tool already lost), the noncharacters
    U+FFFE/U+FFFF, NUL and the other C0/C1 control characters except tab and newline are dropped.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("", _PAIR.sub(_join_pair, text))
    return _UNWANTED.sub("", text)

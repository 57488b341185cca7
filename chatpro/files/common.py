"""Limits that bound what a file may cost us, and the small pieces every extractor shares."""

from __future__ import annotations

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

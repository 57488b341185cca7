"""Reading the log in blocks of whole lines, forwards or backwards, in constant memory.

A reader opens the file once and reads up to the size it had then: an atomic replace by a prune
leaves the open file intact, and appends made meanwhile are simply not seen. A final line without
its newline is a torn record (a killed writer) or one being written right now; it is handed out
separately so callers can treat it as a candidate line that may be invalid.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from chatpro.errors import StorageError

if TYPE_CHECKING:
    from chatpro.paths import StrPath

BLOCK = 64 * 1024  # measured: blocks that stay in the CPU cache scan fastest
MAX_LINE = 64 * 1024 * 1024  # longer lines are skipped unparsed (no record of ours comes near)
OVERSIZED = b"\x00"  # stands for a skipped over-long line: never valid JSON, so readers skip it
OVERSIZED_LINE = OVERSIZED + b"\n"


class Skipped:
    """Counts unreadable lines during one operation, so the user gets one warning, not thousands."""

    __slots__ = ("count", "path", "warn")

    def __init__(self, path: StrPath, warn: Callable[[str], None], count: int = 0) -> None:
        self.path = path
        self.warn = warn
        self.count = count

    def report(self) -> None:
        if self.count:
            lines = "line" if self.count == 1 else "lines"
            self.warn(f"skipped {self.count} unreadable {lines} in {self.path}")
            self.count = 0


@contextlib.contextmanager
def open_log(path: StrPath) -> Iterator[tuple[BinaryIO, int] | None]:
    """Yield (file, size) for reading, or None when there is no log yet."""
    try:
        fh = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        yield None
        return
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        yield fh, os.fstat(fh.fileno()).st_size
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        fh.close()


def forward(fh: BinaryIO, size: int, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset, block) pairs; every block is whole lines ending in b"\\n", except possibly the
    last one, which is the unterminated tail (check ``block.endswith(b"\\n")``).

    A line longer than MAX_LINE is never held in memory: it is read past and handed out as the
    one-line block OVERSIZED_LINE (or OVERSIZED when it is the unterminated tail). Every chunk is
    copied a bounded number of times, so reading stays linear in the file's size."""
    fh.seek(start)
    pos = start  # file offset of the next chunk
    parts: list[bytes] = []  # the unfinished line so far, starting at line_start
    pending = 0
    line_start = start
    oversized = False
    while pos < size:
        chunk = fh.read(min(BLOCK, size - pos))
        if not chunk:
            break
        chunk_at = pos
        pos += len(chunk)
        if oversized:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            yield line_start, OVERSIZED_LINE
            oversized = False
            line_start = chunk_at + nl + 1
            chunk_at = line_start
            chunk = chunk[nl + 1 :]
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            if chunk:
                parts.append(chunk)
                pending += len(chunk)
                if pending > MAX_LINE:
                    parts, pending, oversized = [], 0, True
            continue
        if parts:
            parts.append(chunk[:cut])
            block = b"".join(parts)
        else:
            block = chunk if cut == len(chunk) else chunk[:cut]
        yield line_start, block
        line_start = chunk_at + cut
        rest = chunk[cut:]
        parts, pending = ([rest], len(rest)) if rest else ([], 0)
    if oversized:
        yield line_start, OVERSIZED
    elif parts:
        yield line_start, b"".join(parts)


def backward(fh: BinaryIO, size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, block) pairs from the end of the file towards the start. Each block is whole
    lines ending in b"\\n", except the first pair, which may be the unterminated tail.

    As in ``forward``, a line longer than MAX_LINE comes out as OVERSIZED_LINE (OVERSIZED when it
    is the tail), and each chunk is copied a bounded number of times."""
    end = size
    parts: list[bytes] = []  # bytes from `end` on that belong to a line that began further back
    pending = 0
    oversized = False
    terminated = True  # whether that line ends in a newline (only the file's tail may not)
    while end > 0:
        start = max(0, end - BLOCK)
        fh.seek(start)
        data = fh.read(end - start)
        end = start
        cut = 0
        if start > 0:
            cut = data.find(b"\n") + 1
            if cut == 0:  # no line boundary in this chunk: one long line, keep reading back
                if not parts and not oversized:
                    terminated = data.endswith(b"\n")
                if not oversized:
                    parts.append(data)
                    pending += len(data)
                    if pending > MAX_LINE:
                        parts, pending, oversized = [], 0, True
                continue
        head = data[cut:]
        if oversized:
            last = head.rfind(b"\n") + 1
            block = head[:last] + (OVERSIZED_LINE if terminated else OVERSIZED)
        elif parts:
            parts.append(head)
            block = b"".join(reversed(parts))
        else:
            block = head
        oversized = False
        parts = [data[:cut]] if cut else []
        pending = cut
        terminated = True
        if not block:
            continue
        if not block.endswith(b"\n"):
            last = block.rfind(b"\n") + 1
            yield start + cut + last, block[last:]
            block = block[:last]
        if block:
            yield start + cut, block


def split_lines(block: bytes) -> list[bytes]:
    """The lines of a block, each without its newline (blank lines dropped)."""
    return [line for line in block.split(b"\n") if line.strip()]


def line_at(block: bytes, pos: int) -> tuple[int, int]:
    """(start, end) of the line containing POS in BLOCK; end includes the newline if any."""
    start = block.rfind(b"\n", 0, pos) + 1
    end = block.find(b"\n", pos)
    return start, (len(block) if end < 0 else end + 1)

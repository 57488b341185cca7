"""A summary kept beside an append-only file (like git's index), so a read only parses what was
appended since the summary was written.

A summary is only a cache: ``<file>.summary`` holds the byte offset it covers (always just after
a newline), the file's identity (st_dev, st_ino) and a sha256 of the first and the last 4 KiB
before that offset. A file rewritten, truncated or replaced no longer matches and its summary is
ignored; so is anything unexpected in the summary itself (never an error for the user). Only the
bytes up to the offset are covered, so appends racing the summary's write are simply read again.
mtimes play no part.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from chatpro.paths import StrPath

VERSION = 1
MIN_BYTES = 1 << 20  # a summary is written only when it spares a later run this many bytes
EDGE = 4096  # bytes hashed at each end of the covered part


def path_for(path: StrPath) -> str:
    return os.fspath(path) + ".summary"


def fingerprint(fh: BinaryIO, offset: int) -> str:
    """sha256 of the first and the last EDGE bytes before OFFSET in the open file FH."""
    import hashlib

    digest = hashlib.sha256(str(offset).encode())
    fh.seek(0)
    digest.update(fh.read(min(EDGE, offset)))
    start = max(0, offset - EDGE)
    fh.seek(start)
    digest.update(fh.read(offset - start))
    return digest.hexdigest()


def load(path: StrPath, fh: BinaryIO, size: int, kind: str) -> tuple[int, Any] | None:
    """(offset, data) of PATH's summary when it matches the open file FH of SIZE bytes; else
    None (no summary, another kind or version, another file, or any doubt at all)."""
    import json  # here: a fresh home has no file to summarise

    try:
        with open(path_for(path), "rb") as sfh:
            doc = json.loads(sfh.read())
        st = os.fstat(fh.fileno())
        offset = doc["offset"]
        if (
            doc["version"] != VERSION
            or doc["kind"] != kind
            or type(offset) is not int
            or not 0 < offset <= size
            or doc["dev"] != st.st_dev
            or doc["ino"] != st.st_ino
        ):
            return None
        fh.seek(offset - 1)
        if fh.read(1) != b"\n" or doc["digest"] != fingerprint(fh, offset):
            return None
        return offset, doc["data"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError, MemoryError):
        return None


def save(path: StrPath, fh: BinaryIO, offset: int, kind: str, data: Any) -> None:
    """Write PATH's summary of its first OFFSET bytes (read through FH) atomically, 0600.

    Best effort: a summary that cannot be written is simply not there next time."""
    from chatpro.errors import ChatproError
    from chatpro.fsutil import atomic_write_bytes

    with contextlib.suppress(OSError, ChatproError, ValueError):
        st = os.fstat(fh.fileno())
        doc = {
            "version": VERSION,
            "kind": kind,
            "offset": offset,
            "dev": st.st_dev,
            "ino": st.st_ino,
            "digest": fingerprint(fh, offset),
            "data": data,
        }
        import json

        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        atomic_write_bytes(path_for(path), text.encode("utf-8", "surrogatepass"), 0o600)


def remove(path: StrPath) -> None:
    """Delete PATH's summary (a rewrite of PATH makes it useless)."""
    with contextlib.suppress(OSError):
        os.unlink(path_for(path))

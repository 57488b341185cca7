"""Files into analysis: the type table, validation and text extraction for `upload`, `ask -f`
and piped documents.

Everything a file can cost is bounded before it is paid: size from stat before reading, bytes
checked against the extension before parsing, packages checked before inflating, text capped.
Importing this package is cheap; each format's extractor (and pypdf, python-pptx, olefile, the
XML parser) is imported only when a file of that format is loaded.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from chatpro.errors import FileRefused
from chatpro.files.common import MAX_FILE_BYTES, MAX_TEXT_CHARS, Extracted, clean_text
from chatpro.files.sniff import sniff_document
from chatpro.files.types import SUPPORTED, FileType, file_type_for

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_TEXT_CHARS",
    "SUPPORTED",
    "Attachment",
    "FileType",
    "file_type_for",
    "load_bytes",
    "load_path",
    "read_limited",
    "sniff_document",
]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A validated file and its extracted text, ready to be put into a prompt."""

    name: str
    mime: str
    label: str
    kind: str
    size: int
    sha256: str
    text: str
    pages: int | None
    slides: int | None
    truncated: bool
    notices: tuple[str, ...] = ()
    coverage: float = 1.0  # the share of the document TEXT stands for (see Extracted)


def _too_large(name: str, size: int | None) -> FileRefused:
    if size is None:
        amount = "more than 10 MiB"
    elif round(size / _MIB, 1) <= MAX_FILE_BYTES / _MIB:
        amount = f"{size:,} bytes"
    else:
        amount = f"{size / _MIB:.1f} MiB"
    return FileRefused(
        f"{name}: file too large ({amount}; the limit is 10 MiB = {MAX_FILE_BYTES:,} bytes)"
    )


def _display_name(name: str) -> str:
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or name


def read_limited(stream: BinaryIO, *, name: str = "stdin") -> bytes:
    """Read STREAM to its end, but never more than MAX_FILE_BYTES + 1 bytes: refuse past that."""
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_FILE_BYTES:
        chunk = stream.read(MAX_FILE_BYTES + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > MAX_FILE_BYTES:
        raise _too_large(name, None)
    return b"".join(chunks)


_MAX_NESTING = 3
"""An email attached to an email attached to an email: deeper than this is named, not opened."""


def _extract(
    ftype: FileType,
    data: bytes,
    name: str,
    progress: Callable[[int, int], None] | None,
    depth: int = 0,
) -> Extracted:
    kind = ftype.kind
    if kind == "pdf":
        from chatpro.files.pdf import extract_pdf

        return extract_pdf(data, name, progress)
    if kind == "docx":
        from chatpro.files.ooxml import extract_docx

        return extract_docx(data, name, progress)
    if kind == "pptx":
        from chatpro.files.pptx import extract_pptx

        return extract_pptx(data, name, progress)
    if kind == "doc":
        from chatpro.files.doc import extract_doc

        return extract_doc(data, name, progress)
    if kind == "xlsx":
        from chatpro.files.xlsx import extract_xlsx

        return extract_xlsx(data, name, progress)
    if kind in ("odt", "odp"):
        from chatpro.files.odf import extract_odf

        return extract_odf(data, name, ftype.extension, progress)
    if kind == "eml":
        from chatpro.files.eml import extract_eml

        return extract_eml(data, name, depth)
    if kind == "csv":
        from chatpro.files.tabular import extract_delimited

        extracted = extract_delimited(data, name, "\t" if ftype.extension == ".tsv" else ",")
    elif kind == "rtf":
        from chatpro.files.rtf import extract_rtf

        extracted = extract_rtf(data, name)
    elif kind == "ipynb":
        from chatpro.files.ipynb import extract_ipynb

        extracted = extract_ipynb(data, name)
    else:
        from chatpro.files.text import extract_text

        extracted = extract_text(data, name)
    if progress is not None:
        progress(len(data), len(data))
    return extracted


def load_bytes(
    data: bytes, name: str, *, progress: Callable[[int, int], None] | None = None
) -> Attachment:
    """Validate DATA as the file NAME (its extension decides the type) and extract its text.

    PROGRESS, if given, is called as extraction advances with (done, total) in the format's own
    units (pages, slides, bytes); only their ratio means anything. FileRefused on any refusal.
    """
    return _load(data, name, progress, 0)


def _load(
    data: bytes, name: str, progress: Callable[[int, int], None] | None, depth: int
) -> Attachment:
    display = clean_text(_display_name(name)).replace("\n", " ")
    ftype = file_type_for(display)
    if not data:
        raise FileRefused(f"{display}: empty file")
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(display, len(data))
    try:
        extracted = _extract(ftype, data, display, progress, depth)
    except RecursionError:
        # Readers walk nested structures (lists in lists, groups, parts) recursively; real
        # documents nest a few dozen deep, a crafted one thousands: refused, never a crash.
        raise FileRefused(f"{display}: nested too deeply to read (a damaged file?)") from None
    # The one place every extractor's text passes: nothing a document holds that would garble
    # the model's input or the terminal (U+FFFD, surrogates, control characters) goes further.
    return Attachment(
        name=display,
        mime=ftype.mime,
        label=ftype.label,
        kind=ftype.kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        text=clean_text(extracted.text),
        pages=extracted.pages,
        slides=extracted.slides,
        truncated=extracted.truncated,
        notices=tuple(clean_text(n).replace("\n", " ") for n in extracted.notices),
        coverage=extracted.coverage,
    )


def load_path(
    path: Path,
    *,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Attachment:
    """Load the file at PATH: type by name, size from stat (refused before reading), then bytes.

    NAME overrides the display name (default: PATH's basename). Pipes such as `<(cmd)` are read
    up to the limit instead of stat'ed.
    """
    path = Path(path)
    display = _display_name(name if name is not None else path.name or str(path))
    file_type_for(display)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _unreadable(display, exc) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused(f"{display}: is a directory")
    regular = stat.S_ISREG(info.st_mode)
    if not regular and not (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
        raise FileRefused(f"{display}: not a regular file")
    if regular and info.st_size > MAX_FILE_BYTES:
        raise _too_large(display, info.st_size)
    try:
        with open(path, "rb") as stream:
            data = read_limited(stream, name=display)
    except OSError as exc:
        raise _unreadable(display, exc) from None
    return load_bytes(data, display, progress=progress)


def _unreadable(display: str, exc: OSError) -> FileRefused:
    if isinstance(exc, FileNotFoundError):
        return FileRefused(f"{display}: no such file")
    if isinstance(exc, PermissionError):
        return FileRefused(f"{display}: permission denied")
    if isinstance(exc, IsADirectoryError):
        return FileRefused(f"{display}: is a directory")
    return FileRefused(f"{display}: cannot read ({exc.strerror or exc})")

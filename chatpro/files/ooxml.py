"""OOXML packages (.docx, .pptx): the zip guard every package passes first, and .docx text.

A zip states how big each part will be once inflated; a bomb states the truth (a 1 MB file
with a 1 GiB part) or lies. So the guard refuses, before anything is inflated, a package with
too many parts, too many declared bytes, or a part that claims an impossible compression ratio;
and parts are then only ever inflated in bounded chunks, counted as they come. (The stdlib's
ZipExtFile also stops at the declared size and checks the CRC, so a lying part fails there.)
XML is refused if it declares a DOCTYPE or ENTITY (billion laughs) before any parser sees it.
"""

from __future__ import annotations

import gc
import io
import posixpath
import struct
import zipfile
from collections.abc import Callable, Iterator
from typing import cast
from xml.etree import ElementTree as ET

from chatpro.errors import FileRefused
from chatpro.files.common import (
    CHUNK_BYTES,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    MAX_ZIP_TOTAL_BYTES,
    RATIO_CHECK_FROM_BYTES,
    Extracted,
    Progress,
)

CONTENT_TYPES = "[Content_Types].xml"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"

MAX_SIDE_PART_BYTES = 32 * 1024 * 1024


def size_text(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def stopped_notice(part: str, read: int, total: int, limit: int, of_what: str) -> str:
    """The notice for a part whose reading stopped at an XML budget."""
    return (
        f"reading stopped at {size_text(read)} of the {size_text(total)} of {part.lstrip('/')}:"
        f" chatpro reads at most {size_text(limit)} of {of_what} (the text after that is not read)"
    )


"""Parts read whole (notes, comments, headers, charts, SmartArt, slides' relationships) are
skipped with a notice past this inflated size; only the main text is parsed as a stream."""

# What a package's main part says it is: (extension, phrase for messages).
_WORD = (".docx", "a Word document")
_POWERPOINT = (".pptx", "a PowerPoint file")
_EXCEL = (".xlsx", "an Excel workbook")

_FORBIDDEN_XML = tuple(
    word.encode(enc)
    for word in ("<!DOCTYPE", "<!ENTITY")
    for enc in ("ascii", "utf-16-le", "utf-16-be")
)
_OVERLAP = max(len(w) for w in _FORBIDDEN_XML)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB"


def _main_kind(content_type: str) -> tuple[str, str] | None:
    ct = content_type.lower()
    if not ct.endswith("main+xml"):
        return None
    if ".wordprocessingml." in ct or "ms-word." in ct:
        return _WORD
    if ".presentationml." in ct or "ms-powerpoint." in ct:
        return _POWERPOINT
    if ".spreadsheetml." in ct or "ms-excel." in ct:
        return _EXCEL
    return None


def _central_directory_entries(data: bytes) -> int:
    """How many parts the central directory holds, counted from its bytes, not its header.

    zipfile builds an object per entry before we could count them, so a 10 MB file with
    200,000 tiny entries is refused here first.
    """
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if eocd < 0 or eocd + 22 > len(data):
        return data.count(b"PK\x01\x02")
    cd_size, cd_offset = struct.unpack_from("<II", data, eocd + 12)
    if cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
        return data.count(b"PK\x01\x02")
    start = max(0, min(cd_offset, len(data)))
    return data.count(b"PK\x01\x02", start, min(len(data), start + cd_size))


def relationships(root: ET.Element, folder: str) -> dict[str, tuple[str, str]]:
    """A parsed .rels part's relationships: id -> (type's last word, e.g. "chart", target part
    name resolved against FOLDER, the folder of the part they belong to). External targets
    (hyperlinks, linked files) are left out."""
    found: dict[str, tuple[str, str]] = {}
    for rel in root.iter(_REL_NS + "Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        if target.startswith("/"):
            resolved = target.lstrip("/")
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target))
        found[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], resolved)
    return found


class Package:
    """A zip package that passed the guard; its parts are read through here, bounded."""

    def __init__(self, data: bytes, name: str, label: str) -> None:
        self.name = name
        self.label = label
        if _central_directory_entries(data) > MAX_ZIP_MEMBERS:
            raise self.refuse(f"too many parts in the package (the limit is {MAX_ZIP_MEMBERS:,})")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
            raise self.refuse(f"corrupt {label} (not a valid zip package)") from None
        self._check(infos)
        self.infos = {info.filename: info for info in infos}
        self.inflated = 0

    def refuse(self, reason: str) -> FileRefused:
        return FileRefused(f"{self.name}: {reason}")

    def _check(self, infos: list[zipfile.ZipInfo]) -> None:
        if len(infos) > MAX_ZIP_MEMBERS:
            raise self.refuse(f"too many parts in the package (the limit is {MAX_ZIP_MEMBERS:,})")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise self.refuse(f"encrypted part in the package ({info.filename})")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.refuse(f"unsupported compression in the package ({info.filename})")
            size = info.file_size
            if size > RATIO_CHECK_FROM_BYTES and size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                ratio = size // max(info.compress_size, 1)
                raise self.refuse(
                    f"looks like a zip bomb (part {info.filename} inflates {ratio:,}-fold)"
                )
            total += size
            if total > MAX_ZIP_TOTAL_BYTES:
                raise self.refuse(
                    f"looks like a zip bomb (more than {_mib(MAX_ZIP_TOTAL_BYTES)} uncompressed)"
                )

    def has(self, part: str) -> bool:
        return part.lstrip("/") in self.infos

    def chunks(self, part: str) -> Iterator[bytes]:
        """PART's bytes, inflated CHUNK_BYTES at a time, counted against the package total."""
        info = self.infos.get(part.lstrip("/"))
        if info is None:
            raise self.refuse(f"corrupt {self.label} (missing part {part})")
        seen = 0
        try:
            with self.zip.open(info) as stream:
                while True:
                    chunk = stream.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    seen += len(chunk)
                    self.inflated += len(chunk)
                    if seen > info.file_size or self.inflated > MAX_ZIP_TOTAL_BYTES:
                        raise self.refuse("looks like a zip bomb (a part inflates past its size)")
                    yield chunk
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise self.refuse(f"corrupt {self.label} (damaged part {info.filename})") from exc
        if seen != info.file_size:
            raise self.refuse(f"corrupt {self.label} (damaged part {info.filename})")

    def xml_chunks(self, part: str) -> Iterator[bytes]:
        """Like chunks(), refusing the part if it declares a DOCTYPE or an ENTITY anywhere."""
        tail = b""
        for chunk in self.chunks(part):
            window = tail + chunk
            if any(word in window for word in _FORBIDDEN_XML):
                raise self.refuse(
                    f"unsafe XML in {part.lstrip('/')} (DOCTYPE/ENTITY declarations are refused)"
                )
            tail = window[-_OVERLAP:]
            yield chunk

    def read_xml(self, part: str) -> bytes:
        return b"".join(self.xml_chunks(part))

    def ended(self, part: str) -> Iterator[tuple[ET.Element, list[ET.Element]]]:
        """Each element of PART as its end tag is parsed, with the stack of its open ancestors
        (outermost first), streamed chunk by chunk; ET.ParseError when the XML is broken. A
        caller done with an element may remove it from stack[-1] to keep memory flat."""
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        stack: list[ET.Element] = []
        for chunk in self.xml_chunks(part):
            parser.feed(chunk)
            for item in parser.read_events():
                event, elem = cast("tuple[str, ET.Element]", item)  # start/end carry an element
                if event == "start":
                    stack.append(elem)
                    continue
                stack.pop()
                yield elem, stack
        parser.close()

    def size(self, part: str) -> int:
        """PART's inflated size (xml_chunks holds the part to it)."""
        return self.infos[part.lstrip("/")].file_size

    def grow(
        self,
        part: str,
        render: Callable[[ET.Element, bool], bool],
        *,
        budget: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Parse PART into a tree with no Python work per element, calling RENDER(top, ended)
        after each chunk: TOP is an element opened before the part, whose child the part's root
        becomes, and ENDED says the whole part has been parsed. Between chunks every child of an
        element but its last has ended, so RENDER can read those and remove them (memory then
        follows a chunk, not the part); it returns True to stop reading. Broken XML raises
        ET.ParseError once what ended before it has been rendered.

        Reading also stops after the chunk that reaches BUDGET inflated bytes, when the part is
        longer. PROGRESS(bytes read, part size) is called after each chunk RENDER did not stop
        at. Returns the inflated bytes read: less than size(part) when RENDER or BUDGET stopped.

        The garbage collector is paused meanwhile: elements hold no reference cycles, and it
        would walk each chunk's hundred thousand new elements again and again (a third of the
        time of a slide holding a dense table).
        """
        total = self.size(part)
        read = 0
        tree = ET.TreeBuilder()
        top = tree.start("part", {})
        parser = ET.XMLParser(target=tree)
        collecting = gc.isenabled()
        gc.disable()
        try:
            for chunk in self.xml_chunks(part):
                read += len(chunk)
                try:
                    parser.feed(chunk)
                finally:
                    stop = render(top, False)
                if stop:
                    return read
                if progress is not None:
                    progress(read, total)
                if budget is not None and budget <= read < total:
                    return read
            parser.close()
            render(top, True)
            return read
        finally:
            if collecting:
                gc.enable()

    def scan_all_xml(self) -> None:
        """Inflate every XML part once, bounded, refusing DOCTYPEs and damaged parts.

        A deck's parts are many and read in pieces; checking each once first means a damaged or
        lying part refuses the file, whichever part it is (as the one main part does for .docx).
        """
        for filename in self.infos:
            if filename.lower().endswith((".xml", ".rels", ".vml")):
                for _ in self.xml_chunks(filename):
                    pass
            else:
                for _ in self.chunks(filename):
                    pass

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """PART's relationships: id -> (type's last word, e.g. "chart", target part name).

        External targets (hyperlinks, linked files) are left out; a damaged .rels reads as none.
        """
        folder, _, base = part.lstrip("/").rpartition("/")
        rels_part = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
        root = self.side_xml(rels_part)
        return {} if root is None else relationships(root, folder)

    def side_xml(self, part: str, notices: list[str] | None = None) -> ET.Element | None:
        """A small part parsed whole, or None when it is missing, too large or does not parse
        (with a notice in NOTICES for the last two). DOCTYPEs are still refused."""
        info = self.infos.get(part.lstrip("/"))
        if info is None:
            return None
        if info.file_size > MAX_SIDE_PART_BYTES:
            if notices is not None:
                notices.append(f"skipped {info.filename} (larger than {_mib(MAX_SIDE_PART_BYTES)})")
            return None
        try:
            return ET.fromstring(self.read_xml(part))
        except ET.ParseError:
            if notices is not None:
                notices.append(f"skipped {info.filename} (its XML does not parse)")
            return None

    def content_types(self) -> dict[str, str]:
        """Part name (with leading slash) -> content type, from the overrides."""
        if not self.has(CONTENT_TYPES):
            raise self.refuse(f"not {self.label_phrase()} (it looks like a ZIP archive)")
        try:
            root = ET.fromstring(self.read_xml(CONTENT_TYPES))
        except ET.ParseError:
            raise self.refuse(f"corrupt {self.label} (unreadable [Content_Types].xml)") from None
        found: dict[str, str] = {}
        for el in root.iter(_CT_NS + "Override"):
            part, ctype = el.get("PartName"), el.get("ContentType")
            if part and ctype:
                found["/" + part.lstrip("/")] = ctype
        return found

    def label_phrase(self) -> str:
        return f"a {self.label}"

    def main_part(self) -> tuple[str, str, tuple[str, str] | None]:
        """(part name, content type, (extension, phrase)) of the package's main document."""
        for part, ctype in self.content_types().items():
            kind = _main_kind(ctype)
            if kind is not None:
                return part, ctype, kind
        return "", "", None


def _what_package(data: bytes) -> tuple[str, str] | None:
    """(extension, phrase) for a zip by its content types, without the full guard's cost."""
    if _central_directory_entries(data) > MAX_ZIP_MEMBERS:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "mimetype" in names and zf.getinfo("mimetype").file_size < 200:
                mime = zf.read("mimetype").decode("ascii", "replace").strip()
                if mime.startswith("application/vnd.oasis.opendocument"):
                    return ("", "an OpenDocument file")
            if CONTENT_TYPES not in names or zf.getinfo(CONTENT_TYPES).file_size > CHUNK_BYTES:
                return None
            raw = zf.read(CONTENT_TYPES)
        if any(word in raw for word in _FORBIDDEN_XML):
            return None
        root = ET.fromstring(raw)
    except Exception:  # noqa: BLE001 - any damage means "not a package we recognise"
        return None
    for el in root.iter(_CT_NS + "Override"):
        kind = _main_kind(el.get("ContentType") or "")
        if kind is not None:
            return kind
    return None


def describe_zip(data: bytes) -> str:
    found = _what_package(data)
    return found[1] if found else "a ZIP archive"


def package_extension(data: bytes) -> str | None:
    found = _what_package(data)
    if found and found[0] in (".docx", ".pptx"):
        return found[0]
    return None


def open_package(data: bytes, name: str, *, expected: str) -> tuple[Package, str, str]:
    """Guard DATA as a package and check its main part is the EXPECTED kind (".docx"/".pptx").

    Returns the package, the main part's name and its content type.
    """
    label = "Word document" if expected == ".docx" else "PowerPoint file"
    phrase = "a Word document" if expected == ".docx" else "a PowerPoint file"
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        from chatpro.files.sniff import describe_bytes

        what = describe_bytes(data)
        if what == "an encrypted Office file":
            raise FileRefused(
                f"{name}: encrypted Office file (password-protected); remove the password and try again"
            )
        raise FileRefused(f"{name}: not {phrase} (it looks like {what})")
    package = Package(data, name, label)
    part, ctype, kind = package.main_part()
    if kind is None:
        raise package.refuse(
            f"not {phrase} (it looks like a ZIP archive without an Office document)"
        )
    if kind[0] != expected:
        raise package.refuse(f"not {phrase} (it is {kind[1]})")
    return package, part, ctype


# --- .docx text (in ooxml_word, imported only when a .docx is loaded) ------------------------


def extract_docx(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    from chatpro.files.ooxml_word import extract_docx as extract

    return extract(data, name, progress)

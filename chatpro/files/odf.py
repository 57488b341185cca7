"""OpenDocument text (.odt) and presentations (.odp), as Markdown.

The package is a zip (guarded like any: ooxml.Package) whose `mimetype` member names the kind;
content.xml holds the text. It is streamed with the stdlib's pull parser: each top-level block
(heading, paragraph, list, table) of a text document and each slide of a presentation is
rendered as soon as it ends and then dropped, so memory follows one block, not the document.

Headings keep their outline level, lists their bullets or numbers (from the list styles in the
same file), tables become pipe tables, text boxes (draw:frame) follow the paragraph that anchors
them on their own lines, footnotes are collected at the end, comments are marked as such.
Headers and footers live in styles.xml's master pages: like a Word document's, each distinct one
is read once, headers before the body and footers after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree as ET

from chatpro.errors import FileRefused
from chatpro.files.common import Extracted, Progress, TextBuilder
from chatpro.files.ooxml import Package
from chatpro.files.tabular import pipe_table
from chatpro.files.types import SUPPORTED

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
PRES = "{urn:oasis:names:tc:opendocument:xmlns:presentation:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"


def _kind(extension: str) -> tuple[str, str]:
    """The mimetype an OpenDocument file of EXTENSION must name, and its label."""
    ftype = SUPPORTED[extension]
    return ftype.mime, ftype.label


_KINDS = {
    "application/vnd.oasis.opendocument.text": "an OpenDocument text",
    "application/vnd.oasis.opendocument.text-template": "an OpenDocument text template",
    "application/vnd.oasis.opendocument.presentation": "an OpenDocument presentation",
    "application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet",
    "application/vnd.oasis.opendocument.graphics": "an OpenDocument drawing",
}
_BLOCKS = frozenset({TEXT + "h", TEXT + "p", TEXT + "list", TABLE + "table"})
_CONTAINERS = frozenset(
    {TEXT + "section", OFFICE + "text", TEXT + "index-body", TEXT + "table-of-content"}
)
_SKIP = frozenset(
    {
        TEXT + "tracked-changes",
        TEXT + "note-citation",
        OFFICE + "annotation-end",
        TEXT + "sequence-decls",
        TEXT + "variable-decls",
        TEXT + "user-field-decls",
        OFFICE + "forms",
    }
)
MAX_ELEMENTS = 200_000
"""XML elements of content.xml read: past them reading stops with a notice. A long book is well
under this per 2,000,000 characters of text; millions of empty paragraphs or of shapes on one
slide would otherwise take seconds (and a slide is held whole until it ends)."""

MAX_REPEAT = 100
"""table:number-columns-repeated / -rows-repeated honoured up to this: LibreOffice writes
16,384 repeated empty cells to the row's end, which carry nothing."""


def mimetype_of(data: bytes) -> str | None:
    """The ODF mimetype stored, as the format requires, first and uncompressed in the zip."""
    if data[30:38] != b"mimetype":
        return None
    end = data.find(b"PK", 38, 38 + 120)
    raw = data[38:end] if end > 0 else b""
    mime = raw.decode("ascii", "replace").strip()
    return mime if mime.startswith("application/vnd.oasis.opendocument.") else None


class _Doc:
    def __init__(self) -> None:
        self.list_kinds: dict[str, dict[int, str]] = {}  # list style -> level -> "bullet"/"number"
        self.notes: list[str] = []

    def page_parts(self, root: ET.Element, kind: str) -> list[str]:
        """The lines of each distinct header or footer (KIND) of ROOT's master pages."""
        lines: list[str] = []
        seen: set[str] = set()
        tags = {STYLE + kind, STYLE + kind + "-left", STYLE + kind + "-first"}
        for master in root.iter(STYLE + "master-page"):
            for part in master:
                if part.tag not in tags:
                    continue
                block = [line for line in self.block_lines(part) if line.strip()]
                text = "\n".join(block)
                if text and text not in seen:
                    seen.add(text)
                    lines.extend(["", *block, ""])
        return lines

    def read_list_styles(self, root: ET.Element) -> None:
        for style in root.iter(TEXT + "list-style"):
            name = style.get(STYLE + "name") or ""
            levels: dict[int, str] = {}
            for level in style:
                try:
                    depth = int(level.get(TEXT + "level") or "1")
                except ValueError:
                    continue
                numbered = level.tag == TEXT + "list-level-style-number" and bool(
                    level.get(STYLE + "num-format")
                )
                levels[depth] = "number" if numbered else "bullet"
            self.list_kinds[name] = levels

    # --- inline text -------------------------------------------------------------------------

    def inline(self, el: ET.Element, boxes: list[ET.Element]) -> str:
        """EL's text as one line; text boxes found inside are handed back through BOXES."""
        out: list[str] = [el.text or ""]
        for child in el:
            tag = child.tag
            if tag == TEXT + "s":
                try:
                    out.append(" " * min(int(child.get(TEXT + "c") or "1"), 100))
                except ValueError:
                    out.append(" ")
            elif tag == TEXT + "tab":
                out.append("\t")
            elif tag == TEXT + "line-break":
                out.append("\n")
            elif tag == TEXT + "note":
                body = child.find(TEXT + "note-body")
                if body is not None:
                    self.notes.append(" ".join(self.block_lines(body)))
                    out.append(f"[^{len(self.notes)}]")
            elif tag == OFFICE + "annotation":
                said = " ".join(
                    self.inline(p, boxes) for p in child.iter(TEXT + "p") if p is not child
                )
                out.append(f" [Comment: {' '.join(said.split())}]")
            elif tag == DRAW + "frame" or tag == DRAW + "custom-shape" or tag == DRAW + "g":
                boxes.append(child)
            elif tag not in _SKIP:
                out.append(self.inline(child, boxes))
            out.append(child.tail or "")
        return "".join(out)

    # --- blocks ------------------------------------------------------------------------------

    def block_lines(self, el: ET.Element, list_style: str = "", depth: int = 0) -> Iterator[str]:
        """Markdown lines for the block-level children of EL."""
        for child in el:
            yield from self.block(child, list_style, depth)

    def block(self, el: ET.Element, list_style: str = "", depth: int = 0) -> Iterator[str]:
        tag = el.tag
        if tag in (TEXT + "p", TEXT + "h"):
            boxes: list[ET.Element] = []
            text = self.inline(el, boxes)
            if tag == TEXT + "h":
                try:
                    level = int(el.get(TEXT + "outline-level") or "1")
                except ValueError:
                    level = 1
                heading = " ".join(text.split())
                if heading:
                    yield ""
                    yield "#" * max(1, min(level, 6)) + " " + heading
                    yield ""
            else:
                yield from text.split("\n")
            for box in boxes:
                yield from self.shape_lines(box)
        elif tag == TEXT + "list":
            yield from self.list_lines(el, list_style, depth)
        elif tag == TABLE + "table":
            yield ""
            yield from pipe_table(list(self.table_rows(el)))
            yield ""
        elif tag in (DRAW + "frame", DRAW + "custom-shape", DRAW + "g"):
            yield from self.shape_lines(el)
        elif tag not in _SKIP:
            yield from self.block_lines(el, list_style, depth)

    def shape_lines(self, el: ET.Element) -> Iterator[str]:
        for child in el:
            if child.tag in (DRAW + "text-box", DRAW + "frame", DRAW + "custom-shape", DRAW + "g"):
                yield from self.shape_lines(child)
            elif child.tag == TABLE + "table" or child.tag in (
                TEXT + "p",
                TEXT + "h",
                TEXT + "list",
            ):
                yield from self.block(child)

    def list_lines(self, el: ET.Element, list_style: str, depth: int) -> Iterator[str]:
        style = el.get(TEXT + "style-name") or list_style
        kind = self.list_kinds.get(style, {}).get(depth + 1, "bullet")
        indent = "  " * depth
        number = 0
        for item in el:
            if item.tag not in (TEXT + "list-item", TEXT + "list-header"):
                continue
            start = item.get(TEXT + "start-value")
            if start and start.isdigit():
                number = int(start) - 1
            if item.tag == TEXT + "list-item":
                number += 1
            marker = f"{number}." if kind == "number" else "-"
            first = True
            for child in item:
                if child.tag == TEXT + "list":
                    yield from self.list_lines(child, style, depth + 1)
                    continue
                for line in self.block(child, style, depth + 1):
                    if not line.strip():
                        continue
                    if first and item.tag == TEXT + "list-item":
                        yield f"{indent}{marker} {line.strip()}"
                        first = False
                    else:
                        yield f"{indent}  {line.strip()}"

    def table_rows(self, table: ET.Element) -> Iterator[list[str]]:
        for row in table.iter(TABLE + "table-row"):
            cells: list[str] = []
            for cell in row:
                if cell.tag not in (TABLE + "table-cell", TABLE + "covered-table-cell"):
                    continue
                text = " ".join(" ".join(self.block_lines(cell)).split())
                try:
                    repeat = int(cell.get(TABLE + "number-columns-repeated") or "1")
                except ValueError:
                    repeat = 1
                cells.extend([text] * min(max(repeat, 1), MAX_REPEAT))
            if any(cells):
                yield cells


def _stream(
    package: Package, part: str, label: str
) -> Iterator[tuple[ET.Element, list[ET.Element]]]:
    """Each finished element of PART with the stack of its open ancestors."""
    try:
        yield from package.ended(part)
    except ET.ParseError:
        raise package.refuse(f"corrupt {label} (its content.xml does not parse)") from None


def open_odf(data: bytes, name: str, extension: str) -> Package:
    """DATA guarded as an OpenDocument package of the kind EXTENSION names, else refused."""
    mime, label = _kind(extension)
    phrase = "an " + label
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        from chatpro.files.sniff import describe_bytes

        raise FileRefused(f"{name}: not {phrase} (it looks like {describe_bytes(data)})")
    package = Package(data, name, label)
    found = ""
    if package.has("mimetype"):
        found = b"".join(package.chunks("mimetype")).decode("ascii", "replace").strip()
    if not found.startswith("application/vnd.oasis.opendocument."):
        from chatpro.files.sniff import describe_bytes

        raise package.refuse(f"not {phrase} (it looks like {describe_bytes(data)})")
    if found.removesuffix("-template").removesuffix("-web") != mime:
        what = _KINDS.get(found, "another OpenDocument file")
        raise package.refuse(f"not {phrase} (it is {what})")
    if not package.has("content.xml"):
        raise package.refuse(f"corrupt {label} (missing content.xml)")
    return package


def extract_odf(
    data: bytes, name: str, extension: str, progress: Progress | None = None
) -> Extracted:
    package = open_odf(data, name, extension)
    label = _kind(extension)[1]
    doc = _Doc()
    headers: list[str] = []
    footers: list[str] = []
    if package.has("styles.xml"):
        try:
            styles = ET.fromstring(package.read_xml("styles.xml"))
        except ET.ParseError:
            pass  # list styles and page headers are extras; content.xml is what matters
        else:
            doc.read_list_styles(styles)
            if extension == ".odt":
                headers = doc.page_parts(styles, "header")
                footers = doc.page_parts(styles, "footer")
    builder = TextBuilder()
    for line in headers:
        builder.line(line)
    slides = 0
    notices: list[str] = []
    for elements, (elem, stack) in enumerate(_stream(package, "content.xml", label), start=1):
        if not stack:
            break
        if elements > MAX_ELEMENTS:
            pages = [e for e in stack if e.tag == DRAW + "page"]
            if extension == ".odp" and pages:  # the slide read so far
                slides += 1
                _slide(doc, builder, pages[0], slides)
            notices.append(
                f"only the start of the {label} is read (it stops after "
                f"{MAX_ELEMENTS:,} XML elements)"
            )
            break
        parent = stack[-1]
        if elem.tag == OFFICE + "automatic-styles":
            doc.read_list_styles(elem)
            parent.remove(elem)
        elif elem.tag == DRAW + "page" and extension == ".odp":
            slides += 1
            _slide(doc, builder, elem, slides)
            parent.remove(elem)
        elif extension == ".odt" and elem.tag in _BLOCKS and parent.tag in _CONTAINERS:
            for line in doc.block(elem):
                builder.line(line)
            parent.remove(elem)
        if builder.full:
            break
    if doc.notes and not builder.full:
        builder.line("")
        for number, note in enumerate(doc.notes, start=1):
            builder.line(f"[^{number}]: {note}")
    for line in footers:
        if builder.full:
            break
        builder.line(line)
    if progress is not None:
        progress(1, 1)
    return Extracted(
        builder.text(),
        builder.truncated,
        slides=slides if extension == ".odp" else None,
        notices=tuple(notices),
    )


def _slide(doc: _Doc, builder: TextBuilder, page: ET.Element, number: int) -> None:
    builder.line(f"## Slide {number}")
    title: list[str] = []
    body: list[str] = []
    notes: list[str] = []
    for child in page:
        if child.tag == PRES + "notes":
            for frame in child:
                if frame.get(PRES + "class") == "notes":
                    notes.extend(doc.shape_lines(frame))
            continue
        lines = list(doc.block(child))
        if child.get(PRES + "class") == "title" and not title:
            title = [" ".join(" ".join(lines).split())]
        else:
            body.extend(lines)
    if title and title[0]:
        builder.line(f"### {title[0]}")
    for line in body:
        builder.line(line)
    if any(n.strip() for n in notes):
        builder.line("Notes:")
        for line in notes:
            builder.line(line)
    builder.line("")

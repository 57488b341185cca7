""".docx as Markdown: headings from paragraph styles, lists with Word's own numbers, tables as
pipe tables, text boxes on their own lines, charts and SmartArt, then footnotes and endnotes
("[^1]: ..."), headers and footers (each part once) and comments.

The main part is parsed as a stream: each top-level paragraph and each row of a top-level table
is rendered and dropped once it has ended (looked at after each chunk), so memory follows a
chunk, not the document, and parsing stops at the text cap. Table cells of plain runs, the bulk
of a dense table, are read by a short loop instead of the general paragraph walk, and paragraphs
with nothing to show (empty, or only properties) are passed over without it. The side parts
(styles, numbering, notes, headers) are small and read whole, each bounded by MAX_SIDE_PART_BYTES.
All parts together are read up to MAX_WORD_XML_BYTES of XML: past it, reading stops with a notice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from chatpro.files import charts
from chatpro.files.common import Extracted, Progress, TextBuilder
from chatpro.files.ooxml import Package, open_package, size_text, stopped_notice
from chatpro.files.tabular import MAX_TABLE_COLUMNS

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
A = charts.A

_SKIP = frozenset(
    {
        W + "pPr",
        W + "rPr",
        W + "instrText",
        W + "delText",
        W + "sectPr",
        W + "footnoteRef",
        W + "endnoteRef",
        W + "separator",
        W + "continuationSeparator",
        MC + "Fallback",
    }
)
_CONTAINERS = frozenset(
    {W + "sdt", W + "sdtContent", W + "customXml", W + "smartTag", W + "ins", W + "moveTo"}
)
_BODY_CONTAINERS = _CONTAINERS | {MC + "AlternateContent", MC + "Choice"}

MAX_WORD_XML_BYTES = 24 * 1024 * 1024
"""Inflated XML read per document (main part and side parts together); past it reading stops
with a notice. Parsing costs about 40-60 ns a byte however little text the markup holds: a
document of prose reaches the text cap (2,000,000 characters) after 5-15 MiB of XML, while a
table of 400,000 tiny Word-formatted cells took 77 MiB and 4.5 s to get there."""


# --- styles and numbering -------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    name: str
    based_on: str | None
    outline: int | None
    num: tuple[str, int] | None


def _val(el: ET.Element | None, tag: str) -> str | None:
    if el is None:
        return None
    child = el.find(W + tag)
    return None if child is None else child.get(W + "val")


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _num_pr(ppr: ET.Element | None) -> tuple[str | None, int | None]:
    num_pr = ppr.find(W + "numPr") if ppr is not None else None
    if num_pr is None:
        return None, None
    ilvl = _val(num_pr, "ilvl")
    return _val(num_pr, "numId"), (None if ilvl is None else _int(ilvl, 0))


def _load_styles(root: ET.Element | None) -> dict[str, _Style]:
    styles: dict[str, _Style] = {}
    if root is None:
        return styles
    for st in root.iter(W + "style"):
        ppr = st.find(W + "pPr")
        outline = _val(ppr, "outlineLvl")
        num_id, ilvl = _num_pr(ppr)
        styles[st.get(W + "styleId", "")] = _Style(
            name=(_val(st, "name") or "").lower(),
            based_on=_val(st, "basedOn"),
            outline=None if outline is None else _int(outline, 9),
            num=None if num_id is None else (num_id, ilvl or 0),
        )
    return styles


@dataclass(frozen=True)
class _Level:
    fmt: str
    text: str
    start: int


def _roman(n: int) -> str:
    out = []
    for value, digits in (
        (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
        (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
    ):  # fmt: skip
        while n >= value:
            out.append(digits)
            n -= value
    return "".join(out)


def format_number(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter") and n > 0:
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter if fmt == "lowerLetter" else letter.upper()
    if fmt in ("lowerRoman", "upperRoman") and n > 0:
        return _roman(n) if fmt == "lowerRoman" else _roman(n).upper()
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "ordinal":
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"
    return str(n)


class _Numbering:
    """Word's list counters: one per abstract list (numbering instances share it, as in Word),
    except an instance that overrides a start value, which counts on its own."""

    def __init__(self, root: ET.Element | None) -> None:
        self.abstract: dict[str, dict[int, _Level]] = {}
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        if root is None:
            return
        for ab in root.iter(W + "abstractNum"):
            levels: dict[int, _Level] = {}
            for lvl in ab.findall(W + "lvl"):
                levels[_int(lvl.get(W + "ilvl"), 0)] = _Level(
                    fmt=_val(lvl, "numFmt") or "decimal",
                    text=_val(lvl, "lvlText") or "",
                    start=_int(_val(lvl, "start"), 1),
                )
            self.abstract[ab.get(W + "abstractNumId", "")] = levels
        for num in root.iter(W + "num"):
            overrides = {
                _int(o.get(W + "ilvl"), 0): _int(_val(o, "startOverride"), 1)
                for o in num.findall(W + "lvlOverride")
                if o.find(W + "startOverride") is not None
            }
            self.nums[num.get(W + "numId", "")] = (_val(num, "abstractNumId") or "", overrides)

    def label(self, num_id: str, ilvl: int) -> str | None:
        """The next label of list NUM_ID at level ILVL ("3.", "b)", "-"), or None: no list."""
        if num_id not in self.nums:
            return None
        abstract_id, overrides = self.nums[num_id]
        levels = self.abstract.get(abstract_id, {})
        level = levels.get(ilvl, _Level("decimal", f"%{ilvl + 1}.", 1))
        if level.fmt == "none" and "%" not in level.text:
            return None
        if level.fmt == "bullet":
            return "-"
        key = "num:" + num_id if overrides else "abs:" + abstract_id
        counts = self.counters.setdefault(key, {})

        def start(i: int) -> int:
            lv = levels.get(i)
            return overrides.get(i, lv.start if lv else 1)

        counts[ilvl] = counts.get(ilvl, start(ilvl) - 1) + 1
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]
        text = level.text or f"%{ilvl + 1}."
        for i in range(9, 0, -1):
            token = f"%{i}"
            if token in text:
                lv = levels.get(i - 1)
                value = counts.get(i - 1, start(i - 1))
                text = text.replace(token, format_number(value, lv.fmt if lv else "decimal"))
        return text.strip() or None


# --- rendering ------------------------------------------------------------------------------


@dataclass
class _Doc:
    package: Package
    styles: dict[str, _Style]
    numbering: _Numbering
    notices: list[str]
    notes: dict[str, dict[str, ET.Element]] = field(default_factory=dict)
    note_order: dict[str, list[str]] = field(default_factory=lambda: {"fn": [], "en": []})
    xml_read: int = 0
    """Inflated XML bytes read so far, counted against MAX_WORD_XML_BYTES."""

    def heading(self, style_id: str | None, ppr: ET.Element | None) -> int | None:
        direct = _val(ppr, "outlineLvl")
        if direct is not None:
            level = _int(direct, 9)
            return level + 1 if level < 9 else None
        seen: set[str] = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            style = self.styles.get(style_id)
            if style is None:
                break
            if style.name == "title":
                return 1
            if style.name.startswith("heading ") and style.name[8:].isdigit():
                return min(max(int(style.name[8:]), 1), 6)
            if style.outline is not None:
                return style.outline + 1 if style.outline < 9 else None
            style_id = style.based_on
        return None

    def style_num(self, style_id: str | None) -> tuple[str, int] | None:
        seen: set[str] = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            style = self.styles.get(style_id)
            if style is None:
                return None
            if style.num is not None:
                return style.num
            style_id = style.based_on
        return None

    def marker(self, kind: str, note_id: str) -> str:
        order = self.note_order[kind]
        if note_id not in order:
            order.append(note_id)
        number = order.index(note_id) + 1
        return f"[^{number}]" if kind == "fn" else f"[^e{number}]"

    def graphic(self, data: ET.Element, rels: dict[str, tuple[str, str]]) -> list[str]:
        lines = charts.graphic_lines(data, rels, self.load)
        return ["", *lines, ""] if lines else []

    def load(self, part: str) -> ET.Element | None:
        """A side part parsed whole, or None (with a notice) when it would take the document
        past MAX_WORD_XML_BYTES, or is missing, too large or broken (see Package.side_xml)."""
        info = self.package.infos.get(part.lstrip("/"))
        if info is None:
            return None
        if self.xml_read + info.file_size > MAX_WORD_XML_BYTES:
            self.notices.append(
                f"skipped {info.filename} (chatpro reads at most {size_text(MAX_WORD_XML_BYTES)} "
                "of a Word document's XML)"
            )
            return None
        self.xml_read += info.file_size
        return self.package.side_xml(part, self.notices)

    def paragraph(self, p: ET.Element, rels: dict[str, tuple[str, str]]) -> list[str]:
        """A paragraph as Markdown lines: the paragraph itself, then its text boxes and charts."""
        out: list[str] = []
        extra: list[str] = []

        def walk(el: ET.Element) -> None:
            for child in el:
                tag = child.tag
                if tag in _SKIP:
                    continue
                if tag == W + "t":
                    out.append(child.text or "")
                elif tag == W + "tab":
                    out.append("\t")
                elif tag in (W + "br", W + "cr"):
                    out.append("\n")
                elif tag == W + "noBreakHyphen":
                    out.append("-")
                elif tag == W + "footnoteReference":
                    out.append(self.marker("fn", child.get(W + "id", "")))
                elif tag == W + "endnoteReference":
                    out.append(self.marker("en", child.get(W + "id", "")))
                elif tag == W + "txbxContent":
                    extra.extend(self.blocks(child, rels))
                elif tag == A + "graphicData":
                    extra.extend(self.graphic(child, rels))
                    walk(child)
                else:
                    walk(child)

        walk(p)
        text = "".join(out).strip()
        lines = [text] if text else []
        ppr = p.find(W + "pPr")
        style_id = _val(ppr, "pStyle")
        if text:
            level = self.heading(style_id, ppr)
            num_id, ilvl = _num_pr(ppr)
            from_style = self.style_num(style_id)
            if num_id is None and from_style is not None:
                num_id, ilvl = from_style[0], ilvl if ilvl is not None else from_style[1]
            label = self.numbering.label(num_id, ilvl or 0) if num_id not in (None, "0") else None
            body = text.split("\n")
            if level is not None:
                head = " ".join(part.strip() for part in body if part.strip())
                lines = ["#" * level + " " + (f"{label} {head}" if label else head)]
            elif label is not None:
                indent = "    " * (ilvl or 0)
                pad = indent + " " * (len(label) + 1)
                lines = [f"{indent}{label} {body[0]}", *(pad + line for line in body[1:])]
            else:
                lines = body
        return lines + extra

    def blocks(self, el: ET.Element, rels: dict[str, tuple[str, str]]) -> list[str]:
        """Markdown lines of EL's block-level children (paragraphs, tables, content controls)."""
        lines: list[str] = []
        for child in el:
            tag = child.tag
            if tag == W + "p":
                lines.extend(self.paragraph(child, rels))
            elif tag == W + "tbl":
                rows = [self.row(tr, rels) for tr in _rows(child)]
                lines.extend(["", *charts.pipe_table(rows), ""])
            elif tag == MC + "AlternateContent":
                choice = child.find(MC + "Choice")
                lines.extend(self.blocks(choice if choice is not None else child, rels))
            elif tag in _BODY_CONTAINERS:
                lines.extend(self.blocks(child, rels))
        return lines

    def row(self, tr: ET.Element, rels: dict[str, tuple[str, str]]) -> list[str]:
        cells: list[str] = []
        for tc in _children(tr, _TC):
            if len(cells) >= MAX_TABLE_COLUMNS:
                break  # a row of thousands of cells is not a table a reader can use
            text = _plain_cell(tc)
            if text is None:
                parts: list[str] = []
                for child in _children(tc, W + "p", W + "tbl"):
                    if child.tag == W + "p":
                        parts.extend(self.paragraph(child, rels))
                    else:  # a nested table, flattened into the cell
                        for inner in _rows(child):
                            parts.append(" / ".join(c for c in self.row(inner, rels) if c))
                text = "<br>".join(charts.cell(part) for part in parts if part.strip())
            cells.append(text)
            props = tc.find(_TCPR)
            if props is not None:
                span = _int(_val(props, "gridSpan"), 1)
                cells.extend([""] * (min(span, 64) - 1))
        return cells


_T, _R, _P, _PPR, _TAB, _TR = W + "t", W + "r", W + "p", W + "pPr", W + "tab", W + "tr"
_TC, _TCPR = W + "tc", W + "tcPr"
_BREAKS = frozenset({W + "br", W + "cr"})
_HYPHEN = W + "noBreakHyphen"
_NOT_PLAIN = frozenset(
    {
        _HYPHEN,
        W + "footnoteReference",
        W + "endnoteReference",
        W + "txbxContent",
        A + "graphicData",
    }
)
"""Elements that add text even when empty, beyond those _plain_text reads itself (it reads a
non-breaking hyphen in a run, not one outside)."""
_TEXT_TAGS = _NOT_PLAIN | _BREAKS | {_T, _TAB}
_LIST_OR_HEADING = frozenset({W + "pStyle", W + "outlineLvl", W + "numPr"})
_LOOK_THROUGH = frozenset({*_CONTAINERS, MC + "AlternateContent", W + "tbl"})


def _has_content(p: ET.Element) -> bool:
    """Whether paragraph P may show anything: False when it holds only properties and runs of
    properties or empty elements that stand for no text (a bookmark, a field mark), for which
    _Doc.paragraph shows nothing (not even a list number: an empty numbered paragraph neither
    shows nor counts one). Anything else is left to the general walk."""
    for child in p:
        tag = child.tag
        if tag in _SKIP:
            continue
        if tag == _R:
            for el in child:
                if el.tag not in _SKIP and (len(el) or el.tag in _TEXT_TAGS):
                    return True
        elif len(child) or tag in _TEXT_TAGS:
            return True
    return False


def _plain_text(p: ET.Element) -> str | None:
    """P's text when it is plain runs of text in a paragraph neither heading nor list item (what
    most table cells hold), read without the general walk; None for anything else.

    It must read exactly what _Doc.paragraph reads: an empty element adds nothing there unless it
    is one of the few that stand for text, and property elements are skipped whole.
    """
    out: list[str] = []
    props = False
    for child in p:
        tag = child.tag
        if tag == _R:
            for el in child:
                tag = el.tag
                if tag == _T:
                    out.append(el.text or "")
                elif tag in _SKIP:
                    continue
                elif tag == _TAB:
                    out.append("\t")
                elif tag in _BREAKS:
                    out.append("\n")
                elif tag == _HYPHEN:
                    out.append("-")
                elif len(el) or tag in _NOT_PLAIN:
                    return None
        elif tag == _PPR and not props:  # the paragraph's first properties decide its kind
            props = True
            for el in child:
                if el.tag in _LIST_OR_HEADING:
                    return None
        elif tag in _SKIP:
            continue
        elif len(child) or tag in _TEXT_TAGS:  # text outside a run: the general walk
            return None
    return "".join(out).strip()


def _plain_cell(tc: ET.Element) -> str | None:
    """TC's pipe-table text when its paragraphs are all plain (see _plain_text), else None."""
    lines: list[str] = []
    for child in tc:
        tag = child.tag
        if tag == _P:
            text = _plain_text(child)
            if text is None:
                return None
            if "\n" in text:
                lines.extend(text.split("\n"))
            elif text:
                lines.append(text)
        elif tag in _LOOK_THROUGH:
            return None
    if not lines:
        return ""
    if len(lines) == 1:
        text = lines[0]
        if "\t" in text or "|" in text:
            return charts.cell(text)
        return text  # already stripped, on one line: charts.cell would return it unchanged
    return "<br>".join(charts.cell(line) for line in lines if line.strip())


def _children(el: ET.Element, *tags: str) -> Iterator[ET.Element]:
    """EL's children with one of TAGS, looking through content controls and the like."""
    for child in el:
        if child.tag in tags:
            yield child
        elif child.tag in _CONTAINERS:
            yield from _children(child, *tags)
        elif child.tag == MC + "AlternateContent":
            choice = child.find(MC + "Choice")
            if choice is not None:
                yield from _children(choice, *tags)


def _rows(tbl: ET.Element) -> Iterator[ET.Element]:
    return _children(tbl, W + "tr")


# --- the document ---------------------------------------------------------------------------


def _notes(doc: _Doc, part: str | None, tag: str) -> dict[str, ET.Element]:
    root = doc.load(part) if part else None
    found: dict[str, ET.Element] = {}
    for note in root.iter(W + tag) if root is not None else []:
        if note.get(W + "type", "normal") == "normal":
            found[note.get(W + "id", "")] = note
    return found


def _note_lines(doc: _Doc, kind: str, notes: dict[str, ET.Element], part: str) -> list[str]:
    lines: list[str] = []
    rels = doc.package.rels(part) if notes else {}
    done = 0
    while done < len(doc.note_order[kind]):  # notes may reference further notes
        note_id = doc.note_order[kind][done]
        done += 1
        note = notes.get(note_id)
        if note is None:
            continue
        marker = doc.marker(kind, note_id)
        body = [line for line in doc.blocks(note, rels) if line.strip()]
        first = body[0].strip() if body else ""
        lines.append(f"{marker}: {first}".rstrip())
        lines.extend("    " + line for line in body[1:])
    return lines


def extract_docx(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    package, part, _ = open_package(data, name, expected=".docx")
    notices: list[str] = []
    rels = package.rels(part)
    by_kind: dict[str, list[str]] = {}
    for kind, target in rels.values():
        if target not in by_kind.setdefault(kind, []):
            by_kind[kind].append(target)

    def first(kind: str) -> str | None:
        return by_kind.get(kind, [None])[0]

    doc = _Doc(package, {}, _Numbering(None), notices)
    doc.styles = _load_styles(doc.load(first("styles") or ""))
    doc.numbering = _Numbering(doc.load(first("numbering") or ""))
    builder = TextBuilder()

    def emit(lines: list[str]) -> None:
        for line in lines:
            builder.line(line)

    seen_text: set[str] = set()

    def header_footer(kind: str) -> None:
        for target in by_kind.get(kind, []):
            root = doc.load(target)
            if root is None:
                continue
            lines = doc.blocks(root, package.rels(target))
            text = "\n".join(lines).strip()
            if text and text not in seen_text:
                seen_text.add(text)
                emit(["", *lines, ""])

    header_footer("header")
    coverage = _stream_body(package, part, doc, rels, builder, progress)
    footnotes = _notes(doc, first("footnotes"), "footnote")
    endnotes = _notes(doc, first("endnotes"), "endnote")
    fn_lines = _note_lines(doc, "fn", footnotes, first("footnotes") or "")
    en_lines = _note_lines(doc, "en", endnotes, first("endnotes") or "")
    if fn_lines or en_lines:
        emit(["", *fn_lines, *en_lines])
    header_footer("footer")
    comments = doc.load(first("comments") or "")
    if comments is not None:
        comment_lines = []
        for comment in comments.iter(W + "comment"):
            text = " ".join(line.strip() for line in doc.blocks(comment, {}) if line.strip())
            author = comment.get(W + "author", "").strip()
            if text:
                comment_lines.append(f"- {author}: {text}" if author else f"- {text}")
        if comment_lines:
            emit(["", "Comments:", *comment_lines])
    return Extracted(builder.text(), builder.truncated, notices=tuple(notices), coverage=coverage)


_TOP, _DOC, _BLOCKS, _ROWS = 0, 1, 2, 3
"""What the children of an element being rendered are: the part's root element; the root's
children (the w:body is read); blocks (top-level paragraphs and tables, maybe inside content
controls); or a top-level table's rows (maybe inside content controls)."""


class _Body:
    """Renders the main part's top-level paragraphs and table rows from the tree as it grows.

    The parser builds the tree with no Python work per element (asking it for start and end
    events costs more than the whole tree: a table of 200,000 one-letter cells is 800,000
    elements). Between chunks, every child of an element but its last has ended, so each
    paragraph or row is rendered once a later sibling has begun (or the part has ended), then
    removed: memory follows a chunk, not the document.
    """

    def __init__(self, doc: _Doc, rels: dict[str, tuple[str, str]], builder: TextBuilder) -> None:
        self.doc = doc
        self.rels = rels
        self.builder = builder
        self.table_width = 0  # columns of the top-level table being read; 0 outside tables

    def render(self, top: ET.Element, ended: bool) -> None:
        """Render what has ended below TOP (all of it when ENDED) and drop it from the tree."""
        # frames: [element, what its children are, whether it has ended, next child, a table];
        # a list, not recursion: content controls may nest thousands deep
        frames: list[list[Any]] = [[top, _TOP, ended, 0, False]]
        builder = self.builder
        while frames:
            frame = frames[-1]
            el, mode, complete, i, _ = frame
            if i == len(el):
                if not complete:
                    break  # nothing more has ended
                frames.pop()
                if frame[4]:
                    self.table_width = 0
                    builder.line("")
                    if builder.full:
                        return
                if frames:
                    frames[-1][3] += 1
                continue
            child = el[i]
            is_open = not complete and i == len(el) - 1  # the last child may still be parsed
            tag = child.tag
            if mode == _TOP:
                frames.append([child, _DOC, not is_open, 0, False])
                continue
            if mode == _DOC:
                if tag == W + "body":
                    frames.append([child, _BLOCKS, not is_open, 0, False])
                    continue
            elif tag in _BODY_CONTAINERS:
                frames.append([child, mode, not is_open, 0, False])
                continue
            elif mode == _BLOCKS and tag == W + "tbl":
                frames.append([child, _ROWS, not is_open, 0, True])
                continue
            elif tag == (_P if mode == _BLOCKS else _TR):
                if is_open:
                    break
                # this paragraph (or row) and the ended ones of its kind right after it, in one
                # loop: a document may be hundreds of thousands of empty paragraphs
                last = len(el) if complete else len(el) - 1
                while i < last and el[i].tag == tag:
                    child = el[i]
                    i += 1
                    if mode == _ROWS:
                        self.row(child)
                    elif _has_content(child):
                        for line in self.doc.paragraph(child, self.rels):
                            builder.line(line)
                    else:
                        continue  # nothing in it is shown, so nothing is added
                    if builder.full:
                        return
                frame[3] = i
                continue
            frame[3] = i + 1  # anything else at this depth holds no text we show
        for frame in frames:  # the open elements keep only what has not been read yet
            del frame[0][: frame[3]]

    def row(self, tr: ET.Element) -> None:
        cells = self.doc.row(tr, self.rels)
        if self.table_width == 0:
            self.table_width = max(len(cells), 1)
            self.builder.line("")
            for line in charts.pipe_table([cells]):
                self.builder.line(line)
        else:
            cells += [""] * (self.table_width - len(cells))
            self.builder.line("| " + " | ".join(cells) + " |")


def _stream_body(
    package: Package,
    part: str,
    doc: _Doc,
    rels: dict[str, tuple[str, str]],
    builder: TextBuilder,
    progress: Progress | None,
) -> float:
    """Read the main part into BUILDER; the share of it read when reading stopped at the XML
    budget (with a notice), else 1."""
    total = package.size(part)
    body = _Body(doc, rels, builder)

    def render(top: ET.Element, ended: bool) -> bool:
        body.render(top, ended)
        return builder.full

    budget = MAX_WORD_XML_BYTES - doc.xml_read  # the side parts read so far count too
    try:
        read = package.grow(part, render, budget=budget, progress=progress)
    except ET.ParseError:  # what ended before broken XML still counts if it reached the text cap
        if not builder.full:
            raise package.refuse("corrupt Word document (its XML does not parse)") from None
        read = total
    doc.xml_read += read
    if progress is not None:
        progress(total, total)
    if read == total or builder.full:
        return 1.0
    doc.notices.append(
        stopped_notice(part, read, total, MAX_WORD_XML_BYTES, "a Word document's XML")
    )
    return read / total

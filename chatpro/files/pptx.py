"""PowerPoint as Markdown: "## Slide N: title", then the slide's text frames (bullets and
numbered items indented by level), tables as pipe tables, charts and SmartArt, grouped shapes,
then its speaker notes under "Notes:". Slideshows (.ppsx), macro decks and templates read alike.

Each slide is parsed as its tree grows (Package.grow, over the package's bounded chunks): a
shape is rendered and dropped once it has ended, and the rows of a table as they end, so memory
follows a chunk or one shape, not the deck, and no python-pptx/lxml tree of every part is ever
built. Table cells of plain runs, the bulk of a dense table, are read by a short loop. A slide
is read up to MAX_SLIDE_XML_BYTES of XML, then with a notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

from chatpro.files import charts
from chatpro.files.common import MAX_TEXT_CHARS, Extracted, Progress, TextBuilder
from chatpro.files.ooxml import Package, open_package, stopped_notice

P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
A = charts.A
R = charts.R

_SHAPES = frozenset({P + "sp", P + "graphicFrame", P + "pic", P + "cxnSp", P + "contentPart"})
_SHAPE_HOLDERS = frozenset({P + "grpSp", MC + "AlternateContent", MC + "Choice"})
_TITLES = frozenset({"title", "ctrTitle"})
_BULLETED = frozenset({"body", "obj"})
_NOT_SHOWN_IN_NOTES = frozenset({"sldImg", "sldNum", "hdr", "ftr", "dt"})

Rels = dict[str, tuple[str, str]]

MAX_LOADED_PART_BYTES = 4 * 1024 * 1024
# No real slide comes near this much XML; a crafted one is read this far, with a notice.
MAX_SLIDE_XML_BYTES = 24 * 1024 * 1024
"""A chart, SmartArt or notes part is parsed whole; a real one is well under this, and a 30 MB
one built 600 MB of elements."""

_OUTSIDE, _SHOWN, _HIDDEN = 0, 1, 2  # where an element sits: before the shape tree, in it, or
# inside something in it that is not a group (a shape's own parts)


def _auto_label(scheme: str, n: int) -> str:
    from chatpro.files.ooxml_word import format_number

    kinds = {
        "arabic": "decimal",
        "alphaLc": "lowerLetter",
        "alphaUc": "upperLetter",
        "romanLc": "lowerRoman",
        "romanUc": "upperRoman",
    }
    number = str(n)
    for prefix, fmt in kinds.items():
        if scheme.startswith(prefix):
            number = format_number(n, fmt)
            break
    if scheme.endswith("ParenBoth"):
        return f"({number})"
    if scheme.endswith("ParenR"):
        return f"{number})"
    if scheme.endswith("Plain"):
        return number
    return f"{number}."


def _paragraph_text(p: ET.Element) -> str:
    out: list[str] = []
    for child in p:
        if child.tag in (A + "r", A + "fld"):
            t = child.find(A + "t")
            out.append(t.text or "" if t is not None else "")
        elif child.tag == A + "br":
            out.append("\n")
    return "".join(out).replace("\v", "\n")


def _text_lines(body: ET.Element, bulleted: bool) -> list[str]:
    """A text frame's paragraphs; list items as "- " or their auto number, indented by level."""
    lines: list[str] = []
    counters: dict[int, int] = {}
    for p in body.iter(A + "p"):
        text = _paragraph_text(p).strip()
        ppr = p.find(A + "pPr")
        try:
            level = min(int(ppr.get("lvl", "0")), 8) if ppr is not None else 0
        except ValueError:
            level = 0
        if not text:
            continue
        auto = ppr.find(A + "buAutoNum") if ppr is not None else None
        no_bullet = ppr is not None and ppr.find(A + "buNone") is not None
        char = ppr.find(A + "buChar") if ppr is not None else None
        label: str | None = None
        if auto is not None:
            try:
                start = int(auto.get("startAt", "1"))
            except ValueError:
                start = 1
            counters[level] = counters.get(level, start - 1) + 1
            label = _auto_label(auto.get("type", "arabicPeriod"), counters[level])
        elif not no_bullet and (char is not None or bulleted):
            label = "-"
        for deeper in [k for k in counters if k > level or (auto is None and k == level)]:
            del counters[deeper]
        parts = [part.strip() for part in text.split("\n")]
        if label is None:
            lines.extend(parts)
            continue
        indent = "    " * level
        pad = indent + " " * (len(label) + 1)
        lines.append(f"{indent}{label} {parts[0]}")
        lines.extend(pad + part for part in parts[1:] if part)
    return lines


_TR, _TC, _TX_BODY, _P, _T = (A + t for t in ("tr", "tc", "txBody", "p", "t"))
_BR, _PPR, _RUNS = A + "br", A + "pPr", (A + "r", A + "fld")
_BODY_PROPS = frozenset({A + "bodyPr", A + "lstStyle"})


def _plain_cell(tc: ET.Element) -> str | None:
    """TC's pipe-table text when no paragraph in it has list marks (what nearly every table cell
    holds), read without the general walk; None for anything else.

    It must read what the general walk (_text_lines) reads: only a paragraph's list properties,
    which are children of its a:pPr, can add a number or bullet.
    """
    if tc.get("hMerge") == "1" or tc.get("vMerge") == "1":
        return ""
    body = tc.find(_TX_BODY)
    if body is None:
        return ""
    lines: list[str] = []
    for p in body:
        if p.tag != _P:
            if p.tag in _BODY_PROPS:
                continue
            return None
        out: list[str] = []
        for el in p:
            tag = el.tag
            if tag in _RUNS:
                t = el.find(_T)
                if t is not None and t.text:
                    out.append(t.text)
            elif tag == _BR:
                out.append("\n")
            elif tag == _PPR and len(el):
                return None
        text = "".join(out).replace("\v", "\n").strip()
        if "\n" in text:
            lines.extend(part.strip() for part in text.split("\n"))
        elif text:
            lines.append(text)
    if len(lines) == 1:
        text = lines[0]
        if "\t" in text or "|" in text:
            return charts.cell(text)
        return text  # already stripped, on one line: charts.cell would return it unchanged
    return "<br>".join(charts.cell(line) for line in lines if line.strip())


def _row(tr: ET.Element) -> list[str]:
    row = []
    for tc in tr.findall(_TC):
        text = _plain_cell(tc)
        if text is None:
            body = tc.find(_TX_BODY)
            parts = _text_lines(body, False) if body is not None else []
            text = "<br>".join(charts.cell(part) for part in parts if part.strip())
        row.append(text)
    return row


def _table_lines(rows: list[list[str]]) -> list[str]:
    return ["", *charts.pipe_table(rows), ""]


class _Deck:
    def __init__(self, package: Package) -> None:
        self.package = package
        self.notices: list[str] = []

    def load(self, part: str) -> ET.Element | None:
        info = self.package.infos.get(part.lstrip("/"))
        if info is not None and info.file_size > MAX_LOADED_PART_BYTES:
            mib, limit = 1024 * 1024, MAX_LOADED_PART_BYTES
            size = f"{limit // mib} MiB" if limit >= mib else f"{limit:,} bytes"
            self.notices.append(f"skipped {info.filename} (larger than {size})")
            return None
        return self.package.side_xml(part, self.notices)

    def shape(
        self,
        el: ET.Element,
        rels: Rels,
        *,
        notes: bool = False,
        rows_before: Sequence[list[str]] = (),
    ) -> tuple[str | None, list[str]]:
        """(placeholder type, Markdown lines) of one shape (not a group); a table's first
        ROWS_BEFORE, read while it was parsed, have been removed from its tree."""
        if el.tag == P + "sp":
            ph = el.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
            kind = None if ph is None else ph.get("type", "obj")
            body = el.find(P + "txBody")
            if body is None or kind == "sldNum":
                return kind, []
            if kind in _TITLES:
                text = " ".join(_paragraph_text(p).strip() for p in body.iter(A + "p"))
                return kind, [" ".join(text.split())] if text.strip() else []
            return kind, _text_lines(body, kind in _BULLETED and not notes)
        if el.tag == P + "graphicFrame":
            data = el.find(f"{A}graphic/{A}graphicData")
            if data is None:
                return None, []
            tbl = data.find(A + "tbl")
            if tbl is not None:
                return None, _table_lines([*rows_before, *map(_row, tbl.findall(_TR))])
            lines = charts.graphic_lines(data, rels, self.load)
            return None, ["", *lines, ""] if lines else []
        return None, []

    def slide(self, part: str, rels: Rels, budget: int) -> tuple[str, list[str]]:
        """(title, lines) of the slide PART, read as it is parsed until BUDGET characters."""
        reader = _Slide(self, rels, budget)
        try:
            read = self.package.grow(part, reader.render, budget=MAX_SLIDE_XML_BYTES)
        except ET.ParseError:
            if not reader.full:
                raise self.package.refuse(
                    f"corrupt PowerPoint file (its XML does not parse: {part.lstrip('/')})"
                ) from None
        else:
            total = self.package.size(part)
            if read < total and not reader.full:  # stopped at the budget
                notice = stopped_notice(part, read, total, MAX_SLIDE_XML_BYTES, "a slide's XML")
                self.notices.append(notice)
        return reader.finish()

    def notes(self, rels: Rels) -> list[str]:
        for kind, target in rels.values():
            if kind != "notesSlide":
                continue
            root = self.load(target)
            tree = root.find(f"{P}cSld/{P}spTree") if root is not None else None
            if tree is None:
                return []
            notes_rels = self.package.rels(target)
            lines: list[str] = []
            for el in _shapes(tree):
                ph_kind, shape_lines = self.shape(el, notes_rels, notes=True)
                if ph_kind not in _NOT_SHOWN_IN_NOTES:
                    lines.extend(shape_lines)
            return lines
        return []


_SP_TREE, _GRAPHIC_FRAME = P + "spTree", P + "graphicFrame"
_TABLE_PATH = (A + "graphic", A + "graphicData", A + "tbl")


class _Slide:
    """Renders a slide's shapes from its tree as it grows (see Package.grow), dropping each.

    A shape is rendered once it has ended; a table's rows are read and dropped as they end, so
    a slide holding a table of 100,000 tiny cells costs a chunk of elements, not the table.
    Shapes are those of the shape tree and its groups; shapes inside a shape's own parts (or in
    an mc:Fallback) are not shown.
    """

    def __init__(self, deck: _Deck, rels: Rels, budget: int) -> None:
        self.deck = deck
        self.rels = rels
        self.budget = budget
        self.title = ""
        self.lines: list[str] = []
        self.size = 0
        self.table: ET.Element | None = None  # the a:tbl whose rows are read as they end
        self.rows: list[list[str]] = []  # its rows read so far
        self.rows_size = 0  # their characters as pipe-table lines, at least

    @property
    def full(self) -> bool:
        return self.size + self.rows_size > self.budget

    def finish(self) -> tuple[str, list[str]]:
        if self.rows:  # stopped inside a table at the budget: what was read of it
            self.lines.extend(_table_lines(self.rows))
            self.rows = []
        return self.title, self.lines

    def render(self, top: ET.Element, ended: bool) -> bool:
        """Render the shapes that have ended below TOP (all when ENDED) and drop them from the
        tree; True once the budget is spent."""
        # frames: [element, where its children are, whether it has ended, next child]; a list,
        # not recursion: groups may nest thousands deep
        frames: list[list[Any]] = [[top, _OUTSIDE, ended, 0]]
        while frames:
            frame = frames[-1]
            el, place, complete, i = frame
            if i == len(el):
                if not complete:
                    break  # nothing more has ended
                frames.pop()
                if frames:
                    frames[-1][3] += 1
                continue
            child = el[i]
            is_open = not complete and i == len(el) - 1  # the last child may still be parsed
            tag = child.tag
            if place == _OUTSIDE:
                if tag == _SP_TREE:
                    frames.append([child, _SHOWN, not is_open, 0])
                    continue
                if is_open or next(child.iter(_SP_TREE), None) is not None:
                    frames.append([child, _OUTSIDE, not is_open, 0])
                    continue
            elif place == _SHOWN and tag in _SHAPES:
                if is_open:
                    if tag == _GRAPHIC_FRAME:
                        self.read_rows(child)
                    break
                self.add(child)
                if self.full:
                    return True
            elif place == _SHOWN and tag in _SHAPE_HOLDERS:
                frames.append([child, _SHOWN, not is_open, 0])
                continue
            elif is_open:  # a shape's own part, or a fallback, still being parsed: drop what
                frames.append([child, _HIDDEN, False, 0])  # has ended in it as it comes
                continue
            frame[3] = i + 1
        for frame in frames:  # the open elements keep only what has not been read yet
            del frame[0][: frame[3]]
        return self.full

    def add(self, shape: ET.Element) -> None:
        rows: list[list[str]] = []
        if self.table is not None:
            rows, self.rows, self.rows_size, self.table = self.rows, [], 0, None
        kind, shape_lines = self.deck.shape(shape, self.rels, rows_before=rows)
        if kind in _TITLES and not self.title and shape_lines:
            self.title = shape_lines[0]
        else:
            self.lines.extend(shape_lines)
            self.size += sum(len(line) + 1 for line in shape_lines)

    def read_rows(self, frame: ET.Element) -> None:
        """Read and drop the ended rows of the table FRAME holds, while FRAME is parsed."""
        el = frame
        for tag in _TABLE_PATH:  # the table the frame shows is being parsed
            found = el.find(tag)
            if found is None or found is not el[-1]:
                return
            el = found
        if el is not self.table:
            self.table, self.rows, self.rows_size = el, [], 0
        done = len(el) - 1  # the last child may still be parsed
        for tr in el[:done]:
            if tr.tag == _TR:
                cells = _row(tr)
                self.rows.append(cells)
                if cells:  # "| a | b |\n"; a table's rows are padded to its widest
                    self.rows_size += sum(map(len, cells)) + 3 * len(cells) + 2
        del el[:done]


def _shapes(tree: ET.Element) -> list[ET.Element]:
    found: list[ET.Element] = []
    for el in tree:
        if el.tag in _SHAPES:
            found.append(el)
        elif el.tag == MC + "AlternateContent":
            choice = el.find(MC + "Choice")
            if choice is not None:
                found.extend(_shapes(choice))
        elif el.tag == P + "grpSp":
            found.extend(_shapes(el))
    return found


def extract_pptx(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    package, part, _ = open_package(data, name, expected=".pptx")
    package.scan_all_xml()
    deck = _Deck(package)
    presentation = package.side_xml(part)
    if presentation is None:
        raise package.refuse("corrupt PowerPoint file (unreadable presentation part)")
    rels = package.rels(part)
    slides = [
        rels[rid][1]
        for sld in presentation.iter(P + "sldId")
        if (rid := sld.get(R + "id", "")) in rels and package.has(rels[rid][1])
    ]
    builder = TextBuilder()
    for number, slide_part in enumerate(slides, start=1):
        slide_rels = package.rels(slide_part)
        title, lines = deck.slide(slide_part, slide_rels, MAX_TEXT_CHARS - builder.size)
        builder.line(f"## Slide {number}: {title}" if title else f"## Slide {number}")
        builder.line("")
        for line in lines:
            builder.line(line)
        notes = deck.notes(slide_rels)
        if notes:
            builder.line("")
            builder.line("Notes:")
            for line in notes:
                builder.line(line)
        builder.line("")
        if progress is not None:
            progress(number, len(slides))
        if builder.full:
            break
    if progress is not None and not slides:
        progress(1, 1)
    return Extracted(
        builder.text(), builder.truncated, slides=len(slides), notices=tuple(deck.notices)
    )

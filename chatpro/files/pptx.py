"""PowerPoint as Markdown: "## Slide N: title", then the slide's text frames (bullets and
numbered items indented by level), tables as pipe tables, charts and SmartArt, grouped shapes,
then its speaker notes under "Notes:". Slideshows (.ppsx), macro decks and templates read alike.

Each slide is parsed as a stream (xml.etree over the package's bounded chunks): a shape is
rendered and dropped as soon as it ends, so memory follows one shape, not the deck, and no
python-pptx/lxml tree of every part is ever built.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from chatpro.files import charts
from chatpro.files.common import MAX_TEXT_CHARS, Extracted, Progress, TextBuilder
from chatpro.files.ooxml import Package, open_package

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


def _table_lines(tbl: ET.Element) -> list[str]:
    rows: list[list[str]] = []
    for tr in tbl.findall(A + "tr"):
        row = []
        for tc in tr.findall(A + "tc"):
            if tc.get("hMerge") == "1" or tc.get("vMerge") == "1":
                row.append("")
                continue
            body = tc.find(A + "txBody")
            parts = _text_lines(body, False) if body is not None else []
            row.append("<br>".join(charts.cell(part) for part in parts if part.strip()))
        rows.append(row)
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
        self, el: ET.Element, rels: Rels, *, notes: bool = False
    ) -> tuple[str | None, list[str]]:
        """(placeholder type, Markdown lines) of one shape (not a group)."""
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
                return None, _table_lines(tbl)
            lines = charts.graphic_lines(data, rels, self.load)
            return None, ["", *lines, ""] if lines else []
        return None, []

    def slide(self, part: str, rels: Rels, budget: int) -> tuple[str, list[str]]:
        """(title, lines) of the slide PART, streamed shape by shape until BUDGET characters."""
        title = ""
        lines: list[str] = []
        size = 0
        # (element, where) for the open ancestors, kept in step with the stack as it grows and
        # shrinks: each ancestry is not recomputed per element (a group nested 20,000 deep
        # took 22 s that way).
        places: list[tuple[ET.Element, int]] = []
        try:
            for elem, stack in self.package.ended(part):
                if elem.tag not in _SHAPES:
                    continue
                while places and (
                    len(places) > len(stack) or places[-1][0] is not stack[len(places) - 1]
                ):
                    places.pop()
                for el in stack[len(places) :]:
                    above = places[-1][1] if places else _OUTSIDE
                    if above == _OUTSIDE:
                        place = _SHOWN if el.tag == P + "spTree" else _OUTSIDE
                    elif above == _SHOWN and el.tag in _SHAPE_HOLDERS:
                        place = _SHOWN
                    else:
                        place = _HIDDEN
                    places.append((el, place))
                if not places or places[-1][1] == _OUTSIDE:
                    continue
                if places[-1][1] == _SHOWN:
                    kind, shape_lines = self.shape(elem, rels)
                    if kind in _TITLES and not title and shape_lines:
                        title = shape_lines[0]
                    else:
                        lines.extend(shape_lines)
                        size += sum(len(line) + 1 for line in shape_lines)
                if stack:
                    stack[-1].remove(elem)
                if size > budget:
                    return title, lines
        except ET.ParseError:
            raise self.package.refuse(
                f"corrupt PowerPoint file (its XML does not parse: {part.lstrip('/')})"
            ) from None
        return title, lines

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

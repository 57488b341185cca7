"""Excel workbooks (.xlsx): each sheet a pipe table of the values a reader sees.

Streamed with the stdlib's pull parser over the guarded package (ooxml.Package), rather than
openpyxl: openpyxl's read-only mode also streams, but it opens the zip itself (so the bomb guard
and the chunked, counted inflation would be bypassed or done twice), costs a large import at load
time, and builds a cell object per cell. Here a sheet row is parsed, kept (up to the row cap) or
counted, and dropped; memory follows one row and the kept rows.

Cells show their cached values (what Excel last computed), never formulas: shared and inline
strings, numbers, booleans, errors, and dates where the cell's number format is a date format.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, timedelta
from typing import cast
from xml.etree import ElementTree as ET

from chatpro.errors import FileRefused
from chatpro.files.common import MAX_TEXT_CHARS, Extracted, Progress, TextBuilder
from chatpro.files.ooxml import CONTENT_TYPES, Package, relationships
from chatpro.files.tabular import MAX_TABLE_ROWS, pipe_table, rows_notice

S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"

# Builtin number formats that are dates or times (ECMA-376 18.8.30, plus the East Asian ids).
_BUILTIN_DATES = frozenset([*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)])
_DATE_CODE = re.compile(r"[dmyhs]", re.IGNORECASE)
_NOT_CODE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')

MAX_SHARED_CHARS = 4 * MAX_TEXT_CHARS
"""Shared strings kept past this are blanked: a workbook cannot make us hold more than this."""

MAX_SHARED_STRINGS = 200_000
"""Shared strings read: Excel stores them in order of first use, so the rows a reader sends (the
first MAX_TABLE_ROWS of each sheet) use the early ones; millions of them would cost seconds and
hundreds of MiB. A cell that uses a later one is blank, with a notice."""

MAX_WORKBOOK_CELLS = 200_000
"""Cells read in a whole workbook: past them a sheet's rows are counted, not read, and later
sheets are left out (2,000 rows of 16,384 cells would otherwise cost tens of seconds)."""


def _is_date_format(code: str) -> bool:
    bare = _NOT_CODE.sub("", code)
    if "general" in bare.lower():
        return False
    return bool(_DATE_CODE.search(bare))


class _Workbook:
    def __init__(self, package: Package, main: str) -> None:
        self.package = package
        self.main = main.lstrip("/")
        self.notices: list[str] = []
        self.shared: list[str] = []
        self.shared_cut = False  # MAX_SHARED_STRINGS were read and more followed
        self.shared_missed = False  # a cell used a shared string past the cut
        self.cells = 0  # cells read so far, against MAX_WORKBOOK_CELLS
        self.date_styles: set[int] = set()
        self.date1904 = False
        self.sheets: list[tuple[str, str | None, bool]] = []  # name, part, hidden

    def parse_xml(self, part: str) -> ET.Element:
        try:
            return ET.fromstring(self.package.read_xml(part))
        except ET.ParseError:
            raise self.package.refuse(
                f"corrupt Excel workbook (unreadable {part.lstrip('/')})"
            ) from None

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type's last word, target part) for PART; a .rels part that does
        not parse refuses the workbook (its sheets cannot be found without it)."""
        folder, base = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", base + ".rels")
        if not self.package.has(rels_part):
            return {}
        return relationships(self.parse_xml(rels_part), folder)

    def load(self) -> None:
        root = self.parse_xml(self.main)
        pr = root.find(S + "workbookPr")
        if pr is not None and pr.get("date1904") in ("1", "true"):
            self.date1904 = True
        rels = self.rels(self.main)
        for kind, target in rels.values():
            if kind == "sharedStrings" and self.package.has(target):
                self._load_shared(target)
            elif kind == "styles" and self.package.has(target):
                self._load_styles(target)
        sheets = root.find(S + "sheets")
        for sheet in sheets if sheets is not None else []:
            kind, target = rels.get(sheet.get(R + "id") or "", ("", ""))
            part = target if kind == "worksheet" and self.package.has(target) else None
            hidden = sheet.get("state") in ("hidden", "veryHidden")
            self.sheets.append((sheet.get("name") or "?", part, hidden))

    def _load_shared(self, part: str) -> None:
        """The shared strings, parsed by callbacks (no element is built: a workbook may hold
        hundreds of thousands), up to MAX_SHARED_STRINGS."""
        target = _SharedStrings()
        parser = ET.XMLParser(target=target)
        try:
            for chunk in self.package.xml_chunks(part):
                parser.feed(chunk)
                if len(target.items) >= MAX_SHARED_STRINGS:
                    self.shared_cut = True
                    break
            else:
                parser.close()
        except ET.ParseError:
            raise self.package.refuse(
                f"corrupt Excel workbook (unreadable {part.lstrip('/')})"
            ) from None
        self.shared = target.items[:MAX_SHARED_STRINGS]

    def _load_styles(self, part: str) -> None:
        root = self.parse_xml(part)
        custom: dict[int, str] = {}
        formats = root.find(S + "numFmts")
        for fmt in formats if formats is not None else []:
            try:
                custom[int(fmt.get("numFmtId") or "")] = fmt.get("formatCode") or ""
            except ValueError:
                continue
        xfs = root.find(S + "cellXfs")
        for index, xf in enumerate(xfs if xfs is not None else []):
            try:
                fmt_id = int(xf.get("numFmtId") or "0")
            except ValueError:
                continue
            code = custom.get(fmt_id)
            if (code is not None and _is_date_format(code)) or (
                code is None and fmt_id in _BUILTIN_DATES
            ):
                self.date_styles.add(index)

    def cell_value(self, c: ET.Element) -> str:
        kind = c.get("t") or "n"
        if kind == "inlineStr":
            inline = c.find(S + "is")
            return _rich_text(inline) if inline is not None else ""
        v = c.find(S + "v")
        raw = (v.text or "") if v is not None else ""
        if not raw:
            return ""
        if kind == "s":
            try:
                return self.shared[int(raw)]
            except (ValueError, IndexError):
                if self.shared_cut and raw.strip().isdigit():
                    self.shared_missed = True
                return ""
        if kind == "b":
            return "TRUE" if raw.strip() in ("1", "true") else "FALSE"
        if kind in ("str", "e", "d"):
            return raw
        try:
            number = float(raw)
        except ValueError:
            return raw
        try:
            style = int(c.get("s") or "0")
        except ValueError:
            style = 0
        if style in self.date_styles:
            return self._date(number) or _number(number)
        return _number(number)

    def _date(self, serial: float) -> str | None:
        base = datetime(1904, 1, 1) if self.date1904 else datetime(1899, 12, 30)
        days = serial
        if not self.date1904 and 1 <= serial < 61:
            days += 1  # Excel counts a 29 February 1900 that never was
        try:
            moment = base + timedelta(days=days)
        except OverflowError:
            return None
        moment = moment.replace(microsecond=0) + timedelta(
            seconds=round(moment.microsecond / 1_000_000)
        )
        if serial < 1:
            return moment.strftime("%H:%M:%S")
        if moment.hour == moment.minute == moment.second == 0:
            return moment.strftime("%Y-%m-%d")
        return moment.strftime("%Y-%m-%d %H:%M:%S")


def _number(number: float) -> str:
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    """Excel writes characters XML cannot hold (controls) as _xHHHH_; "_x005F_" escapes "_"."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def _rich_text(el: ET.Element) -> str:
    """The text of a string item: its runs' text, without phonetic guides (rPh)."""
    parts: list[str] = []
    for child in el:
        if child.tag == S + "t":
            parts.append(child.text or "")
        elif child.tag == S + "r":
            t = child.find(S + "t")
            if t is not None:
                parts.append(t.text or "")
    return _unescape("".join(parts))


class _SharedStrings:
    """An XMLParser target keeping each string item's text, as _rich_text reads it: the text of
    its own <t>, and of the first <t> of each run <r>; phonetic guides (rPh) left out."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.parts: list[str] = []
        self.depth = 0  # 0 outside an item, 1 in <si>, 2 in its child, 3 in a grandchild...
        self.child = ""  # the tag of the item's current child
        self.run_text_seen = False
        self.keep = False  # inside a <t> whose text counts, before any child of it
        self.chars = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if not self.depth:
            if tag == S + "si":
                self.depth = 1
                self.parts = []
            return
        self.depth += 1
        if self.depth == 2:
            self.child = tag
            self.run_text_seen = False
            self.keep = tag == S + "t"
        elif (
            self.depth == 3 and self.child == S + "r" and tag == S + "t" and not self.run_text_seen
        ):
            self.run_text_seen = True
            self.keep = True
        else:
            self.keep = False

    def end(self, tag: str) -> None:
        if self.depth == 1:
            text = _unescape("".join(self.parts))
            self.chars += len(text)
            self.items.append(text if self.chars <= MAX_SHARED_CHARS else "")
        if self.depth:
            self.depth -= 1
        self.keep = False

    def data(self, text: str) -> None:
        if self.keep:
            self.parts.append(text)

    def close(self) -> None:
        return None


_COLUMN = re.compile(r"([A-Za-z]{1,3})")


def _column_index(ref: str | None, fallback: int) -> int:
    if not ref:
        return fallback
    match = _COLUMN.match(ref)
    if match is None:
        return fallback
    index = 0
    for letter in match.group(1).upper():
        index = index * 26 + (ord(letter) - 64)
    return index - 1


MAX_COLUMNS = 1_000
"""Cells further right than this are left out: no reader scrolls that far, and one stray cell at
XFD1 must not widen every row of the table to 16,384 columns."""


_ROW_WITH_CELLS = re.compile(rb"row\b[^>]*(?<!/)>\s*<(?:[A-Za-z_][\w.-]*:)?c\b")
"""A row start tag followed by a cell. It begins with a literal so the regex engine can skip to
each "row" at memory speed (a pattern that begins with "<" tries every tag: ten times slower)."""

_TAG_PREFIX = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?")


def _last_row_start(window: bytes) -> int:
    """Where the last row start tag in WINDOW begins (its "<"), or -1."""
    end = len(window)
    while (at := window.rfind(b"row", 0, end)) > 0:
        lt = window.rfind(b"<", max(0, at - 64), at)
        if (
            lt >= 0
            and _TAG_PREFIX.fullmatch(window, lt, at)
            and window[at + 3 : at + 4] in (b" ", b">", b"/", b"\t", b"\n", b"\r")
        ):
            return lt
        end = at
    return -1


def _self_closing(chunk: bytes, start: int) -> bool:
    """Whether the row tag at START in CHUNK closes itself (<row .../>)."""
    end = chunk.find(b">", start)
    return end > 0 and chunk[end - 1 : end] == b"/"


def _row_values(book: _Workbook, row: ET.Element) -> tuple[list[str], bool]:
    values: list[str] = []
    wide = False
    column = -1
    for c in row.iter(S + "c"):
        column = _column_index(c.get("r"), column + 1)
        if column >= MAX_COLUMNS:
            wide = True
            continue
        value = book.cell_value(c)
        if not value:
            continue
        if column >= len(values):
            values.extend([""] * (column + 1 - len(values)))
        values[column] = value
    return values, wide


def _sheet_rows(book: _Workbook, part: str) -> tuple[list[list[str]], int, bool, bool]:
    """(kept rows, non-empty rows in all, whether that count is estimated, columns were cut).

    Past the row cap the XML is no longer parsed: rows holding cells are counted in the raw
    bytes, which is many times faster (a row of empty styled cells counts there too).
    """
    rows: list[list[str]] = []
    total = 0
    wide = False
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    stack: list[ET.Element] = []
    counting = estimated = False
    tail = b""
    try:
        for chunk in book.package.xml_chunks(part):
            if counting:
                estimated = True
                window = tail + chunk
                last = _last_row_start(window)
                if last < 0:
                    tail = window[-64:]
                    continue
                # the last row may go on in the next chunk: count it then
                total += sum(1 for _ in _ROW_WITH_CELLS.finditer(window, 0, last))
                tail = window[last:]
                continue
            parser.feed(chunk)
            for item in parser.read_events():
                event, elem = cast("tuple[str, ET.Element]", item)
                if event == "start":
                    stack.append(elem)
                    continue
                stack.pop()
                if elem.tag == S + "c" and stack:
                    book.cells += 1
                    if len(stack[-1]) > MAX_COLUMNS:  # a cell past the column cap: dropped now
                        del stack[-1][-1]
                        wide = True
                    continue
                if elem.tag != S + "row":
                    continue
                values, cut_columns = _row_values(book, elem)
                wide = wide or cut_columns
                if stack:
                    stack[-1].remove(elem)
                if any(v.strip() for v in values):
                    total += 1
                    if total <= MAX_TABLE_ROWS:
                        rows.append(values)
            if total >= MAX_TABLE_ROWS or book.cells >= MAX_WORKBOOK_CELLS:
                counting = True
                last = _last_row_start(chunk)
                if last >= 0 and chunk.find(b"row>", last) < 0 and not _self_closing(chunk, last):
                    tail = chunk[last:]  # a row the parser has not finished: counted from here
        if counting:
            total += sum(1 for _ in _ROW_WITH_CELLS.finditer(tail))  # the last row
        else:
            parser.close()
    except ET.ParseError:
        raise book.package.refuse(
            f"corrupt Excel workbook (unreadable {part.lstrip('/')})"
        ) from None
    return rows, total, estimated, wide


def _budget_notice(where: str, kept: int, total: int) -> str:
    return (
        f"{where}: only the first {kept:,} of about {total:,} rows are sent "
        f"(a workbook is read up to its first {MAX_WORKBOOK_CELLS:,} cells)"
    )


def extract_xlsx(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    package = open_workbook(data, name)
    part = _main_part(package)
    book = _Workbook(package, part)
    book.load()
    builder = TextBuilder()
    notices: list[str] = []
    for number, (sheet_name, sheet_part, hidden) in enumerate(book.sheets, start=1):
        builder.line(f"## Sheet: {sheet_name}" + (" (hidden)" if hidden else ""))
        if sheet_part is None:
            builder.line("(a chart sheet: no cells)")
        elif book.cells >= MAX_WORKBOOK_CELLS:
            builder.line("(not read)")
            notices.append(
                f"sheet {sheet_name}: left out (a workbook is read up to its first "
                f"{MAX_WORKBOOK_CELLS:,} cells)"
            )
        else:
            rows, total, estimated, wide = _sheet_rows(book, sheet_part)
            lines = pipe_table(rows)
            for line in lines or ["(empty sheet)"]:
                builder.line(line)
            if total > MAX_TABLE_ROWS:
                notices.append(rows_notice(f"sheet {sheet_name}", total, about=estimated))
            elif total > len(rows):
                notices.append(_budget_notice(f"sheet {sheet_name}", len(rows), total))
            if wide:
                notices.append(
                    f"sheet {sheet_name}: columns past the {MAX_COLUMNS:,}th are left out"
                )
        builder.line("")
        if progress is not None:
            progress(number, len(book.sheets))
        if builder.full:
            break
    if book.shared_missed:
        notices.append(
            f"only the first {MAX_SHARED_STRINGS:,} shared strings are read: "
            "cells that use later ones are blank"
        )
    return Extracted(builder.text(), builder.truncated, notices=tuple(notices))


def open_workbook(data: bytes, name: str) -> Package:
    """DATA guarded as a zip package that holds an Excel workbook, else refused with the reason."""
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        from chatpro.files.sniff import describe_bytes

        what = describe_bytes(data)
        if what == "an encrypted Office file":
            raise FileRefused(
                f"{name}: encrypted Office file (password-protected); "
                "remove the password and try again"
            )
        raise FileRefused(f"{name}: not an Excel workbook (it looks like {what})")
    package = Package(data, name, "Excel workbook")
    if not package.has(CONTENT_TYPES):
        raise package.refuse("not an Excel workbook (it looks like a ZIP archive)")
    return package


def _main_part(package: Package) -> str:
    part, _, kind = package.main_part()
    if kind is None:
        raise package.refuse(
            "not an Excel workbook (it looks like a ZIP archive without an Office document)"
        )
    if kind[0] != ".xlsx":
        raise package.refuse(f"not an Excel workbook (it is {kind[1]})")
    return part

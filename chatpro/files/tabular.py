"""Tables as Markdown pipe tables, and .csv/.tsv files read as one.

A table is capped at MAX_TABLE_ROWS rows (a notice says how many were left out): past that a
model reads rows it cannot weigh, and the whole prompt's cost grows with every one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from chatpro.files.common import Extracted, TextBuilder, clean_text

MAX_TABLE_ROWS = 2_000
"""Rows kept per table (CSV file, spreadsheet sheet), the header row included."""

MAX_CELL_CHARS = 2_000
"""A cell longer than this is cut with "…": one runaway cell should not crowd out the table."""

MAX_TABLE_COLUMNS = 256
"""Columns kept per table (after dropping the ones empty in every row)."""

MAX_READ_COLUMNS = 4 * MAX_TABLE_COLUMNS
"""Cells of a row looked at: past them a row is not read (a line of millions of commas must not
cost seconds and hundreds of MiB)."""

MAX_LINE_CHARS = 200_000
"""A .csv line longer than this is cut before it is split into cells."""


def _cell(value: str) -> str:
    text = " ".join(clean_text(value).split())
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|")


def pipe_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """ROWS as Markdown pipe-table lines, the first row as the header.

    Columns empty in every row are dropped (a spreadsheet's stray formatting reaches far to the
    right); rows are padded to the same width.
    """
    cleaned = [[_cell(v) for v in row[:MAX_READ_COLUMNS]] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    width = max(len(row) for row in cleaned)
    keep = [c for c in range(width) if any(c < len(row) and row[c] for row in cleaned)]
    keep = keep[:MAX_TABLE_COLUMNS]
    table = [[row[c] if c < len(row) else "" for c in keep] for row in cleaned]
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(keep)]
    lines.extend("| " + " | ".join(row) + " |" for row in table[1:])
    return lines


def columns_notice(where: str, total: int, *, more: bool = False) -> str:
    return (
        f"{where}: only the first {MAX_TABLE_COLUMNS:,} of {'more than ' if more else ''}"
        f"{total:,} columns are sent (split the table to send the rest)"
    )


def _cut_lines(text: str, cut: list[int]) -> Iterator[str]:
    """TEXT's lines, each cut at MAX_LINE_CHARS; CUT counts the lines that were."""
    import io

    for line in io.StringIO(text, newline=""):
        if len(line) <= MAX_LINE_CHARS:
            yield line
        else:
            cut[0] += 1
            yield line[:MAX_LINE_CHARS] + "\n"


def rows_notice(where: str, total: int, *, about: bool = False) -> str:
    return (
        f"{where}: only the first {MAX_TABLE_ROWS:,} of {'about ' if about else ''}{total:,} "
        "rows are sent "
        "(split the table to send the rest)"
    )


def _sniff_delimiter(sample: str) -> str:
    import csv

    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def extract_delimited(data: bytes, name: str, delimiter: str) -> Extracted:
    """A .csv (delimiter sniffed among , ; tab |) or .tsv file as one pipe table."""
    import csv

    from chatpro.files.text import decode_text

    text, _ = decode_text(data, name)
    if delimiter == ",":
        delimiter = _sniff_delimiter(text[:65536])
    rows: list[list[str]] = []
    total = 0
    widest = 0
    cut = [0]
    try:
        for row in csv.reader(_cut_lines(text, cut), delimiter=delimiter):
            if not any(cell.strip() for cell in row):
                continue
            total += 1
            if total <= MAX_TABLE_ROWS:
                rows.append(row[:MAX_READ_COLUMNS])
                widest = max(widest, len(row))
    except csv.Error:
        # A quote left open, a field past csv's size limit: the text is still worth reading.
        from chatpro.files.text import extract_text

        plain = extract_text(data, name)
        notice = "not a well-formed table (a quote left open?); sent as plain text"
        return Extracted(plain.text, plain.truncated, notices=(notice,))
    builder = TextBuilder()
    for line in pipe_table(rows):
        builder.line(line)
    notices = [rows_notice("table", total)] if total > MAX_TABLE_ROWS else []
    if widest > MAX_TABLE_COLUMNS:
        notices.append(columns_notice("table", widest, more=cut[0] > 0))
    return Extracted(builder.text(), builder.truncated, notices=tuple(notices))

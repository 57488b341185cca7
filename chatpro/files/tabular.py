"""Tables as Markdown pipe tables, and .csv/.tsv files read as one.

A table is capped at MAX_TABLE_ROWS rows (a notice says how many were left out): past that a
model reads rows it cannot weigh, and the whole prompt's cost grows with every one.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatpro.files.common import Extracted, TextBuilder, clean_text

MAX_TABLE_ROWS = 2_000
"""Rows kept per table (CSV file, spreadsheet sheet), the header row included."""

MAX_CELL_CHARS = 2_000
"""A cell longer than this is cut with "…": one runaway cell should not crowd out the table."""


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
    cleaned = [[_cell(v) for v in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    width = max(len(row) for row in cleaned)
    keep = [c for c in range(width) if any(c < len(row) and row[c] for row in cleaned)]
    table = [[row[c] if c < len(row) else "" for c in keep] for row in cleaned]
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(keep)]
    lines.extend("| " + " | ".join(row) + " |" for row in table[1:])
    return lines


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
    import io

    from chatpro.files.text import decode_text

    text, _ = decode_text(data, name)
    if delimiter == ",":
        delimiter = _sniff_delimiter(text[:65536])
    rows: list[list[str]] = []
    total = 0
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if not any(cell.strip() for cell in row):
                continue
            total += 1
            if total <= MAX_TABLE_ROWS:
                rows.append(row)
    except csv.Error:
        # A quote left open, a field past csv's size limit: the text is still worth reading.
        from chatpro.files.text import extract_text

        plain = extract_text(data, name)
        notice = "not a well-formed table (a quote left open?); sent as plain text"
        return Extracted(plain.text, plain.truncated, notices=(notice,))
    builder = TextBuilder()
    for line in pipe_table(rows):
        builder.line(line)
    notices = (rows_notice("table", total),) if total > MAX_TABLE_ROWS else ()
    return Extracted(builder.text(), builder.truncated, notices=notices)

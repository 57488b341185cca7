"""RTF documents: a small tokenizer-level reader, no dependency.

What a reader sees: text in groups that are not destinations (font and colour tables, style
sheets, document info, pictures, fields' instructions and every `{\\*\\...}` group are skipped),
`\\par`/`\\line` as line ends, `\\tab`, table cells joined as pipe-table rows, `\\uN` Unicode
escapes (skipping the `\\ucN` fallback characters that follow) and `\\'hh` bytes decoded in the
document's code page (`\\ansicpg`, Windows-1252 by default). A library (striprtf) does the same
with regular expressions and no table or code-page handling worth its dependency.
"""

from __future__ import annotations

import re

from chatpro.errors import FileRefused
from chatpro.files.common import Extracted, TextBuilder

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}]+)|([\r\n]+)|([^\\{}\r\n]+)",
    re.DOTALL,
)

MAX_GROUP_DEPTH = 1_000
"""Deepest group nesting whose state is kept; deeper braces are counted, not stacked (real
documents nest a few dozen deep; a file of millions of "{" must not keep millions of states)."""

_DESTINATIONS = frozenset(
    [
        "fonttbl",
        "colortbl",
        "stylesheet",
        "info",
        "pict",
        "object",
        "fldinst",
        "themedata",
        "colorschememapping",
        "latentstyles",
        "datastore",
        "xmlnstbl",
        "listtable",
        "listoverridetable",
        "revtbl",
        "rsidtbl",
        "generator",
        "private",
        "filetbl",
        "bkmkstart",
        "bkmkend",
        "nonshppict",
        "shppict",
        "blipuid",
        "mmathPr",
        "pgdsctbl",
        "operator",
        "author",
        "title",
        "subject",
        "keywords",
        "comment",
        "doccomm",
        "company",
        "category",
        "creatim",
        "revtim",
        "printim",
        "buptim",
        "userprops",
        "docvar",
        "protusertbl",
        "wgrffmtfilter",
        "objdata",
        "fontemb",
        "fontfile",
        "falt",
        "panose",
    ]
)
"""Groups whose text a reader never sees."""

_HEADERS = frozenset(["header", "headerl", "headerr", "headerf", "footer", "footerl", "footerr",
                      "footerf"])  # fmt: skip
"""Header and footer groups: their text is read once, at the end, under its own heading."""

_HEADING_NAME = re.compile(r"\s*heading\s*([1-9])\s*;?\s*$", re.IGNORECASE)

_SYMBOL_BULLETS = frozenset({0xF0B7, 0xF0A7, 0xF0D8, 0xF076, 0xF0FC, 0xF06E, 0xF0A8, 0xF0E8})

_SPECIAL = {
    b"~": "\u00a0",
    b"-": "",
    b"_": "\u2011",
    b"\\": "\\",
    b"{": "{",
    b"}": "}",
    b"\n": "\n",
    b"\r": "\n",
}

_WORDS = {
    "emdash": "\u2014",
    "endash": "\u2013",
    "bullet": "\u2022",
    "lquote": "\u2018",
    "rquote": "\u2019",
    "ldblquote": "\u201c",
    "rdblquote": "\u201d",
    "emspace": "\u2003",
    "enspace": "\u2002",
    "qmspace": "\u2005",
    "zwj": "\u200d",
    "zwnj": "\u200c",
}


def _codec(cp: int) -> str:
    name = {
        437: "cp437",
        850: "cp850",
        874: "cp874",
        932: "cp932",
        936: "gbk",
        949: "cp949",
        950: "big5",
        10000: "mac_roman",
        65001: "utf-8",
    }.get(cp, f"cp{cp}")
    try:
        import codecs

        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


class _State:
    __slots__ = ("dest", "skip", "uc")

    def __init__(self, skip: bool, uc: int, dest: str = "") -> None:
        self.skip = skip
        self.uc = uc
        self.dest = dest


def extract_rtf(data: bytes, name: str) -> Extracted:
    if data.lstrip()[:5] != b"{\\rtf":
        from chatpro.files.sniff import describe_bytes

        raise FileRefused(f"{name}: not an RTF document (it looks like {describe_bytes(data)})")
    builder = TextBuilder()
    codec = "cp1252"
    state = _State(False, 1)
    stack: list[_State] = []
    unstacked = 0  # open groups past MAX_GROUP_DEPTH: their "}" restores nothing
    pending: list[str] = []  # the current line's text
    pending_bytes = bytearray()  # \'hh bytes waiting to be decoded together (DBCS pairs)
    skip_chars = 0  # \ucN fallback characters still to skip after a \uN
    row: list[str] = []
    in_cell = False  # \intbl: this paragraph belongs to a table cell
    table_rows: list[list[str]] = []
    group_starts = False
    style_levels: dict[int, int] = {}  # paragraph style number -> outline level (0 = heading 1)
    entry: list[str] = []  # the text of the style sheet entry being read
    entry_style: int | None = 0
    entry_level: int | None = None
    para_style = 0
    para_level: int | None = None
    header_lines: list[str] = []
    outer_pending: list[list[str]] = []  # the body's line, set aside while a header is read

    def flush_bytes() -> None:
        if pending_bytes:
            pending.append(bytes(pending_bytes).decode(codec, "replace"))
            pending_bytes.clear()

    def emit(text: str) -> None:
        flush_bytes()
        pending.append(text)

    def take_line_keep() -> list[str]:
        flush_bytes()
        kept = list(pending)
        pending.clear()
        return kept

    def take_line() -> str:
        flush_bytes()
        text = "".join(pending)
        pending.clear()
        return text

    def end_table() -> None:
        from chatpro.files.tabular import pipe_table

        builder.line("")
        for line in pipe_table(table_rows):
            builder.line(line)
        builder.line("")
        table_rows.clear()

    for match in _TOKEN.finditer(data):
        if builder.full:
            break
        word, arg, hexbyte, symbol, brace, newline, text = match.groups()
        if brace is not None:
            skip_chars = 0
            for char in brace:
                if char == 0x7B:  # {
                    if len(stack) >= MAX_GROUP_DEPTH:
                        unstacked += 1
                        continue
                    stack.append(state)
                    state = _State(state.skip, state.uc, state.dest)
                    if state.dest == "stylesheet":
                        state.dest = "style"
                        entry, entry_style, entry_level = [], 0, None
                    group_starts = True
                    continue
                group_starts = False
                if unstacked:
                    unstacked -= 1
                    continue
                if state.dest == "style" and stack and stack[-1].dest == "stylesheet":
                    named = _HEADING_NAME.match("".join(entry))
                    outline = entry_level if named is None else int(named.group(1)) - 1
                    if entry_style is not None and outline is not None and outline < 9:
                        style_levels[entry_style] = outline
                if state.dest == "header" and stack and stack[-1].dest != "header":
                    header_lines.append(take_line())
                    if outer_pending:
                        pending.extend(outer_pending.pop())
                if stack:
                    state = stack.pop()
            continue
        starts, group_starts = group_starts, False
        if newline:
            continue
        if word is not None:
            w = word.decode("ascii")
            if starts and w in _DESTINATIONS:
                state.skip = True
                state.dest = "stylesheet" if w == "stylesheet" else state.dest
            elif starts and w in _HEADERS and not state.skip and state.dest != "header":
                state.dest = "header"
                outer_pending.append(take_line_keep())
            if state.dest == "style":
                if w in ("s", "cs", "ds", "ts"):
                    entry_style = int(arg) if w == "s" and arg else None
                elif w == "outlinelevel" and arg:
                    entry_level = int(arg)
            if state.skip:
                continue
            if w == "ansicpg" and arg:
                codec = _codec(int(arg))
            elif w == "uc" and arg:
                state.uc = max(0, int(arg))
            elif w == "u" and arg:
                code = int(arg)
                if code < 0:
                    code += 65536
                if 0xF000 <= code <= 0xF0FF:  # a Symbol/Wingdings glyph: its bullets
                    code = 0x2022 if code in _SYMBOL_BULLETS else code - 0xF000
                flush_bytes()
                pending.append(chr(code) if code >= 0x20 else "")
                skip_chars = state.uc
                continue
            elif w == "s" and arg:
                para_style = int(arg)
            elif w == "outlinelevel" and arg:
                para_level = int(arg)
            elif w in ("par", "sect", "page"):
                line = take_line()
                if state.dest == "header":
                    header_lines.append(line)
                    continue
                heading = para_level if para_level is not None else style_levels.get(para_style)
                if heading is not None and heading < 9 and line.strip() and not in_cell:
                    line = "#" * min(heading + 1, 6) + " " + line.strip()
                if in_cell:
                    pending.append(line + " ")  # a paragraph inside a table cell
                    continue
                if table_rows:
                    end_table()
                builder.line(line)
            elif w == "intbl":
                in_cell = True
            elif w == "pard":
                in_cell = False
                para_style, para_level = 0, None
            elif w == "line":
                emit("\n")
            elif w == "tab":
                emit("\t")
            elif w in ("cell", "nestcell"):
                row.append(take_line())
            elif w in ("row", "nestrow"):
                if row:
                    table_rows.append(row)
                row = []
            elif w in _WORDS:
                emit(_WORDS[w])
            elif w == "bin" and arg:
                # binary data follows: never text
                state.skip = True
            continue
        if symbol is not None:
            if starts and symbol == b"*":
                state.skip = True
                continue
            if state.skip:
                continue
            if skip_chars:
                skip_chars -= 1
                continue
            emit(_SPECIAL.get(symbol, ""))
            continue
        if state.skip:
            if state.dest == "style" and text is not None:
                entry.append(text.decode(codec, "replace"))
            continue
        if hexbyte is not None:
            if skip_chars:
                skip_chars -= 1
                continue
            pending_bytes.append(int(hexbyte, 16))
            continue
        if text is not None:
            chunk = text.decode(codec, "replace")
            if skip_chars:
                dropped = min(skip_chars, len(chunk))
                chunk = chunk[dropped:]
                skip_chars -= dropped
            emit(chunk)
    last = take_line()
    if row:
        row.append(last)
        table_rows.append(row)
        last = ""
    if table_rows:
        end_table()
    builder.line(last)
    seen = dict.fromkeys(line.strip() for line in header_lines if line.strip())
    if seen:
        builder.line("")
        builder.line("## Headers and footers")
        builder.line("")
        for line in seen:
            builder.line(line)
    return Extracted(builder.text(), builder.truncated)

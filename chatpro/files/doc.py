"""Legacy Word binaries (.doc: Word 97-2003 and Word 6/95) in pure Python: olefile opens the
compound file, the text is read through the document's piece table.

The File Information Block (FIB, see doc_fib) says where the piece table is and how many
characters each part of the document has. The text stream holds them one after the other: main
text, footnotes, headers and footers, comments, endnotes, text boxes. Each piece descriptor
(Pcd) points into WordDocument at 8-bit text or (Word 97 and later) UTF-16LE text. A Word 6/95
file that was not fast-saved has no piece table: its text is one 8-bit run from fcMin.
"""

from __future__ import annotations

import bisect
import io
import operator
import re
import struct
import sys
from array import array
from collections.abc import Iterator
from itertools import accumulate, chain, islice, zip_longest

from chatpro.errors import FileRefused
from chatpro.files.common import MAX_TEXT_CHARS, Extracted, Progress, cap_text
from chatpro.files.doc_fib import (
    CLX,
    FC_COMPRESSED,
    FC_MASK,
    NFIB_WORD6,
    PLCF_END_REF,
    PLCF_FND_REF,
    SUBDOCUMENTS,
    Corrupt,
    Fib,
    parse_fib,
    plc_cps,
    u32,
)
from chatpro.files.sniff import OLE2_MAGIC

_U32 = "I" if array("I").itemsize == 4 else "L"
MAX_PRCS = 0x8000
"""A Pcd names its property modifier (Prc) with 15 bits: no Clx has more Prc records."""


def _u32s(buf: memoryview) -> array[int]:
    """BUF (a multiple of 4 bytes) as little-endian unsigned 32-bit numbers, in one copy."""
    values = array(_U32)
    values.frombytes(buf)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _piece_table(table: bytes, fc_clx: int, lcb_clx: int) -> tuple[array[int], array[int]]:
    """CPs (n+1) and each Pcd's fc (n, with its fCompressed bit) from the Clx at FC_CLX: skip the
    Prc records, then read the PlcPcd whole (one array per column, no per-piece objects)."""
    if lcb_clx == 0 or fc_clx + lcb_clx > len(table):
        raise Corrupt
    clx = memoryview(table)[fc_clx : fc_clx + lcb_clx]
    pos = 0
    prcs = 0
    while pos < len(clx):
        clxt = clx[pos]
        if clxt == 0x01:
            prcs += 1
            cb = struct.unpack_from("<h", clx, pos + 1)[0] if pos + 3 <= len(clx) else -1
            if cb < 0 or prcs > MAX_PRCS:
                raise Corrupt
            pos += 3 + cb
        elif clxt == 0x02:
            lcb = u32(clx, pos + 1)
            plc = clx[pos + 5 : pos + 5 + lcb]
            if len(plc) != lcb or (lcb - 4) % 12 or lcb < 16:
                raise Corrupt
            n = (lcb - 4) // 12
            cps = _u32s(plc[: 4 * (n + 1)])
            # Each Pcd is 8 bytes with its fc at offset 2: read the words at 2, 6, 10 ... and keep
            # every other one (the last Pcd's fc separately, the buffer may end right after it).
            at = 4 * (n + 1) + 2
            fcs = _u32s(plc[at : at + 8 * (n - 1)])[::2]
            fcs.append(u32(plc, at + 8 * (n - 1)))
            return cps, fcs
        else:
            raise Corrupt
    raise Corrupt


def _pieces_read(cps: array[int], wanted: int) -> int:
    """How many pieces reading up to CP WANTED uses; Corrupt if one of them (or the first one
    past WANTED) ends before it starts."""
    n = len(cps) - 1
    descent = n
    if not all(map(operator.le, cps, islice(cps, 1, None))):
        descent = next(i for i in range(n) if cps[i + 1] < cps[i])
    stop = bisect.bisect_left(cps, wanted, 0, descent)
    if stop == descent < n:
        raise Corrupt
    return stop


def raw_text(word: bytes, table: bytes, fib: Fib, progress: Progress | None) -> str:
    """Every part's characters (CP 0 to the end of the last part), one character per CP.

    Pieces are many in a heavily edited (or hostile) file, one per character at worst, so they
    are not decoded one by one: the bytes of all 8-bit pieces are gathered into one buffer and
    those of all UTF-16 pieces into another, each decoded once, and the text is cut back into
    runs of consecutive pieces of one kind."""
    wanted = sum(fib.ccps) or 0
    if not fib.complex and fib.word6:
        if not wanted:
            raise Corrupt
        chunk = word[fib.fc_min : fib.fc_min + wanted]
        if progress is not None:
            progress(1, 1)
        return chunk.decode(fib.codepage, errors="replace")
    cps, fcs = _piece_table(table, *fib.pair(CLX))
    wanted = wanted or cps[-1]
    # Fields and table marks expand a little; stop reading well past the cap, not at the end.
    wanted = min(wanted, MAX_TEXT_CHARS * 2)
    stop = _pieces_read(cps, wanted)
    # Characters per piece read: the last one may run past WANTED.
    counts = array("q", map(operator.sub, islice(cps, 1, stop + 1), islice(cps, stop)))
    if stop:
        counts[-1] = min(cps[stop], wanted) - cps[stop - 1]
    narrow, wide, runs = _gather(word, fcs, counts, fib.word6, progress, cps, wanted)
    if progress is not None and stop:
        progress(min(cps[stop], wanted), wanted)
    return _interleave(narrow.decode(fib.codepage, errors="replace"), wide, runs)


def _gather(
    word: bytes,
    fcs: array[int],
    counts: array[int],
    word6: bool,
    progress: Progress | None,
    cps: array[int],
    wanted: int,
) -> tuple[bytearray, bytearray, array[int]]:
    """The bytes of the 8-bit pieces and of the UTF-16LE pieces, each kind in one buffer, and the
    characters of each run of consecutive pieces of one kind (the kinds alternate, 8-bit first)."""
    size = len(word)
    narrow = bytearray()  # cp1252 (compressed) or, in Word 6/95, the document's code page
    wide = bytearray()
    runs = array("q")
    run_wide = False
    run_count = 0
    for i, (fc, count) in enumerate(zip(fcs, counts, strict=False)):  # COUNTS: pieces read
        if word6 or fc & FC_COMPRESSED:
            offset = fc if word6 else (fc & FC_MASK) >> 1
            if count and offset + count > size:
                raise Corrupt
            narrow += word[offset : offset + count]
            if run_wide:
                runs.append(run_count)
                run_wide, run_count = False, 0
        else:
            offset = fc & FC_MASK
            end = offset + 2 * count
            if count:
                if end > size:
                    raise Corrupt
                wide += word[offset:end]
                # A piece ending in half a surrogate pair reads U+FFFD for it, as on its own,
                # not a character made with the next piece's first unit.
                if 0xD8 <= word[end - 1] <= 0xDB:
                    wide[-2:] = b"\xfd\xff"
            if not run_wide:
                runs.append(run_count)
                run_wide, run_count = True, 0
        run_count += count
        if progress is not None and not i & 0xFFFF:
            progress(min(cps[i + 1], wanted), wanted)
    runs.append(run_count)
    return narrow, wide, runs


_UNIT_KINDS = bytes.maketrans(bytes(range(0xD8, 0xE0)), b"HHHHLLLL")


def _interleave(narrow_text: str, wide: bytearray, runs: array[int]) -> str:
    """The text of RUNS, alternately from NARROW_TEXT and WIDE (UTF-16LE), one character per CP."""
    wide_text = wide.decode("utf-16-le", errors="replace")
    wide_runs = runs[1::2]
    if len(wide_text) != len(wide) // 2:
        # A surrogate pair made one character of two CPs (never across pieces, see _gather):
        # a run has as many characters as code units less the pairs in it, counted on the
        # units' high bytes (H: high surrogate, L: low surrogate).
        kinds = bytes(wide[1::2]).translate(_UNIT_KINDS)
        starts = accumulate(wide_runs, initial=0)
        wide_runs = array(
            "q",
            [
                count - kinds.count(b"HL", at, at + count)
                for at, count in zip(starts, wide_runs, strict=False)
            ],
        )
    texts = chain.from_iterable(
        zip_longest(_cut(narrow_text, runs[0::2]), _cut(wide_text, wide_runs), fillvalue="")
    )
    # Joined in batches so a million one-character runs never live as a million strings at once.
    return "".join(["".join(batch) for batch in iter(lambda: list(islice(texts, 65536)), [])])


def _cut(text: str, lengths: array[int]) -> Iterator[str]:
    """TEXT cut into consecutive pieces of LENGTHS characters."""
    ends = array("q", accumulate(lengths))
    return map(text.__getitem__, map(slice, chain((0,), ends), ends))


_FIELD = re.compile("[\x13\x14\x15]")
_TRAILING_SPACE = re.compile(r"[^\S\n]+(?=\n|\Z)")
_DROP = re.compile("[\x00-\x06\x08\x0e-\x12\x16-\x1d\x1f]")


def clean(raw: str) -> str:
    """Word's control characters to plain text: paragraph marks to newlines, fields to their
    shown result, table cell marks to tabs (a row end to a newline; Word marks both the same
    way, so a row with an empty cell may split in two)."""
    out: list[str] = []
    depth_in_code: list[bool] = []  # per open field: are we still in its instruction part?
    pos = 0
    for match in _FIELD.finditer(raw):
        piece = raw[pos : match.start()]
        if not any(depth_in_code):
            out.append(piece)
        mark = match.group()
        if mark == "\x13":
            depth_in_code.append(True)
        elif mark == "\x14" and depth_in_code:
            depth_in_code[-1] = False
        elif mark == "\x15" and depth_in_code:
            depth_in_code.pop()
        pos = match.end()
    if not any(depth_in_code):
        out.append(raw[pos:])
    text = "".join(out)
    text = text.replace("\r\x07", "\x07").replace("\x07\x07", "\n").replace("\x07", "\t")
    text = text.replace("\r", "\n").replace("\x0b", "\n").replace("\x0c", "\n").replace("\x1e", "-")
    text = _DROP.sub("", text)
    text = _TRAILING_SPACE.sub("", text)  # each line's rstrip(), without a string per line
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def _split(raw: str, fib: Fib) -> dict[str, str]:
    """The raw text of each part, by name (SUBDOCUMENTS); parts past the text are empty."""
    parts: dict[str, str] = {}
    at = 0
    for name, count in zip(SUBDOCUMENTS, fib.ccps, strict=True):
        parts[name] = raw[at : at + count]
        at += count
    if not fib.ccps[0]:
        parts["main"] = raw
    return parts


def _note_refs(main: str, fib: Fib, table: bytes) -> str:
    """MAIN with each footnote, endnote and comment reference as a Markdown footnote mark."""
    endnote_cps: set[int] = set()
    footnote_cps: set[int] = set()
    if not fib.word6:
        endnote_cps = set(plc_cps(table, *fib.pair(PLCF_END_REF), 2)[:-1])
        footnote_cps = set(plc_cps(table, *fib.pair(PLCF_FND_REF), 2)[:-1])
    elif not fib.ccps[5]:
        footnote_cps = {m.start() for m in re.finditer("\x02", main)}
    elif not fib.ccps[1]:
        endnote_cps = {m.start() for m in re.finditer("\x02", main)}
    out: list[str] = []
    numbers = {"f": 0, "e": 0, "c": 0}
    start = 0
    for match in re.finditer("[\x02\x05]", main):
        cp = match.start()
        kind = "c"
        if match.group() == "\x02":
            kind = "e" if cp in endnote_cps else "f" if cp in footnote_cps else ""
        if kind:
            numbers[kind] += 1
            out.append(main[start:cp])
            out.append(f"[^{'' if kind == 'f' else kind}{numbers[kind]}]")
            start = cp + 1
    out.append(main[start:])
    return "".join(out)


_STORY_START = {"footnotes": "\x02", "endnotes": "\x02", "comments": "\x05"}
_LABELS = {
    "footnotes": ("Footnotes", ""),
    "endnotes": ("Endnotes", "e"),
    "comments": ("Comments", "c"),
}


def _notes(raw: str, part: str) -> list[str]:
    """Each note of a footnote, endnote or comment part, as a Markdown footnote definition."""
    mark = _STORY_START[part]
    stories = [s for s in re.split(f"(?:^|\r){mark}", raw) if clean(s)]
    prefix = _LABELS[part][1]
    lines: list[str] = []
    for number, story in enumerate(stories, start=1):
        body = clean(story).replace("\n", " ").strip()
        lines.append(f"[^{prefix}{number}]: {body}")
    return lines


def _unique_lines(raw: str) -> list[str]:
    """The distinct non-blank lines of a part (headers repeat for first, odd and even pages)."""
    seen: dict[str, None] = {}
    for line in clean(raw.replace("\x03", "").replace("\x04", "")).splitlines():
        if line.strip():
            seen.setdefault(line.strip(), None)
    return list(seen)


def piece_fcs(table: bytes, fib: Fib) -> tuple[array[int], array[int]]:
    """Each piece's first CP and its Pcd's fc (where its text is in WordDocument, with the
    fCompressed bit), for finding the properties of a paragraph mark."""
    if fib.word6 or not fib.pair(CLX)[1]:
        return array(_U32), array(_U32)
    return _piece_table(table, *fib.pair(CLX))


def _with_prefixes(main: str, prefixes: list[str] | None) -> str:
    """MAIN with each paragraph's Markdown prefix put in front of it."""
    if not prefixes or not any(prefixes):
        return main
    out: list[str] = []
    start = 0
    for index, match in enumerate(re.finditer("[\r\x07]", main)):
        paragraph = main[start : match.end()]
        prefix = prefixes[index] if index < len(prefixes) else ""
        if prefix:
            lead = len(paragraph) - len(paragraph.lstrip("\x0c"))  # a page break stays first
            paragraph = paragraph[:lead] + prefix + paragraph[lead:]
        out.append(paragraph)
        start = match.end()
    out.append(main[start:])
    return "".join(out)


def render(raw: str, fib: Fib, table: bytes, word: bytes = b"") -> str:
    """The document as Markdown: the main text (headings and list items marked from the
    paragraph properties, see doc_para), then each other part under a heading."""
    parts = _split(raw, fib)
    main = _note_refs(parts["main"], fib, table)
    if word and not fib.word6:
        from chatpro.files.doc_para import paragraph_prefixes

        try:
            cps, fcs = piece_fcs(table, fib)
            prefixes = paragraph_prefixes(parts["main"], word, table, fib, cps, fcs)
        except Exception:  # noqa: BLE001 - formatting is a bonus; plain lines on any damage
            prefixes = None
        main = _with_prefixes(main, prefixes)
    sections = [clean(main)]
    for part in ("footnotes", "endnotes", "comments"):
        lines = _notes(parts[part], part)
        if lines:
            sections.append(f"## {_LABELS[part][0]}\n\n" + "\n".join(lines))
    boxes = _unique_lines(parts["textboxes"] + "\r" + parts["header_textboxes"])
    if boxes:
        sections.append("## Text boxes\n\n" + "\n".join(boxes))
    headers = _unique_lines(parts["headers"])
    if headers:
        sections.append("## Headers and footers\n\n" + "\n".join(headers))
    return "\n\n".join(section for section in sections if section)


def extract_doc(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    if not data.startswith(OLE2_MAGIC):
        from chatpro.files.sniff import describe_bytes

        raise FileRefused(
            f"{name}: not a Word 97-2003 document (it looks like {describe_bytes(data)})"
        )
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - olefile raises OSError, struct.error, IndexError ... on damage
        raise FileRefused(f"{name}: corrupt Word 97-2003 document (damaged container)") from None
    with ole:
        try:
            names = {entry[0].lower() for entry in ole.listdir(streams=True, storages=True)}
            if "encryptedpackage" in names:
                raise FileRefused(
                    f"{name}: encrypted Office file (password-protected); remove the password "
                    "and try again"
                )
            if "worddocument" not in names:
                from chatpro.files.sniff import describe_ole

                raise FileRefused(
                    f"{name}: not a Word 97-2003 document (it looks like {describe_ole(data)})"
                )
            word = ole.openstream("WordDocument").read()
            if len(word) >= 4 and struct.unpack_from("<H", word, 2)[0] < NFIB_WORD6:
                raise FileRefused(f"{name}: Word 2.0 or older documents are not supported")
            fib = parse_fib(word)
            if fib.encrypted:
                raise FileRefused(f"{name}: encrypted Word document (password-protected)")
            table = word
            if fib.table_stream is not None:
                if not ole.exists(fib.table_stream):
                    raise Corrupt
                table = ole.openstream(fib.table_stream).read()
            text = render(raw_text(word, table, fib, progress), fib, table, word)
        except FileRefused:
            raise
        except Exception:  # noqa: BLE001 - Corrupt, struct.error, olefile's errors on damaged streams
            raise FileRefused(f"{name}: corrupt Word 97-2003 document (unreadable text)") from None
    capped, truncated = cap_text(text)
    return Extracted(capped, truncated, coverage=len(capped) / len(text) if truncated else 1.0)

"""Paragraph properties of a Word 97-2003 binary: headings and automatic list numbers.

Each paragraph's properties are found by the file offset (FC) of its paragraph mark: the
PlcBtePapx lists 512-byte PAPX pages (FKPs) in WordDocument, each of which maps FC runs to a
style index (istd) and the paragraph's own sprms. The style sheet (STSH) gives each style its
name, base style and sprms; the list tables (PlfLst with its LVLs, PlfLfo) give each list level
its number format, start and number text. Only what a reader of the text needs is kept: the
outline level and the list (ilfo) and level (ilvl) of each paragraph.

Everything here is best effort: `paragraph_prefixes` returns None when a structure does not hold
together, and the document is then read as plain lines.
"""

from __future__ import annotations

import bisect
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from chatpro.files.doc_fib import (
    FC_COMPRESSED,
    FC_MASK,
    PLCF_BTE_PAPX,
    PLF_LFO,
    PLF_LST,
    STSHF,
    Corrupt,
    Fib,
    u16,
    u32,
)

SPRM_P_ILFO = 0x460B
SPRM_P_ILVL = 0x260A
SPRM_P_OUTLVL = 0x2640
SPRM_P_FINTABLE = 0x2416
SPRM_T_DEFTABLE = 0xD608
SPRM_P_CHGTABS = 0xC615

NFC_BULLET = 23
NFC_NONE = 255
STI_TITLE = 62
MAX_LEVELS = 9


@dataclass
class ParaProps:
    """The properties this reader uses; None where neither the style nor the paragraph says."""

    ilfo: int | None = None
    ilvl: int | None = None
    outline: int | None = None
    in_table: bool = False

    def apply(self, grpprl: bytes) -> None:
        for sprm, operand in sprms(grpprl):
            if sprm == SPRM_P_ILFO and len(operand) >= 2:
                self.ilfo = struct.unpack_from("<h", operand)[0]
            elif sprm == SPRM_P_ILVL and operand:
                self.ilvl = operand[0]
            elif sprm == SPRM_P_OUTLVL and operand:
                self.outline = operand[0]
            elif sprm == SPRM_P_FINTABLE and operand:
                self.in_table = bool(operand[0])


def _operand_size(sprm: int, buf: bytes, at: int) -> int:
    spra = sprm >> 13
    if spra in (0, 1):
        return 1
    if spra in (2, 4, 5):
        return 2
    if spra == 3:
        return 4
    if spra == 7:
        return 3
    if at >= len(buf):
        raise Corrupt
    if sprm == SPRM_T_DEFTABLE:
        return u16(buf, at) + 1
    if sprm == SPRM_P_CHGTABS and buf[at] == 255:
        # PChgTabsDelClose then PChgTabsAdd, each starting with its tab count.
        deleted = buf[at + 1] if at + 1 < len(buf) else 0
        add_at = at + 2 + 4 * deleted
        added = buf[add_at] if add_at < len(buf) else 0
        return 2 + 4 * deleted + 1 + 3 * added
    return buf[at] + 1


def sprms(grpprl: bytes) -> list[tuple[int, bytes]]:
    """The (sprm, operand) pairs of a grpprl; a cut-off last sprm is dropped."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 2 <= len(grpprl):
        sprm = u16(grpprl, pos)
        size = _operand_size(sprm, grpprl, pos + 2)
        operand = grpprl[pos + 2 : pos + 2 + size]
        if len(operand) < size:
            break
        if sprm >> 13 == 6 and sprm not in (SPRM_T_DEFTABLE, SPRM_P_CHGTABS):
            operand = operand[1:]
        out.append((sprm, operand))
        pos += 2 + size
    return out


# --- styles -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    sti: int
    name: str
    base: int
    grpprl: bytes


def read_styles(table: bytes, fc: int, lcb: int) -> list[Style | None]:
    if lcb < 4 or fc + lcb > len(table):
        return []
    cb_stshi = u16(table, fc)
    cstd = u16(table, fc + 2)
    cb_base = u16(table, fc + 4)
    pos = fc + 2 + cb_stshi
    end = fc + lcb
    styles: list[Style | None] = []
    for _ in range(cstd):
        if pos + 2 > end:
            break
        cb_std = u16(table, pos)
        std = table[pos + 2 : pos + 2 + cb_std]
        pos += 2 + cb_std
        if cb_std < 10 or len(std) < cb_std:
            styles.append(None)
            continue
        sti = u16(std, 0) & 0x0FFF
        stk, base = u16(std, 2) & 0xF, u16(std, 2) >> 4
        cupx = u16(std, 4) & 0xF
        name, grpprl = "", b""
        if cb_base + 2 <= len(std):
            cch = u16(std, cb_base)
            name = std[cb_base + 2 : cb_base + 2 + 2 * cch].decode("utf-16-le", errors="replace")
            upx = cb_base + 2 + 2 * cch + 2
            if stk == 1 and cupx >= 1 and upx + 2 <= len(std):
                cb_upx = u16(std, upx)
                papx = std[upx + 2 : upx + 2 + cb_upx]
                grpprl = papx[2:] if len(papx) >= 2 else b""
        styles.append(Style(sti, name, base, grpprl))
    return styles


def heading_level(style: Style | None) -> int | None:
    """1-9 for the built-in heading styles (by sti or name), 1 for Title, else None."""
    if style is None:
        return None
    if 1 <= style.sti <= 9:
        return style.sti
    if style.sti == STI_TITLE:
        return 1
    name = style.name.strip().lower()
    if name == "title":
        return 1
    if name.startswith("heading ") and name[8:].isdigit() and 1 <= int(name[8:]) <= 9:
        return int(name[8:])
    return None


# --- lists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    start: int
    nfc: int
    legal: bool
    number_text: str


@dataclass
class ListFormat:
    lsid: int
    levels: list[Level]


@dataclass
class Override:
    lsid: int
    starts: dict[int, int] = field(default_factory=dict)
    levels: dict[int, Level] = field(default_factory=dict)


def _read_lvl(table: bytes, pos: int) -> tuple[Level, int]:
    if pos + 28 > len(table):
        raise Corrupt
    start = struct.unpack_from("<i", table, pos)[0]
    nfc, flags = table[pos + 4], table[pos + 5]
    cb_chpx, cb_papx = table[pos + 24], table[pos + 25]
    pos += 28 + cb_papx + cb_chpx
    cch = u16(table, pos)
    text = table[pos + 2 : pos + 2 + 2 * cch]
    if len(text) != 2 * cch:
        raise Corrupt
    level = Level(start, nfc, bool(flags & 0x04), text.decode("utf-16-le", errors="replace"))
    return level, pos + 2 + 2 * cch


def read_lists(table: bytes, fib: Fib) -> tuple[dict[int, ListFormat], list[Override]]:
    fc, lcb = fib.pair(PLF_LST)
    lists: dict[int, ListFormat] = {}
    if lcb >= 2 and fc + lcb <= len(table):
        count = struct.unpack_from("<h", table, fc)[0]
        pos = fc + 2 + 28 * max(count, 0)
        for i in range(max(count, 0)):
            at = fc + 2 + 28 * i
            lsid = struct.unpack_from("<i", table, at)[0]
            simple = table[at + 26] & 0x01 if at + 26 < len(table) else 0
            levels = []
            for _ in range(1 if simple else MAX_LEVELS):
                level, pos = _read_lvl(table, pos)
                levels.append(level)
            lists[lsid] = ListFormat(lsid, levels)
    fc, lcb = fib.pair(PLF_LFO)
    overrides: list[Override] = []
    if lcb >= 4 and fc + lcb <= len(table):
        count = u32(table, fc)
        if 4 + 16 * count > lcb:
            raise Corrupt
        counts = []
        for i in range(count):
            at = fc + 4 + 16 * i
            overrides.append(Override(struct.unpack_from("<i", table, at)[0]))
            counts.append(table[at + 12])
        pos = fc + 4 + 16 * count
        for override, clfolvl in zip(overrides, counts, strict=True):
            if not clfolvl:
                continue
            pos += 4  # LFOData.cp
            for _ in range(clfolvl):
                start = struct.unpack_from("<i", table, pos)[0]
                flags = u32(table, pos + 4)
                pos += 8
                ilvl = flags & 0x0F
                if flags & 0x10:
                    override.starts[ilvl] = start
                if flags & 0x20:
                    level, pos = _read_lvl(table, pos)
                    override.levels[ilvl] = level
    return lists, overrides


_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip


def format_number(value: int, nfc: int) -> str:
    if nfc in (1, 2) and 0 < value < 4000:
        out = []
        for amount, digits in _ROMAN:
            while value >= amount:
                out.append(digits)
                value -= amount
        roman = "".join(out)
        return roman.upper() if nfc == 1 else roman
    if nfc in (3, 4) and value > 0:
        letter = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letter.upper() if nfc == 3 else letter
    if nfc == 22:
        return f"{value:02d}"
    if nfc == 5:
        suffix = (
            "th" if 10 <= value % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
        )
        return f"{value}{suffix}"
    return str(value)


class Numbering:
    """Counts list items as Word does: one set of counters per list definition (lsid), a level
    restarting when a shallower one is used, an override restarting on its first use."""

    def __init__(self, lists: dict[int, ListFormat], overrides: list[Override]) -> None:
        self.lists = lists
        self.overrides = overrides
        self.counters: dict[int, list[int | None]] = {}
        self.used: set[int] = set()

    def label(self, ilfo: int, ilvl: int) -> tuple[str, int] | None:
        """The Markdown marker ("1.", "a.", "-") and level of the next item, or None."""
        if not 1 <= ilfo <= len(self.overrides):
            return None
        override = self.overrides[ilfo - 1]
        fmt = self.lists.get(override.lsid)
        if fmt is None:
            return None
        ilvl = min(ilvl, len(fmt.levels) - 1)
        counters = self.counters.setdefault(override.lsid, [None] * MAX_LEVELS)
        if ilfo not in self.used:
            self.used.add(ilfo)
            for restarted in override.starts:
                if restarted < MAX_LEVELS:
                    counters[restarted] = None

        levels = [override.levels.get(i) or fmt.levels[min(i, len(fmt.levels) - 1)] for i in
                  range(ilvl + 1)]  # fmt: skip
        starts = [override.starts.get(i, levels[i].start) for i in range(ilvl + 1)]
        current = counters[ilvl]
        counters[ilvl] = starts[ilvl] if current is None else current + 1
        for deeper in range(ilvl + 1, MAX_LEVELS):
            counters[deeper] = None
        level = levels[ilvl]
        if level.nfc == NFC_BULLET:
            return "-", ilvl
        parts = []
        for ch in level.number_text:
            if ord(ch) <= ilvl:
                index = ord(ch)
                value = counters[index]
                value = starts[index] if value is None else value
                nfc = 0 if level.legal else levels[index].nfc
                parts.append(format_number(value, nfc))
            elif ord(ch) < MAX_LEVELS:
                continue  # a deeper level's number: Word leaves it out
            else:
                parts.append(ch)
        text = "".join(parts).strip()
        if level.nfc == NFC_NONE or not text:
            return "", ilvl
        if not any(ch.isalnum() for ch in text):
            return "-", ilvl  # a bullet drawn with a picture or a symbol font
        return text, ilvl


# --- paragraphs -------------------------------------------------------------------------------


def _papx_runs(word: bytes, table: bytes, fib: Fib) -> tuple[list[int], list[tuple[int, bytes]]]:
    """Run start FCs (sorted, with the end of each run) and (istd, grpprl) per run."""
    fc, lcb = fib.pair(PLCF_BTE_PAPX)
    if lcb < 12 or fc + lcb > len(table) or (lcb - 4) % 8:
        raise Corrupt
    n = (lcb - 4) // 8
    pns = struct.unpack_from(f"<{n}I", table, fc + 4 * (n + 1))
    starts: list[int] = []
    props: list[tuple[int, bytes]] = []
    for pn in pns:
        page = word[(pn & 0x3FFFFF) * 512 : (pn & 0x3FFFFF) * 512 + 512]
        if len(page) != 512:
            raise Corrupt
        crun = page[511]
        if 4 * (crun + 1) + 13 * crun > 511:
            raise Corrupt
        fcs = struct.unpack_from(f"<{crun + 1}I", page, 0)
        for i in range(crun):
            offset = page[4 * (crun + 1) + 13 * i] * 2
            istd, grpprl = 0, b""
            if offset:
                cb = page[offset]
                if cb:
                    data = page[offset + 1 : offset + 1 + 2 * cb - 1]
                else:
                    data = page[offset + 2 : offset + 2 + 2 * page[offset + 1]]
                if len(data) >= 2:
                    istd, grpprl = u16(data, 0), data[2:]
            if starts and fcs[i] < starts[-1]:
                raise Corrupt
            starts.append(fcs[i])
            props.append((istd, grpprl))
        if crun:
            starts.append(fcs[crun])
            props.append((0, b""))  # the gap to the next page's first run
    return starts, props


def paragraph_prefixes(
    main: str, word: bytes, table: bytes, fib: Fib, cps: Sequence[int], fcs: Sequence[int]
) -> list[str] | None:
    """One Markdown prefix per paragraph of MAIN (split at paragraph and cell marks):
    "## " for a heading, "    1. " for a list item, "" for the rest. CPS/FCS map each piece's
    first CP to its Pcd's fc (with bit 30 set: compressed 8-bit text at half the rest).
    None when unreadable."""
    try:
        starts, runs = _papx_runs(word, table, fib)
        styles = read_styles(table, *fib.pair(STSHF))
        lists, overrides = read_lists(table, fib)
    except (Corrupt, struct.error, IndexError, ValueError):
        return None
    style_props: dict[int, ParaProps] = {}

    def props_of_style(istd: int) -> ParaProps:
        if istd in style_props:
            return style_props[istd]
        chain: list[Style] = []
        at = istd
        while 0 <= at < len(styles) and len(chain) < 12:
            style = styles[at]
            if style is None:
                break
            chain.append(style)
            at = style.base
            if at == 0x0FFF:
                break
        props = ParaProps()
        for style in reversed(chain):
            try:
                props.apply(style.grpprl)
            except Corrupt:
                pass
        style_props[istd] = props
        return props

    numbering = Numbering(lists, overrides)
    paragraph_props: dict[tuple[int, bytes], ParaProps] = {}
    prefixes: list[str] = []
    paragraph_start = 0
    for mark in re.finditer("[\r\x07]", main):
        cp, ch = mark.start(), mark.group()
        prefixes.append("")
        piece = bisect.bisect_right(cps, cp) - 1
        if piece < 0 or piece >= len(fcs):
            paragraph_start = cp + 1
            continue
        base = fcs[piece]
        if base & FC_COMPRESSED:
            fc = (base & FC_MASK) // 2 + (cp - cps[piece])
        else:
            fc = (base & FC_MASK) + 2 * (cp - cps[piece])
        run = bisect.bisect_right(starts, fc) - 1
        if run < 0 or run >= len(runs) or not main[paragraph_start:cp].strip():
            paragraph_start = cp + 1
            continue
        paragraph_start = cp + 1
        istd, grpprl = runs[run]
        props = paragraph_props.get((istd, grpprl))
        if props is None:
            inherited = props_of_style(istd)
            props = ParaProps(inherited.ilfo, inherited.ilvl, inherited.outline, inherited.in_table)
            try:
                props.apply(grpprl)
            except Corrupt:
                pass
            paragraph_props[istd, grpprl] = props
        if props.in_table or ch == "\x07":
            continue
        heading = heading_level(styles[istd] if istd < len(styles) else None)
        if heading is None and props.outline is not None and props.outline < MAX_LEVELS:
            heading = props.outline + 1
        prefix = ""
        if props.ilfo is not None and props.ilfo > 0:
            label = numbering.label(props.ilfo, props.ilvl or 0)
            if label is not None and heading is None:
                marker, level = label
                prefix = "    " * level + (f"{marker} " if marker else "")
            elif label is not None and label[0] not in ("", "-"):
                prefix = f"{label[0]} "
        if heading is not None:
            prefix = "#" * min(heading, 6) + " " + prefix
        prefixes[-1] = prefix
    return prefixes

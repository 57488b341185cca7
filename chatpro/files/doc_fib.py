"""The File Information Block (FIB) of a legacy Word binary, for Word 97-2003 and Word 6/95.

Both versions start the same way (wIdent, nFib, flags) and count the characters of each part of
the document (main text, footnotes, headers, comments, endnotes, text boxes) in the same order;
they differ in where those counts and the (fc, lcb) pairs live, and in where the tables are:
Word 97 keeps them in a separate table stream (0Table or 1Table), Word 6/95 in WordDocument.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

WORD_IDENT = 0xA5EC
NFIB_WORD6 = 101  # Word 6.0; Word 95 writes 104
NFIB_WORD97 = 0x00C0  # Word 97 writes 0xC1; every later version keeps the Word 97 layout
F_COMPLEX = 0x0004
F_ENCRYPTED = 0x0100
F_WHICH_TBL_STM = 0x0200
F_OBFUSCATED = 0x8000

SUBDOCUMENTS = ("main", "footnotes", "headers", "macros", "comments", "endnotes", "textboxes",
                "header_textboxes")  # fmt: skip
"""The parts of the text stream, in the order their character counts (ccp...) appear."""

CLX = 33
PLCF_FND_REF = 2
PLCF_END_REF = 46
PLF_LST = 73
PLF_LFO = 74
PLCF_BTE_PAPX = 13
STSHF = 1
"""Indexes of the (fc, lcb) pairs used here; the same in both versions for these."""

FC_COMPRESSED = 0x40000000
FC_MASK = 0x3FFFFFFF
"""A Word 97 Pcd's fc: with FC_COMPRESSED, 8-bit text at half the rest, else UTF-16LE text."""

_WORD6_RGFCLCB = 0x58
_WORD6_CCP = 0x34

# Windows code pages of the languages whose Word 6/95 files are not Windows-1252 (by LID).
_CODEPAGES = {
    0x0405: "cp1250", 0x040E: "cp1250", 0x0415: "cp1250", 0x0418: "cp1250", 0x041A: "cp1250",
    0x041B: "cp1250", 0x0424: "cp1250", 0x0402: "cp1251", 0x0419: "cp1251", 0x0422: "cp1251",
    0x0423: "cp1251", 0x0C1A: "cp1251", 0x0408: "cp1253", 0x041F: "cp1254", 0x040D: "cp1255",
    0x0401: "cp1256", 0x0425: "cp1257", 0x0426: "cp1257", 0x0427: "cp1257",
}  # fmt: skip


class Corrupt(Exception):
    """A structure of the file does not hold together."""


def u16(buf: bytes | memoryview, at: int) -> int:
    if at < 0 or at + 2 > len(buf):
        raise Corrupt
    return int(struct.unpack_from("<H", buf, at)[0])


def u32(buf: bytes | memoryview, at: int) -> int:
    if at < 0 or at + 4 > len(buf):
        raise Corrupt
    return int(struct.unpack_from("<I", buf, at)[0])


@dataclass(frozen=True)
class Fib:
    ident: int
    nfib: int
    flags: int
    lid: int
    ccps: tuple[int, ...]
    """Character counts of SUBDOCUMENTS, in order."""
    fc_min: int
    pairs: tuple[tuple[int, int], ...]
    """The (fc, lcb) pairs, by index."""

    @property
    def word6(self) -> bool:
        return self.nfib < NFIB_WORD97

    @property
    def complex(self) -> bool:
        return bool(self.flags & F_COMPLEX)

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & (F_ENCRYPTED | F_OBFUSCATED))

    @property
    def table_stream(self) -> str | None:
        """The stream holding the tables: None for Word 6/95 (they are in WordDocument)."""
        if self.word6:
            return None
        return "1Table" if self.flags & F_WHICH_TBL_STM else "0Table"

    @property
    def codepage(self) -> str:
        """How 8-bit text is encoded (Word 97 compressed text is always Windows-1252)."""
        return _CODEPAGES.get(self.lid, "cp1252") if self.word6 else "cp1252"

    def pair(self, index: int) -> tuple[int, int]:
        return self.pairs[index] if index < len(self.pairs) else (0, 0)


def parse_fib(word: bytes) -> Fib:
    ident, nfib, _product, lid = (
        struct.unpack_from("<HHHH", word, 0) if len(word) >= 8 else (0,) * 4
    )
    flags = u16(word, 10)
    if ident != WORD_IDENT:
        raise Corrupt
    if NFIB_WORD6 <= nfib < NFIB_WORD97:
        ccps = tuple(u32(word, _WORD6_CCP + 4 * i) for i in range(len(SUBDOCUMENTS)))
        fc_min = u32(word, 0x18)
        # Word 6/95 FIBs have no Word 97 list tables; keep the pairs up to the piece table.
        count = max(0, min(CLX + 1, (len(word) - _WORD6_RGFCLCB) // 8))
        pairs = tuple(struct.unpack_from("<II", word, _WORD6_RGFCLCB + 8 * i) for i in range(count))
        return Fib(ident, nfib, flags, lid, ccps, fc_min, pairs)
    csw = u16(word, 32)
    at = 34 + 2 * csw
    cslw = u16(word, at)
    rglw = at + 2
    counts = [u32(word, rglw + 4 * i) if i < cslw else 0 for i in range(3, 3 + 8)]
    at = rglw + 4 * cslw
    cb_rg_fc_lcb = u16(word, at)
    blob = at + 2
    available = max(0, min(cb_rg_fc_lcb, (len(word) - blob) // 8))
    pairs = tuple(struct.unpack_from("<II", word, blob + 8 * i) for i in range(available))
    return Fib(ident, nfib, flags, lid, tuple(counts), 0, pairs)


def plc_cps(table: bytes, fc: int, lcb: int, data_size: int) -> list[int]:
    """The CPs of a PLC whose data elements are DATA_SIZE bytes (the n + 1 CPs of n elements)."""
    if lcb < 4 or fc + lcb > len(table) or (lcb - 4) % (4 + data_size):
        return []
    n = (lcb - 4) // (4 + data_size)
    return list(struct.unpack_from(f"<{n + 1}I", table, fc))

"""Legacy Word 97-2003 (.doc) text in pure Python: olefile opens the compound file, the text is
read through the document's piece table.

The File Information Block (FIB) at the start of the WordDocument stream says which table
stream holds the piece table (0Table or 1Table), where it is (fcClx/lcbClx) and how many
characters the main text has (ccpText). Each piece descriptor (Pcd) points into WordDocument
at either 8-bit Windows-1252 text (compressed, at fc/2) or UTF-16LE text (at fc).
"""

from __future__ import annotations

import io
import re
import struct

from chatpro.errors import FileRefused
from chatpro.files.common import MAX_TEXT_CHARS, Extracted, Progress, cap_text
from chatpro.files.sniff import OLE2_MAGIC

WORD_IDENT = 0xA5EC
F_ENCRYPTED = 0x0100
F_WHICH_TBL_STM = 0x0200
F_OBFUSCATED = 0x8000
CLX_INDEX = 33  # fcClx/lcbClx is the 34th pair of FibRgFcLcb97


class _Corrupt(Exception):
    pass


def _u16(buf: bytes, at: int) -> int:
    if at + 2 > len(buf):
        raise _Corrupt
    return int(struct.unpack_from("<H", buf, at)[0])


def _u32(buf: bytes, at: int) -> int:
    if at + 4 > len(buf):
        raise _Corrupt
    return int(struct.unpack_from("<I", buf, at)[0])


def parse_fib(word: bytes) -> dict[str, int]:
    """The few FIB fields we need: flags, nFib, ccpText, fcClx, lcbClx."""
    ident, nfib = _u16(word, 0), _u16(word, 2)
    flags = _u16(word, 10)
    csw = _u16(word, 32)
    at = 34 + 2 * csw
    cslw = _u16(word, at)
    rglw = at + 2
    ccp_text = _u32(word, rglw + 3 * 4) if cslw > 3 else 0
    at = rglw + 4 * cslw
    cb_rg_fc_lcb = _u16(word, at)
    blob = at + 2
    fc_clx = lcb_clx = 0
    if cb_rg_fc_lcb > CLX_INDEX:
        fc_clx = _u32(word, blob + 8 * CLX_INDEX)
        lcb_clx = _u32(word, blob + 8 * CLX_INDEX + 4)
    return {
        "ident": ident,
        "nfib": nfib,
        "flags": flags,
        "ccp_text": ccp_text,
        "fc_clx": fc_clx,
        "lcb_clx": lcb_clx,
    }


def _piece_table(clx: bytes) -> tuple[list[int], list[bytes]]:
    """CPs (n+1) and Pcds (n) from a Clx: skip the Prc records, then read the PlcPcd."""
    pos = 0
    while pos < len(clx):
        clxt = clx[pos]
        if clxt == 0x01:
            cb = struct.unpack_from("<h", clx, pos + 1)[0] if pos + 3 <= len(clx) else -1
            if cb < 0:
                raise _Corrupt
            pos += 3 + cb
        elif clxt == 0x02:
            lcb = _u32(clx, pos + 1)
            plc = clx[pos + 5 : pos + 5 + lcb]
            if len(plc) != lcb or (lcb - 4) % 12 or lcb < 16:
                raise _Corrupt
            n = (lcb - 4) // 12
            cps = list(struct.unpack_from(f"<{n + 1}I", plc, 0))
            pcds = [plc[4 * (n + 1) + 8 * i : 4 * (n + 1) + 8 * (i + 1)] for i in range(n)]
            return cps, pcds
        else:
            raise _Corrupt
    raise _Corrupt


def raw_text(word: bytes, table: bytes, fib: dict[str, int], progress: Progress | None) -> str:
    """The main document's characters (CP 0..ccpText), straight from the pieces."""
    fc_clx, lcb_clx = fib["fc_clx"], fib["lcb_clx"]
    if lcb_clx == 0 or fc_clx + lcb_clx > len(table):
        raise _Corrupt
    cps, pcds = _piece_table(table[fc_clx : fc_clx + lcb_clx])
    wanted = fib["ccp_text"] or cps[-1]
    # Fields and table marks expand a little; stop reading well past the cap, not at the end.
    wanted = min(wanted, MAX_TEXT_CHARS * 2)
    out: list[str] = []
    for i, pcd in enumerate(pcds):
        start, end = cps[i], cps[i + 1]
        if end < start:
            raise _Corrupt
        if start >= wanted:
            break
        count = min(end, wanted) - start
        fc_raw = struct.unpack_from("<I", pcd, 2)[0]
        fc = fc_raw & 0x3FFFFFFF
        if fc_raw & 0x40000000:
            offset = fc // 2
            chunk = word[offset : offset + count]
            if len(chunk) != count:
                raise _Corrupt
            out.append(chunk.decode("cp1252", errors="replace"))
        else:
            chunk = word[fc : fc + 2 * count]
            if len(chunk) != 2 * count:
                raise _Corrupt
            out.append(chunk.decode("utf-16-le", errors="replace"))
        if progress is not None:
            progress(min(end, wanted), wanted)
    return "".join(out)


_FIELD = re.compile("[\x13\x14\x15]")
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
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


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
            fib = parse_fib(word)
            if fib["ident"] != WORD_IDENT or fib["nfib"] < 0x00C0:
                raise FileRefused(f"{name}: Word 6/95 or older documents are not supported")
            if fib["flags"] & (F_ENCRYPTED | F_OBFUSCATED):
                raise FileRefused(f"{name}: encrypted Word document (password-protected)")
            table_name = "1Table" if fib["flags"] & F_WHICH_TBL_STM else "0Table"
            if not ole.exists(table_name):
                raise _Corrupt
            table = ole.openstream(table_name).read()
            text = clean(raw_text(word, table, fib, progress))
        except FileRefused:
            raise
        except Exception:  # noqa: BLE001 - _Corrupt, struct.error, olefile's errors on damaged streams
            raise FileRefused(f"{name}: corrupt Word 97-2003 document (unreadable text)") from None
    capped, truncated = cap_text(text)
    return Extracted(capped, truncated)

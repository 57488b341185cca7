"""Text files: decode by BOM, then UTF-8, then Windows-1252 (Latin-1 for its five gaps).

NUL bytes mean binary (an image or program renamed .txt), except in UTF-16, where every ASCII
character carries one: UTF-16 is recognised by its BOM, or without one by NULs that fall only
on one side of each character pair.
"""

from __future__ import annotations

import codecs

from chatpro.errors import FileRefused
from chatpro.files.common import Extracted, cap_text

_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when DATA's NULs sit only at odd/even offsets (ASCII-ish UTF-16)."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:65536]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    pairs = len(sample) // 2
    if odd_nuls >= pairs * 0.3 and even_nuls == 0:
        return "utf-16-le"
    if even_nuls >= pairs * 0.3 and odd_nuls == 0:
        return "utf-16-be"
    return None


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding used). FileRefused when DATA is binary or not decodable."""
    if data.startswith((b"%PDF-", b"PK\x03\x04")):
        from chatpro.files.sniff import describe_bytes

        raise FileRefused(f"{name}: not a text file (it looks like {describe_bytes(data)})")
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                raise FileRefused(
                    f"{name}: not valid {label} text despite its byte-order mark"
                ) from None
            if "\x00" in text:
                raise FileRefused(f"{name}: binary data, not text (it contains NUL characters)")
            return text, label
    if b"\x00" in data:
        codec16 = _utf16_without_bom(data)
        if codec16 is not None:
            try:
                text = data.decode(codec16)
            except UnicodeDecodeError:
                text = ""
            if text and "\x00" not in text:
                return text, "UTF-16"
        from chatpro.files.sniff import describe_bytes

        what = describe_bytes(data)
        if what in ("a binary file", "a text file"):
            raise FileRefused(f"{name}: binary data, not text (it contains NUL bytes)")
        raise FileRefused(f"{name}: not a text file (it looks like {what})")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    # Windows-1252 leaves 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined; Latin-1 maps every byte.
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def extract_text(data: bytes, name: str) -> Extracted:
    text, _ = decode_text(data, name)
    text = text.replace("\r\n", "\n")
    capped, truncated = cap_text(text)
    return Extracted(capped, truncated, coverage=len(capped) / len(text) if truncated else 1.0)

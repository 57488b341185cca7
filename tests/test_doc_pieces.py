"""A Word 97 .doc whose piece table has very many tiny pieces (a heavily edited or hostile file):
its text comes out whole and in order across every switch between 8-bit and UTF-16 pieces, and a
piece table that does not hold together is refused in one line (issue 11)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from chatpro.errors import FileRefused
from chatpro.files import load_bytes
from tests import files_support as fs


def unicode_piece(text: str) -> tuple[bytes, bool, int]:
    data = text.encode("utf-16-le")
    return data, False, len(data) // 2  # one CP per UTF-16 code unit


def compressed_piece(text: str) -> tuple[bytes, bool, int]:
    return text.encode("cp1252"), True, len(text)


def word97_pieces(
    pieces: list[tuple[bytes, bool, int]], *, reverse: bool = False, prcs: int = 1
) -> bytes:
    """A Word 97 file whose piece table lists PIECES ((bytes, compressed, characters)) in order;
    with REVERSE their bytes lie in WordDocument last piece first, so no two are contiguous.
    The Clx starts with PRCS empty property records."""
    word = bytearray(1024)
    fcs = [0] * len(pieces)
    for i in reversed(range(len(pieces))) if reverse else range(len(pieces)):
        data, compressed, _ = pieces[i]
        fcs[i] = (len(word) * 2) | 0x40000000 if compressed else len(word)
        word += data
    cps = [0]
    for _, _, count in pieces:
        cps.append(cps[-1] + count)
    plc = struct.pack(f"<{len(cps)}I", *cps)
    plc += b"".join(struct.pack("<HIH", 0, fc, 0) for fc in fcs)
    clx = b"\x01\x00\x00" * prcs + b"\x02" + struct.pack("<I", len(plc)) + plc
    table = bytes(64) + clx
    struct.pack_into("<HHHHHH", word, 0, 0xA5EC, 0x00C1, 0, 0x0409, 0, 0x0200 | 0x0004)
    struct.pack_into("<H", word, 32, 14)
    struct.pack_into("<H", word, 62, 22)
    struct.pack_into("<I", word, 64 + 3 * 4, cps[-1])  # ccpText
    struct.pack_into("<H", word, 152, 0x5D)
    struct.pack_into("<II", word, 154 + 33 * 8, 64, len(clx))
    return fs.cfb_bytes({"WordDocument": bytes(word), "1Table": table})


WORDS = ["café", "€5", "naïve", "Ωmega", "😀", "Ünïcødé", "plain", "—dash"]


def many_pieces(count: int) -> tuple[list[tuple[bytes, bool, int]], str]:
    """COUNT one-word pieces, 8-bit and UTF-16 by turns (words cp1252 can't hold always
    UTF-16), ten to a paragraph; and the text a reader should see."""
    pieces = []
    lines: list[list[str]] = [[]]
    for i in range(count):
        word = f"{WORDS[i % len(WORDS)]}{i}"
        end = "\r" if i % 10 == 9 else " "
        try:
            (word + end).encode("cp1252")
            narrow = i % 2 == 0
        except UnicodeEncodeError:
            narrow = False
        pieces.append(compressed_piece(word + end) if narrow else unicode_piece(word + end))
        lines[-1].append(word)
        if end == "\r":
            lines.append([])
    return pieces, "\n".join(" ".join(line) for line in lines if line)


def test_doc_with_tens_of_thousands_of_tiny_pieces_reads_whole_and_in_order() -> None:
    # 770,000 one-character pieces took 1.6 s CPU and 164 MB; one piece per word here
    pieces, expected = many_pieces(30_000)
    assert {compressed for _, compressed, _ in pieces} == {True, False}
    att = load_bytes(word97_pieces(pieces, reverse=True), "edited.doc")
    assert att.text == expected
    assert att.text.startswith("café0 €51 naïve2 Ωmega3 😀4 Ünïcødé5 plain6 —dash7 café8 €59\n")
    assert att.text.endswith("—dash29999")


def test_doc_one_character_pieces_switching_encoding_at_every_character() -> None:
    text = "Ünïcødé — 5 € 😀 done.\rSecond paragraph, café.\r"
    pieces = []
    for i, ch in enumerate(text):
        narrow = i % 2 == 0 and ch.encode("cp1252", errors="ignore") == ch.encode(
            "cp1252", "replace"
        )
        pieces.append(compressed_piece(ch) if narrow else unicode_piece(ch))
    for reverse in (False, True):
        att = load_bytes(word97_pieces(pieces, reverse=reverse), "chars.doc")
        assert att.text == "Ünïcødé — 5 € 😀 done.\nSecond paragraph, café."


def test_doc_pieces_sharing_their_bytes_read_each_time() -> None:
    # overlapping pieces: the same bytes named by several pieces are read for each of them
    word = compressed_piece("ab ")
    att = load_bytes(word97_pieces([word, unicode_piece("é "), word]), "shared.doc")
    assert att.text == "ab é ab"


def test_doc_clx_with_more_property_records_than_a_piece_can_name_is_refused(
    tmp_path: Path, run_offline
) -> None:
    # 3 million empty Prc records cost seconds to walk; a Pcd names one of at most 32,768
    path = tmp_path / "prcs.doc"
    path.write_bytes(word97_pieces([compressed_piece("Hello\r")], prcs=40_000))
    result = run_offline("upload", "--extract", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "chatpro: error: prcs.doc: corrupt Word 97-2003 document (unreadable text)\n"
    )
    path.write_bytes(word97_pieces([compressed_piece("Hello\r")], prcs=30_000))
    assert run_offline("upload", "--extract", str(path)).stdout.strip() == "Hello"


def test_doc_piece_table_claiming_more_pieces_than_the_file_holds_is_refused(
    tmp_path: Path, run_offline
) -> None:
    data = bytearray(word97_pieces([compressed_piece("Hello "), unicode_piece("world\r")]))
    at = data.index(b"\x02" + struct.pack("<I", 4 * 3 + 8 * 2))
    struct.pack_into("<I", data, at + 1, 4 * 800_001 + 8 * 800_000)  # lcb of 800,000 pieces
    path = tmp_path / "claims.doc"
    path.write_bytes(bytes(data))
    result = run_offline("upload", "--extract", str(path))
    assert result.returncode == 2
    assert result.stderr == (
        "chatpro: error: claims.doc: corrupt Word 97-2003 document (unreadable text)\n"
    )


def test_doc_piece_past_the_end_of_the_text_stream_is_refused(tmp_path: Path, run_offline) -> None:
    pieces = [compressed_piece("Hello "), unicode_piece("world\r")]
    data = bytearray(word97_pieces(pieces))
    plc = data.index(struct.pack("<3I", 0, 6, 12))
    struct.pack_into("<I", data, plc + 12 + 8 + 2, 0x3FFFFF00)  # the second piece's fc
    path = tmp_path / "past.doc"
    path.write_bytes(bytes(data))
    result = run_offline("upload", "--extract", str(path))
    assert result.returncode == 2
    assert result.stderr == (
        "chatpro: error: past.doc: corrupt Word 97-2003 document (unreadable text)\n"
    )


def test_doc_piece_table_running_backwards_is_refused() -> None:
    data = bytearray(word97_pieces([compressed_piece("Hello "), unicode_piece("world\r")]))
    plc = data.index(struct.pack("<3I", 0, 6, 12))
    struct.pack_into("<3I", data, plc, 0, 12, 6)  # the second piece ends before it starts
    with pytest.raises(FileRefused) as refused:
        load_bytes(bytes(data), "back.doc")
    assert str(refused.value) == "back.doc: corrupt Word 97-2003 document (unreadable text)"

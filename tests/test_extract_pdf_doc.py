"""PDF and legacy Word (.doc) extraction on the cases real documents break: damaged pages,
empty-password encryption, text outside the page, letter spacing, stray characters, untrusted
fonts; Word 6/95 files, notes, comments, text boxes, headers and footers."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from chatpro.errors import FileRefused
from chatpro.files import load_bytes, load_path
from tests import files_support as fs

FIXTURES = Path(__file__).parent / "fixtures" / "files" / "pdfdoc"

# --- PDF builders ---------------------------------------------------------------------------

HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def pdf_pages(
    streams: list[bytes | str],
    *,
    mediabox: str = "0 0 612 792",
    font: bytes = HELVETICA,
    broken: frozenset[int] = frozenset(),
) -> bytes:
    """A PDF of one page per content stream, all with font /F1. Pages in BROKEN get a damaged
    LZW content stream (pypdf raises on it)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", font]
    page_ids = []
    for index, stream in enumerate(streams):
        body = stream.encode("latin-1") if isinstance(stream, str) else stream
        page_id = len(objects) + 1
        page_ids.append(page_id)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [{mediabox}] /Resources << /Font << /F1 3 0 R"
            f" >> >> /Contents {page_id + 1} 0 R >>".encode()
        )
        extra = b""
        if index in broken:
            body, extra = b"\xff" * 40, b" /Filter /LZWDecode"
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(body), extra) + body + b"\nendstream")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    return fs.pdf_document(objects)


def line(text: str, x: float = 72, y: float = 700) -> str:
    return f"BT /F1 12 Tf {x} {y} Td ({text}) Tj ET\n"


def encrypted(data: bytes, algorithm: str, user_password: str = "") -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="x", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def refused(data: bytes, name: str) -> str:
    with pytest.raises(FileRefused) as info:
        load_bytes(data, name)
    return info.value.message


# --- PDF: characters ------------------------------------------------------------------------


def test_pdf_controls_and_nuls_never_reach_the_text() -> None:
    att = load_bytes(pdf_pages([line("A\\000B\\001C\\033D\\177E")]), "math.pdf")
    assert att.text == "ABCDE"


def test_pdf_unpaired_surrogates_are_replaced_end_to_end(tmp_path: Path, run_offline) -> None:
    # A /ToUnicode map that sends a glyph to a lone high surrogate, as some math fonts do.
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"2 beginbfchar <41> <D835> <42> <0042> endbfchar\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    font = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding"
        b" /ToUnicode 99 0 R >>"
    )
    data = pdf_pages([line("xABy")], font=font)
    # add object 99 (the CMap) by rebuilding with an extra trailing object
    objects = _objects_of(data)
    while len(objects) < 98:
        objects.append(b"null")
    objects.append(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream")
    path = tmp_path / "surrogate.pdf"
    path.write_bytes(fs.pdf_document(objects))
    result = run_offline("upload", "--extract", str(path))
    assert result.returncode == 0, result.stderr
    assert "\ufffd" in result.stdout or "B" in result.stdout
    assert all(not "\ud800" <= ch <= "\udfff" for ch in result.stdout)
    assert "xy" in result.stdout.replace("\ufffd", "").replace("B", "")


def _objects_of(data: bytes) -> list[bytes]:
    """The object bodies of a PDF written by fs.pdf_document, in order."""
    import re

    return [m.group(1) for m in re.finditer(rb"\d+ 0 obj\n(.*?)\nendobj\n", data, re.S)]


# --- PDF: damaged pages, encryption ---------------------------------------------------------


def test_pdf_unreadable_page_is_skipped_with_a_notice() -> None:
    streams = [line(f"Page {n} text") for n in range(1, 6)]
    att = load_bytes(pdf_pages(streams, broken=frozenset({2})), "report.pdf")
    assert att.pages == 5
    assert "Page 2 text" in att.text and "Page 4 text" in att.text
    assert "Page 3 text" not in att.text
    assert att.notices == ("page 3 of 5 could not be read and was skipped",)


def test_pdf_several_unreadable_pages_are_named_as_ranges() -> None:
    streams = [line(f"Page {n}") for n in range(1, 8)]
    att = load_bytes(pdf_pages(streams, broken=frozenset({1, 2, 3, 6})), "r.pdf")
    assert att.notices == ("pages 2-4, 7 of 7 could not be read and were skipped",)


def test_pdf_with_no_readable_page_is_refused() -> None:
    data = pdf_pages([line("a"), line("b")], broken=frozenset({0, 1}))
    assert refused(data, "dead.pdf") == "dead.pdf: corrupt PDF (it could not be read)"


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_encrypted_with_empty_user_password_is_read(algorithm: str) -> None:
    data = encrypted(pdf_pages([line("Secured but open")]), algorithm)
    assert load_bytes(data, "secured.pdf").text == "Secured but open"


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_pdf_that_needs_a_password_is_refused_naming_it(
    algorithm: str, tmp_path: Path, run_offline
) -> None:
    path = tmp_path / "locked.pdf"
    path.write_bytes(encrypted(pdf_pages([line("Secret")]), algorithm, user_password="pw"))
    result = run_offline("upload", "--extract", str(path))
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "chatpro: error: locked.pdf: encrypted PDF that needs a password"
    )
    assert result.stdout == ""


def test_cryptography_is_a_declared_dependency() -> None:
    text = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    deps = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert '"cryptography' in deps


# --- PDF: what a reader sees ----------------------------------------------------------------


def test_pdf_text_outside_the_page_box_is_not_emitted() -> None:
    stream = line("Visible offer") + line("Hidden right", x=700) + line("Hidden below", y=-60)
    stream += line("Hidden left", x=-400) + line("Visible footer", y=40)
    text = load_bytes(pdf_pages([stream]), "box.pdf").text
    assert "Visible offer" in text and "Visible footer" in text
    assert "Hidden" not in text


def test_pdf_crop_box_limits_what_is_visible() -> None:
    objects = _objects_of(pdf_pages([line("Kept", y=500) + line("Cropped away", y=750)]))
    objects[3] = objects[3].replace(b"/MediaBox", b"/CropBox [0 0 612 600] /MediaBox")
    text = load_bytes(fs.pdf_document(objects), "crop.pdf").text
    assert text == "Kept"


def test_pdf_letter_spaced_words_are_rejoined() -> None:
    glyphs = " ".join(f"1 0 0 1 {72 + i * 9} 700 Tm ({c}) Tj" for i, c in enumerate("Range"))
    per_glyph = f"BT /F1 12 Tf {glyphs} 1 0 0 1 130 700 Tm (of values) Tj ET\n"
    spaced_tj = "BT /F1 12 Tf 72 600 Td [(S) -150 (c) -150 (o) -150 (p) -150 (e) -600 (a) -150 (n) -150 (d)] TJ ET\n"
    text = load_bytes(pdf_pages([per_glyph + spaced_tj]), "spaced.pdf").text
    assert text.splitlines() == ["Range of values", "Scope and"]


def test_pdf_words_and_lines_are_not_glued() -> None:
    words = "BT /F1 12 Tf 72 700 Td (for) Tj 20 0 Td (the) Tj 22 0 Td (client) Tj ET\n"
    lines = line("Line 1", y=650) + line("Line 2", y=636)
    justified = (
        "BT /F1 12 Tf 72 600 Td [(W) 80 (e) -333 (ship) -333 (a) -333 (new) -333 (shop)] TJ ET\n"
    )
    text = load_bytes(pdf_pages([words + lines + justified]), "glue.pdf").text
    assert text.splitlines() == ["for the client", "Line 1", "Line 2", "We ship a new shop"]


def test_pdf_text_at_angles_is_kept() -> None:
    stream = (
        line("Upright")
        + "BT /F1 12 Tf 0 1 -1 0 300 300 Tm (Turned ninety) Tj ET\n"
        + "BT /F1 12 Tf 0.866 0.5 -0.5 0.866 200 200 Tm (Thirty degrees) Tj ET\n"
    )
    text = load_bytes(pdf_pages([stream]), "angles.pdf").text
    for words in ("Upright", "Turned ninety", "Thirty degrees"):
        assert words in text


def test_pdf_unmapped_cjk_cmap_is_flagged_not_silently_sent(tmp_path: Path) -> None:
    font = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiMin-W3 /Encoding /90msp-RKSJ-H"
        b" /DescendantFonts [<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiMin-W3"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> >>] >>"
    )
    good = line("Plain page")
    cjk = "BT /F1 12 Tf 72 700 Td <8aae97b982b582dc82b582bd> Tj ET\n"
    data = pdf_pages([good, cjk, cjk], font=HELVETICA)
    objects = _objects_of(data)
    objects.append(font)
    for page in (5, 7):  # pages 2 and 3 use the CJK font
        objects[page] = objects[page].replace(b"/F1 3 0 R", b"/F1 %d 0 R" % len(objects))
    path = tmp_path / "japan.pdf"
    path.write_bytes(fs.pdf_document(objects))
    att = load_path(path)
    assert att.notices == ("the text of pages 2-3 may not be reliable (unmapped font encoding)",)
    assert "Plain page" in att.text


def test_pdf_plain_text_has_no_notice() -> None:
    att = load_bytes(pdf_pages([line("Clean page"), line("Another")]), "ok.pdf")
    assert att.notices == ()
    assert att.text == "--- Page 1 ---\nClean page\n\n--- Page 2 ---\nAnother"


# --- DOC: Word 6/95 -------------------------------------------------------------------------


def word95_bytes(
    parts: list[str], *, complex_pieces: bool = False, lid: int = 0x0409, codepage: str = "cp1252"
) -> bytes:
    """A Word 95 (nFib 104) file from the MS-DOC / Word 6 FIB layout: PARTS are the main text,
    footnotes, headers, (macros), comments, endnotes, text boxes. The text is one 8-bit run from
    fcMin, or (COMPLEX_PIECES, a fast save) two pieces in reverse order through a piece table."""
    ccps = [len(p) for p in parts] + [0] * (8 - len(parts))
    text = "".join(parts).encode(codepage)
    word = bytearray(0x400)
    fc_min = len(word)
    flags = 0
    if complex_pieces:
        half = len(text) // 2
        second_at = len(word)
        word += text[half:]
        first_at = len(word)
        word += text[:half]
        cps = [0, half, len(text)]
        plc = struct.pack("<3I", *cps) + struct.pack("<HIH", 0, first_at, 0)
        plc += struct.pack("<HIH", 0, second_at, 0)
        clx = b"\x02" + struct.pack("<I", len(plc)) + plc
        fc_clx = len(word)
        word += clx
        struct.pack_into("<II", word, 0x58 + 33 * 8, fc_clx, len(clx))
        flags |= 0x0004
    else:
        word += text
    struct.pack_into("<HHHHHH", word, 0, 0xA5EC, 104, 0x6027, lid, 0, flags)
    struct.pack_into("<II", word, 0x18, fc_min, fc_min + len(text))
    struct.pack_into("<8I", word, 0x34, *ccps)
    return fs.cfb_bytes({"WordDocument": bytes(word)})


WORD95_PARTS = [
    "Quarterly report\rRevenue grew\x02 in May.\x05\rSee \x13 PAGE \x14page 2\x15.\r",
    "\x02 Audited figures.\r",
    "\x03\r\x04\r\rAcme header\r\rAcme header\r",
    "",
    "\x05Check the May number.\r",
]


@pytest.mark.parametrize("complex_pieces", [False, True])
def test_word95_document_is_read(complex_pieces: bool) -> None:
    data = word95_bytes(WORD95_PARTS, complex_pieces=complex_pieces)
    att = load_bytes(data, "old.doc")
    assert att.text == (
        "Quarterly report\nRevenue grew[^1] in May.[^c1]\nSee page 2.\n\n"
        "## Footnotes\n\n[^1]: Audited figures.\n\n"
        "## Comments\n\n[^c1]: Check the May number.\n\n"
        "## Headers and footers\n\nAcme header"
    )


def test_word95_text_uses_the_language_code_page() -> None:
    data = word95_bytes(["Отчёт за май\r"], lid=0x0419, codepage="cp1251")
    assert load_bytes(data, "ru.doc").text == "Отчёт за май"


def test_word2_document_is_refused_naming_the_version() -> None:
    data = bytearray(word95_bytes(["x\r"]))
    at = data.index(struct.pack("<HH", 0xA5EC, 104))
    struct.pack_into("<H", data, at + 2, 45)
    message = refused(bytes(data), "ancient.doc")
    assert message == "ancient.doc: Word 2.0 or older documents are not supported"


# --- DOC: Word 97 parts ---------------------------------------------------------------------


def test_word97_notes_comments_boxes_headers_from_libreoffice() -> None:
    text = load_path(FIXTURES / "report97.doc").text
    body, rest = text.split("\n\n## Footnotes\n\n", 1)
    assert "The client wants a shop[^1] and a blog[^e1].[^c1] See our portfolio online." in body
    assert "HYPERLINK" not in body
    assert "[^1]: Footnote: prices exclude VAT." in rest
    assert "## Endnotes\n\n[^e1]: Endnote: blog hosting is billed yearly." in rest
    assert "## Comments\n\n[^c1]: Comment: check the deadline with Bo." in rest
    assert "## Text boxes\n\nText box: call us on Monday" in rest
    assert rest.endswith(
        "## Headers and footers\n\nAcme GmbH confidential header\nFooter: page one of the offer"
    )
    assert "Closing paragraph after the box." in body


def test_word97_fixture_stays_small() -> None:
    assert (FIXTURES / "report97.doc").stat().st_size < 100_000


# --- DOC: Word 97 headings and list numbers -------------------------------------------------


def test_word97_lists_keep_their_numbers_and_bullets() -> None:
    text = load_path(FIXTURES / "report97.doc").text
    assert text.startswith("# Project offer\nThe client wants a shop")
    assert (
        "1. Design the catalogue\n2. Build the checkout\n3. Launch before 15 March\n"
        "- Risk: tight budget\n- Risk: late content\nClosing paragraph after the box." in text
    )


def test_word97_headings_nested_lists_and_number_formats() -> None:
    text = load_path(FIXTURES / "lists97.doc").text
    assert text == (
        "# Service agreement\n# Scope\nThe work is split in phases.\n"
        "1. Discovery\n    a. Interviews\n    b. Audit\n        i. Code\n        ii. Hosting\n"
        "    c. Report\n2. Delivery\n"
        "## Risks\n- Budget\n    - Hardware\n    - Licences\n- Timing\n"
        "Payment terms follow.\n1) Deposit\n2) Balance\n"
        "Extras:\nV. Late fee\nVI. Interest\n"
        "1. Terms\n    1.1. Notice\n    1.2. Renewal"
    )


def _fib_pair_offset(data: bytes, index: int) -> int:
    """Where the (fc, lcb) pair INDEX of the Word 97 FIB is in the compound file's bytes."""
    at = data.index(struct.pack("<H", 0xA5EC))
    csw = struct.unpack_from("<H", data, at + 32)[0]
    cslw_at = at + 34 + 2 * csw
    cslw = struct.unpack_from("<H", data, cslw_at)[0]
    return cslw_at + 2 + 4 * cslw + 2 + 8 * index


@pytest.mark.parametrize("pair", [13, 73])  # PlcBtePapx, PlfLst
def test_word97_damaged_paragraph_tables_fall_back_to_plain_lines(pair: int) -> None:
    data = bytearray((FIXTURES / "report97.doc").read_bytes())
    struct.pack_into("<II", data, _fib_pair_offset(bytes(data), pair), 0x7FFFFF00, 0x400)
    text = load_bytes(bytes(data), "damaged.doc").text
    assert "Design the catalogue\nBuild the checkout\nLaunch before 15 March" in text
    assert "Risk: tight budget\nRisk: late content" in text
    assert "Footnote: prices exclude VAT." in text


def test_word97_damaged_style_sheet_loses_only_the_headings() -> None:
    data = bytearray((FIXTURES / "report97.doc").read_bytes())
    struct.pack_into("<II", data, _fib_pair_offset(bytes(data), 1), 0x7FFFFF00, 0x400)
    text = load_bytes(bytes(data), "damaged.doc").text
    assert text.startswith("Project offer\n")
    assert "1. Design the catalogue\n2. Build the checkout" in text


def test_word97_lists_fixture_stays_small() -> None:
    assert (FIXTURES / "lists97.doc").stat().st_size < 100_000

"""PDF text through our own content-stream reader (pdf_content, pdf_layout): form XObjects,
inline images, word gaps against kerning and letter spacing, Tz and Tc, two-byte fonts,
damaged pages and garbage streams, and the text cap's share of pages."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

from chatpro.files import load_bytes
from chatpro.files.pdf_content import operations
from chatpro.files.pdf_layout import Fonts, PageSink, TextState
from tests import files_support as fs

HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
FONTS = b"/Font << /F1 " + HELVETICA + b" >>"


def stream(body: bytes, keys: bytes = b"", *, flate: bool = False) -> bytes:
    if flate:
        body, keys = zlib.compress(body), keys + b" /Filter /FlateDecode"
    return b"<< /Length %d %s >>\nstream\n" % (len(body), keys) + body + b"\nendstream"


def pdf(pages: list[bytes], *, resources: bytes = FONTS, extra: tuple[bytes, ...] = ()) -> bytes:
    """A PDF of one page per content stream, each with RESOURCES; EXTRA objects are numbered
    from 3, so RESOURCES and content can refer to them."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", *extra]
    kids = []
    for body in pages:
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << %s >>"
            b" /Contents %d 0 R >>" % (resources, len(objects) + 2)
        )
        objects.append(stream(body))
    refs = " ".join(f"{k} 0 R" for k in kids)
    objects[1] = f"<< /Type /Pages /Kids [{refs}] /Count {len(kids)} >>".encode()
    return fs.pdf_document(objects)


def line(text: str, y: int = 700) -> bytes:
    return f"BT /F1 12 Tf 72 {y} Td ({text}) Tj ET\n".encode("latin-1")


def text_of(data: bytes) -> str:
    return load_bytes(data, "t.pdf").text


# --- form XObjects --------------------------------------------------------------------------


def form(body: bytes, keys: bytes = b" /Resources << " + FONTS + b" >>") -> bytes:
    return stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 500 100]" + keys)


IN_FORM = b"BT /F1 12 Tf 0 0 Td (Inside the form) Tj ET"
USES_FORM = FONTS + b" /XObject << /Fm1 3 0 R >>"


def test_form_xobject_text_is_read_where_it_is_drawn() -> None:
    page = line("Before") + b"q 1 0 0 1 72 500 cm /Fm1 Do Q\n" + line("After", y=300)
    data = pdf([page], resources=USES_FORM, extra=(form(IN_FORM),))
    assert text_of(data).splitlines() == ["Before", "Inside the form", "After"]


def test_form_xobject_placed_off_the_page_is_not_emitted() -> None:
    page = line("Before") + b"q 1 0 0 1 72 2000 cm /Fm1 Do Q\n"
    data = pdf([page], resources=USES_FORM, extra=(form(IN_FORM),))
    assert text_of(data) == "Before"


def test_form_xobject_matrix_moves_its_text() -> None:
    moved = form(IN_FORM, b" /Matrix [1 0 0 1 0 -5000] /Resources << " + FONTS + b" >>")
    data = pdf([line("Before") + b"/Fm1 Do\n"], resources=USES_FORM, extra=(moved,))
    assert text_of(data) == "Before"


def test_form_xobject_without_resources_uses_the_pages() -> None:
    data = pdf([b"/Fm1 Do\n"], resources=USES_FORM, extra=(form(IN_FORM, b""),))
    assert text_of(data) == "Inside the form"


def test_form_xobject_that_draws_itself_is_read_once() -> None:
    body = IN_FORM + b"\n/Fm1 Do\n"
    own = b" /Resources << " + USES_FORM + b" >>"
    data = pdf([b"/Fm1 Do\n"], resources=USES_FORM, extra=(form(body, own),))
    assert text_of(data) == "Inside the form"


# --- inline images --------------------------------------------------------------------------


def test_inline_image_data_never_reaches_the_text() -> None:
    pixels = b"(Tj) Tj ET BT (x\xff\x00) ' EI9 \\( <41>"
    image = b"BI /W %d /H 1 /BPC 8 /CS /G ID " % len(pixels) + pixels + b"\nEI\n"
    data = pdf([line("Before image") + image + line("After image", y=600)])
    assert text_of(data).splitlines() == ["Before image", "After image"]


# --- word gaps, kerning, letter spacing -----------------------------------------------------


def test_tj_kerning_is_not_a_space_but_a_word_gap_is() -> None:
    body = b"BT /F1 12 Tf 72 700 Td [(Ke) 30 (rn) -20 (ing) -280 (works)] TJ ET\n"
    assert text_of(pdf([body])) == "Kerning works"


def test_horizontal_scaling_counts_in_word_gaps() -> None:
    # "Hello" squeezed to half its width: the next word starts well after it, a word apart
    body = b"BT /F1 12 Tf 50 Tz 72 700 Td (Hello) Tj 20 0 Td (world) Tj ET\n"
    assert text_of(pdf([body])) == "Hello world"


def test_character_spacing_counts_in_word_gaps() -> None:
    # "Hel" is 18 pt wide plus 3 x 3 pt of spacing: "lo" continues the same word
    body = b"BT /F1 12 Tf 3 Tc 72 700 Td (Hel) Tj 27.5 0 Td (lo) Tj 30 0 Td (there) Tj ET\n"
    assert text_of(pdf([body])) == "Hello there"


def test_two_byte_font_with_a_tounicode_map() -> None:
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        b"4 beginbfchar <0001> <0047> <0002> <0072> <0003> <00FC> <0004> <00DF> endbfchar\n"
        b"1 beginbfrange <0005> <0007> [<0065> <20AC> <0035>] endbfrange\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    font = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Sans /Encoding /Identity-H"
        b" /DescendantFonts [<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Sans"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
        b" /W [1 7 600] /DW 1000 >>] /ToUnicode 3 0 R >>"
    )
    body = b"BT /F1 10 Tf 72 700 Td [<00010002000300040005> -400 <00070006>] TJ ET\n"
    data = pdf([body], resources=b"/Font << /F1 " + font + b" >>", extra=(stream(cmap),))
    att = load_bytes(data, "de.pdf")
    assert att.text == "Grüße 5€"
    assert att.notices == ()


def test_right_to_left_text_comes_in_reading_order() -> None:
    """Glyphs of a Hebrew word are drawn left to right, last letter first; pypdf's extractor
    (which reads such pages) turns them back into reading order."""
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"3 beginbfchar <41> <05D0> <42> <05D1> <43> <05D2> endbfchar\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    font = HELVETICA.replace(b" >>", b" /ToUnicode 3 0 R >>")
    body = b"BT /F1 12 Tf 72 700 Td (CBA) Tj ET\n"
    data = pdf([body], resources=b"/Font << /F1 " + font + b" >>", extra=(stream(cmap),))
    assert text_of(data) == "\u05d0\u05d1\u05d2"


# --- marked content -------------------------------------------------------------------------


def test_actual_text_replaces_what_its_glyphs_decode_to() -> None:
    body = (
        b"BT /F1 12 Tf 72 700 Td (Hyphen) Tj /Span <</ActualText (ation)>> BDC (a-) Tj EMC"
        b" ( works) Tj 0 -20 Td /Span <</ActualText <FEFF00660069>>> BDC (\001) Tj EMC (nd) Tj"
        b" 0 -20 Td /Artifact BMC (Plain) Tj EMC /P /MC0 BDC (x) Tj EMC ET\n"
    )
    props = FONTS + b" /Properties << /MC0 << /ActualText (Named) >> >>"
    assert text_of(pdf([body], resources=props)).splitlines() == [
        "Hyphenation works",
        "find",
        "PlainNamed",
    ]


# --- damaged pages --------------------------------------------------------------------------


def test_page_whose_stream_cannot_be_decoded_is_skipped_with_a_notice() -> None:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << "
        + FONTS
        + b" >> /Contents 4 0 R >>",
        stream(b"\xff" * 40, b"/Filter /LZWDecode"),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << "
        + FONTS
        + b" >> /Contents 6 0 R >>",
        stream(line("Second page"), flate=True),
    ]
    att = load_bytes(fs.pdf_document(objects), "two.pdf")
    assert att.text == "--- Page 2 ---\nSecond page"
    assert att.notices == ("page 1 of 2 could not be read and was skipped",)


def test_garbage_content_is_read_without_failing() -> None:
    garbage = bytes(range(256)) * 4 + b"(unclosed [ << /F1 12 Tf ] >> ) ) Tj"
    data = pdf([garbage + b"\n" + line("Still here", y=500)])
    assert "Still here" in text_of(data)


PDF_BITS = [
    *(b"BT", b"ET", b"Tj", b"TJ", b"Td", b"Tf", b"Tm", b"'", b'"', b"q", b"Q", b"cm", b"Do"),
    *(b"(", b")", b"\\", b"<", b">", b"<<", b">>", b"[", b"]", b"{", b"/F1", b"/Fm1", b"%"),
    *(b"1", b"-2.5", b"0", b"1e9", b".", b"BI", b"ID", b"EI", b"\n", b" ", b"\xff", b"#"),
]


def test_any_content_stream_reads_without_raising() -> None:
    rng = random.Random(11)  # seeded: a failure names its case and reproduces
    cases: list[bytes] = []
    for _ in range(300):
        bits = [rng.choice(PDF_BITS) for _ in range(rng.randrange(61))]
        cases.append(b" ".join(bits))
        cases.append(b"".join(rng.choice(PDF_BITS) for _ in range(rng.randrange(20))))
        cases.append(rng.randbytes(rng.randrange(200)))
    for data in cases:
        list(operations(data))
        sink = PageSink((0.0, 0.0, 612.0, 792.0))
        TextState(sink, {}, Fonts()).run(operations(data))
        assert isinstance(sink.text(), str), data


# --- the text cap ---------------------------------------------------------------------------


def test_pdf_past_the_text_cap_says_the_share_of_pages_sent(
    run_offline, home: Path, tmp_path: Path
) -> None:
    """10 pages of 250,000 characters: extraction stops at 2,000,000 characters, on page 8."""
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[models."gpt-4.1"]\ncontext_window = 2000000\n')
    words = " ".join(f"w{i:05d}" for i in range(250_000 // 7))
    page = b"BT /F1 1 Tf 20 700 Td (" + words.encode() + b") Tj ET"
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for _ in range(10):
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << %s >>"
            b" /Contents %d 0 R >>" % (FONTS, len(objects) + 2)
        )
        objects.append(stream(page, flate=True))
    objects[1] = (
        b"<< /Type /Pages /Kids [%s] /Count 10 >>" % " ".join(f"{k} 0 R" for k in kids).encode()
    )
    path = tmp_path / "long.pdf"
    path.write_bytes(fs.pdf_document(objects))
    result = run_offline("upload", "-m", "gpt-4.1", "--dry-run", str(path))
    assert result.returncode == 0, result.stderr
    assert "long.pdf: only the first part of its text is sent (about 80% of the document)" in (
        result.stderr
    )


def test_a_line_drawn_in_two_saved_states_keeps_its_word_gap() -> None:
    # LibreOffice wraps every piece of a line in q ... Q; the gap after "reports an" (45.02 pt
    # wide in 10 pt Helvetica) is 3 pt, a word space, and must not be measured in the font
    # that Q restores before the next Tf
    page = (
        b"q BT 72 700 Td /F1 10 Tf (reports an) Tj ET Q\n"
        b"q BT 120.02 700 Td /F1 10 Tf (error.) Tj ET Q\n"
    )
    assert text_of(pdf([page])) == "reports an error."


def test_libreoffice_pdf_with_accents_and_japanese_reads_as_written() -> None:
    # brief-libreoffice.odt exported to PDF by LibreOffice 7 (subset TrueType fonts with
    # /ToUnicode maps, every line in its own q ... Q); pypdf's extractor read the Japanese as
    # one repeated glyph
    fixtures = Path(__file__).parent / "fixtures" / "files" / "newtypes"
    lines = load_bytes((fixtures / "brief-libreoffice.pdf").read_bytes(), "b.pdf").text.splitlines()
    assert "Contact: Zoë Ünal — 日本語テキスト ✓" in lines
    assert "Client: Acme GmbH. Deadline 15 March 2026." in lines
    assert "Design €1,200" in lines
    assert "• Hero section" in lines  # Symbol's private-use bullet shown as the bullet it is


# --- hostile content: bounded time and memory -------------------------------------------------


def test_a_document_that_draws_too_much_stops_with_a_notice_and_keeps_the_pages_before(
    monkeypatch,
) -> None:
    from chatpro.files import pdf_content

    monkeypatch.setattr(pdf_content, "MAX_TOKENS", 50_000)
    flood = b"q Q " * 40_000  # 80,000 tokens: one page alone is over the document's budget
    data = pdf([line("First page"), flood + line("Lost"), line("Never read")])
    att = load_bytes(data, "t.pdf")
    assert "First page" in att.text and "Lost" not in att.text and "Never read" not in att.text
    assert att.notices == (
        "reading stopped at page 2 of 3: the pages draw more than chatpro reads in one "
        "document (50,000 content tokens)",
    )
    assert att.coverage == 1 / 3


def test_deeply_nested_saved_states_are_restored_in_order() -> None:
    # more q's than are kept: the Q's of the unsaved ones restore nothing, the rest unwind
    moved_off = b"q " * 1500 + b"1 0 0 1 0 5000 cm " + line("Off the page") + b"Q " * 1500
    assert text_of(pdf([moved_off + line("Visible", y=300)])) == "Visible"


def test_a_flood_of_operands_keeps_a_bounded_number() -> None:
    from chatpro.files.pdf_content import MAX_OPERANDS

    (operands, operator), *_ = operations(b"1 " * (MAX_OPERANDS + 5000) + b"Tj")
    assert operator == b"Tj" and len(operands) == MAX_OPERANDS
    # an inline image's parameters are short: a long but bounded list is still skipped, a
    # flood past INLINE_PARAMS_BYTES ends the stream as garbage
    (params, op), *_ = operations(b"BI /W 1 " + b"0 " * 20_000 + b"ID xx EI (after) Tj")
    assert op == b"Tj" and params == [b"after"]
    assert list(operations(b"BI /W 1 " + b"0 " * 40_000 + b"ID xx EI (after) Tj")) == []


def type3_pdf(scale: str, width: int, content: bytes) -> bytes:
    """A page drawn with a Type3 font whose /FontMatrix is SCALE and every glyph WIDTH wide
    in its own glyph units (TeX's bitmap fonts are Type3 with such matrices)."""
    names = " ".join("/" + chr(c) for c in range(97, 123))
    procs = " ".join(f"/{chr(c)} 4 0 R" for c in range(97, 123))
    font = (
        f"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 100 100] "
        f"/FontMatrix [{scale} 0 0 {scale} 0 0] /CharProcs << {procs} >> "
        f"/Encoding << /Type /Encoding /Differences [97 {names}] >> "
        f"/FirstChar 97 /LastChar 122 /Widths [{' '.join([str(width)] * 26)}] >>"
    ).encode()
    return pdf([content], resources=b"/Font << /T3 3 0 R >>", extra=(font, stream(b"0 0 d0")))


def test_type3_widths_are_scaled_by_the_font_matrix() -> None:
    # every glyph is half an em wide at 12 pt: "hello" ends at 102; "world" starts a word
    # space later, "er" half a point later (the same word)
    content = (
        b"BT /T3 12 Tf 72 700 Td (hello) Tj ET BT /T3 12 Tf 106 700 Td (world) Tj ET\n"
        b"BT /T3 12 Tf 72 680 Td (tight) Tj ET BT /T3 12 Tf 102.5 680 Td (er) Tj ET\n"
    )
    for scale, width in (("0.01", 50), ("0.001", 500), ("0.0001", 5000)):
        assert text_of(type3_pdf(scale, width, content)) == "hello world\ntighter", scale

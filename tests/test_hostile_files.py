"""Hostile files cost bounded time and memory and never crash (issue 11): each crafted shape
that once took seconds, hundreds of MiB or an internal error, shrunk by a monkeypatched cap,
with what the user sees now: the text still read, the notice, or the one-line refusal."""

from __future__ import annotations

import io
import re
import zipfile
from email.message import EmailMessage

import pytest

from chatpro.files import load_bytes
from tests import files_support as fs
from tests.test_extract_newtypes import ODP, ODT, SML, odf_bytes, xlsx_bytes

# --- .xlsx --------------------------------------------------------------------------------


def test_xlsx_shared_strings_past_the_cap_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3M shared strings took 44 s and 277 MB
    monkeypatch.setattr("chatpro.files.xlsx.MAX_SHARED_STRINGS", 3)
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>4</v></c></row>'
    shared = ["alpha", "<r><t>be</t></r><r><rPr/><t>ta</t></r>", "c", "d", "epsilon"]
    att = load_bytes(xlsx_bytes({"S": rows}, shared), "many.xlsx")
    assert "| alpha |" in att.text and "epsilon" not in att.text
    assert att.notices == (
        "only the first 3 shared strings are read: cells that use later ones are blank",
    )


def with_shared(data: bytes, items: str) -> bytes:
    """DATA (an xlsx_bytes workbook) with its shared strings part replaced by ITEMS."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/sharedStrings.xml":
                body = f'<sst xmlns="{SML}">{items}</sst>'.encode()
            dst.writestr(info.filename, body)
    return out.getvalue()


def test_xlsx_shared_rich_text_without_phonetic_guides() -> None:
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    items = (
        '<si><r><t>To</t></r><r><rPr><b/></rPr><t xml:space="preserve">kyo</t></r>'
        "<rPh><t>x</t></rPh><phoneticPr/></si><si><t>Osaka_x005F_</t><rPh><t>y</t></rPh></si>"
    )
    att = load_bytes(with_shared(xlsx_bytes({"S": rows}, ["-"]), items), "j.xlsx")
    assert "| Tokyo | Osaka_ |" in att.text


def test_xlsx_cells_past_the_workbook_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # 140 rows of 16,384 cells took 19.8 s; now the workbook is read up to a budget of cells
    monkeypatch.setattr("chatpro.files.xlsx.MAX_WORKBOOK_CELLS", 40)
    monkeypatch.setattr("chatpro.files.ooxml.CHUNK_BYTES", 256)
    rows = "".join(
        f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>{i * 10}</v></c></row>'
        for i in range(1, 201)
    )
    att = load_bytes(xlsx_bytes({"Wide": rows, "Later": rows}, []), "wide.xlsx")
    assert "| 1 | 10 |" in att.text and "| 200 | 2000 |" not in att.text
    assert "## Sheet: Later\n(not read)" in att.text
    first, second = att.notices
    assert first.startswith("sheet Wide: only the first ")
    assert "of about 200 rows are sent (a workbook is read up to its first 40 cells)" in first
    assert second == "sheet Later: left out (a workbook is read up to its first 40 cells)"


# --- .eml ---------------------------------------------------------------------------------


def test_eml_huge_header_is_cut_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    # an 8.8 MB Subject took 564 s and 1 GB in the stdlib's header parser
    monkeypatch.setattr("chatpro.files.eml.MAX_HEADER_CHARS", 40)
    words = " ".join(f"word{i}" for i in range(100))
    data = f"From: a@example.com\r\nSubject: {words}\r\n\r\nThe body survives.\r\n".encode()
    att = load_bytes(data, "long.eml")
    assert "Subject: word0 word1" in att.text and "word99" not in att.text
    assert "The body survives." in att.text
    assert att.notices == ("header Subject cut at 40 characters",)


def test_eml_attachments_past_the_cap_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3,000 attachments took 1.9 s; 50,000 would fit in 10 MB
    monkeypatch.setattr("chatpro.files.eml.MAX_ATTACHMENTS", 2)
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg["Subject"] = "files"
    msg.set_content("see attached")
    for i in range(5):
        msg.add_attachment(
            f"note {i}".encode(), maintype="text", subtype="plain", filename=f"n{i}.txt"
        )
    att = load_bytes(msg.as_bytes(), "many.eml")
    assert "note 1" in att.text and "n2.txt" not in att.text
    assert att.notices == (
        "only the first 2 of 5 attachments are read (save the others and send them on their own)",
    )


def test_eml_of_millions_of_lines_is_cut_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10 MB of blank lines took 3.2 s and 170 MB, 9 MB of quoted-printable soft breaks 297 MB:
    # the stdlib's parser keeps every line as a string of its own
    monkeypatch.setattr("chatpro.files.eml.MAX_LINES", 8)
    data = b"From: a@example.com\nSubject: long\n\nFirst line.\nSecond line.\n" + b"\n" * 50
    data += b"Far below.\n"
    att = load_bytes(data, "long.eml")
    assert "First line.\nSecond line." in att.text and "Far below." not in att.text
    assert att.notices == ("the message was cut at 8 lines",)


# --- .odt / .odp --------------------------------------------------------------------------


def test_odt_of_millions_of_empty_paragraphs_stops_at_the_element_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1.5M empty paragraphs took 8.7 s
    monkeypatch.setattr("chatpro.files.odf.MAX_ELEMENTS", 50)
    body = "<office:text><text:p>first words</text:p>" + "<text:p/>" * 100
    body += "<text:p>never reached</text:p></office:text>"
    att = load_bytes(odf_bytes(ODT, body), "empty.odt")
    assert "first words" in att.text and "never reached" not in att.text
    assert att.notices == (
        "only the start of the OpenDocument text is read (it stops after 50 XML elements)",
    )


def test_odp_slide_of_a_million_shapes_keeps_what_was_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # one slide of 1M frames took 6.8 s and 440 MB
    monkeypatch.setattr("chatpro.files.odf.MAX_ELEMENTS", 50)
    monkeypatch.setattr("chatpro.files.ooxml.CHUNK_BYTES", 256)
    frame = "<draw:frame><draw:text-box><text:p>{}</text:p></draw:text-box></draw:frame>"
    shapes = "".join(frame.format(f"shape {i}") for i in range(100))
    body = f"<office:presentation><draw:page>{shapes}</draw:page></office:presentation>"
    att = load_bytes(odf_bytes(ODP, body), "shapes.odp")
    assert "shape 0" in att.text and "shape 99" not in att.text
    assert att.slides == 1
    assert att.notices == (
        "only the start of the OpenDocument presentation is read (it stops after 50 XML elements)",
    )


# --- .pptx --------------------------------------------------------------------------------


def _deck(series: int = 2, slide_xml: str = "") -> bytes:
    """A one-slide deck with a column chart of SERIES series, and SLIDE_XML added to its shape
    tree."""
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    data = CategoryChartData()
    data.categories = ["Q1", "Q2"]
    for i in range(1, series + 1):
        data.add_series(f"Region {i}", (i, i * 10))
    slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1), Inches(4), Inches(3), data
    )
    out = io.BytesIO()
    prs.save(out)
    src = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    result = io.BytesIO()
    with zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "ppt/slides/slide1.xml" and slide_xml:
                head, tail = body.split(b"</p:spTree>")
                body = head + slide_xml.encode() + b"</p:spTree>" + tail
            dst.writestr(info, body)
    return result.getvalue()


SHAPE = (
    '<p:sp><p:nvSpPr><p:cNvPr id="9" name="t"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr/>'
    "<p:txBody><a:bodyPr/><a:p><a:r><a:t>{}</a:t></a:r></a:p></p:txBody></p:sp>"
)
GROUP = (
    '<p:grpSp><p:nvGrpSpPr><p:cNvPr id="8" name="g"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>'
    "<p:grpSpPr/>"
)


def test_pptx_groups_nested_thousands_deep_are_read() -> None:
    # 20,000 nested groups took 22.6 s (each shape recomputed its whole ancestry)
    depth = 2_000
    levels = "".join(GROUP + SHAPE.format(f"level {i}") for i in range(depth))
    hidden = "<p:graphicFrame>" + SHAPE.format("inside a frame") + "</p:graphicFrame>"
    att = load_bytes(_deck(slide_xml=levels + hidden + "</p:grpSp>" * depth), "deep.pptx")
    assert "level 0" in att.text and f"level {depth - 1}" in att.text
    assert "inside a frame" not in att.text


def test_pptx_chart_series_past_the_cap_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3,000 series of 300 points: 2.9 s and 591 MB
    monkeypatch.setattr("chatpro.files.charts.MAX_CHART_SERIES", 2)
    att = load_bytes(_deck(series=3), "chart.pptx")
    assert "| Category | Region 1 | Region 2 |" in att.text
    assert "Region 3" not in att.text
    assert "(chart table cut at 2 of 3 series)" in att.text


def test_pptx_oversized_chart_part_is_skipped_with_a_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("chatpro.files.pptx.MAX_LOADED_PART_BYTES", 100)
    att = load_bytes(_deck(), "chart.pptx")
    assert "Region 1" not in att.text and att.text.startswith("## Slide 1")
    assert att.notices == ("skipped ppt/charts/chart1.xml (larger than 100 bytes)",)


# --- .docx --------------------------------------------------------------------------------


def test_docx_markup_past_the_xml_budget_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    # 119 MiB of Word-formatted tiny cells took 4.5 s to reach the text cap; now the document's
    # XML is read up to a budget, and what was not read is said
    from tests.test_extract_office import docx, note, para

    monkeypatch.setattr("chatpro.files.ooxml_word.MAX_WORD_XML_BYTES", 2_000)
    monkeypatch.setattr("chatpro.files.ooxml.CHUNK_BYTES", 256)
    cell = (
        '<w:tc><w:tcPr><w:tcW w:w="960" w:type="dxa"/></w:tcPr><w:p><w:pPr><w:spacing '
        'w:after="0"/></w:pPr><w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:t>{}</w:t></w:r></w:p></w:tc>'
    )
    rows = "".join(
        f"<w:tr>{cell.format(f'r{i}a')}{cell.format(f'r{i}b')}</w:tr>" for i in range(60)
    )
    body = para("Before the table") + f"<w:tbl>{rows}</w:tbl>" + para("After the table")
    footnotes = f'<w:footnotes xmlns:w="{fs.W_NS}">{note("footnote", 1, "a note")}</w:footnotes>'
    att = load_bytes(
        docx(body, {"footnotes.xml": footnotes}, [("footnotes", "footnotes.xml")]), "t.docx"
    )
    assert att.text.startswith("Before the table\n\n| r0a | r0b |\n| --- | --- |\n| r1a | r1b |")
    assert "r59a" not in att.text and "After the table" not in att.text
    stopped, skipped = att.notices
    assert re.fullmatch(
        r"reading stopped at 2,048 bytes of the [\d,]+ bytes of word/document\.xml: chatpro reads "
        r"at most 2,000 bytes of a Word document's XML \(the text after that is not read\)",
        stopped,
    )
    assert skipped == (
        "skipped word/footnotes.xml (chatpro reads at most 2,000 bytes of a Word document's XML)"
    )
    assert 0 < att.coverage < 0.5 and not att.truncated


def test_docx_within_the_xml_budget_is_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_extract_office import docx, para

    monkeypatch.setattr("chatpro.files.ooxml.CHUNK_BYTES", 256)
    body = "".join(para(f"paragraph {i}") for i in range(60))
    data = docx(body)
    whole = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml").file_size
    monkeypatch.setattr("chatpro.files.ooxml_word.MAX_WORD_XML_BYTES", whole)
    att = load_bytes(data, "t.docx")
    assert "paragraph 0" in att.text and att.text.endswith("paragraph 59")
    assert att.notices == () and att.coverage == 1.0


def test_docx_of_thousands_of_empty_paragraphs_gives_just_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 60 MiB of empty paragraphs took 2-3.6 s; an empty paragraph is now passed over at once,
    # numbered or styled as a heading or not (it shows no number and takes none from the list)
    from tests.test_extract_office import NUMBERING, STYLES, docx, para

    monkeypatch.setattr("chatpro.files.ooxml.CHUNK_BYTES", 256)
    empties = (
        '<w:p w:rsidR="00AB12CD" w:rsidRDefault="00AB12CD"/>'
        '<w:p><w:pPr><w:spacing w:after="0"/></w:pPr></w:p>'
        + para(style="berschrift1")
        + para(num=(1, 0))
        + "<w:p><w:pPr><w:sectPr/></w:pPr><w:r><w:rPr><w:b/></w:rPr></w:r></w:p>"
    ) * 40
    body = (
        empties
        + para("Intro", style="berschrift1")
        + empties
        + para("first", num=(1, 0))
        + empties
        + para("second", num=(1, 0))
        + para(extra='<w:r><w:br w:type="page"/></w:r>')
        + empties
        + para(extra="<w:r><w:t>a</w:t><w:noBreakHyphen/><w:t>b</w:t><w:tab/><w:t>c</w:t></w:r>")
        + empties
    )
    parts = {"styles.xml": STYLES, "numbering.xml": NUMBERING}
    att = load_bytes(
        docx(body, parts, [("styles", "styles.xml"), ("numbering", "numbering.xml")]), "e.docx"
    )
    assert att.text == "# Intro\n1. first\n2. second\na-b\tc"
    assert att.notices == () and not att.truncated


def test_docx_table_of_hyphen_only_cells_keeps_its_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    # 60 MiB of cells holding only a non-breaking hyphen took 2.4-3.4 s; such a cell is now read
    # by the short loop, and a cell of only a tab, break or soft hyphen stays empty
    from tests.test_extract_office import docx, para

    monkeypatch.setattr("chatpro.files.ooxml.CHUNK_BYTES", 256)

    def cell(run: str, props: str = "") -> str:
        return f"<w:tc>{props}<w:p><w:r><w:rPr><w:sz w:val='16'/></w:rPr>{run}</w:r></w:p></w:tc>"

    hyphen, soft = "<w:noBreakHyphen/>", "<w:softHyphen/>"
    row = "<w:tr>{}</w:tr>".format
    rows = row(cell("<w:t>Year</w:t>") + cell("<w:t>Q1</w:t>") + cell("<w:t>Q2</w:t>"))
    rows += row(cell("<w:t>2023</w:t>") + cell(hyphen) + cell(hyphen)) * 30
    rows += row(cell("<w:t>2024</w:t>") + cell(hyphen, "<w:tcPr><w:gridSpan w:val='2'/></w:tcPr>"))
    rows += row(cell("<w:tab/>") + cell(soft) + cell("<w:br/>"))
    rows += row(cell(f"<w:t>12</w:t>{hyphen}<w:t>14</w:t>") + cell(hyphen * 2) + "<w:tc/>")
    att = load_bytes(docx(f"<w:tbl>{rows}</w:tbl>" + para("After")), "h.docx")
    assert att.text == "\n".join(
        [
            "| Year | Q1 | Q2 |",
            "| --- | --- | --- |",
            *["| 2023 | - | - |"] * 30,
            "| 2024 | - |  |",
            "|  |  |  |",
            "| 12-14 | -- |  |",
            "",
            "After",
        ]
    )


def test_a_slide_past_the_xml_budget_is_read_that_far_with_a_notice(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a slide of 65 MB of one-character cells took 2.7 s in the parser alone; no real slide
    # comes near the budget, so a crafted one is read up to it and the deck goes on
    from tests.test_extract_office import huge_slide_deck

    path = tmp_path / "crafted.pptx"
    huge_slide_deck(path, 2_000)  # text boxes "2" .. "2001", about 1 MB of slide XML
    monkeypatch.setattr("chatpro.files.ooxml.CHUNK_BYTES", 4096)
    monkeypatch.setattr("chatpro.files.pptx.MAX_SLIDE_XML_BYTES", 64 * 1024)
    att = load_bytes(path.read_bytes(), "crafted.pptx")
    lines = att.text.splitlines()
    assert "2" in lines and "2001" not in lines
    assert "## Slide 2" in lines and "The end" in lines  # the next slide is read
    (notice,) = att.notices
    assert notice.startswith("reading stopped at ")
    assert notice.endswith(
        " of ppt/slides/slide1.xml: chatpro reads at most 65,536 bytes of a slide's XML"
        " (the text after that is not read)"
    )

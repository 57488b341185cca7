""".docx and .pptx as Markdown: every word a reader sees, once, in the document's shape.

The documents are built here the way Word and PowerPoint write them (the XML a real file holds:
content controls, mc:AlternateContent text boxes, numbering.xml, notes parts, chart and SmartArt
parts); decks come from python-pptx, with parts it cannot write added by hand.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from chatpro.files import load_bytes, load_path
from tests import files_support as fs
from tests.test_files import load_in_child

W_NS = fs.W_NS
NS = (
    f'xmlns:w="{W_NS}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
    'xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram"'
)
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
MIB = 1024 * 1024


def run_(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def para(
    text: str = "", *, style: str = "", num: tuple[int, int] | None = None, extra: str = ""
) -> str:
    ppr = ""
    if style or num:
        ppr = "<w:pPr>"
        ppr += f'<w:pStyle w:val="{style}"/>' if style else ""
        ppr += (
            f'<w:numPr><w:ilvl w:val="{num[1]}"/><w:numId w:val="{num[0]}"/></w:numPr>'
            if num
            else ""
        )
        ppr += "</w:pPr>"
    return f"<w:p>{ppr}{run_(text) if text else ''}{extra}</w:p>"


def part(root: str, body: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{root} {NS}>{body}</w:{root}>'
    )


def docx(
    body: str, parts: dict[str, str] | None = None, rels: list[tuple[str, str]] | None = None
) -> bytes:
    """A .docx whose document.xml holds BODY; PARTS are extra parts under word/, each reached
    from the document through RELS (type, target) in that order."""
    rel_xml = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}{kind}" Target="{target}"/>'
        for i, (kind, target) in enumerate(rels or [], start=1)
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", fs.CONTENT_TYPES_XML)
        zf.writestr("_rels/.rels", fs.RELS_XML)
        zf.writestr("word/document.xml", part("document", f"<w:body>{body}<w:sectPr/></w:body>"))
        zf.writestr(
            "word/_rels/document.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{fs.REL_NS}">{rel_xml}</Relationships>',
        )
        for name, xml in (parts or {}).items():
            zf.writestr(f"word/{name}", xml)
    return buf.getvalue()


def lines(text: str) -> list[str]:
    return text.splitlines()


# --- DOCX ---------------------------------------------------------------------------------


def test_cover_page_table_cells_inside_content_controls_are_read() -> None:
    cell = '<w:tc><w:tcPr><w:tcW w:w="4000"/></w:tcPr>{}</w:tc>'
    sdt_cell = (
        "<w:sdt><w:sdtPr><w:alias w:val='Title'/></w:sdtPr><w:sdtContent>{}</w:sdtContent></w:sdt>"
    )
    row1 = (
        "<w:tr>"
        + sdt_cell.format(cell.format(para("Annual Report 2024")))
        + cell.format(para("Acme GmbH"))
        + "</w:tr>"
    )
    row2 = (
        "<w:sdt><w:sdtContent><w:tr>"
        + sdt_cell.format(cell.format(para("Prepared by Ana")))
        + cell.format(para("Draft"))
        + "</w:tr></w:sdtContent></w:sdt>"
    )
    body = (
        "<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val='Cover Pages'/></w:docPartObj></w:sdtPr>"
        f"<w:sdtContent><w:tbl>{row1}{row2}</w:tbl>{para('Confidential')}</w:sdtContent></w:sdt>"
        + para("Introduction follows")
    )
    text = load_bytes(docx(body), "cover.docx").text
    assert lines(text) == [
        "| Annual Report 2024 | Acme GmbH |",
        "| --- | --- |",
        "| Prepared by Ana | Draft |",
        "",
        "Confidential",
        "Introduction follows",
    ]


def test_text_box_is_read_once_on_its_own_line() -> None:
    box = "<w:txbxContent>{}</w:txbxContent>".format(para("Call us: 555 0100"))
    alternate = (
        "<w:r><mc:AlternateContent><mc:Choice Requires='wps'><w:drawing><wp:anchor><a:graphic>"
        "<a:graphicData uri='http://schemas.microsoft.com/office/word/2010/wordprocessingShape'>"
        f"<wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor>"
        f"</w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox>"
        "</v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )
    body = f"<w:p>{run_('Our office is open daily.')}{alternate}{run_(' Visit us.')}</w:p>"
    text = load_bytes(docx(body), "flyer.docx").text
    assert text.count("Call us: 555 0100") == 1
    assert lines(text) == ["Our office is open daily. Visit us.", "Call us: 555 0100"]


STYLES = part(
    "styles",
    '<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style>'
    '<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>'
    '<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/>'
    '<w:basedOn w:val="berschrift1"/></w:style>'
    '<w:style w:type="paragraph" w:styleId="ChapterHead"><w:name w:val="Chapter Head"/>'
    '<w:pPr><w:outlineLvl w:val="2"/></w:pPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="ListNumber"><w:name w:val="List Number"/>'
    '<w:pPr><w:numPr><w:numId w:val="4"/></w:numPr></w:pPr></w:style>',
)


def _lvl(ilvl: int, fmt: str, text: str, start: int = 1) -> str:
    return (
        f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{start}"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{text}"/></w:lvl>'
    )


NUMBERING = part(
    "numbering",
    '<w:abstractNum w:abstractNumId="10">'
    + _lvl(0, "decimal", "%1.")
    + _lvl(1, "lowerLetter", "%2)")
    + "</w:abstractNum>"
    + '<w:abstractNum w:abstractNumId="11">'
    + _lvl(0, "bullet", "\uf0b7")
    + _lvl(1, "bullet", "o")
    + "</w:abstractNum>"
    + '<w:abstractNum w:abstractNumId="12">'
    + _lvl(0, "upperRoman", "%1.", start=3)
    + "</w:abstractNum>"
    + '<w:num w:numId="1"><w:abstractNumId w:val="10"/></w:num>'
    + '<w:num w:numId="2"><w:abstractNumId w:val="10"/>'
    '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
    + '<w:num w:numId="3"><w:abstractNumId w:val="11"/></w:num>'
    + '<w:num w:numId="4"><w:abstractNumId w:val="12"/></w:num>',
)


def test_headings_lists_with_real_numbers_and_a_restarted_list() -> None:
    body = "".join(
        [
            para("Service Agreement", style="Title"),
            para("Scope", style="berschrift1"),
            para("Deliverables", style="Heading2"),
            para("Phase one", style="ChapterHead"),
            para("Design the site", num=(1, 0)),
            para("Wireframes", num=(1, 1)),
            para("Mockups", num=(1, 1)),
            para("Build the site", num=(1, 0)),
            para("Test the site", num=(1, 0)),
            para("Between the lists"),
            para("Kick-off meeting", num=(2, 0)),
            para("Sign-off", num=(2, 0)),
            para("Laptop", num=(3, 0)),
            para("Charger", num=(3, 1)),
            para("Third clause", style="ListNumber"),
            para("Fourth clause", style="ListNumber"),
        ]
    )
    data = docx(
        body,
        {"styles.xml": STYLES, "numbering.xml": NUMBERING},
        [("styles", "styles.xml"), ("numbering", "numbering.xml")],
    )
    assert lines(load_bytes(data, "agreement.docx").text) == [
        "# Service Agreement",
        "# Scope",
        "## Deliverables",
        "### Phase one",
        "1. Design the site",
        "    a) Wireframes",
        "    b) Mockups",
        "2. Build the site",
        "3. Test the site",
        "Between the lists",
        "1. Kick-off meeting",
        "2. Sign-off",
        "- Laptop",
        "    - Charger",
        "III. Third clause",
        "IV. Fourth clause",
    ]


def test_table_is_a_pipe_table_with_escaped_pipes_and_multi_line_cells() -> None:
    two_lines = para("Logo") + para("Colours")
    body = fs.docx_table([["Item", "Price"], ["A|B test", "100"]]).replace("</w:tbl>", "") + (
        f"<w:tr><w:tc>{two_lines}</w:tc><w:tc>{para('250')}</w:tc></w:tr></w:tbl>"
    )
    text = load_bytes(docx(body), "quote.docx").text
    assert lines(text) == [
        "| Item | Price |",
        "| --- | --- |",
        "| A\\|B test | 100 |",
        "| Logo<br>Colours | 250 |",
    ]


def note(kind: str, note_id: int, text: str, note_type: str = "") -> str:
    typed = f' w:type="{note_type}"' if note_type else ""
    return f'<w:{kind} w:id="{note_id}"{typed}>{para(text)}</w:{kind}>'


def test_footnotes_endnotes_headers_footers_and_comments() -> None:
    fn_ref = '<w:r><w:footnoteReference w:id="{}"/></w:r>'
    body = (
        para("Payment is due in 30 days", extra=fn_ref.format(2))
        + para(
            "Late fees apply", extra=fn_ref.format(3) + '<w:r><w:endnoteReference w:id="1"/></w:r>'
        )
        + '<w:p><w:pPr><w:sectPr><w:headerReference r:id="rId3"/></w:sectPr></w:pPr></w:p>'
        + para("Second section")
    )
    footnotes = part(
        "footnotes",
        note("footnote", -1, "", "separator")
        + note("footnote", 0, "", "continuationSeparator")
        + note("footnote", 2, "Counted from the invoice date.")
        + note("footnote", 3, "At 1% a month."),
    )
    endnotes = part("endnotes", note("endnote", 1, "See the general terms."))
    header = part("hdr", para("ACME Corp - Confidential"))
    footer = part("ftr", para("Page 1 of 2"))
    comments = part(
        "comments",
        '<w:comment w:id="0" w:author="Bo Berg">' + para("Is 30 days agreed?") + "</w:comment>",
    )
    rels = [
        ("header", "header1.xml"),
        ("header", "header1.xml"),  # the same part for two sections
        ("header", "header2.xml"),  # another part with the same words
        ("footer", "footer1.xml"),
        ("footnotes", "footnotes.xml"),
        ("endnotes", "endnotes.xml"),
        ("comments", "comments.xml"),
    ]
    parts = {
        "header1.xml": header,
        "header2.xml": header,
        "footer1.xml": footer,
        "footnotes.xml": footnotes,
        "endnotes.xml": endnotes,
        "comments.xml": comments,
    }
    text = load_bytes(docx(body, parts, rels), "terms.docx").text
    assert text.count("Counted from the invoice date.") == 1
    assert text.count("ACME Corp - Confidential") == 1
    assert lines(text) == [
        "ACME Corp - Confidential",
        "",
        "Payment is due in 30 days[^1]",
        "Late fees apply[^2][^e1]",
        "Second section",
        "",
        "[^1]: Counted from the invoice date.",
        "[^2]: At 1% a month.",
        "[^e1]: See the general terms.",
        "",
        "Page 1 of 2",
        "",
        "Comments:",
        "- Bo Berg: Is 30 days agreed?",
    ]


CHART_XML = (
    '<?xml version="1.0"?><c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><c:chart>'
    "<c:title><c:tx><c:rich><a:p><a:r><a:t>Revenue by quarter</a:t></a:r></a:p></c:rich></c:tx></c:title>"
    "<c:plotArea><c:barChart>{series}</c:barChart></c:plotArea></c:chart></c:chartSpace>"
)


def chart_series(name: str, cats: list[str], values: list[int]) -> str:
    cat_pts = "".join(f'<c:pt idx="{i}"><c:v>{c}</c:v></c:pt>' for i, c in enumerate(cats))
    val_pts = "".join(f'<c:pt idx="{i}"><c:v>{v}</c:v></c:pt>' for i, v in enumerate(values))
    return (
        f"<c:ser><c:tx><c:strRef><c:f>S!B1</c:f><c:strCache><c:pt idx='0'><c:v>{name}</c:v></c:pt>"
        f"</c:strCache></c:strRef></c:tx><c:cat><c:strRef><c:strCache>{cat_pts}</c:strCache></c:strRef></c:cat>"
        f"<c:val><c:numRef><c:numCache>{val_pts}</c:numCache></c:numRef></c:val></c:ser>"
    )


SMARTART_XML = (
    '<?xml version="1.0"?><dgm:dataModel xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><dgm:ptLst>'
    '<dgm:pt modelId="0" type="doc"><dgm:t><a:p/></dgm:t></dgm:pt>'
    '<dgm:pt modelId="1"><dgm:t><a:p><a:r><a:t>Discovery</a:t></a:r></a:p></dgm:t></dgm:pt>'
    '<dgm:pt modelId="2"><dgm:t><a:p><a:r><a:t>Interviews</a:t></a:r></a:p></dgm:t></dgm:pt>'
    '<dgm:pt modelId="3"><dgm:t><a:p><a:r><a:t>Delivery</a:t></a:r></a:p></dgm:t></dgm:pt>'
    '<dgm:pt modelId="9" type="parTrans"><dgm:t><a:p><a:r><a:t>hidden</a:t></a:r></a:p></dgm:t></dgm:pt>'
    "</dgm:ptLst><dgm:cxnLst>"
    '<dgm:cxn modelId="20" srcId="0" destId="3" srcOrd="1"/>'
    '<dgm:cxn modelId="21" srcId="0" destId="1" srcOrd="0"/>'
    '<dgm:cxn modelId="22" srcId="1" destId="2" srcOrd="0"/>'
    '<dgm:cxn modelId="23" type="presOf" srcId="1" destId="9"/>'
    "</dgm:cxnLst></dgm:dataModel>"
)

CHART_LINES = [
    "Chart: Revenue by quarter",
    "| Category | 2023 | 2024 |",
    "| --- | --- | --- |",
    "| Q1 | 10 | 12 |",
    "| Q2 | 20 | 25 |",
]
SMARTART_LINES = ["- Discovery", "  - Interviews", "- Delivery"]


def test_docx_chart_and_smartart_text() -> None:
    graphic = (
        "<w:r><w:drawing><wp:inline><a:graphic><a:graphicData uri='chart'>{}</a:graphicData>"
        "</a:graphic></wp:inline></w:drawing></w:r>"
    )
    body = para("Figure 1", extra=graphic.format("<c:chart r:id='rId1'/>")) + para(
        "Figure 2", extra=graphic.format("<dgm:relIds r:dm='rId2' r:lo='x' r:qs='y' r:cs='z'/>")
    )
    series = chart_series("2023", ["Q1", "Q2"], [10, 20]) + chart_series(
        "2024", ["Q1", "Q2"], [12, 25]
    )
    parts = {
        "charts/chart1.xml": CHART_XML.format(series=series),
        "diagrams/data1.xml": SMARTART_XML,
    }
    rels = [("chart", "charts/chart1.xml"), ("diagramData", "diagrams/data1.xml")]
    text = load_bytes(docx(body, parts, rels), "report.docx").text
    assert lines(text) == ["Figure 1", "", *CHART_LINES, "", "Figure 2", "", *SMARTART_LINES]
    assert "hidden" not in text


def test_cli_extract_prints_docx_markdown(run_offline, tmp_path: Path) -> None:
    path = tmp_path / "brief.docx"
    path.write_bytes(
        fs.docx_bytes(["Deliver the landing page"], [["Task", "Due"], ["Design", "1 March"]])
    )
    result = run_offline("upload", "--extract", str(path))
    assert result.returncode == 0, result.stderr
    assert "| Design | 1 March |" in result.stdout


# --- PPTX ---------------------------------------------------------------------------------


def _deck() -> bytes:
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Roadmap"
    frame = slide.placeholders[1].text_frame
    frame.text = "Research"
    for text, level in (("Interviews", 1), ("Surveys", 1), ("Launch", 0)):
        p = frame.add_paragraph()
        p.text, p.level = text, level
    slide.notes_slide.notes_text_frame.text = "Stress the launch date"
    box = slide.shapes.add_textbox(Inches(5), Inches(5), Inches(3), Inches(1)).text_frame
    box.text = "Hire"
    box.add_paragraph().text = "Train"
    for p in box.paragraphs:  # numbered items, as PowerPoint writes them
        p._p.get_or_add_pPr().insert(0, _auto_num())

    chart_slide = prs.slides.add_slide(prs.slide_layouts[5])
    chart_slide.shapes.title.text = "Revenue"
    data = CategoryChartData()
    data.categories = ["Q1", "Q2"]
    data.add_series("2023", (10, 20))
    data.add_series("2024", (12, 25))
    chart = chart_slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2), Inches(6), Inches(4), data
    ).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "Revenue by quarter"
    group = chart_slide.shapes.add_group_shape()
    inner = group.shapes.add_group_shape()
    inner.shapes.add_textbox(
        Inches(1), Inches(6), Inches(2), Inches(1)
    ).text_frame.text = "Source: ERP"

    table_slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank: no title
    table = table_slide.shapes.add_table(2, 2, Inches(1), Inches(1), Inches(6), Inches(1)).table
    for (r, c), text in {
        (0, 0): "Owner",
        (0, 1): "Task",
        (1, 0): "Ana",
        (1, 1): "Design | UX",
    }.items():
        table.cell(r, c).text = text
    out = io.BytesIO()
    prs.save(out)
    return _with_smartart(out.getvalue())


def _auto_num():  # type: ignore[no-untyped-def]
    from pptx.oxml import parse_xml

    return parse_xml(
        '<a:buAutoNum xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" type="arabicPeriod"/>'
    )


def _with_smartart(data: bytes) -> bytes:
    """Add a SmartArt diagram to slide 3, as PowerPoint stores one (python-pptx cannot)."""
    frame = (
        '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="90" name="Diagram"/><p:cNvGraphicFramePr/>'
        "<p:nvPr/></p:nvGraphicFramePr><p:xfrm><a:off x='0' y='0'/><a:ext cx='1' cy='1'/></p:xfrm>"
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/diagram">'
        '<dgm:relIds xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" '
        'r:dm="rId90" r:lo="rId90" r:qs="rId90" r:cs="rId90"/></a:graphicData></a:graphic></p:graphicFrame>'
    )
    rel = f'<Relationship Id="rId90" Type="{REL}diagramData" Target="../diagrams/data1.xml"/>'
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "ppt/slides/slide3.xml":
                body = body.replace(b"</p:spTree>", frame.encode() + b"</p:spTree>")
            elif info.filename == "ppt/slides/_rels/slide3.xml.rels":
                body = body.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
            dst.writestr(info, body)
        dst.writestr("ppt/diagrams/data1.xml", SMARTART_XML)
    return buf.getvalue()


def test_pptx_titles_bullets_numbers_charts_smartart_tables_and_notes() -> None:
    att = load_bytes(_deck(), "deck.pptx")
    assert att.slides == 3
    assert lines(att.text) == [
        "## Slide 1: Roadmap",
        "",
        "- Research",
        "    - Interviews",
        "    - Surveys",
        "- Launch",
        "1. Hire",
        "2. Train",
        "",
        "Notes:",
        "Stress the launch date",
        "",
        "## Slide 2: Revenue",
        "",
        *CHART_LINES,
        "",
        "Source: ERP",
        "",
        "## Slide 3",
        "",
        "| Owner | Task |",
        "| --- | --- |",
        "| Ana | Design \\| UX |",
        "",
        *SMARTART_LINES,
    ]


def _retyped(data: bytes, content_type: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "[Content_Types].xml":
                body = re.sub(
                    rb"presentationml\.presentation\.main\+xml", content_type.encode(), body
                )
            dst.writestr(info, body)
    return buf.getvalue()


def test_slideshow_and_macro_slideshow_saved_as_pptx_are_read(tmp_path: Path) -> None:
    for ctype in ("presentationml.slideshow.main+xml", "presentationml.template.main+xml"):
        path = tmp_path / "show.pptx"
        path.write_bytes(_retyped(fs.pptx_bytes(), ctype))
        att = load_path(path)
        assert "## Slide 1: Quarterly plan" in att.text, ctype
    macro = fs.pptx_bytes().replace(b"", b"")
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(macro)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "[Content_Types].xml":
                body = body.replace(
                    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                    b"application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
                )
            dst.writestr(info, body)
    assert "Mention the budget risk" in load_bytes(buf.getvalue(), "m.pptx").text


def huge_slide_deck(path: Path, shapes: int) -> None:
    """A deck whose one slide XML holds SHAPES small text boxes (tens of MB of XML), plus a
    second slide with a word to find at the end."""
    from pptx import Presentation

    prs = Presentation()
    prs.slides.add_slide(prs.slide_layouts[6])
    last = prs.slides.add_slide(prs.slide_layouts[6])
    from pptx.util import Inches

    last.shapes.add_textbox(Inches(1), Inches(1), Inches(1), Inches(1)).text_frame.text = "The end"
    out = io.BytesIO()
    prs.save(out)
    shape = (
        '<p:sp><p:nvSpPr><p:cNvPr id="{i}" name="TextBox {i}"/><p:cNvSpPr txBox="1"/><p:nvPr/>'
        '</p:nvSpPr><p:spPr><a:xfrm><a:off x="{i}" y="0"/><a:ext cx="914400" cy="914400"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr><p:txBody><a:bodyPr/><a:lstStyle/>'
        '<a:p><a:r><a:rPr lang="en-US" dirty="0"/><a:t>{i}</a:t></a:r></a:p></p:txBody></p:sp>'
    )

    def fill(body: bytes) -> bytes:
        head, tail = body.split(b"</p:spTree>")
        filler = "".join(shape.format(i=i) for i in range(2, shapes + 2)).encode()
        return head + filler + b"</p:spTree>" + tail

    save_with_slide_xml(out.getvalue(), path, fill)


def save_with_slide_xml(deck: bytes, path: Path, edit: Callable[[bytes], bytes]) -> None:
    """Write DECK to PATH with the first slide's XML changed by EDIT (shapes python-pptx cannot
    make in bulk)."""
    with (
        zipfile.ZipFile(io.BytesIO(deck)) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "ppt/slides/slide1.xml":
                body = edit(body)
            dst.writestr(info, body)


def test_a_slide_of_tens_of_megabytes_is_read_in_little_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.pptx"
    huge_slide_deck(path, 60_000)
    result, peak_kib = load_in_child(path)
    assert result["refused"] is False
    assert int(str(result["chars"])) > 60_000 * 4
    assert peak_kib < 150 * 1024, peak_kib


def test_a_word_table_row_of_thousands_of_cells_is_cut_at_the_column_cap() -> None:
    from chatpro.files.tabular import MAX_TABLE_COLUMNS

    header = [f"h{i}" for i in range(MAX_TABLE_COLUMNS + 50)]
    data = fs.docx_bytes(["Before"], [header, ["v"] * len(header)], ["After"])
    lines = load_bytes(data, "wide.docx").text.splitlines()
    head = next(line for line in lines if line.startswith("| h0 |"))
    assert head.count(" | ") == MAX_TABLE_COLUMNS - 1
    assert head.endswith(f"| h{MAX_TABLE_COLUMNS - 1} |")
    assert "After" in lines


def test_a_paragraph_inside_thousands_of_content_controls_is_read() -> None:
    deep = "<w:sdt><w:sdtContent>" * 3000
    body = deep + fs.docx_paragraph("Deep inside") + "</w:sdtContent></w:sdt>" * 3000
    text = load_bytes(fs.docx_bytes(document=fs.document_xml(body)), "deep.docx").text
    assert text == "Deep inside"


def test_a_dense_table_of_thousands_of_tiny_cells_is_read_whole() -> None:
    # a spreadsheet pasted into Word: 6,000 rows of ten one-word cells, some with the properties
    # Word writes, about 400,000 elements over several of the parser's chunks; then rows whose
    # cells are merged, numbered, styled or split into paragraphs, in a content control
    plain = "<w:tc><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc>"
    dressed = (
        '<w:tc><w:tcPr><w:tcW w:w="960" w:type="dxa"/></w:tcPr><w:p w:rsidR="00A1">'
        '<w:pPr><w:spacing w:after="0"/></w:pPr><w:r><w:rPr><w:b/></w:rPr><w:t>{}</w:t></w:r>'
        "</w:p></w:tc>"
    )
    rows = [
        [f"r{r}c{c}" if (r * 7 + c) % 13 else f"{r}|{c}" for c in range(10)] for r in range(6000)
    ]
    xml_rows = "".join(
        "<w:tr>"
        + "".join((dressed if (r + c) % 2 else plain).format(text) for c, text in enumerate(row))
        + "</w:tr>"
        for r, row in enumerate(rows)
    )
    merged = (
        '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr>'
        + para("Merged")
        + "</w:tc>"
        + "".join(plain.format(f"m{c}") for c in range(2, 10))
        + "</w:tr>"
    )
    kinds = (
        "<w:sdt><w:sdtContent><w:tr>"
        + "".join(
            f"<w:tc>{cell}</w:tc>"
            for cell in [
                para("Design", num=(1, 0)),
                para("Wireframes", num=(1, 1)),
                para("Scope", style="berschrift1"),
                para("Logo") + para("A|B"),
                "<w:p><w:r><w:t>x</w:t><w:tab/><w:t>y</w:t><w:br/><w:t>z</w:t></w:r></w:p>",
            ]
        )
        + "</w:tr></w:sdtContent></w:sdt>"
    )
    body = para("Before") + f"<w:tbl>{xml_rows}{merged}{kinds}</w:tbl>" + para("After")
    data = docx(
        body,
        {"styles.xml": STYLES, "numbering.xml": NUMBERING},
        [("styles", "styles.xml"), ("numbering", "numbering.xml")],
    )
    assert len(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")) > 4 * MIB

    def pipe(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    escaped = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    assert lines(load_bytes(data, "export.docx").text) == [
        "Before",
        "",
        pipe(escaped[0]),
        "|" + " --- |" * 10,
        *(pipe(row) for row in escaped[1:]),
        pipe(["Merged", "", *(f"m{c}" for c in range(2, 10))]),
        pipe(["1. Design", "a) Wireframes", "# Scope", "Logo<br>A\\|B", "x y<br>z", *[""] * 5]),
        "",
        "After",
    ]


def test_a_slide_with_a_dense_table_of_tiny_cells_is_read_whole_in_little_memory(
    tmp_path: Path,
) -> None:
    # a spreadsheet pasted onto a slide: 9,000 rows of ten tiny cells as PowerPoint writes them
    # (12 MB of slide XML, about 800,000 elements over a dozen of the parser's chunks) took
    # 3 s and 165 MB; then rows whose cells are merged, numbered, bulleted or split
    from pptx import Presentation
    from pptx.util import Inches

    tiny = (
        '<a:tc><a:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US" dirty="0"/>'
        "<a:t>{}</a:t></a:r></a:p></a:txBody><a:tcPr/></a:tc>"
    )
    rows = [
        [f"r{r}c{c}" if (r * 7 + c) % 13 else f" {r}|{c} " for c in range(10)] for r in range(9000)
    ]
    xml_rows = "".join(
        '<a:tr h="370840">' + "".join(tiny.format(text) for text in row) + "</a:tr>" for row in rows
    )

    def tc(paragraphs: str, attrs: str = "") -> str:
        return f"<a:tc{attrs}><a:txBody><a:bodyPr/><a:lstStyle/>{paragraphs}</a:txBody></a:tc>"

    def p(text: str, props: str = "") -> str:
        return f"<a:p>{props}<a:r><a:t>{text}</a:t></a:r><a:endParaRPr/></a:p>"

    numbered = '<a:pPr><a:buAutoNum type="arabicPeriod"/></a:pPr>'
    odd = (
        "<a:tr>"
        + tc(p("Merged"), ' gridSpan="2"')
        + tc(p("hidden"), ' hMerge="1"')
        + tc(p("under"), ' vMerge="1"')
        + tc(p("Design", numbered) + p("Build", numbered))
        + tc(p("Item", '<a:pPr marL="0"><a:buChar char="•"/></a:pPr>'))
        + tc(p("Logo", '<a:pPr algn="ctr"/>') + p("A|B"))
        + tc("<a:p><a:r><a:t>x</a:t></a:r><a:br/><a:r><a:t>y\tz</a:t></a:r></a:p>")
        + tc('<a:p><a:fld id="{1}" type="slidenum"><a:t>7</a:t></a:fld></a:p>')
        + tc("<a:p><a:endParaRPr/></a:p>")
        + "<a:tc><a:tcPr/></a:tc></a:tr>"
    )
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Export"
    slide.shapes.add_table(2, 10, Inches(1), Inches(1), Inches(8), Inches(1))
    slide.shapes.add_textbox(Inches(1), Inches(6), Inches(2), Inches(1)).text_frame.text = "After"
    slide.notes_slide.notes_text_frame.text = "Read every row"
    last = prs.slides.add_slide(prs.slide_layouts[6])
    last.shapes.add_textbox(Inches(1), Inches(1), Inches(2), Inches(1)).text_frame.text = "The end"
    out = io.BytesIO()
    prs.save(out)
    path = tmp_path / "export.pptx"

    def fill(body: bytes) -> bytes:
        start, end = body.index(b"<a:tr "), body.index(b"</a:tbl>")
        body = body[:start] + (xml_rows + odd).encode() + body[end:]
        assert len(body) > 12 * MIB
        return body

    save_with_slide_xml(out.getvalue(), path, fill)

    def pipe(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    escaped = [[cell.strip().replace("|", "\\|") for cell in row] for row in rows]
    att = load_path(path)
    assert lines(att.text) == [
        "## Slide 1: Export",
        "",
        pipe(escaped[0]),
        "|" + " --- |" * 10,
        *(pipe(row) for row in escaped[1:]),
        pipe(["Merged", "", "", "1. Design<br>2. Build", "- Item", "Logo<br>A\\|B"])
        + " x<br>y z | 7 |  |  |",
        "",
        "After",
        "",
        "Notes:",
        "Read every row",
        "",
        "## Slide 2",
        "",
        "The end",
    ]
    assert not att.truncated and att.notices == ()
    result, peak_kib = load_in_child(path)
    assert result["refused"] is False and result["chars"] == len(att.text)
    assert peak_kib < 150 * 1024, peak_kib

"""The types beyond the brief (.csv .tsv .xlsx .odt .odp .rtf .eml .ipynb and code/config files):
what a user would check in each extraction, each refusal with its reason, and that no U+FFFD,
surrogate or control character from any document gets through."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from chatpro.errors import ExitCode, FileRefused
from chatpro.files import load_bytes, load_path, sniff_document
from chatpro.files.tabular import MAX_TABLE_ROWS
from tests import files_support as fs

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "files" / "newtypes"
MIB = 1024 * 1024
BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")


def refused(data: bytes, name: str) -> str:
    with pytest.raises(FileRefused) as info:
        load_bytes(data, name)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert "\n" not in info.value.message
    assert info.value.message.startswith(f"{name}: ")
    return info.value.message


def clean(text: str) -> str:
    assert not BAD.search(text), repr(BAD.search(text))
    return text


def zip_bytes(parts: dict[str, str | bytes], *, first: tuple[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if first is not None:
            zf.writestr(first[0], first[1], compress_type=zipfile.ZIP_STORED)
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- .xlsx --------------------------------------------------------------------------------

SML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RNS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def sheet_xml(rows: str) -> str:
    return f'<worksheet xmlns="{SML}"><dimension ref="A1:E9"/><sheetData>{rows}</sheetData></worksheet>'


def xlsx_bytes(sheets: dict[str, str], shared: list[str], *, date1904: bool = False) -> bytes:
    """A workbook the way Excel writes one: shared strings, a styles part with a builtin date
    format (14) and a custom one, formulas with their cached values."""
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1)
    )
    ctypes = (
        f'<Types xmlns="{fs.CT_NS}"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{XLSX_MAIN}"/>{overrides}</Types>'
    )
    root_rels = (
        f'<Relationships xmlns="{PKG_RELS}"><Relationship Id="rId1" '
        f'Type="{fs.OFFICE_DOC_REL}" Target="xl/workbook.xml"/></Relationships>'
    )
    sheet_list = "".join(
        f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1)
    )
    pr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
    workbook = (
        f'<workbook xmlns="{SML}" xmlns:r="{RNS}">{pr}<sheets>{sheet_list}</sheets></workbook>'
    )
    base = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{base}worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    )
    rels += f'<Relationship Id="rS" Type="{base}sharedStrings" Target="sharedStrings.xml"/>'
    rels += f'<Relationship Id="rY" Type="{base}styles" Target="/xl/styles.xml"/>'
    sst = "".join(f"<si><t>{s}</t></si>" for s in shared)
    styles = (
        f'<styleSheet xmlns="{SML}"><numFmts count="1">'
        '<numFmt numFmtId="164" formatCode="dd/mm/yyyy\\ hh:mm"/></numFmts>'
        '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/>'
        '<xf numFmtId="4"/></cellXfs></styleSheet>'
    )
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": ctypes,
        "_rels/.rels": root_rels,
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG_RELS}">{rels}</Relationships>',
        "xl/sharedStrings.xml": f'<sst xmlns="{SML}">{sst}</sst>',
        "xl/styles.xml": styles,
    }
    for i, rows in enumerate(sheets.values(), 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = sheet_xml(rows)
    return zip_bytes(parts)


INVOICE_ROWS = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>'
    '<row r="2"><c r="A2" t="s"><v>4</v></c><c r="B2" s="3"><v>1200.5</v></c>'
    '<c r="C2" s="1"><v>46096</v></c><c r="D2" t="b"><v>1</v></c></row>'
    '<row r="3"><c r="A3" t="inlineStr"><is><t>Hosting | yearly</t></is></c>'
    '<c r="B3"><f>B2*2</f><v>2401</v></c><c r="C3" s="2"><v>46113.5</v></c>'
    '<c r="D3" t="b"><v>0</v></c></row>'
    '<row r="5"><c r="A5" t="str"><f>A2&amp;"!"</f><v>Logo design!</v></c>'
    '<c r="B5" t="e"><v>#DIV/0!</v></c></row>'
)


def test_xlsx_sheets_are_tables_of_cached_values() -> None:
    data = xlsx_bytes(
        {"Invoice 2026": INVOICE_ROWS, "Notes": '<row r="2"><c r="B2" t="s"><v>5</v></c></row>'},
        ["Item", "Cost", "Due", "Paid", "Logo design", "Call Zoë on Monday"],
    )
    att = load_bytes(data, "invoice.xlsx")
    assert att.kind == "xlsx" and att.label == "Excel workbook"
    assert att.text == (
        "## Sheet: Invoice 2026\n"
        "| Item | Cost | Due | Paid |\n"
        "|---|---|---|---|\n"
        "| Logo design | 1200.5 | 2026-03-15 | TRUE |\n"
        "| Hosting \\| yearly | 2401 | 2026-04-01 12:00:00 | FALSE |\n"
        "| Logo design! | #DIV/0! |  |  |\n"
        "\n"
        "## Sheet: Notes\n"
        "| Call Zoë on Monday |\n"
        "|---|"
    )
    assert "B2*2" not in att.text


def test_xlsx_1904_dates() -> None:
    data = xlsx_bytes({"S": '<row r="1"><c r="A1" s="1"><v>44634</v></c></row>'}, [], date1904=True)
    assert "2026-03-15" in load_bytes(data, "mac.xlsx").text


def test_xlsx_written_by_openpyxl() -> None:
    import datetime

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws.append(["Task", "Hours", "Start"])
    ws.append(["Wireframes", 12, datetime.date(2026, 2, 2)])
    wb.create_sheet("Empty")
    buf = io.BytesIO()
    wb.save(buf)
    text = load_bytes(buf.getvalue(), "budget.xlsx").text
    assert "## Sheet: Budget\n| Task | Hours | Start |" in text
    assert "| Wireframes | 12 | 2026-02-02 |" in text
    assert "## Sheet: Empty\n(empty sheet)" in text


def test_xlsx_rows_are_capped_with_a_notice() -> None:
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>row {i}</t></is></c></row>'
        for i in range(1, MAX_TABLE_ROWS + 501)
    )
    att = load_bytes(xlsx_bytes({"Big": rows}, []), "big.xlsx")
    assert f"| row {MAX_TABLE_ROWS} |" in att.text
    assert f"| row {MAX_TABLE_ROWS + 1} |" not in att.text
    assert att.notices == (
        f"sheet Big: only the first {MAX_TABLE_ROWS:,} of {MAX_TABLE_ROWS + 500:,} rows are sent "
        "(split the table to send the rest)",
    )


def test_xlsx_refusals() -> None:
    plain = zip_bytes({"notes.txt": "hello"})
    assert (
        refused(plain, "data.xlsx")
        == "data.xlsx: not an Excel workbook (it looks like a ZIP archive)"
    )
    assert refused(fs.docx_bytes(["x"]), "data.xlsx") == (
        "data.xlsx: not an Excel workbook (it is a Word document)"
    )
    assert refused(fs.pdf_bytes(["x"]), "data.xlsx") == (
        "data.xlsx: not an Excel workbook (it looks like a PDF file)"
    )
    assert refused(b"Name,Cost\nA,1\n", "data.xlsx") == (
        "data.xlsx: not an Excel workbook (it looks like a text file)"
    )


def test_xlsx_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    good = xlsx_bytes({"S": INVOICE_ROWS}, ["a", "b", "c", "d", "e"])
    entries = []
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        for info in zf.infolist():
            raw = zf.read(info)
            entries.append(
                (info.filename, fs._deflate(raw), __import__("zlib").crc32(raw), len(raw), 8)
            )
    zeros, crc = fs.zeros_deflated(1024 * MIB)
    path = tmp_path / "bomb.xlsx"
    fs.write_raw_zip(path, [*entries, ("xl/media/big.bin", zeros, crc, 1024 * MIB, 8)])
    with pytest.raises(
        FileRefused, match=r"^bomb\.xlsx: looks like a zip bomb \(part xl/media/big\.bin"
    ):
        load_path(path)


# --- .csv / .tsv --------------------------------------------------------------------------


def test_csv_is_a_pipe_table_with_quotes_and_bom() -> None:
    data = (
        "\ufeffClient,Amount,Note\r\n"
        '"Acme, Inc.",1200,"said ""yes"""\r\n'
        'Zoë Ünal,80,"two\nlines | pipe"\r\n'
    ).encode()
    att = load_bytes(data, "clients.csv")
    assert att.mime == "text/csv"
    assert att.text == (
        "| Client | Amount | Note |\n"
        "|---|---|---|\n"
        '| Acme, Inc. | 1200 | said "yes" |\n'
        "| Zoë Ünal | 80 | two lines \\| pipe |"
    )


def test_european_csv_with_semicolons_and_tsv() -> None:
    text = load_bytes("Datum;Betrag\n01.03.2026;1.200,50\n".encode("cp1252"), "export.csv").text
    assert text == "| Datum | Betrag |\n|---|---|\n| 01.03.2026 | 1.200,50 |"
    tsv = load_bytes(b"a\tb, c\n1\t2\n", "x.tsv")
    assert tsv.mime == "text/tab-separated-values"
    assert tsv.text == "| a | b, c |\n|---|---|\n| 1 | 2 |"


def test_csv_rows_capped_with_notice() -> None:
    data = "n\n" + "".join(f"{i}\n" for i in range(MAX_TABLE_ROWS + 10))
    att = load_bytes(data.encode(), "n.csv")
    assert att.text.count("\n") == MAX_TABLE_ROWS  # header, rule, MAX - 1 data rows
    assert att.notices and "of 2,011 rows" in att.notices[0]


def test_csv_columns_capped_with_notice_and_a_runaway_line_cut() -> None:
    from chatpro.files.tabular import MAX_LINE_CHARS, MAX_TABLE_COLUMNS

    header = ",".join(f"c{i}" for i in range(300))
    att = load_bytes(f"{header}\n{','.join(['1'] * 300)}\n".encode(), "wide.csv")
    lines = att.text.splitlines()
    assert lines[0].startswith("| c0 | c1 |") and lines[0].endswith(f"| c{MAX_TABLE_COLUMNS - 1} |")
    assert att.notices == (
        "table: only the first 256 of 300 columns are sent (split the table to send the rest)",
    )
    # a line of millions of commas is cut before it is split, and said to be wider still
    flood = b"a," * (MAX_LINE_CHARS * 5) + b"\nx,y\n"
    att = load_bytes(flood, "flood.csv")
    assert att.text.splitlines()[2].startswith("| x | y |")
    assert att.notices == (
        f"table: only the first 256 of more than {MAX_LINE_CHARS // 2 + 1:,} columns are sent "
        "(split the table to send the rest)",
    )


def test_csv_that_is_binary_is_refused() -> None:
    assert refused(fs.PNG_BYTES, "a.csv").startswith("a.csv: ")


# --- OpenDocument -------------------------------------------------------------------------

ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"'
)


def odf_bytes(mime: str, body: str, styles: str = "", master_pages: str = "") -> bytes:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS}>'
        f"<office:automatic-styles>{styles}</office:automatic-styles>"
        f"<office:body>{body}</office:body></office:document-content>"
    )
    parts = {"content.xml": content, "META-INF/manifest.xml": "<m/>"}
    if master_pages:
        parts["styles.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {ODF_NS}>'
            f"<office:master-styles>{master_pages}</office:master-styles></office:document-styles>"
        )
    return zip_bytes(parts, first=("mimetype", mime))


ODT = "application/vnd.oasis.opendocument.text"
ODP = "application/vnd.oasis.opendocument.presentation"


def test_odt_written_by_libreoffice() -> None:
    att = load_path(FIXTURES / "brief-libreoffice.odt")
    assert att.mime == ODT
    text = clean(att.text)
    assert text.startswith("# Project Brief\n")
    assert "## Deliverables" in text
    assert "1. Logo redesign\n2. Landing page\n  - Hero section\n- Weekly status call" in text
    assert "| Item | Budget |\n|---|---|\n| Design | €1,200 |\n| Développement | €3,400 |" in text
    assert "Contact: Zoë Ünal — 日本語テキスト ✓" in text


def test_odt_frames_notes_comments_and_repeated_cells() -> None:
    body = (
        "<office:text><text:sequence-decls/>"
        '<text:h text:outline-level="2">Scope</text:h>'
        '<text:p>Deliver<text:s text:c="2"/>by Friday'
        '<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation>'
        "<text:note-body><text:p>Friday 13 March.</text:p></text:note-body></text:note>."
        "<draw:frame><draw:text-box><text:p>Boxed remark</text:p></draw:text-box></draw:frame>"
        "<office:annotation><text:p>check with Bob</text:p></office:annotation></text:p>"
        "<text:section><text:p>In a section</text:p></text:section>"
        "<table:table><table:table-row><table:table-cell><text:p>k</text:p></table:table-cell>"
        '<table:table-cell table:number-columns-repeated="16000"/></table:table-row>'
        "<table:table-row><table:table-cell><text:p>v</text:p></table:table-cell></table:table-row>"
        "</table:table><text:tracked-changes><text:p>deleted words</text:p></text:tracked-changes>"
        "</office:text>"
    )
    text = load_bytes(odf_bytes(ODT, body), "brief.odt").text
    assert text == (
        "## Scope\n\n"
        "Deliver  by Friday[^1]. [Comment: check with Bob]\n"
        "Boxed remark\n"
        "In a section\n\n"
        "| k |\n|---|\n| v |\n\n"
        "[^1]: Friday 13 March."
    )


def test_odp_slides_titles_and_notes() -> None:
    def frame(cls: str, text: str) -> str:
        return (
            f'<draw:frame presentation:class="{cls}"><draw:text-box><text:p>{text}</text:p>'
            "</draw:text-box></draw:frame>"
        )

    body = (
        "<office:presentation>"
        f'<draw:page draw:name="p1">{frame("title", "Kickoff")}{frame("outline", "Budget: €12,000")}'
        f"<presentation:notes>{frame('notes', 'Mention the deadline')}</presentation:notes></draw:page>"
        f'<draw:page draw:name="p2">{frame("title", "Timeline")}</draw:page>'
        "</office:presentation>"
    )
    att = load_bytes(odf_bytes(ODP, body), "deck.odp")
    assert att.slides == 2
    assert att.text == (
        "## Slide 1\n### Kickoff\nBudget: €12,000\nNotes:\nMention the deadline\n\n"
        "## Slide 2\n### Timeline"
    )


def test_odf_refusals() -> None:
    assert refused(odf_bytes(ODP, "<office:presentation/>"), "x.odt") == (
        "x.odt: not an OpenDocument text (it is an OpenDocument presentation)"
    )
    assert refused(zip_bytes({"a.txt": "x"}), "x.odp") == (
        "x.odp: not an OpenDocument presentation (it looks like a ZIP archive)"
    )
    assert refused(fs.docx_bytes(["x"]), "x.odt") == (
        "x.odt: not an OpenDocument text (it looks like a Word document)"
    )
    assert refused(odf_bytes(ODT, "<office:text><text:p>x</office:text>"), "x.odt") == (
        "x.odt: corrupt OpenDocument text (its content.xml does not parse)"
    )


# --- .rtf ---------------------------------------------------------------------------------


def test_rtf_written_by_libreoffice() -> None:
    text = clean(load_path(FIXTURES / "brief-libreoffice.rtf").text)
    assert "Project Brief\nClient: Acme GmbH. Deadline 15 March 2026." in text
    assert "| Design | €1,200 |\n| Développement | €3,400 |" in text
    assert "Contact: Zoë Ünal — 日本語テキスト ✓" in text
    assert "• \tHero section" in text or "•\tHero section" in text
    assert "Liberation" not in text and "Times New Roman" not in text  # the font table


def test_rtf_unicode_escapes_code_pages_and_destinations() -> None:
    rtf = (
        rb"{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0 Arial;}}{\colortbl;\red0\green0\blue0;}"
        rb"{\info{\title Hidden title}{\author Bob}}{\*\generator Riched20;}"
        rb"\pard \'cf\'f0\'e8\'e2\'e5\'f2 \u8364? and \uc2\u26085\'93\'fa\uc1  end\par"
        rb"{\pict\wmetafile8 0a0b0c0d}Smile \u-10179?\u-8704?\line next\tab col\par"
        rb"{\field{\*\fldinst HYPERLINK \"http://x\"}{\fldrslt see link}}\par}"
    )
    att = load_bytes(rtf, "letter.rtf")
    assert att.mime == "application/rtf"
    assert att.text == "Привет € and 日 end\nSmile 😀\nnext\tcol\nsee link"


def test_rtf_headings_from_styles_and_outline_levels() -> None:
    rtf = (
        rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\stylesheet{\s0 Normal;}{\s1\outlinelevel0 Titel 1;}"
        rb"{\s2 heading 2;}{\s3 Quote;}}"
        rb"\pard\plain\s1 Introduction\par\pard\s0 Body text.\par\pard\s2 Scope\par"
        rb"\pard\s3 A quote.\par\pard\outlinelevel2 Details\par\pard Plain end.\par}"
    )
    assert load_bytes(rtf, "h.rtf").text == (
        "# Introduction\nBody text.\n## Scope\nA quote.\n### Details\nPlain end."
    )


def test_rtf_headers_and_footers_once_at_the_end() -> None:
    rtf = (
        rb"{\rtf1\ansi{\header\pard Acme confidential\par}{\headerf\pard Acme confidential\par}"
        rb"{\footer\pard Page {\field{\*\fldinst PAGE}{\fldrslt 1}}\par}"
        rb"\pard Offer text\par\pard Second\par}"
    )
    assert load_bytes(rtf, "hf.rtf").text == (
        "Offer text\nSecond\n\n## Headers and footers\n\nAcme confidential\nPage 1"
    )


def test_rtf_nested_past_the_kept_depth_still_unwinds() -> None:
    from chatpro.files.rtf import MAX_GROUP_DEPTH

    deep = MAX_GROUP_DEPTH + 500
    data = b"{\\rtf1 {\\*\\generator " + b"{" * deep + b"hidden" + b"}" * deep + b"} Shown\\par}"
    assert load_bytes(data, "deep.rtf").text.strip() == "Shown"  # the skipped group unwound


def test_rtf_refusals() -> None:
    assert refused(b"Dear client,\nthanks.\n", "letter.rtf") == (
        "letter.rtf: not an RTF document (it looks like a text file)"
    )
    assert refused(fs.pdf_bytes(["x"]), "letter.rtf") == (
        "letter.rtf: not an RTF document (it looks like a PDF file)"
    )


# --- .eml ---------------------------------------------------------------------------------


def email_bytes(*, html_only: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Zoë Ünal <zoe@acme.example>"
    msg["To"] = "me@freelancer.example"
    msg["Cc"] = "pm@acme.example"
    msg["Date"] = "Tue, 03 Mar 2026 09:15:00 +0100"
    msg["Subject"] = "Angebot für das Redesign — bitte bis Freitag"
    if html_only:
        msg.set_content(
            "<html><head><style>p{color:red}</style></head><body><p>Hallo,</p>"
            "<p>see the <b>attached</b> invoice.</p><ul><li>Logo</li></ul></body></html>",
            subtype="html",
        )
    else:
        msg.set_content("Hallo,\n\nplease quote for the redesign by Friday.\n")
        msg.add_alternative("<p>HTML twin that must not repeat</p>", subtype="html")
    msg.add_attachment(
        fs.pdf_bytes(["Invoice total 1,250 EUR due 31 March"]),
        maintype="application",
        subtype="pdf",
        filename="invoice.pdf",
    )
    msg.add_attachment(
        b"Item,Cost\nLogo,800\n", maintype="text", subtype="csv", filename="costs.csv"
    )
    msg.add_attachment(
        b"PK\x05\x06" + bytes(18), maintype="application", subtype="zip", filename="assets.zip"
    )
    return msg.as_bytes()


def test_eml_headers_body_and_attachments() -> None:
    att = load_bytes(email_bytes(), "offer.eml")
    assert att.mime == "message/rfc822"
    text = clean(att.text)
    assert text.startswith(
        "From: Zoë Ünal <zoe@acme.example>\nTo: me@freelancer.example\nCc: pm@acme.example\n"
        "Date: Tue, 03 Mar 2026 09:15:00 +0100\n"
        "Subject: Angebot für das Redesign — bitte bis Freitag\n\n"
        "Hallo,\n\nplease quote for the redesign by Friday.\n"
    )
    assert "HTML twin" not in text
    assert "## Attachment: invoice.pdf\nInvoice total 1,250 EUR due 31 March" in text
    assert "## Attachment: costs.csv\n| Item | Cost |\n|---|---|\n| Logo | 800 |" in text
    assert "## Attachment: assets.zip\n(not extracted: '.zip' files are not supported" in text
    assert att.notices == ("attachment assets.zip not extracted ('.zip' files are not supported)",)


def test_eml_html_body_becomes_text() -> None:
    text = load_bytes(email_bytes(html_only=True), "m.eml").text
    assert "Hallo,\n\nsee the attached invoice.\n\n- Logo" in text
    assert "color:red" not in text and "<p>" not in text


def test_eml_refused_attachment_is_named_with_its_reason() -> None:
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@b.example", "files"
    msg.set_content("see attached")
    msg.add_attachment(
        b"not a pdf at all", maintype="application", subtype="pdf", filename="scan.pdf"
    )
    att = load_bytes(msg.as_bytes(), "m.eml")
    assert "## Attachment: scan.pdf\n(not extracted: not a PDF" in att.text
    assert att.notices[0].startswith("attachment scan.pdf: not a PDF")


def test_eml_refusals() -> None:
    assert refused(b"Just some notes\nno headers here\n", "m.eml") == (
        "m.eml: not an email (no mail headers such as From: and Subject:)"
    )
    assert refused(fs.pdf_bytes(["x"]), "m.eml") == "m.eml: not an email (it looks like a PDF file)"


# --- code, config and notebooks -----------------------------------------------------------

CODE_SAMPLES = {
    ".c": '#include <stdio.h>\nint main(void) { puts("hi"); }\n',
    ".h": "#pragma once\nint add(int, int);\n",
    ".hpp": "template <typename T> T twice(T x) { return 2 * x; }\n",
    ".go": 'package main\nfunc main() { println("hi") }\n',
    ".rs": 'fn main() { println!("hi"); }\n',
    ".kt": 'fun main() = println("hi")\n',
    ".swift": 'print("hi")\n',
    ".scala": 'object A extends App { println("hi") }\n',
    ".sql": "SELECT name FROM clients WHERE budget > 1000;\n",
    ".yaml": "client: Acme\nbudget: 5000\n",
    ".yml": "steps:\n  - run: make\n",
    ".toml": '[project]\nname = "site"\n',
    ".xml": '<?xml version="1.0"?><invoice total="1250"/>\n',
}


@pytest.mark.parametrize("ext", sorted(CODE_SAMPLES))
def test_code_and_config_types_are_read_as_text(ext: str) -> None:
    att = load_bytes(CODE_SAMPLES[ext].encode(), f"file{ext}")
    assert att.kind == "text"
    assert att.text == CODE_SAMPLES[ext].rstrip("\n") or att.text == CODE_SAMPLES[ext]


def notebook(cells: list[dict[str, object]], language: str = "python") -> bytes:
    return json.dumps(
        {
            "nbformat": 4,
            "metadata": {"kernelspec": {"language": language, "name": "k"}},
            "cells": cells,
        }
    ).encode()


def test_ipynb_cells_in_order_with_their_type() -> None:
    cells: list[dict[str, object]] = [
        {"cell_type": "markdown", "source": ["# Churn analysis\n", "Data from March."]},
        {
            "cell_type": "code",
            "execution_count": 3,
            "source": "df = load()\ndf.head()",
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["loaded 120 rows\n"]},
                {
                    "output_type": "execute_result",
                    "data": {"text/plain": ["   id  churn\n0   1  yes"], "image/png": "AAAA"},
                },
            ],
        },
        {"cell_type": "raw", "source": "raw text"},
    ]
    att = load_bytes(notebook(cells), "analysis.ipynb")
    assert att.mime == "application/x-ipynb+json"
    assert att.text == (
        "### Markdown cell 1\n# Churn analysis\nData from March.\n\n"
        "### Code cell 2 [3]\n```python\ndf = load()\ndf.head()\n```\n"
        "Output:\n```text\nloaded 120 rows\n   id  churn\n0   1  yes\n```\n\n"
        "### Raw cell 3\nraw text"
    )
    assert "AAAA" not in att.text


def test_ipynb_invalid_json_is_refused_as_corrupt() -> None:
    assert (
        refused(b'{"cells": [', "a.ipynb")
        == "a.ipynb: corrupt Jupyter notebook (invalid JSON at line 1)"
    )
    assert refused(b'{"x": 1}', "a.ipynb") == "a.ipynb: not a Jupyter notebook (no cells)"


# --- nothing unreadable reaches the model ---------------------------------------------------


def test_txt_control_characters_and_replacement_chars_are_dropped() -> None:
    data = "Total:\x1b[31m 1200\x07 EUR\r\nnext\x85line\ufffd\x7f end\rold mac\tok\n".encode()
    att = load_bytes(data, "notes.txt")
    assert att.text == "Total:[31m 1200 EUR\nnextline end\nold mac\tok\n"


def test_csv_control_character_is_dropped() -> None:
    att = load_bytes(b"name,code\nAcme,\x1b\x0cX1\n", "c.csv")
    assert att.text.endswith("| Acme | X1 |")


def test_surrogates_and_nul_from_json_are_dropped() -> None:
    cells = [{"cell_type": "markdown", "source": "ok \ud83d and \ud83d\ude00 \x00nul \x1besc"}]
    assert load_bytes(notebook(cells), "n.ipynb").text == "### Markdown cell 1\nok  and 😀 nul esc"


def test_rtf_nul_and_unpaired_surrogate_escapes_are_dropped() -> None:
    rtf = rb"{\rtf1 a\'00b\'1bc \u-10179? d \u0? e\par}"
    assert load_bytes(rtf, "x.rtf").text == "abc  d  e"


def test_eml_quoted_printable_controls_are_dropped() -> None:
    raw = (
        b"From: a@b.example\r\nSubject: =?utf-8?q?Hi=1B=00there?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        b"\r\nline=00one=1B=EF=BF=BD end\r\n"
    )
    text = load_bytes(raw, "m.eml").text
    assert clean(text) == "From: a@b.example\nSubject: Hithere\n\nlineone end"


def test_xlsx_cell_control_characters_are_dropped() -> None:
    rows = '<row r="1"><c r="A1" t="inlineStr"><is><t>tab\x09 bell_x001B_x&#xFFFD;y_x0007_</t></is></c></row>'
    assert (
        load_bytes(xlsx_bytes({"S": rows}, []), "c.xlsx").text
        == "## Sheet: S\n| tab bellxy |\n|---|"
    )


def test_odt_headers_and_footers_come_from_the_master_pages_once_each() -> None:
    header = "<style:header><text:p>Acme Ltd — Confidential</text:p></style:header>"
    footer = (
        "<style:footer><text:p>Page <text:page-number>1</text:page-number></text:p></style:footer>"
    )
    masters = (
        f'<style:master-page style:name="Standard">{header}{footer}'
        "<style:header-first><text:p>Proposal cover</text:p></style:header-first>"
        f'</style:master-page><style:master-page style:name="Landscape">{header}</style:master-page>'
    )
    body = "<office:text><text:p>The body.</text:p></office:text>"
    text = load_bytes(odf_bytes(ODT, body, master_pages=masters), "brief.odt").text
    assert text.split("\n") == [
        "Acme Ltd — Confidential",
        "",
        "Proposal cover",
        "",
        "The body.",
        "",
        "Page 1",
    ]


def test_a_list_nested_thousands_deep_is_refused_not_a_crash() -> None:
    deep = "<text:list><text:list-item>" * 3000 + "<text:p>deep</text:p>"
    body = f"<office:text>{deep}{'</text:list-item></text:list>' * 3000}</office:text>"
    assert refused(odf_bytes(ODT, body), "deep.odt") == (
        "deep.odt: nested too deeply to read (a damaged file?)"
    )


def test_odt_control_characters_are_dropped() -> None:
    body = "<office:text><text:p>a&#xFFFD;b&#x85;c</text:p></office:text>"
    assert load_bytes(odf_bytes(ODT, body), "c.odt").text == "abc"


# --- sniffing, fast start, the command line ---------------------------------------------------


def test_sniff_document_knows_the_new_packages() -> None:
    assert sniff_document(xlsx_bytes({"S": INVOICE_ROWS}, ["a"] * 5)) == ".xlsx"
    assert sniff_document(odf_bytes(ODT, "<office:text/>")) == ".odt"
    assert sniff_document(odf_bytes(ODP, "<office:presentation/>")) == ".odp"
    assert sniff_document(b"{\\rtf1 hi}") == ".rtf"
    assert sniff_document(b"From: a@b\nSubject: x\n\nbody") is None  # mail stays text
    assert sniff_document((FIXTURES / "brief-libreoffice.odt").read_bytes()) == ".odt"


def test_importing_chatpro_files_loads_no_extractor() -> None:
    code = (
        "import sys, chatpro.files; "
        "print(sorted(m for m in sys.modules if m.startswith(('chatpro.files.', 'email', 'csv', "
        "'xml.etree', 'html.parser', 'json'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert (
        out.stdout.strip()
        == "['chatpro.files.common', 'chatpro.files.sniff', 'chatpro.files.types']"
    )


def test_upload_extract_csv_xlsx_eml(run_offline, tmp_path: Path) -> None:
    csv_path = tmp_path / "clients.csv"
    csv_path.write_bytes(b"Client,Budget\nAcme,5000\n")
    xlsx_path = tmp_path / "invoice.xlsx"
    xlsx_path.write_bytes(
        xlsx_bytes({"Invoice 2026": INVOICE_ROWS}, ["Item", "Cost", "Due", "Paid", "Logo design"])
    )
    eml_path = tmp_path / "offer.eml"
    eml_path.write_bytes(email_bytes())
    for path, expected in (
        (csv_path, "| Acme | 5000 |"),
        (xlsx_path, "## Sheet: Invoice 2026"),
        (eml_path, "Invoice total 1,250 EUR due 31 March"),
    ):
        result = run_offline("upload", "--extract", str(path))
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout


def test_upload_dry_run_lists_the_new_types(run_offline, tmp_path: Path) -> None:
    xlsx_path = tmp_path / "invoice.xlsx"
    xlsx_path.write_bytes(xlsx_bytes({"S": INVOICE_ROWS}, ["Item", "Cost", "Due", "Paid", "x"]))
    eml_path = tmp_path / "offer.eml"
    eml_path.write_bytes(email_bytes())
    result = run_offline("upload", "--dry-run", "--json", str(xlsx_path), str(eml_path))
    assert result.returncode == 0, result.stderr
    assert "spreadsheetml.sheet" in result.stdout and "message/rfc822" in result.stdout


def test_upload_refuses_a_plain_zip_named_xlsx(run_offline, tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(zip_bytes({"notes.txt": "hi"}))
    result = run_offline("upload", "--dry-run", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "chatpro: error: data.xlsx: not an Excel workbook (it looks like a ZIP archive)"
    )
    assert result.stdout == ""


def test_xlsx_rows_past_the_cap_are_counted_without_parsing() -> None:
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>line item {i}</t></is></c>'
        f'<c r="B{i}"><v>{i}</v></c></row>'
        for i in range(1, 40_001)
    )
    att = load_bytes(xlsx_bytes({"Ledger": rows}, []), "ledger.xlsx")
    assert att.text.count("\n| line item ") == MAX_TABLE_ROWS  # the header row included
    (notice,) = att.notices
    found = re.search(r"of about ([\d,]+) rows", notice)
    assert found is not None and abs(int(found.group(1).replace(",", "")) - 40_000) <= 2

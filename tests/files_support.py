"""Builders for real documents used by tests/test_files.py.

Each builder writes the real structure of its format (zip packages, a hand-written PDF with a
text content stream, a compound file with a Word 97 piece table), small enough to build fast.
Bombs are streamed so building them costs the test little memory.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOC_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)
DOCX_MAIN_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"

CONTENT_TYPES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Types xmlns="{CT_NS}">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/word/document.xml" ContentType="{DOCX_MAIN_CT}"/>'
    "</Types>"
)
RELS_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Relationships xmlns="{REL_NS}">'
    f'<Relationship Id="rId1" Type="{OFFICE_DOC_REL}" Target="word/document.xml"/>'
    "</Relationships>"
)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def docx_paragraph(text: str) -> str:
    return f'<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t xml:space="preserve">{_esc(text)}</w:t></w:r></w:p>'


def docx_table(rows: list[list[str]]) -> str:
    body = "".join(
        "<w:tr>" + "".join(f"<w:tc>{docx_paragraph(cell)}</w:tc>" for cell in row) + "</w:tr>"
        for row in rows
    )
    return f"<w:tbl>{body}</w:tbl>"


def document_xml(body: str, prolog: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"{prolog}"
        f'<w:document xmlns:w="{W_NS}"><w:body>{body}<w:sectPr/></w:body></w:document>'
    )


def docx_bytes(
    paragraphs: list[str] | None = None,
    table: list[list[str]] | None = None,
    after: list[str] | None = None,
    *,
    document: str | None = None,
) -> bytes:
    """A minimal valid .docx: paragraphs, then a table, then more paragraphs."""
    if document is None:
        body = "".join(docx_paragraph(p) for p in paragraphs or [])
        if table:
            body += docx_table(table)
        body += "".join(docx_paragraph(p) for p in after or [])
        document = document_xml(body)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES_XML)
        zf.writestr("_rels/.rels", RELS_XML)
        zf.writestr("word/document.xml", document)
    return buf.getvalue()


def pptx_bytes() -> bytes:
    """A real .pptx from python-pptx: title + body slide with notes, a table slide, a group."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Quarterly plan"
    slide.placeholders[1].text = "Ship the importer\nHire a designer"
    slide.notes_slide.notes_text_frame.text = "Mention the budget risk"
    slide2 = prs.slides.add_slide(prs.slide_layouts[5])
    slide2.shapes.title.text = "Deadlines"
    table = slide2.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    table.cell(0, 0).text = "Milestone"
    table.cell(0, 1).text = "Date"
    table.cell(1, 0).text = "Beta"
    table.cell(1, 1).text = "2024-07-01"
    group = slide2.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(4), Inches(3), Inches(1))
    box.text_frame.text = "Grouped remark"
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


# --- PDF ------------------------------------------------------------------------------------


def pdf_bytes(pages: list[str], *, flate_bomb_mib: int = 0) -> bytes:
    """A minimal valid PDF, one Helvetica text line per page (BT/Tf/Tj), with a correct xref.

    FLATE_BOMB_MIB > 0 makes the first page's content a FlateDecode stream of that many MiB of
    zeros (about 1 KB per MiB in the file).
    """
    objects: list[bytes] = []
    n = len(pages)
    font_id = 3
    page_ids = [4 + 2 * i for i in range(n)]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 18 Tf 72 720 Td ({safe}) Tj ET".encode("latin-1")
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {page_ids[i] + 1} 0 R >>"
            ).encode()
        )
        filters = b""
        if flate_bomb_mib and i == 0:
            raw, _ = zeros_deflated(flate_bomb_mib * 1024 * 1024)
            adler = 1
            for _ in range(flate_bomb_mib):
                adler = zlib.adler32(bytes(1024 * 1024), adler)
            stream = b"\x78\xda" + raw + struct.pack(">I", adler)
            filters = b" /Filter /FlateDecode"
        objects.append(
            b"<< /Length "
            + str(len(stream)).encode()
            + filters
            + b" >>\nstream\n"
            + stream
            + b"\nendstream"
        )
    return pdf_document(objects)


def pdf_document(objects: list[bytes]) -> bytes:
    """A PDF file of OBJECTS (numbered from 1; object 1 is the catalog) with a correct xref."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def encrypted_pdf_bytes(user_password: str = "x") -> bytes:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes(["Secret plan"])))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- zip packages by hand (for bombs) -------------------------------------------------------


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def write_raw_zip(
    path: Path, entries: list[tuple[str, bytes, int, int, int]], *, stream_parts: dict | None = None
) -> None:
    """Write a zip whose entries are (name, compressed bytes, crc, declared size, method).

    The sizes are written as given, so a test can declare the truth or lie.
    """
    with open(path, "wb") as f:
        central = bytearray()
        for name, payload, crc, size, method in entries:
            offset = f.tell()
            raw_name = name.encode()
            f.write(
                struct.pack(
                    "<IHHHHHIIIHH",
                    0x04034B50,
                    20,
                    0,
                    method,
                    0,
                    0x21,
                    crc,
                    len(payload),
                    size,
                    len(raw_name),
                    0,
                )
            )
            f.write(raw_name)
            f.write(payload)
            central += struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(payload),
                size,
                len(raw_name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            central += raw_name
        cd_offset = f.tell()
        f.write(central)
        f.write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                len(entries),
                len(entries),
                len(central),
                cd_offset,
                0,
            )
        )


def zeros_deflated(total: int, chunk: int = 1024 * 1024) -> tuple[bytes, int]:
    """Raw deflate of TOTAL zero bytes and its CRC, built from one compressed chunk repeated.

    After a full flush deflate starts afresh, so each chunk compresses to the same bytes; the
    1 GiB stream costs one 1 MiB compression and about 1 MB of memory.
    """
    assert total % chunk == 0
    zeros = bytes(chunk)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush()
    crc = 0
    for _ in range(total // chunk):
        crc = zlib.crc32(zeros, crc)
    return block * (total // chunk) + tail, crc


def xml_filler_deflated(
    prefix: bytes, unit: bytes, megabytes: int, suffix: bytes
) -> tuple[bytes, int, int]:
    """Deflate PREFIX + (1 MiB of UNIT repeated) * MEGABYTES + SUFFIX; (compressed, crc, size).

    Full flushes make each 1 MiB block compress to the same bytes, so hundreds of MB of XML
    cost one block's compression.
    """
    block = unit * ((1024 * 1024) // len(unit))
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    body = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.compress(suffix) + comp.flush()
    crc = zlib.crc32(prefix)
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + len(block) * megabytes + len(suffix)
    return head + body * megabytes + tail, crc, size


def _plain_entry(name: str, text: str) -> tuple[str, bytes, int, int, int]:
    data = text.encode()
    return (name, _deflate(data), zlib.crc32(data), len(data), 8)


def docx_entries() -> list[tuple[str, bytes, int, int, int]]:
    return [
        _plain_entry("[Content_Types].xml", CONTENT_TYPES_XML),
        _plain_entry("_rels/.rels", RELS_XML),
    ]


def pptx_entries() -> list[tuple[str, bytes, int, int, int]]:
    """The parts of a real python-pptx file, as raw-zip entries (to add a bomb beside them)."""
    entries = []
    with zipfile.ZipFile(io.BytesIO(pptx_bytes())) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            entries.append((info.filename, _deflate(data), zlib.crc32(data), len(data), 8))
    return entries


# --- compound files (OLE2) and Word 97 ------------------------------------------------------

ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF


def cfb_bytes(streams: dict[str, bytes]) -> bytes:
    """A version 3 compound file holding STREAMS at the root.

    Streams are padded to 4096 bytes so all live in regular sectors (no mini stream needed).
    """
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    datas = []
    for n in names:
        d = streams[n]
        if len(d) < 4096:
            d = d + bytes(4096 - len(d))
        datas.append(d)
    sectors_per = [(len(d) + 511) // 512 for d in datas]
    dir_entries = 1 + len(names)
    dir_sectors = (dir_entries * 128 + 511) // 512
    data_sectors = sum(sectors_per)
    fat_sectors = 1
    while (fat_sectors + dir_sectors + data_sectors) > fat_sectors * 128:
        fat_sectors += 1
    assert fat_sectors <= 109
    fat = [FREESECT] * (fat_sectors * 128)
    for i in range(fat_sectors):
        fat[i] = FATSECT
    first_dir = fat_sectors
    for i in range(dir_sectors):
        s = first_dir + i
        fat[s] = s + 1 if i < dir_sectors - 1 else ENDOFCHAIN
    starts = []
    s = first_dir + dir_sectors
    for count in sectors_per:
        starts.append(s)
        for j in range(count):
            fat[s + j] = s + j + 1 if j < count - 1 else ENDOFCHAIN
        s += count

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        return (
            raw.ljust(64, b"\x00")
            + struct.pack("<HBBIII", len(raw), kind, 1, NOSTREAM, right, child)
            + bytes(16 + 4 + 8 + 8)
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1 if names else NOSTREAM, NOSTREAM, ENDOFCHAIN, 0)
    for i, (n, d) in enumerate(zip(names, datas, strict=True)):
        right = i + 2 if i + 1 < len(names) else NOSTREAM
        directory += entry(n, 2, NOSTREAM, right, starts[i], len(d))
    directory = directory.ljust(dir_sectors * 512, b"\x00")
    # unused directory slots must be typed "unallocated" with no siblings
    filler = bytearray(directory)
    for i in range(dir_entries, dir_sectors * 4):
        struct.pack_into("<III", filler, i * 128 + 68, NOSTREAM, NOSTREAM, NOSTREAM)
    directory = bytes(filler)

    difat = list(range(fat_sectors)) + [FREESECT] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack(
            "<IIIIIIIII", 0, fat_sectors, first_dir, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0
        )
        + struct.pack("<109I", *difat)
    )
    assert len(header) == 512
    body = struct.pack(f"<{len(fat)}I", *fat) + directory
    for d, count in zip(datas, sectors_per, strict=True):
        body += d.ljust(count * 512, b"\x00")
    return header + body


def word97_bytes(
    pieces: list[tuple[str, bool]], *, encrypted: bool = False, table_stream: str = "1Table"
) -> bytes:
    """A minimal Word 97 binary: a FIB, the text in PIECES ((text, compressed)), a piece table.

    Compressed pieces are stored as cp1252 bytes (fc = 2*offset | 0x40000000), the others as
    UTF-16LE. Enough structure for a reader that follows FIB -> Clx -> PlcPcd -> text.
    """
    word = bytearray(1024)
    cps = [0]
    pcds = b""
    for text, compressed in pieces:
        offset = len(word)
        if compressed:
            word += text.encode("cp1252")
            fc = (offset * 2) | 0x40000000
        else:
            word += text.encode("utf-16-le")
            fc = offset
        cps.append(cps[-1] + len(text))
        pcds += struct.pack("<HIH", 0, fc, 0)
    plc = struct.pack(f"<{len(cps)}I", *cps) + pcds
    clx = b"\x01" + struct.pack("<h", 2) + b"\x00\x00" + b"\x02" + struct.pack("<I", len(plc)) + plc
    table = bytearray(64) + clx
    fc_clx = 64
    flags = 0x0200 if table_stream == "1Table" else 0
    if encrypted:
        flags |= 0x0100
    struct.pack_into("<HHHHHH", word, 0, 0xA5EC, 0x00C1, 0, 0x0409, 0, flags)
    struct.pack_into("<H", word, 32, 14)
    struct.pack_into("<H", word, 62, 22)
    struct.pack_into("<I", word, 64 + 3 * 4, cps[-1])  # ccpText
    struct.pack_into("<H", word, 152, 0x5D)
    struct.pack_into("<II", word, 154 + 33 * 8, fc_clx, len(clx))
    return cfb_bytes({"WordDocument": bytes(word), table_stream: bytes(table)})


def encrypted_office_bytes() -> bytes:
    """What Office writes for a password-protected .docx: an OLE2 file with EncryptedPackage."""
    return cfb_bytes(
        {
            "EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + bytes(200),
            "EncryptedPackage": struct.pack("<Q", 5000) + bytes(5000),
        }
    )


PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


# The content of the committed LibreOffice fixtures (scripts/make_fixtures.py).
SAMPLE_PARAGRAPHS = [
    "Project brief for Acme GmbH",
    "Deliverables: a landing page and a café menu in Zürich style.",
    "Deadline: 15 March",
]
SAMPLE_TABLE = [["Task", "Owner", "Due"], ["Design", "Ana", "1 March"], ["Build", "Bo", "10 March"]]
SAMPLE_AFTER = ["Risks: the budget is tight — 5 000 €."]

"""chatpro.files: every supported type accepted with its text, and every bad input refused with
a message naming the file and the reason. Bombs are loaded in a child process whose peak memory
is checked."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import chatpro.files as files
from chatpro.errors import ExitCode, FileRefused
from chatpro.files import (
    MAX_FILE_BYTES,
    MAX_TEXT_CHARS,
    SUPPORTED,
    file_type_for,
    load_bytes,
    load_path,
    read_limited,
    sniff_document,
)
from tests import files_support as fs

FIXTURES = Path(__file__).parent / "fixtures" / "files"
ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024

SPEC_TYPES = {
    ".cpp": "text/x-c++",
    ".cs": "text/x-csharp",
    ".css": "text/css",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".java": "text/x-java",
    ".js": "text/javascript",
    ".json": "application/json",
    ".md": "text/markdown",
    ".pdf": "application/pdf",
    ".php": "text/x-php",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".py": "text/x-python",
    ".rb": "text/x-ruby",
    ".sh": "application/x-sh",
    ".tex": "text/x-tex",
    ".ts": "application/typescript",
    ".txt": "text/plain",
    # Beyond the brief (SPEC: upload)
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".rtf": "application/rtf",
    ".eml": "message/rfc822",
    ".c": "text/x-c",
    ".h": "text/x-c",
    ".hpp": "text/x-c++",
    ".go": "text/x-go",
    ".rs": "text/x-rust",
    ".kt": "text/x-kotlin",
    ".swift": "text/x-swift",
    ".scala": "text/x-scala",
    ".sql": "application/sql",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".xml": "application/xml",
    ".ipynb": "application/x-ipynb+json",
}

TEXT_SAMPLES = {
    ".cpp": '#include <cstdio>\nint main() { std::puts("hi"); }\n',
    ".cs": 'class A { static void Main() { System.Console.WriteLine("hi"); } }\n',
    ".css": "body { color: #333; }\n",
    ".html": "<!DOCTYPE html>\n<html><body><p>Hello</p></body></html>\n",
    ".java": 'class A { public static void main(String[] a) { System.out.println("hi"); } }\n',
    ".js": "console.log('hi');\n",
    ".json": '{"client": "Acme", "budget": 5000}\n',
    ".md": "# Brief\n\n- deliver by Friday\n",
    ".php": "<?php echo 'hi'; ?>\n",
    ".py": "print('hi')\n",
    ".rb": "puts 'hi'\n",
    ".sh": "#!/bin/sh\necho hi\n",
    ".tex": "\\documentclass{article}\\begin{document}Hi\\end{document}\n",
    ".ts": "const x: number = 1;\nexport default x;\n",
    ".txt": "Meeting notes: ship on Monday.\n",
}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path_or_data: Path | bytes, name: str | None = None) -> str:
    with pytest.raises(FileRefused) as info:
        if isinstance(path_or_data, Path):
            load_path(path_or_data)
        else:
            assert name is not None
            load_bytes(path_or_data, name)
    err = info.value
    assert err.exit_code == ExitCode.BAD_INPUT
    assert "\n" not in err.message
    return err.message


# --- the type table ------------------------------------------------------------------------


def test_type_table_is_exactly_specs() -> None:
    assert {ext: t.mime for ext, t in SUPPORTED.items()} == SPEC_TYPES
    assert all(t.extension == ext for ext, t in SUPPORTED.items())
    assert {t.kind for t in SUPPORTED.values()} == {
        *("pdf", "docx", "pptx", "doc", "text"),
        *("csv", "xlsx", "odt", "odp", "rtf", "eml", "ipynb"),
    }


def test_extensions_are_case_insensitive_and_ts_is_typescript() -> None:
    assert file_type_for("REPORT.PDF").mime == "application/pdf"
    assert file_type_for("Deck.PpTx").kind == "pptx"
    assert file_type_for("app.ts").mime == "application/typescript"


@pytest.mark.parametrize("name", ["setup.exe", "photo.png", "Makefile", "archive.tar.gz"])
def test_unsupported_types_are_refused_with_the_list(name: str) -> None:
    with pytest.raises(FileRefused) as info:
        file_type_for(name)
    assert info.value.message.startswith(f"{name}: ")
    assert ".c, .cpp, .cs, .css, .csv" in info.value.message
    assert info.value.exit_code == ExitCode.BAD_INPUT


def test_exe_is_refused_by_load_path(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "tool.exe", b"MZ\x90\x00"))
    assert message.startswith("tool.exe: unsupported file type '.exe' (supported: .c, .cpp")


def test_importing_the_package_pulls_in_no_parser() -> None:
    code = (
        "import sys, chatpro.files; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('pypdf', 'pptx', 'olefile', 'lxml') or m.startswith('xml.etree')]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- every type accepted ------------------------------------------------------------------


@pytest.mark.parametrize("ext", sorted(TEXT_SAMPLES))
def test_text_types_are_accepted_and_decoded(tmp_path: Path, ext: str) -> None:
    content = TEXT_SAMPLES[ext]
    path = write(tmp_path, f"sample{ext.upper() if ext == '.md' else ext}", content.encode())
    att = load_path(path)
    assert att.text == content
    assert att.kind == "text"
    assert att.mime == SPEC_TYPES[ext]
    assert att.pages is None and att.slides is None and not att.truncated


def test_docx_paragraphs_and_table_in_body_order(tmp_path: Path) -> None:
    data = fs.docx_bytes(
        ["Scope of work", "Build the site"],
        [["Task", "Due"], ["Design", "1 May"]],
        ["Payment on delivery"],
    )
    att = load_path(write(tmp_path, "brief.docx", data))
    assert att.text.splitlines() == [
        "Scope of work",
        "Build the site",
        "",
        "| Task | Due |",
        "| --- | --- |",
        "| Design | 1 May |",
        "",
        "Payment on delivery",
    ]
    assert att.label == "Word document"
    assert att.pages is None and att.slides is None


def test_pptx_slides_with_tables_groups_and_notes(tmp_path: Path) -> None:
    att = load_path(write(tmp_path, "deck.pptx", fs.pptx_bytes()))
    assert att.slides == 2
    assert att.text.splitlines() == [
        "## Slide 1: Quarterly plan",
        "",
        "- Ship the importer",
        "- Hire a designer",
        "",
        "Notes:",
        "Mention the budget risk",
        "",
        "## Slide 2: Deadlines",
        "",
        "| Milestone | Date |",
        "| --- | --- |",
        "| Beta | 2024-07-01 |",
        "",
        "Grouped remark",
    ]


def test_pdf_pages_are_extracted(tmp_path: Path) -> None:
    data = fs.pdf_bytes(["Invoice 42 total 300 EUR", "Terms: net 30 (days)"])
    att = load_path(write(tmp_path, "invoice.pdf", data))
    assert att.pages == 2
    assert "Invoice 42 total 300 EUR" in att.text
    assert "Terms: net 30 (days)" in att.text
    assert att.text.index("--- Page 1 ---") < att.text.index("--- Page 2 ---")


def test_attachment_records_name_size_and_hash(tmp_path: Path) -> None:
    data = fs.pdf_bytes(["Hello"])
    sub = tmp_path / "deep" / "dir"
    sub.mkdir(parents=True)
    att = load_path(write(sub, "Report.PDF", data))
    assert att.name == "Report.PDF"
    assert att.size == len(data)
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    assert (att.mime, att.label, att.kind, att.pages) == ("application/pdf", "PDF", "pdf", 1)
    assert load_path(sub / "Report.PDF", name="stdin.pdf").name == "stdin.pdf"


SAMPLE_LINES = [
    "Project brief for Acme GmbH",
    "Deliverables: a landing page and a café menu in Zürich style.",
    "Risks: the budget is tight — 5 000 €.",
]


def test_libreoffice_doc_fixture_reads_through_the_piece_table() -> None:
    att = load_path(FIXTURES / "sample.doc")
    assert att.kind == "doc" and att.mime == "application/msword"
    for line in SAMPLE_LINES:
        assert line in att.text
    assert "Design\tAna\t1 March" in att.text.splitlines()


def test_libreoffice_pdf_fixture() -> None:
    att = load_path(FIXTURES / "sample.pdf")
    assert att.pages == 1
    for line in SAMPLE_LINES:
        assert line in att.text


def test_docx_fixture_matches_the_doc_made_from_it() -> None:
    """The same words in the same order (the .docx shows its table as a Markdown pipe table)."""

    def words(text: str) -> list[str]:
        return [w for w in re.findall(r"[^\s|]+", text) if w != "---"]

    docx_text = load_path(FIXTURES / "sample.docx").text
    assert "| Design | Ana | 1 March |" in docx_text.splitlines()
    assert words(docx_text) == words(load_path(FIXTURES / "sample.doc").text)


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_live_libreoffice_conversion_reads_the_same(tmp_path: Path) -> None:
    source = write(tmp_path, "live.docx", fs.docx_bytes(["Live conversion check"], [["x", "y"]]))
    with_profile = f"-env:UserInstallation=file://{tmp_path / 'profile'}"
    for fmt in ("doc:MS Word 97", "pdf"):
        subprocess.run(
            [
                *("soffice", with_profile, "--headless", "--convert-to", fmt),
                "--outdir",
                str(tmp_path),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    assert load_path(tmp_path / "live.doc").text == "Live conversion check\nx\ty"
    assert "Live conversion check" in load_path(tmp_path / "live.pdf").text


def test_hand_built_word97_compressed_and_unicode_pieces(tmp_path: Path) -> None:
    data = fs.word97_bytes(
        [
            ("Offer for café owners\r", True),
            ("Ünïcødé piece — 5 €\r", False),
            ('See \x13 HYPERLINK "http://x" \x14our site\x15 today.\r', True),
            ("A\x07B\x07\x07C\x07D\x07\x07", True),
        ]
    )
    att = load_path(write(tmp_path, "offer.doc", data))
    assert att.text == "Offer for café owners\nÜnïcødé piece — 5 €\nSee our site today.\nA\tB\nC\tD"


def test_word97_with_0table_stream(tmp_path: Path) -> None:
    data = fs.word97_bytes([("Table stream zero\r", True)], table_stream="0Table")
    assert load_path(write(tmp_path, "old.doc", data)).text == "Table stream zero"


# --- stdin and sniffing ---------------------------------------------------------------------


def test_sniff_document_by_bytes() -> None:
    assert sniff_document(fs.pdf_bytes(["x"])) == ".pdf"
    assert sniff_document(fs.docx_bytes(["x"])) == ".docx"
    assert sniff_document(fs.pptx_bytes()) == ".pptx"
    assert sniff_document((FIXTURES / "sample.doc").read_bytes()) == ".doc"
    assert sniff_document(b"just some text\n") is None
    assert sniff_document(fs.PNG_BYTES) is None
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("a.txt", "hi")
    assert sniff_document(plain_zip.getvalue()) is None


def test_piped_document_loads_as_stdin_name() -> None:
    data = read_limited(io.BytesIO(fs.pdf_bytes(["From a pipe"])))
    ext = sniff_document(data)
    att = load_bytes(data, f"stdin{ext}")
    assert att.name == "stdin.pdf" and "From a pipe" in att.text


def test_read_limited_accepts_exactly_10_mib_and_refuses_more() -> None:
    assert len(read_limited(io.BytesIO(bytes(MAX_FILE_BYTES)))) == MAX_FILE_BYTES
    with pytest.raises(FileRefused) as info:
        read_limited(io.BytesIO(bytes(MAX_FILE_BYTES + 1)))
    assert info.value.message.startswith("stdin: file too large")


# --- size -----------------------------------------------------------------------------------


def test_11_mib_file_is_refused_from_stat_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.txt"
    with open(path, "wb") as f:
        f.truncate(11 * MIB)  # sparse: costs no disk

    def no_reading(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(files, "read_limited", no_reading)
    message = refused(path)
    assert message == (
        "huge.txt: file too large (11.0 MiB; the limit is 10 MiB = 10,485,760 bytes)"
    )


def test_exactly_10_mib_is_accepted_and_one_more_byte_is_not(tmp_path: Path) -> None:
    att = load_path(write(tmp_path, "big.txt", b"a" * MAX_FILE_BYTES))
    assert att.size == MAX_FILE_BYTES
    assert att.truncated and len(att.text) == MAX_TEXT_CHARS
    message = refused(write(tmp_path, "big.txt", b"a" * (MAX_FILE_BYTES + 1)))
    assert "file too large (10,485,761 bytes" in message


def test_zero_byte_file_is_refused(tmp_path: Path) -> None:
    assert refused(write(tmp_path, "notes.md", b"")) == "notes.md: empty file"
    assert refused(write(tmp_path, "deck.pptx", b"")) == "deck.pptx: empty file"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert refused(tmp_path / "nope.pdf") == "nope.pdf: no such file"
    (tmp_path / "folder.txt").mkdir()
    assert refused(tmp_path / "folder.txt") == "folder.txt: is a directory"


# --- bytes must agree with the extension ----------------------------------------------------


def test_png_named_pdf(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "brief.pdf", fs.PNG_BYTES))
    assert message == "brief.pdf: not a PDF file (it looks like a PNG image)"


def test_png_named_txt(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "notes.txt", fs.PNG_BYTES))
    assert message == "notes.txt: not a text file (it looks like a PNG image)"


def test_truncated_pdf(tmp_path: Path) -> None:
    data = fs.pdf_bytes(["A page that will be cut"])
    message = refused(write(tmp_path, "cut.pdf", data[: len(data) // 3]))
    assert message.startswith("cut.pdf: corrupt PDF")


def test_garbage_after_pdf_header(tmp_path: Path) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 20
    assert refused(write(tmp_path, "junk.pdf", data)).startswith("junk.pdf: corrupt PDF")


def test_encrypted_pdf_needs_a_password(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "locked.pdf", fs.encrypted_pdf_bytes("x")))
    assert message == "locked.pdf: encrypted PDF that needs a password"


def test_encrypted_pdf_with_empty_user_password_is_read(tmp_path: Path) -> None:
    att = load_path(write(tmp_path, "owner-only.pdf", fs.encrypted_pdf_bytes("")))
    assert att.text == "Secret plan"


def test_encrypted_office_file_named_docx(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "contract.docx", fs.encrypted_office_bytes()))
    assert message.startswith("contract.docx: encrypted Office file (password-protected)")


def test_encrypted_office_file_named_pptx_and_doc(tmp_path: Path) -> None:
    for name in ("deck.pptx", "old.doc"):
        message = refused(write(tmp_path, name, fs.encrypted_office_bytes()))
        assert message.startswith(f"{name}: encrypted Office file")


def test_encrypted_word97_doc(tmp_path: Path) -> None:
    data = fs.word97_bytes([("Secret\r", True)], encrypted=True)
    message = refused(write(tmp_path, "secret.doc", data))
    assert message == "secret.doc: encrypted Word document (password-protected)"


def test_pptx_renamed_docx_says_powerpoint(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "slides.docx", fs.pptx_bytes()))
    assert message == "slides.docx: not a Word document (it is a PowerPoint file)"


def test_docx_renamed_pptx_says_word(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "letter.pptx", fs.docx_bytes(["Hi"])))
    assert message == "letter.pptx: not a PowerPoint file (it is a Word document)"


def test_plain_zip_and_pdf_named_docx(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert "it looks like a ZIP archive" in refused(write(tmp_path, "a.docx", buf.getvalue()))
    message = refused(write(tmp_path, "b.docx", fs.pdf_bytes(["x"])))
    assert message == "b.docx: not a Word document (it looks like a PDF file)"


def test_docx_named_doc_and_doc_named_docx(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "new.doc", fs.docx_bytes(["x"])))
    assert message == "new.doc: not a Word 97-2003 document (it looks like a Word document)"
    message = refused(write(tmp_path, "old.docx", (FIXTURES / "sample.doc").read_bytes()))
    assert message == "old.docx: not a Word document (it looks like a Word 97-2003 document)"


def test_ole2_without_word_stream_named_doc(tmp_path: Path) -> None:
    data = fs.cfb_bytes({"PowerPoint Document": b"x" * 100, "Current User": b"y"})
    message = refused(write(tmp_path, "deck.doc", data))
    assert (
        message == "deck.doc: not a Word 97-2003 document (it looks like a PowerPoint 97-2003 file)"
    )


def test_corrupt_piece_table(tmp_path: Path) -> None:
    data = bytearray(fs.word97_bytes([("Hello\r", True)]))
    # point fcClx far past the table stream's end
    word_at = data.find(b"\xec\xa5\xc1\x00")
    data[word_at + 154 + 33 * 8 : word_at + 154 + 33 * 8 + 4] = (10**6).to_bytes(4, "little")
    message = refused(write(tmp_path, "broken.doc", bytes(data)))
    assert message.startswith("broken.doc: corrupt Word 97-2003 document")


def test_damaged_docx_xml(tmp_path: Path) -> None:
    data = fs.docx_bytes(document="<w:document><w:body><w:p>")
    assert refused(write(tmp_path, "d.docx", data)).startswith("d.docx: corrupt Word document")


# --- text encodings -------------------------------------------------------------------------


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    text = "Café menu: crème brûlée, naïve façade ± 5 €"
    att = load_path(write(tmp_path, "menu.txt", text.replace(" €", "").encode("latin-1")))
    assert att.text == text.replace(" €", "")


def test_cp1252_text_is_decoded(tmp_path: Path) -> None:
    text = "“Quoted” — dash and 5 €"
    assert load_path(write(tmp_path, "q.md", text.encode("cp1252"))).text == text


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-16-le", "utf-8-sig"])
def test_utf16_and_bom_text_is_decoded(tmp_path: Path, codec: str) -> None:
    text = "Grüße aus Köln\nline two € ✓\n"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    assert load_path(write(tmp_path, "u.txt", data)).text == text


def test_bomless_utf16le_is_decoded(tmp_path: Path) -> None:
    text = "plain ascii saved by a Windows tool\n"
    assert load_path(write(tmp_path, "w.txt", text.encode("utf-16-le"))).text == text


def test_binary_with_nul_bytes_named_py(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "x.py", b"import os\x00\x00\x01\x02\xff binary"))
    assert message == "x.py: binary data, not text (it contains NUL bytes)"


def test_crlf_becomes_lf(tmp_path: Path) -> None:
    assert load_path(write(tmp_path, "w.sh", b"echo a\r\necho b\r\n")).text == "echo a\necho b\n"


# --- text cap and progress ------------------------------------------------------------------


def test_long_docx_is_capped_and_marked(tmp_path: Path) -> None:
    paragraphs = [
        f"Paragraph {i} " + hashlib.sha256(str(i).encode()).hexdigest() for i in range(30_000)
    ]
    att = load_path(write(tmp_path, "long.docx", fs.docx_bytes(paragraphs)))
    assert att.truncated
    assert len(att.text) <= MAX_TEXT_CHARS
    assert att.text.startswith("Paragraph 0 ")


def test_progress_reaches_the_end(tmp_path: Path) -> None:
    cases = {
        "p.pdf": fs.pdf_bytes(["one", "two", "three"]),
        "d.pptx": fs.pptx_bytes(),
        "w.docx": fs.docx_bytes(["a", "b"]),
        "n.txt": b"hello",
    }
    for name, data in cases.items():
        calls: list[tuple[int, int]] = []

        def record(done: int, total: int, calls: list[tuple[int, int]] = calls) -> None:
            calls.append((done, total))

        load_bytes(data, name, progress=record)
        assert calls, name
        assert calls[-1][0] == calls[-1][1] > 0, name
        assert [d for d, _ in calls] == sorted(d for d, _ in calls), name


# --- packages: bombs and unsafe XML ---------------------------------------------------------


def test_billion_laughs_docx_is_refused_before_parsing(tmp_path: Path) -> None:
    lol = (
        '<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
            for i in range(1, 10)
        )
        + "]>"
    )
    document = fs.document_xml(fs.docx_paragraph("x").replace(">x<", ">&lol9;<"), prolog=lol)
    message = refused(write(tmp_path, "lol.docx", fs.docx_bytes(document=document)))
    assert message == (
        "lol.docx: unsafe XML in word/document.xml (DOCTYPE/ENTITY declarations are refused)"
    )


def test_doctype_in_content_types_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "[Content_Types].xml", '<!DOCTYPE x [<!ENTITY a "b">]>' + fs.CONTENT_TYPES_XML[38:]
        )
        zf.writestr("word/document.xml", fs.document_xml(fs.docx_paragraph("x")))
    assert "unsafe XML in [Content_Types].xml" in refused(write(tmp_path, "c.docx", buf.getvalue()))


def test_too_many_parts_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", fs.CONTENT_TYPES_XML)
        for i in range(10_001):
            zf.writestr(f"p/{i}", b"")
    message = refused(path)
    assert message == "many.docx: too many parts in the package (the limit is 10,000)"


def _bomb_paths(tmp_path: Path) -> dict[str, Path]:
    """Small files that would inflate to a GiB or hundreds of MB."""
    zeros, zcrc = fs.zeros_deflated(1024 * MIB)
    gib = ("word/media/big.bin", zeros, zcrc, 1024 * MIB, 8)
    paths = {}

    paths["gib_member.docx"] = tmp_path / "gib_member.docx"
    fs.write_raw_zip(paths["gib_member.docx"], [*fs.docx_entries(), gib])

    paths["gib_member.pptx"] = tmp_path / "gib_member.pptx"
    fs.write_raw_zip(
        paths["gib_member.pptx"], [*fs.pptx_entries(), ("ppt/media/big.bin", *gib[1:])]
    )

    unit = fs.docx_paragraph("all work and no play").encode()
    head = fs.document_xml("SPLIT").split("SPLIT")
    for label, megabytes in (("xml300", 300),):
        comp, crc, size = fs.xml_filler_deflated(
            head[0].encode(), unit, megabytes, head[1].encode()
        )
        path = tmp_path / f"{label}.docx"
        fs.write_raw_zip(path, [*fs.docx_entries(), ("word/document.xml", comp, crc, size, 8)])
        paths[f"{label}.docx"] = path

    # Parts whose ratios look ordinary but whose declared total is 240 MiB: refused from the
    # central directory alone (the payloads are not even valid deflate data).
    declared = [(f"word/media/part{i}.bin", bytes(600 * 1024), 0, 80 * MIB, 8) for i in range(3)]
    paths["total.docx"] = tmp_path / "total.docx"
    fs.write_raw_zip(paths["total.docx"], [*fs.docx_entries(), *declared])

    paths["flate_bomb.pdf"] = tmp_path / "flate_bomb.pdf"
    paths["flate_bomb.pdf"].write_bytes(fs.pdf_bytes(["x"], flate_bomb_mib=1024))

    # Lies: central directory declares a small part; the data inflates to a GiB.
    lie = ("word/document.xml", comp, crc, 5 * MIB, 8)  # 300 MB of paragraphs
    paths["lying.docx"] = tmp_path / "lying.docx"
    fs.write_raw_zip(paths["lying.docx"], [*fs.docx_entries(), lie])
    paths["lying.pptx"] = tmp_path / "lying.pptx"
    fs.write_raw_zip(
        paths["lying.pptx"], [*fs.pptx_entries(), ("ppt/media/lie.bin", zeros, zcrc, 5 * MIB, 8)]
    )
    return paths


LOADER = """
import json, sys
from pathlib import Path
from chatpro.errors import FileRefused
from chatpro.files import load_path
path = Path(sys.argv[1])
try:
    att = load_path(path)
    result = {"refused": False, "chars": len(att.text)}
except FileRefused as exc:
    result = {"refused": True, "message": exc.message}
print(json.dumps(result))
"""

# Linux carries a process's peak RSS across fork and exec, so a child started straight from this
# (large) pytest process would report pytest's peak as its own. A small measuring process runs
# the loader and reports RUSAGE_CHILDREN: the loader's peak alone.
MEASURER = """
import json, resource, subprocess, sys
out = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True,
                     text=True, timeout=120)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": out.returncode, "stdout": out.stdout, "stderr": out.stderr,
                  "peak_kib": peak_kib}))
"""


def load_in_child(path: Path) -> tuple[dict[str, object], int]:
    """Load PATH in a fresh process: (its result, its peak RSS in KiB)."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURER, LOADER, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["rc"] == 0, report["stderr"]
    assert report["stderr"] == ""
    return json.loads(report["stdout"]), int(report["peak_kib"])


def test_zip_bombs_are_refused_in_little_memory(tmp_path: Path) -> None:
    """Each bomb is loaded in a fresh child; the child reports its own peak RSS (RUSAGE_SELF of
    the child equals RUSAGE_CHILDREN seen from a parent that ran only it, without counting
    anything else this test process has run)."""
    paths = _bomb_paths(tmp_path)
    assert all(p.stat().st_size < 2 * MIB for p in paths.values())
    expected = {
        "gib_member.docx": "looks like a zip bomb (part word/media/big.bin inflates",
        "gib_member.pptx": "looks like a zip bomb (part ppt/media/big.bin inflates",
        "xml300.docx": "looks like a zip bomb (part word/document.xml inflates",
        "total.docx": "looks like a zip bomb (more than 200 MiB uncompressed)",
        "flate_bomb.pdf": "corrupt PDF (it could not be read)",
        "lying.docx": "corrupt Word document (damaged part word/document.xml)",
        "lying.pptx": "corrupt PowerPoint file (damaged part ppt/media/lie.bin)",
    }
    for name, path in paths.items():
        result, peak_kib = load_in_child(path)
        assert result["refused"], name
        assert str(result["message"]).startswith(f"{name}: {expected[name]}"), result["message"]
        assert peak_kib < 100 * 1024, (name, peak_kib)


def test_child_memory_measure_sees_a_real_load(tmp_path: Path) -> None:
    """The measure is not blind: a real PDF load (pypdf) shows up above baseline. (A .pptx load
    no longer does: it is streamed without python-pptx.)"""
    pdf = fs.pdf_bytes(["Invoice 42"])
    result, peak_kib = load_in_child(write(tmp_path, "invoice.pdf", pdf))
    assert result == {"refused": False, "chars": len(load_bytes(pdf, "i.pdf").text)}
    assert 20 * 1024 < peak_kib < 100 * 1024


def test_billion_laughs_in_a_pptx_slide_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(fs.pptx_bytes())) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "ppt/slides/slide1.xml":
                decl, rest = data.split(b"?>", 1)
                data = decl + b'?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">]>' + rest
            dst.writestr(info.filename, data)
    message = refused(write(tmp_path, "lol.pptx", buf.getvalue()))
    assert message == (
        "lol.pptx: unsafe XML in ppt/slides/slide1.xml (DOCTYPE/ENTITY declarations are refused)"
    )


def test_piped_encrypted_office_file_is_refused_as_encrypted() -> None:
    data = fs.encrypted_office_bytes()
    ext = sniff_document(data)
    assert ext == ".doc"
    with pytest.raises(FileRefused, match=r"stdin\.doc: encrypted Office file"):
        load_bytes(data, f"stdin{ext}")

"""Extraction inputs, one per type and size: a realistic ~1 MB file and the worst ~10 MiB one.

"Realistic" is text of a size a client's file has (a report, a deck, a sheet, a mail with a PDF
attached); "worst" is as much text as fits under the 10 MiB upload limit (for zipped formats,
text that deflates to about that size, so tens of MB of XML). PDF, DOCX and PPTX use
bench/documents.py; the others reuse the tests' builders (tests/files_support.py and the
helpers of tests/test_extract_newtypes.py) so the bench reads what the tests read.

    python bench/corpus.py DIR     # build them in DIR and list them
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import documents
from documents import WORDS

from tests import files_support as fs
from tests.test_extract_newtypes import ODP, ODT, odf_bytes, sheet_xml, xlsx_bytes

REALISTIC = 1_000_000
WORST = int(9.5 * 1024 * 1024)
DEFLATE_RATIO = 6  # random words from a small vocabulary deflate about 6x


def _sentences(rng: random.Random, chars: int) -> list[str]:
    out: list[str] = []
    total = 0
    while total < chars:
        s = " ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "."
        out.append(s)
        total += len(s) + 1
    return out


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def build_pdf(size: int) -> bytes:
    # 40 lines of 12 words a page: about 3.7 KB of deflated text a page
    pages = max(1, size // 3700)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.pdf"
        documents.build_pdf(path, pages=pages, target=size)
        return path.read_bytes()


def build_docx(size: int) -> bytes:
    rng = random.Random(1)
    return fs.docx_bytes(_sentences(rng, size * DEFLATE_RATIO))


def build_pptx(size: int) -> bytes:
    import tempfile

    # python-pptx slows down as a deck grows: 800 slides and a picture for the worst case
    slides = max(1, size // 20_000) if size <= REALISTIC else 800
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.pptx"
        documents.build_pptx(path, slides=slides, target=size)
        return path.read_bytes()


def build_doc(size: int) -> bytes:
    # the tests' compound-file writer keeps its FAT in the header (109 sectors): ~7 MB at most
    size = min(size, 6_500_000)
    rng = random.Random(5)
    text = "\r".join(_sentences(rng, size - 8192))[: size - 8192]
    return fs.word97_bytes([(text, True)])


def build_xlsx(size: int) -> bytes:
    rng = random.Random(6)
    rows: list[str] = []
    total, r = 0, 1
    shared = list(WORDS)
    while total < size * DEFLATE_RATIO:
        cells = "".join(
            f'<c r="{col}{r}" t="s"><v>{rng.randrange(len(shared))}</v></c>'
            if col in "AB"
            else f'<c r="{col}{r}"><v>{rng.randrange(100000) / 100}</v></c>'
            for col in "ABCDE"
        )
        row = f'<row r="{r}">{cells}</row>'
        rows.append(row)
        total += len(row)
        r += 1
    return xlsx_bytes({"Sheet1": sheet_xml("".join(rows))}, shared)


def _odf(mime: str, size: int, slides: bool) -> bytes:
    rng = random.Random(7)
    sentences = _sentences(rng, size * DEFLATE_RATIO)
    if slides:
        body = "<office:presentation>"
        for i in range(0, len(sentences), 6):
            paras = "".join(f"<text:p>{_esc(s)}</text:p>" for s in sentences[i : i + 6])
            body += (
                f'<draw:page draw:name="p{i}"><draw:frame><draw:text-box>{paras}'
                "</draw:text-box></draw:frame></draw:page>"
            )
        body += "</office:presentation>"
    else:
        paras = "".join(f"<text:p>{_esc(s)}</text:p>" for s in sentences)
        body = f"<office:text>{paras}</office:text>"
    return odf_bytes(mime, body)


def build_odt(size: int) -> bytes:
    return _odf(ODT, size, slides=False)


def build_odp(size: int) -> bytes:
    return _odf(ODP, size, slides=True)


def build_csv(size: int) -> bytes:
    rng = random.Random(8)
    lines = ["date,client,item,hours,amount"]
    total = 0
    while total < size:
        line = (
            f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.choice(WORDS)},"
            f'"{rng.choice(WORDS)}, {rng.choice(WORDS)}",{rng.randint(1, 40)},'
            f"{rng.randint(100, 99999) / 100}"
        )
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def build_rtf(size: int) -> bytes:
    rng = random.Random(9)
    body = "\n".join(
        rf"\pard {s} \b bold\b0  caf\'e9 \u8364? \par" for s in _sentences(rng, int(size * 0.8))
    )
    return (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}" + "\n" + body + "}").encode()


def build_eml(size: int) -> bytes:
    rng = random.Random(10)
    msg = EmailMessage()
    msg["From"] = "Zoë Ünal <zoe@acme.example>"
    msg["To"] = "me@freelancer.example"
    msg["Subject"] = "Angebot für das Redesign"
    msg["Date"] = "Tue, 03 Mar 2026 09:15:00 +0100"
    msg.set_content("\n".join(_sentences(rng, 20_000)))
    # attachments are base64 (4/3 the size): a PDF brief and a CSV of costs fill the rest
    pdf = build_pdf(int(size * 0.6))
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="brief.pdf")
    csv = build_csv(max(1000, int(size * 0.75 / 1.37) - len(pdf)))
    msg.add_attachment(csv, maintype="text", subtype="csv", filename="costs.csv")
    return msg.as_bytes()


def build_ipynb(size: int) -> bytes:
    rng = random.Random(11)
    cells = []
    total = 0
    while total < size:
        text = "\n".join(_sentences(rng, 1500))
        cells.append({"cell_type": "markdown", "metadata": {}, "source": [text]})
        code = f"df = load({rng.choice(WORDS)!r})\ndf.describe()\n"
        cells.append(
            {
                "cell_type": "code",
                "execution_count": len(cells),
                "metadata": {},
                "source": [code],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [text[:600]]}],
            }
        )
        total += 2 * len(text)
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1).encode()


def build_txt(size: int) -> bytes:
    rng = random.Random(12)
    return "\n".join(_sentences(rng, size - 100)).encode()


BUILDERS: dict[str, Callable[[int], bytes]] = {
    "pdf": build_pdf,
    "docx": build_docx,
    "pptx": build_pptx,
    "doc": build_doc,
    "xlsx": build_xlsx,
    "csv": build_csv,
    "odt": build_odt,
    "odp": build_odp,
    "rtf": build_rtf,
    "eml": build_eml,
    "ipynb": build_ipynb,
    "txt": build_txt,
}
SIZES = {"~1 MB": REALISTIC, "~10 MiB": WORST}


def build_all(directory: Path) -> list[tuple[str, str, Path]]:
    """(kind, size label, path) for every type and size, built in DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    built = []
    for kind, build in BUILDERS.items():
        for label, size in SIZES.items():
            path = directory / f"{'small' if size == REALISTIC else 'big'}.{kind}"
            data = build(size)
            if len(data) > 10 * 1024 * 1024:  # the upload limit: trim the worst case under it
                data = build(int(size * size / len(data) * 0.97))
            path.write_bytes(data)
            built.append((kind, label, path))
    return built


if __name__ == "__main__":
    for kind, label, path in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")):
        print(f"{kind}\t{label}\t{path}\t{path.stat().st_size}")

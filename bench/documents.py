"""Benchmark inputs: ~10 MB PDF, DOCX and PPTX files, and a zip bomb dressed as a .docx.

A real 10 MB office file is mostly pictures with some text, so each document here is a few
thousand paragraphs (or slides, or pages) of text plus an incompressible picture that brings
it just under the 10 MiB limit. The PDF writer and the bomb (a 1 GiB member of zeros deflated
to about 1 MB) come from the tests' document builders in tests/files_support.py.
"""

from __future__ import annotations

import io
import os
import random
import sys
import zipfile
import zlib
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parent.parent)
)  # the test builders, run or imported

from tests.files_support import docx_entries, pdf_document, write_raw_zip, zeros_deflated

TARGET_BYTES = int(9.5 * 1024 * 1024)  # "~10 MB", safely under the 10 MiB upload limit
WORDS = [
    "client",
    "invoice",
    "deadline",
    "milestone",
    "deliverable",
    "scope",
    "budget",
    "review",
    "contract",
    "payment",
    "design",
    "draft",
    "revision",
    "meeting",
    "proposal",
    "estimate",
    "risk",
    "schedule",
    "handover",
    "testing",
    "launch",
]


def _sentence(rng: random.Random, words: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _noise(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _pad_zip(data: bytes, member: str, target: int = TARGET_BYTES) -> bytes:
    """DATA (a zip package) with a stored picture-like member added to reach TARGET."""
    missing = target - len(data) - 200
    if missing <= 0:
        return data
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_STORED) as zf:
        zf.writestr(member, _noise(missing, 7))
    return buf.getvalue()


def build_docx(path: Path, paragraphs: int = 6000) -> Path:
    rng = random.Random(1)
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(
        f"<w:p><w:r><w:t>{_sentence(rng)} {_sentence(rng)}</w:t></w:r></w:p>"
        for _ in range(paragraphs)
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{ns}"><w:body>{body}<w:sectPr/></w:body></w:document>'
    )
    main_ct = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="png" ContentType="image/png"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main_ct}"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("word/document.xml", document)
    path.write_bytes(_pad_zip(buf.getvalue(), "word/media/image1.png"))
    return path


def build_pptx(path: Path, slides: int = 400, target: int = TARGET_BYTES) -> Path:
    from pptx import Presentation

    rng = random.Random(2)
    prs = Presentation()
    for n in range(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"Slide {n + 1}: {_sentence(rng, 4)}"
        slide.placeholders[1].text = "\n".join(_sentence(rng) for _ in range(5))
        slide.notes_slide.notes_text_frame.text = _sentence(rng, 30)
    out = io.BytesIO()
    prs.save(out)
    path.write_bytes(_pad_zip(out.getvalue(), "ppt/media/image1.png", target))
    return path


def build_pdf(path: Path, pages: int = 400, target: int = TARGET_BYTES) -> Path:
    """Pages of Helvetica text (40 lines each) and one noise image covering the first page."""
    rng = random.Random(3)
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b""]
    objects[2] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    page_ids: list[int] = []
    image_id = 4
    objects.append(b"")  # the image, filled in last
    for p in range(pages):
        lines = [
            f"BT /F1 9 Tf 40 {760 - 18 * i} Td ({_sentence(rng, 12)}) Tj ET" for i in range(40)
        ]
        if p == 0:
            lines.insert(0, "q 532 0 0 700 40 50 cm /Im1 Do Q")
        stream = zlib.compress("\n".join(lines).encode("latin-1"))
        page_id = len(objects) + 1
        page_ids.append(page_id)
        objects.append(
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 "
                f"3 0 R >> /XObject << /Im1 {image_id} 0 R >> >> /Contents {page_id + 1} 0 R >>"
            ).encode()
        )
        objects.append(
            f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
            + stream
            + b"\nendstream"
        )
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()
    text_size = sum(len(o) for o in objects)
    side = max(16, int(max(0, target - text_size - 4096) ** 0.5))
    pixels = _noise(side * side, 4)
    objects[image_id - 1] = (
        f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
        f"/BitsPerComponent 8 /Length {len(pixels)} >>\nstream\n".encode()
        + pixels
        + b"\nendstream"
    )
    path.write_bytes(pdf_document(objects))
    return path


def build_bomb(path: Path, gib: int = 1) -> Path:
    """A small .docx whose document part inflates to GIB GiB of zeros (about 1 MB on disk)."""
    total = gib * 1024 * 1024 * 1024
    payload, crc = zeros_deflated(total)
    entries = docx_entries()
    entries.append(("word/document.xml", payload, crc, total, 8))
    write_raw_zip(path, entries)
    return path


NAMES = {"pdf": "brief.pdf", "docx": "contract.docx", "pptx": "deck.pptx", "bomb": "bomb.docx"}
BUILDERS = {"pdf": build_pdf, "docx": build_docx, "pptx": build_pptx, "bomb": build_bomb}


def paths_in(directory: Path) -> dict[str, Path]:
    """name -> path of every benchmark document in DIRECTORY (built or not)."""
    return {kind: directory / name for kind, name in NAMES.items()}


def build_all(directory: Path) -> dict[str, Path]:
    """name -> path for every benchmark document, built in DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    return {kind: BUILDERS[kind](path) for kind, path in paths_in(directory).items()}


if __name__ == "__main__":  # build them where asked, to look at them
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-results/documents")
    for name, built in build_all(target).items():
        print(f"{name}: {built} ({os.path.getsize(built):,} bytes)")

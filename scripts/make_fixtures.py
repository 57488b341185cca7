"""Regenerate tests/fixtures/files/ with LibreOffice: sample.docx (ours) -> sample.doc, sample.pdf.

Run once by hand when the fixtures need to change (`python scripts/make_fixtures.py`); the
tests use the committed files, so CI needs no LibreOffice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "files"
sys.path.insert(0, str(ROOT / "tests"))

from files_support import SAMPLE_AFTER, SAMPLE_PARAGRAPHS, SAMPLE_TABLE, docx_bytes  # noqa: E402


def convert(soffice: str, source: Path, fmt: str, outdir: Path) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                fmt,
                "--outdir",
                str(outdir),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return outdir / (source.stem + "." + fmt.split(":")[0])


def main() -> int:
    soffice = shutil.which("soffice")
    if soffice is None:
        print("soffice not found; install LibreOffice to regenerate the fixtures", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    source = OUT / "sample.docx"
    source.write_bytes(docx_bytes(SAMPLE_PARAGRAPHS, SAMPLE_TABLE, SAMPLE_AFTER))
    with tempfile.TemporaryDirectory() as tmp:
        doc = convert(soffice, source, "doc:MS Word 97", Path(tmp))
        pdf = convert(soffice, source, "pdf", Path(tmp))
        shutil.copyfile(doc, OUT / "sample.doc")
        shutil.copyfile(pdf, OUT / "sample.pdf")
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

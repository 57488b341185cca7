"""PowerPoint text with python-pptx: each slide's text frames, tables and grouped shapes, then its
notes, under a "--- Slide N ---" header.

python-pptx reads every part of the package into memory when it opens one, so the package is
guarded and every part inflated once, bounded, before python-pptx sees it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

from chatpro.errors import FileRefused
from chatpro.files.common import Extracted, Progress, TextBuilder
from chatpro.files.ooxml import PPTX_READABLE, open_package


def _frame_lines(frame: Any) -> Iterator[str]:
    for paragraph in frame.paragraphs:
        yield paragraph.text.replace("\v", "\n")


def _shape_lines(shapes: Iterable[Any]) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "shape_type", None) == 6 or hasattr(shape, "shapes"):  # a group
            yield from _shape_lines(shape.shapes)
            continue
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield from _frame_lines(shape.text_frame)
        elif getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                cells = (" ".join(cell.text.split()) for cell in row.cells)
                yield "\t".join(cells)


def extract_pptx(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    package, _, ctype = open_package(data, name, expected=".pptx")
    if ctype not in PPTX_READABLE:
        raise package.refuse(
            "a PowerPoint show or template, which is not supported (save it as .pptx)"
        )
    package.scan_all_xml()

    from pptx import Presentation

    try:
        presentation = Presentation(io.BytesIO(data))
        slides = list(presentation.slides)
        builder = TextBuilder()
        for number, slide in enumerate(slides, start=1):
            builder.line(f"--- Slide {number} ---")
            for line in _shape_lines(slide.shapes):
                builder.line(line)
            if slide.has_notes_slide:
                frame = slide.notes_slide.notes_text_frame
                notes = frame.text.strip() if frame is not None else ""
                if notes:
                    builder.line("Notes:")
                    for line in notes.replace("\v", "\n").splitlines():
                        builder.line(line)
            builder.line("")
            if progress is not None:
                progress(number, len(slides))
            if builder.full:
                break
    except FileRefused:
        raise
    except Exception:  # noqa: BLE001 - python-pptx and lxml raise KeyError, ValueError, XMLSyntaxError, ...
        raise FileRefused(f"{name}: corrupt PowerPoint file (it could not be read)") from None
    return Extracted(builder.text(), builder.truncated, slides=len(slides))

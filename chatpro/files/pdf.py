"""PDF text with pypdf, page by page.

pypdf raises its PyPdfError family on damage, DependencyError for ciphers it cannot run without
an optional package, and, on truly mangled input, plain Python errors from deep inside: all of
them mean "we cannot read this file", so all become one refusal. Its warnings are silenced here
because the core never prints.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator

from chatpro.errors import FileRefused
from chatpro.files.common import Extracted, Progress, TextBuilder

STREAM_OUTPUT_LIMIT = 16 * 1024 * 1024
"""Most bytes one decoded PDF stream may produce. pypdf's own default (75 MB) lets a 1 MB flate
bomb cost about 180 MB of memory; page content streams of real files are far smaller."""

_LIMITS = (
    "zlib_maximum_output_length",
    "lzw_maximum_output_length",
    "run_length_maximum_output_length",
    "array_based_stream_maximum_output_length",
    "brotli_maximum_output_length",
    "maximum_declared_stream_length",
)


def _tighter_limits() -> contextlib.AbstractContextManager[object]:
    """pypdf's decoding limits lowered for this extraction (pypdf 7+; older ones keep theirs)."""
    import pypdf

    apply = getattr(pypdf, "apply_configuration", None)
    if apply is None:
        return contextlib.nullcontext()
    known = {f for f in _LIMITS if hasattr(pypdf.get_configuration(), f)}
    return apply(**dict.fromkeys(known, STREAM_OUTPUT_LIMIT))  # type: ignore[no-any-return]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    logger = logging.getLogger("pypdf")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    try:
        with warnings.catch_warnings(), _tighter_limits():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        logger.propagate = propagate


def extract_pdf(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    if not data.startswith(b"%PDF-"):
        from chatpro.files.sniff import describe_bytes

        raise FileRefused(f"{name}: not a PDF file (it looks like {describe_bytes(data)})")
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    with _quiet():
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")
                except DependencyError:
                    raise FileRefused(
                        f"{name}: encrypted PDF this install cannot open (its cipher needs the "
                        "'cryptography' package)"
                    ) from None
                if not opened:
                    raise FileRefused(f"{name}: encrypted PDF that needs a password")
            count = len(reader.pages)
            builder = TextBuilder()
            for index in range(count):
                page_text = reader.pages[index].extract_text() or ""
                if count > 1:
                    builder.line(f"--- Page {index + 1} ---")
                for line in page_text.splitlines():
                    builder.line(line)
                builder.line("")
                if progress is not None:
                    progress(index + 1, count)
                if builder.full:
                    break
        except FileRefused:
            raise
        except FileNotDecryptedError:
            raise FileRefused(f"{name}: encrypted PDF that needs a password") from None
        except (PyPdfError, DependencyError, RecursionError):
            raise FileRefused(f"{name}: corrupt PDF (it could not be read)") from None
        except Exception:  # noqa: BLE001 - pypdf also raises KeyError, ValueError, ... on garbage
            raise FileRefused(f"{name}: corrupt PDF (it could not be read)") from None
    if count == 0:
        raise FileRefused(f"{name}: corrupt PDF (it has no pages)")
    return Extracted(builder.text(), builder.truncated, pages=count)

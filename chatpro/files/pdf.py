"""PDF text with pypdf, page by page.

pypdf raises its PyPdfError family on damage, DependencyError for ciphers it cannot run without
an optional package, and, on truly mangled input, plain Python errors from deep inside: all of
them mean "we cannot read this file", so all become one refusal. Its warnings are silenced here
because the core never prints. A page that fails alone is skipped with a notice; the file is
refused only when no page can be read.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from typing import Any

from chatpro.errors import FileRefused
from chatpro.files import pdf_content
from chatpro.files.common import Extracted, Progress, TextBuilder
from chatpro.files.pdf_content import Budget, BudgetExceeded
from chatpro.files.pdf_layout import Fonts, page_text
from chatpro.files.pdf_text import (
    UNRELIABLE_SHARE,
    PageBoxFilter,
    clean_chars,
    even_letter_spacing,
    page_box,
    page_ranges,
    rejoin_letter_spaced,
    unmapped_share,
    untrusted_fonts,
)

RTL_REREAD_TOKENS = 200_000
"""A right-to-left page is read again by pypdf (slower, unbudgeted) only when it is this small."""

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


def _open(data: bytes, name: str) -> Any:
    """A PdfReader for DATA, decrypted with the empty user password when it is encrypted."""
    import pypdf
    from pypdf.errors import DependencyError

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
    return reader


def _pypdf_page_text(page: Any) -> str:
    """PAGE's visible text by pypdf's own extractor (slow; see _page_text for when)."""
    box = PageBoxFilter(page_box(page))
    plain = page.extract_text(visitor_text=box, visitor_operand_before=even_letter_spacing) or ""
    return box.text() if box.dropped else plain


def _page_text(page: Any, fonts: Fonts, budget: Budget) -> tuple[str, bool]:
    """The visible text of PAGE, cleaned, and whether its fonts let it be trusted."""
    before = budget.left
    text = page_text(page, page_box(page), fonts, budget)
    from pypdf._text_extraction import RTL_CHARACTER_PATTERN

    if before - budget.left <= RTL_REREAD_TOKENS and RTL_CHARACTER_PATTERN.search(text) is not None:
        # Right-to-left scripts need pypdf's reordering of runs into reading order, which
        # pdf_layout does not do: such pages (rare in our users' files) take the slow path.
        text = _pypdf_page_text(page)
    text = clean_chars(text)
    trusted = not untrusted_fonts(page) and unmapped_share(text) <= UNRELIABLE_SHARE
    return rejoin_letter_spaced(text), trusted


def extract_pdf(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    if not data.startswith(b"%PDF-"):
        from chatpro.files.sniff import describe_bytes

        raise FileRefused(f"{name}: not a PDF file (it looks like {describe_bytes(data)})")
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    fonts = Fonts()
    budget = Budget()
    stopped = 0  # the page where the document's token budget ran out
    skipped: list[int] = []
    unreliable: list[int] = []
    with _quiet():
        try:
            reader = _open(data, name)
            count = len(reader.pages)
            builder = TextBuilder()
            read = count
            for index in range(count):
                try:
                    text, trusted = _page_text(reader.pages[index], fonts, budget)
                except (FileNotDecryptedError, DependencyError):
                    raise
                except BudgetExceeded:
                    stopped = index + 1
                    read = index
                    break
                except RecursionError:
                    skipped.append(index + 1)
                    continue
                except Exception:  # noqa: BLE001 - one damaged page must not cost the others
                    skipped.append(index + 1)
                    continue
                if not trusted:
                    unreliable.append(index + 1)
                if count > 1:
                    builder.line(f"--- Page {index + 1} ---")
                for line in text.splitlines():
                    builder.line(line)
                builder.line("")
                read = index + 1
                if progress is not None:
                    progress(read, count)
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
    if len(skipped) == count:
        raise FileRefused(f"{name}: corrupt PDF (it could not be read)")
    notices: list[str] = []
    if stopped:
        notices.append(
            f"reading stopped at page {stopped} of {count}: the pages draw more than chatpro "
            f"reads in one document ({pdf_content.MAX_TOKENS:,} content tokens)"
        )
    if skipped:
        which = "page" if len(skipped) == 1 else "pages"
        verb = "was" if len(skipped) == 1 else "were"
        notices.append(
            f"{which} {page_ranges(skipped)} of {count} could not be read and {verb} skipped"
        )
    if unreliable:
        which = "page" if len(unreliable) == 1 else "pages"
        notices.append(
            f"the text of {which} {page_ranges(unreliable)} may not be reliable "
            "(unmapped font encoding)"
        )
    # stopped at the text cap or the token budget on page N: about N of the COUNT pages are in
    coverage = min(1.0, read / count) if (builder.truncated or stopped) and count else 1.0
    return Extracted(
        builder.text(), builder.truncated, pages=count, notices=tuple(notices), coverage=coverage
    )

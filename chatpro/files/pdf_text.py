"""Page text from pypdf made fit to send: only what is drawn on the page, clean characters,
letter-spaced words rejoined, and a judgement on whether the fonts let the text be trusted.

pypdf's plain extraction keeps rotated and angled text and finds word and line breaks well
(its "layout" mode drops rotated text, pads with runs of blanks and still splits letter-spaced
words), so we keep plain mode and correct it where it is known to go wrong.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"

# A run of single letters split by single spaces ("R a n g e", and pypdf's "Ra n g e" whose
# first gap fell under its threshold): a word set with wide letter spacing.
_LETTER_SPACED = re.compile(r"(?<!\S)([^\W\d_]{1,2}(?: [^\W\d_]){3,})(?!\S)")

_IDENTITY_CMAPS = {"/Identity-H", "/Identity-V"}
"""Identity CMaps give glyph ids, which mean something only through a /ToUnicode map."""

UNRELIABLE_SHARE = 0.05
"""A page whose text is more than this share of replacement or private-use characters holds
glyphs without a Unicode meaning: what comes out is not what a reader sees."""


_SYMBOL_BULLETS = str.maketrans(
    {
        "\uf0b7": "\u2022",  # Symbol's bullet: •
        "\uf0a7": "\u25aa",  # Wingdings' small square: ▪
        "\uf0d8": "\u27a2",  # Wingdings' arrowhead: ➢
        "\uf076": "\u2756",  # Wingdings' diamond: ❖
        "\uf0fc": "\u2713",  # Wingdings' check mark: ✓
    }
)
"""List bullets that Word and LibreOffice draw from the Symbol and Wingdings fonts, whose
/ToUnicode maps give private-use code points (U+F000 + the glyph's byte): the character a reader
sees instead."""


def clean_chars(text: str) -> str:
    """TEXT without surrogates (replaced), NULs and control characters other than \\n and \\t,
    and with the usual Symbol/Wingdings list bullets as the characters they show."""
    text = _SURROGATES.sub(_REPLACEMENT, text)
    return _CONTROLS.sub("", text).translate(_SYMBOL_BULLETS)


def rejoin_letter_spaced(text: str) -> str:
    """TEXT with each run of single letters split by single spaces joined into one word."""
    return _LETTER_SPACED.sub(lambda m: m.group(1).replace(" ", ""), text)


LETTER_GAP_LIMIT = 200
"""Widest gap (thousandths of an em) read as letter spacing; word spaces are 250-333."""


def even_gaps(items: list[Any]) -> list[Any]:
    """ITEMS (a TJ array: strings and numbers) with even letter spacing undone: when most gaps
    between single glyphs are the same and narrower than a word space, they are set to 0 (each
    would read as a word break) and only the wider ones stay. ITEMS itself is left as it is."""
    strings = [item for item in items if isinstance(item, (str, bytes))]
    singles = sum(1 for item in strings if len(item) == 1)
    gaps = [
        i
        for i, item in enumerate(items)
        if isinstance(item, (int, float)) and not isinstance(item, bool) and item < 0
    ]
    if singles < 3 or singles * 5 < len(strings) * 4 or len(gaps) < 3:
        return items
    sizes = sorted(-float(items[i]) for i in gaps)
    typical = sizes[len(sizes) // 2]
    if typical >= LETTER_GAP_LIMIT:
        return items
    even = [i for i in gaps if abs(-float(items[i]) - typical) <= typical * 0.25]
    # Letter spacing puts a gap between nearly every two glyphs; word gaps come far less often.
    if len(even) * 5 < len(gaps) * 3 or len(even) * 2 < len(strings):
        return items
    items = list(items)
    for i in even:
        items[i] = 0.0
    return items


def even_letter_spacing(operator: Any, operands: Any, cm: Any, tm: Any) -> None:
    """even_gaps as a pypdf visitor_operand_before, for the pages pypdf reads itself."""
    if operator == b"TJ" and operands and isinstance(operands[0], list):
        operands[0][:] = even_gaps(operands[0])


def _apply(matrix: list[float], x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


class PageBoxFilter:
    """A pypdf text visitor that keeps only the pieces of text that start inside the page's
    visible box (the crop box, which defaults to the media box), with a margin of one line."""

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        self.left, self.bottom, self.right, self.top = box
        self.kept: list[str] = []
        self.dropped = 0

    def __call__(self, text: Any, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if not text:
            return
        if text.strip() == "":
            self.kept.append(text)
            return
        try:
            x, y = _apply([float(v) for v in cm], *_apply([float(v) for v in tm], 0.0, 0.0))
            margin = max(abs(float(size)), 1.0)
        except (TypeError, ValueError):
            self.kept.append(text)
            return
        inside = (
            self.left - margin <= x <= self.right + margin
            and self.bottom - margin <= y <= self.top + margin
        )
        if inside:
            self.kept.append(text)
        else:
            self.dropped += 1

    def text(self) -> str:
        return "".join(self.kept)


def page_box(page: Any) -> tuple[float, float, float, float]:
    box = page.cropbox
    left, right = sorted((float(box.left), float(box.right)))
    bottom, top = sorted((float(box.bottom), float(box.top)))
    return left, bottom, right, top


def untrusted_fonts(page: Any) -> bool:
    """Whether the page uses a composite font whose codes pypdf cannot map to Unicode: a
    predefined CJK CMap it does not implement, or an Identity CMap without a /ToUnicode map."""
    try:
        fonts = page["/Resources"].get_object()["/Font"].get_object()
    except (KeyError, AttributeError, TypeError):
        return False
    from pypdf._cmap import _predefined_cmap

    for ref in fonts.values():
        try:
            font = ref.get_object()
            if font.get("/Subtype") != "/Type0" or "/ToUnicode" in font:
                continue
            encoding = font.get("/Encoding")
            encoding = encoding.get_object() if encoding is not None else None
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        if not isinstance(encoding, str) or encoding in _IDENTITY_CMAPS:
            return True  # an embedded CMap, or bare CIDs: codes, not Unicode
        if encoding not in _predefined_cmap and "-UCS2-" not in encoding:
            return True
    return False


_UNMAPPED = re.compile("[\ufffd\ue000-\uf8ff]")
_BLANKS = re.compile(r"\s")


def unmapped_share(text: str) -> float:
    """The share of TEXT's visible characters that are replacement or private-use characters."""
    if _UNMAPPED.search(text) is None:
        return 0.0
    visible = len(text) - len(_BLANKS.findall(text))
    return len(_UNMAPPED.findall(text)) / visible if visible else 0.0


def page_ranges(pages: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    parts: list[str] = []
    start = prev = pages[0]
    for number in [*pages[1:], None]:
        if number is not None and number == prev + 1:
            prev = number
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if number is not None:
            start = prev = number
    return ", ".join(parts)

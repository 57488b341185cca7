"""Page text from a PDF content stream: a text state machine over pdf_content's operations.

pypdf's page.extract_text spends most of its time decoding each character in Python and
re-measuring each string glyph by glyph. This module keeps pypdf's rules for where lines and
word breaks go (a new line when the baseline moves by more than 0.8 of the font size, a space
when the gap after a piece of text is at least half a space wide, a space for a TJ gap of about
half a space), so the text reads as before, but decodes a whole string at once: each font
becomes a translation table (256 entries for one-byte fonts, a code → text dict for two-byte
ones) and a width table, built once per font per document from pypdf's own font maps
(generic/_font.py, _cmap.py). Where pypdf stops short of the PDF model it is completed: Tz and
Tw count in string widths, a form XObject is read at its place on the page (its /Matrix and the
current transformation apply, so the page box check sees where it really is) and with the
page's resources when it has none of its own.

Only text that starts inside the page's visible box (crop box, one line of margin) is kept.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chatpro.files.pdf_content import Budget, Operation, operations
from chatpro.files.pdf_text import even_gaps

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

MAX_SAVED_STATES = 1024
"""Deepest q nesting kept (the PDF reference's own limit is 28): a stream of millions of q's
must not keep millions of saved states."""
MAX_FORM_DEPTH = 12
MAX_FORMS_PER_PAGE = 5000
"""Form XObjects nest (a cycle is refused outright); these bound what one page may cost."""


def _mult(m: Matrix, n: Matrix) -> Matrix:
    return (
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    )


def _matrix(values: Any) -> Matrix | None:
    try:
        if len(values) < 6:
            return None
        a, b, c, d, e, f = (float(v) for v in values[:6])
    except (TypeError, ValueError):
        return None
    return (a, b, c, d, e, f)


class _Widths(dict[str, float]):
    """Glyph widths (thousandths of an em) by decoded character, with the font's default."""

    default = 500.0

    def __missing__(self, key: str) -> float:
        return self.default


@dataclass
class FontCodec:
    """One font's decoding: string bytes to text, and their width, at C speed."""

    space_width: float
    """The width of a space in thousandths of an em (what pypdf uses for word gaps)."""
    table: dict[int, str] = field(default_factory=dict)
    """One-byte fonts: byte → text (str.translate over the latin-1 view of the bytes)."""
    widths: list[float] = field(default_factory=list)
    """One-byte fonts: byte → width."""
    lengths: list[int] | None = None
    """One-byte fonts whose codes stand for more than one character (Tc counts each)."""
    codec: str | None = None
    """Multi-byte fonts: the Python codec of the CMap (utf-16-be for Identity-H)."""
    to_text: dict[int, str] = field(default_factory=dict)
    char_widths: _Widths = field(default_factory=_Widths)

    def decode(self, raw: bytes) -> tuple[str, float, int]:
        """The text RAW shows, its width in thousandths of an em, and its character count."""
        if self.codec is None:
            text = raw.decode("latin-1").translate(self.table)
            width = sum(map(self.widths.__getitem__, raw))
            count = len(raw) if self.lengths is None else sum(map(self.lengths.__getitem__, raw))
            return text, width, count
        try:
            codes = raw.decode(self.codec, "surrogatepass")
        except UnicodeDecodeError:
            codes = raw.decode(self.codec, "replace")
        return (
            codes.translate(self.to_text),
            sum(map(self.char_widths.__getitem__, codes)),
            len(codes),
        )


def _num(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def codec_from_pypdf(font_dict: Any) -> FontCodec:
    """A FontCodec from pypdf's reading of a font dictionary (encodings, /Differences,
    /ToUnicode, predefined CMaps, embedded font encodings, /Widths or the standard 14 metrics)."""
    from pypdf.generic._font import Font

    font = Font.from_font_resource(font_dict)
    scale = _type3_scale(font_dict)
    widths = font.character_widths
    if scale != 1.0:
        widths = {k: _num(v, 0.0) * scale for k, v in widths.items()}
    default = _num(widths.get("default", 500), 500.0)
    space_char = font.space_char
    space_width = _num(font.space_width, 250.0) * scale
    if _num(widths.get(space_char, 0), 0.0) == 0:
        space_width = 200.0  # pypdf's extract_text default when the font gives no space width
    cmap = font.character_map
    encoding = font.encoding
    if isinstance(encoding, dict):
        codec = FontCodec(space_width)
        lengths = []
        for code in range(256):
            coded = encoding.get(code, chr(code))
            if not isinstance(coded, str):
                coded = chr(code)
            codec.table[code] = "".join(cmap.get(ch, ch) for ch in coded)
            lengths.append(len(coded))
            raw = chr(code)
            width = space_width if raw == space_char else _num(widths.get(raw, default), default)
            codec.widths.append(width)
        if any(n != 1 for n in lengths):
            codec.lengths = lengths
        return codec
    char_widths = _Widths((k, _num(v, default)) for k, v in widths.items() if isinstance(k, str))
    char_widths.default = default
    char_widths[space_char] = space_width
    to_text = {
        ord(k): v
        for k, v in cmap.items()
        if isinstance(k, str) and len(k) == 1 and isinstance(v, str)
    }
    return FontCodec(space_width, codec=str(encoding), to_text=to_text, char_widths=char_widths)


def _type3_scale(font_dict: Any) -> float:
    """What turns a Type3 font's widths into thousandths of an em: its /FontMatrix maps glyph
    space to text space (a bitmap font from TeX has widths in units of its own; pypdf reads them
    as thousandths, so every glyph seemed metres wide and the words after it were glued on)."""
    try:
        if font_dict.get("/Subtype") != "/Type3":
            return 1.0
        matrix = font_dict.get("/FontMatrix")
        matrix = matrix.get_object() if hasattr(matrix, "get_object") else matrix
        scale = abs(float(matrix[0])) * 1000
    except (AttributeError, TypeError, ValueError, IndexError, KeyError):
        return 1.0
    return scale if math.isfinite(scale) and scale > 0 else 1.0


def _fixed_widths() -> list[float]:
    widths = [500.0] * 256
    widths[32] = 250.0
    return widths


UNKNOWN_FONT = FontCodec(250.0, table=dict.fromkeys(range(256), "\ufffd"), widths=_fixed_widths())
"""A font name the resources do not define: its codes mean nothing we can read."""


_WIN_ANSI = {code: bytes((code,)).decode("cp1252", "ignore") or chr(code) for code in range(256)}
INITIAL_FONT = FontCodec(250.0, table=_WIN_ANSI, widths=_fixed_widths())
"""pypdf's font before any Tf: WinAnsi codes, every glyph 500 wide."""


class Fonts:
    """FontCodecs by font dictionary, shared by every page of one document."""

    def __init__(self) -> None:
        self._codecs: dict[int, tuple[Any, FontCodec]] = {}

    def codec(self, font_dict: Any) -> FontCodec:
        key = id(font_dict)
        known = self._codecs.get(key)
        if known is not None:
            return known[1]
        from pypdf.errors import PyPdfError

        try:
            codec = codec_from_pypdf(font_dict)
        except (PyPdfError, AttributeError, TypeError, KeyError, ValueError, IndexError):
            codec = UNKNOWN_FONT  # a damaged font costs its text, not the page
        self._codecs[key] = (font_dict, codec)  # the dict is kept so its id stays unique
        return codec


class PageSink:
    """Where the pieces of a page's text go: kept when they start inside the visible box."""

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        self.left, self.bottom, self.right, self.top = box
        self.kept: list[str] = []
        self.dropped = 0
        self.last = ""  # the last character of all text so far, kept or not
        self.forms = 0

    def put(self, text: str, memo_tm: Matrix, memo_cm: Matrix, size: float) -> None:
        if not text:
            return
        self.last = text[-1]
        if text.isspace():
            self.kept.append(text)
            return
        e, f = memo_tm[4], memo_tm[5]
        x = memo_cm[0] * e + memo_cm[2] * f + memo_cm[4]
        y = memo_cm[1] * e + memo_cm[3] * f + memo_cm[5]
        margin = max(abs(size), 1.0)
        if (
            self.left - margin <= x <= self.right + margin
            and self.bottom - margin <= y <= self.top + margin
        ):
            self.kept.append(text)
        else:
            self.dropped += 1

    def text(self) -> str:
        return "".join(self.kept)


_OTHER = frozenset({b"TD", b"T*", b"'", b'"', b"Tm", b"q", b"Q", b"cm", b"Tz", b"Tc", b"Tw"})
_OTHER |= {b"TL", b"Do", b"BDC", b"BMC", b"EMC"}


_SAVED = ("cm", "font", "font_size", "char_scale", "char_spacing", "word_spacing", "leading")
"""What q saves and Q restores (the graphics state parts that matter for text). The half space
that word gaps are measured with is left as the last Tf set it, as pypdf does: a piece of text
drawn inside q ... Q and the next one after it are compared with the font that drew it, not
with the font before the q (LibreOffice wraps each line in q ... Q, and "an error" read as
"anerror" when the gap was measured in the restored default font)."""
_save = operator.attrgetter(*_SAVED)


class TextState:
    """The text and graphics state pypdf's extractor keeps, run over one content stream."""

    def __init__(
        self,
        sink: PageSink,
        resources: Any,
        fonts: Fonts,
        cm: Matrix = IDENTITY,
        depth: int = 0,
        forms_open: frozenset[int] = frozenset(),
        budget: Budget | None = None,
    ) -> None:
        self.sink = sink
        self.resources = resources
        self.fonts = fonts
        self.budget = budget
        self.font_dicts = _sub(resources, "/Font")
        self.by_name: dict[str, FontCodec] = {}
        self.depth = depth
        self.forms_open = forms_open
        self.cm = cm
        self.tm = IDENTITY
        self.prev_m = cm  # the combined matrix at the last position check
        self.memo_tm = IDENTITY
        self.memo_cm = cm
        self.stack: list[tuple[Any, ...]] = []
        self.unsaved = 0  # q operators past MAX_SAVED_STATES, not saved
        self.font = INITIAL_FONT
        self.font_size = 12.0
        self.space_half = 500.0  # half a space, thousandths of an em (pypdf's start value)
        self.previous_font_space: float | None = None
        self.char_scale = 1.0
        self.char_spacing = 0.0
        self.word_spacing = 0.0
        self.leading = 0.0
        self.str_widths = 0.0
        self.str_height = 0.0
        self.line_span: tuple[int, float, float] | None = None
        self.text = ""
        # marked content: for each open BMC/BDC, whether it carries an /ActualText
        self.marked: list[bool] = []
        self.actual: str | None = None
        """Inside a span with /ActualText: its text, until the first string shows it (then "");
        the span's glyphs still move the pen but their text is replaced."""

    # --- output -----------------------------------------------------------------------------

    def _flush(self) -> None:
        self.sink.put(self.text, self.memo_tm, self.memo_cm, self.font_size)
        self.text = ""
        self.memo_tm, self.memo_cm = self.tm, self.cm

    def _check(self, str_widths: float) -> None:
        """pypdf's crlf_space_check: after a move or a string, a line break when the baseline
        moved, a space when the pen moved past the text plus half a space."""
        tm, cm = self.tm, self.cm
        m = _mult(tm, cm)
        mp = self.prev_m
        self.prev_m = m
        text_was_empty = not self.text
        space = self.font_size * self.space_half
        if self.previous_font_space is not None:
            space = min(space, self.previous_font_space)
        if m[3] > 1e-6 or m[3] < -1e-6:
            moved_height, moved_width, axis_index = m[5] - mp[5], m[4] - mp[4], 5
        else:
            moved_height, moved_width, axis_index = m[4] - mp[4], m[5] - mp[5], 4
        axis = m[axis_index]
        span = self.line_span
        if span is None or span[0] != axis_index:
            distance = abs(moved_height)
        elif span[1] <= axis <= span[2]:
            distance = 0.0
        else:
            distance = min(abs(axis - span[1]), abs(axis - span[2]))
        text = self.text
        last = text[-1] if text else self.sink.last
        threshold = 0.8 * min(
            self.str_height * math.hypot(mp[2], mp[3]), self.font_size * math.hypot(m[2], m[3])
        )
        if distance > threshold:
            if last and last != "\n":
                self.sink.put(text + "\n", self.memo_tm, self.memo_cm, self.font_size)
                self.text = ""
            self.line_span = (axis_index, axis, axis)
        else:
            if (
                abs(moved_height) > threshold
                or moved_width >= (space / 1000 + str_widths) * math.hypot(mp[0], mp[1])
            ) and last not in ("", " "):
                self.text = text + " "
            if last in ("", "\n") or span is None or span[0] != axis_index:
                self.line_span = (axis_index, axis, axis)
            else:
                self.line_span = (axis_index, min(span[1], axis), max(span[2], axis))
        if text_was_empty or not self.text:
            self.memo_tm, self.memo_cm = tm, cm

    def _show(self, raw: Any) -> None:
        """Tj: the string's text joins the current piece and its width the pen's advance."""
        if isinstance(raw, bytes):
            self.previous_font_space = None
            text, width, count = self.font.decode(raw)
            if self.actual is not None:
                text, self.actual = self.actual, ""
            self.text += text
            advance = width * self.font_size + 1000 * self.char_spacing * count
            if self.word_spacing and self.font.codec is None:
                advance += 1000 * self.word_spacing * raw.count(32)
            self.str_widths += advance * self.char_scale
            self.str_height = self.font_size
        self._check(0.0)

    def _move(self, tx: float, ty: float) -> None:
        a, b, c, d, e, f = self.tm
        self.tm = (a, b, c, d, e + tx * a + ty * c, f + tx * b + ty * d)
        widths, self.str_widths = self.str_widths / 1000, 0.0
        self._check(widths)

    def _next_line(self) -> None:
        self._move(0.0, -self.leading)

    def _show_array(self, items: list[Any]) -> None:
        """TJ: strings shown in turn; a gap of about half a space or more reads as a space."""
        confirm = self.space_half * 0.95
        for item in even_gaps(items):
            if isinstance(item, bytes):
                self._show(item)
            elif isinstance(item, float):
                widths = self.str_widths - item * self.font_size * self.char_scale
                previous = self.text[-1:] or self.sink.last
                if -item >= confirm and previous not in ("", " ", "\n"):
                    self.previous_font_space = None
                    self.text += " "
                    self.str_height = self.font_size
                    self._check(0.0)
                self.str_widths = widths

    def _set_font(self, operands: list[Any]) -> None:
        if self.text:
            self.previous_font_space = self.font_size * self.space_half
            self.sink.put(self.text, self.memo_tm, self.memo_cm, self.font_size)
        self.text = ""
        self.memo_tm, self.memo_cm = self.tm, self.cm
        name = operands[0] if operands and isinstance(operands[0], str) else None
        font = self.by_name.get(name) if name is not None else None
        if font is None:
            font_dict = None
            if name is not None and self.font_dicts is not None:
                font_dict = _get(self.font_dicts, name)
            font = UNKNOWN_FONT if font_dict is None else self.fonts.codec(font_dict)
            if name is not None:
                self.by_name[name] = font  # a page names its fonts once; Tf comes every line
        self.font = font
        self.space_half = self.font.space_width / 2
        if len(operands) > 1 and isinstance(operands[1], float):
            self.font_size = operands[1]

    # --- the loop ----------------------------------------------------------------------------

    def run(self, ops: Iterable[Operation]) -> None:
        for operands, op in ops:
            if op == b"Tj":
                self._show(operands[0] if operands else None)
            elif op == b"TJ":
                if operands and isinstance(operands[0], list):
                    self._show_array(operands[0])
            elif op == b"Td":
                self._move(
                    operands[0] if operands and isinstance(operands[0], float) else 0.0,
                    operands[1] if len(operands) > 1 and isinstance(operands[1], float) else 0.0,
                )
            elif op == b"BT":
                self.tm = IDENTITY
                self._flush()
            elif op == b"ET":
                self._flush()
            elif op == b"Tf":
                self._set_font(operands)
            elif op in _OTHER:
                self._other(op, operands)
        self.sink.put(self.text, self.memo_tm, self.memo_cm, self.font_size)
        self.text = ""

    def _other(self, op: bytes, operands: list[Any]) -> None:
        first = operands[0] if operands else None
        if op == b"Tm":
            self.tm = _matrix(operands) or IDENTITY
            widths, self.str_widths = self.str_widths / 1000, 0.0
            self._check(widths)
        elif op == b"T*":
            self._next_line()
        elif op == b"TD":
            if len(operands) >= 2:
                if isinstance(operands[1], float):
                    self.leading = -operands[1]
                self._move(_num(operands[0], 0.0), _num(operands[1], 0.0))
        elif op == b"'":
            self._next_line()
            self._show(first)
        elif op == b'"':
            if len(operands) >= 3:
                self.word_spacing = _num(operands[0], 0.0)
                self.char_spacing = _num(operands[1], 0.0)
                self._next_line()
                self._show(operands[2])
        elif op == b"q":
            if len(self.stack) < MAX_SAVED_STATES:
                self.stack.append(_save(self))
            else:
                self.unsaved += 1  # its Q restores nothing
        elif op == b"Q":
            if self.unsaved:
                self.unsaved -= 1
            elif self.stack:
                for name, value in zip(_SAVED, self.stack.pop(), strict=True):
                    setattr(self, name, value)
            else:
                self.cm = IDENTITY
        elif op == b"cm":
            self.sink.put(self.text, self.memo_tm, self.memo_cm, self.font_size)
            self.text = ""
            matrix = _matrix(operands)
            self.cm = IDENTITY if matrix is None else _mult(matrix, self.cm)
            self.memo_tm, self.memo_cm = self.tm, self.cm
        elif op == b"Tz":
            self.char_scale = _num(first, 100.0) / 100
        elif op == b"Tc":
            self.char_spacing = _num(first, 0.0)
        elif op == b"Tw":
            self.word_spacing = _num(first, 0.0)
        elif op == b"TL":
            self.leading = _num(first, 0.0)
        elif op == b"Do":
            self._paint(first)
        elif op == b"BDC" or op == b"BMC":
            self._begin_marked(operands[1] if op == b"BDC" and len(operands) > 1 else None)
        elif op == b"EMC" and self.marked and self.marked.pop():
            if self.actual:  # a span that showed no string: its text still counts
                self.text += self.actual
            self.actual = None

    def _begin_marked(self, properties: Any) -> None:
        """BDC with /ActualText (the text a span of glyphs stands for: a ligature, a hyphenated
        word, a symbol drawn as a picture) replaces what the glyphs would decode to."""
        if isinstance(properties, str):  # a name: the properties are in the resources
            properties = _get(_sub(self.resources, "/Properties") or {}, properties)
        actual = _get(properties, "/ActualText") if hasattr(properties, "get") else None
        if isinstance(actual, (bytes, str)) and self.actual is None:
            if isinstance(actual, bytes):  # from the content stream: a PDF text string
                from pypdf.generic import create_string_object

                actual = create_string_object(actual)
            self.actual = str(actual)  # pypdf's objects arrive decoded
            self.marked.append(True)
        else:
            self.marked.append(False)

    def _paint(self, name: Any) -> None:
        """Do: what came before ends its line; a form XObject's text follows in place."""
        self.sink.put(self.text, self.memo_tm, self.memo_cm, self.font_size)
        if self.sink.last not in ("", "\n"):
            self.sink.put("\n", self.memo_tm, self.memo_cm, self.font_size)
        self.text = ""
        try:
            self._form(name)
        finally:
            self.text = ""
            self.memo_tm, self.memo_cm = self.tm, self.cm

    def _form(self, name: Any) -> None:
        xobjects = _sub(self.resources, "/XObject")
        if xobjects is None or not isinstance(name, str):
            return
        form = _get(xobjects, name)
        if form is None or form.get("/Subtype") == "/Image" or not hasattr(form, "get_data"):
            return
        key = id(form)
        sink = self.sink
        if key in self.forms_open or self.depth >= MAX_FORM_DEPTH:
            return
        if sink.forms >= MAX_FORMS_PER_PAGE:
            return
        sink.forms += 1
        from pypdf.errors import PyPdfError

        try:
            data = form.get_data()
            resources = form.get("/Resources")
            resources = self.resources if resources is None else resources.get_object()
            matrix = _matrix(form.get("/Matrix")) or IDENTITY
        except (PyPdfError, AttributeError, TypeError, KeyError, ValueError):
            return  # a damaged form loses its own text only
        inner = TextState(
            sink,
            resources,
            self.fonts,
            _mult(matrix, self.cm),
            self.depth + 1,
            self.forms_open | {key},
            self.budget,
        )
        inner.run(operations(data, self.budget))


def _sub(resources: Any, key: str) -> Any:
    """RESOURCES[KEY] resolved when it is a dictionary, else None."""
    try:
        value = resources.get(key)
        value = value.get_object() if value is not None else None
    except (AttributeError, TypeError, ValueError, KeyError):
        return None
    return value if hasattr(value, "keys") else None


def _get(dictionary: Any, key: str) -> Any:
    """DICTIONARY[KEY] resolved (pypdf objects or pdf_content's plain ones), else None."""
    try:
        value = dictionary.get(key)
        return value.get_object() if hasattr(value, "get_object") else value
    except (AttributeError, TypeError, ValueError, KeyError):
        return None


def page_content(page: Any) -> bytes:
    """The decoded content stream(s) of PAGE (an array of streams is joined)."""
    contents = _get(page, "/Contents")
    parts = contents if isinstance(contents, list) else [contents]
    # a missing or wrong object is an empty page (pypdf's rule); a stream that cannot be
    # decoded raises, and the page is skipped with a notice
    streams = [part.get_object() if hasattr(part, "get_object") else part for part in parts]
    return b"\n".join(s.get_data() for s in streams if hasattr(s, "get_data"))


def page_text(
    page: Any, box: tuple[float, float, float, float], fonts: Fonts, budget: Budget | None = None
) -> str:
    """The text of PAGE that starts inside BOX; pdf_content.BudgetExceeded when the document's
    content streams have more tokens than BUDGET allows."""
    sink = PageSink(box)
    resources = _resources(page)
    if resources is None:
        return ""  # no resources, no fonts: nothing to read (pypdf's rule)
    data = page_content(page)
    TextState(sink, resources, fonts, budget=budget).run(operations(data, budget))
    return sink.text()


def _resources(page: Any) -> Any:
    resources = page.get_inherited("/Resources", None)
    if resources is None:
        return None
    resources = resources.get_object()
    return resources if hasattr(resources, "keys") and len(resources) else None

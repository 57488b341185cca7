"""A fast tokenizer for decoded PDF content streams: (operands, operator) pairs from bytes.

pypdf's ContentStream reads a stream byte by byte in Python, which was a third of the time of
extracting a text-heavy PDF. Here one compiled regular expression finds each token and Python
only sees whole tokens. It is built for reading text, so it is forgiving: garbage becomes
operators nobody handles, an unbalanced string or array ends where the data ends, and inline
image data (BI ... ID <binary> EI) is skipped without ever being read as operators.

Values: numbers are floats, names are str with their slash ("/F1"), strings (literal and hex)
are bytes, arrays are lists, dictionaries are dicts keyed by name, true/false/null are Python's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Operation = tuple[list[Any], bytes]

_DELIMS = rb"()<>\[\]{}/%"
_WS = rb"\x00\t\n\x0c\r "

# One token after any white space and comments. The groups, in order of how often they occur:
# 1 operator, keyword or number, 2 name, 3 literal string without nested parentheses, 4 hex
# string, 5 "<<", 6 ">>", 7 "[", 8 "]", 9 anything else (a "(" that opens a nested or
# unterminated string, a stray ")" or "{").
_TOKEN = re.compile(
    rb"[" + _WS + rb"]*(?:%[^\r\n]*[" + _WS + rb"]*)*"
    rb"(?:([^" + _WS + _DELIMS + rb"]+)"
    rb"|/([^" + _WS + _DELIMS + rb"]*)"
    rb"|\(([^()\\]*(?:\\.[^()\\]*)*)\)"
    rb"|<([0-9A-Fa-f" + _WS + rb"]*)>"
    rb"|(<<)|(>>)|(\[)|(\])|([\s\S]))",
    re.S,
)
_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|(\r\n|\r|\n)|([\s\S]))")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_NAME_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_PARENS = re.compile(rb"[()\\]")
_HEX_JUNK = re.compile(rb"[^0-9A-Fa-f]")
# The end of inline image data: "EI" between white space (or at the end of the data).
_INLINE_END = re.compile(rb"[" + _WS + rb"]EI(?=[" + _WS + rb"]|\Z)")
_KEYWORDS: dict[bytes, Any] = {b"true": True, b"false": False, b"null": None}
MAX_NESTING = 64
"""Deepest array/dictionary nesting kept; deeper brackets are read and thrown away."""
MAX_OPERANDS = 8192
"""Most values one operator, array or dictionary keeps (a long TJ line has a few hundred); the
rest of a flood of values is read and thrown away, so memory stays flat."""
MAX_TOKENS = 1_500_000
"""Most tokens one document's content streams may have in all (a 400-page text document has
160,000 to 800,000): a budget on the time a hostile file can cost. Each stream is capped at 16 MiB
decoded, but a tiny file can draw the same stream on every page, or a form thousands of times."""


INLINE_PARAMS_BYTES = 65536
"""Where an inline image's parameters (BI ... ID) must have ended; else the stream is garbage."""


class Budget:
    """The tokens a document's content streams may still have (shared by its pages)."""

    __slots__ = ("left",)

    def __init__(self, tokens: int | None = None) -> None:
        self.left = MAX_TOKENS if tokens is None else tokens


class BudgetExceeded(Exception):
    """The document's content streams have more tokens than its Budget allowed."""


def _unescape_one(match: re.Match[bytes]) -> bytes:
    octal, newline, other = match.groups()
    if octal is not None:
        return bytes((int(octal, 8) & 0xFF,))
    if newline is not None:
        return b""  # a backslash before a line end continues the string
    return _ESCAPES.get(other, other)


def unescape(raw: bytes) -> bytes:
    """The bytes a literal string's body stands for (escapes resolved)."""
    return _ESCAPE.sub(_unescape_one, raw) if b"\\" in raw else raw


def _hex(raw: bytes) -> bytes:
    digits = _HEX_JUNK.sub(b"", raw)
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii"))


def _name(raw: bytes) -> str:
    if b"#" in raw:
        raw = _NAME_HEX.sub(lambda m: bytes((int(m.group(1), 16),)), raw)
    return "/" + raw.decode("latin-1")


def _nested_string(data: bytes, start: int) -> tuple[bytes, int]:
    """The body of the literal string whose "(" is at START, and where the string ends; an
    unterminated string runs to the end of DATA."""
    depth = 0
    pos = start
    for match in _PARENS.finditer(data, start):
        char = match.group()
        if char == b"\\":
            if match.start() < pos:  # the escaped byte was a parenthesis already skipped
                continue
            pos = match.start() + 2
            continue
        if match.start() < pos:
            continue  # escaped
        if char == b"(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return data[start + 1 : match.start()], match.end()
    return data[start + 1 :], len(data)


def _skip_inline_image(data: bytes, pos: int, params: dict[str, Any]) -> int:
    """Where reading resumes after inline image data that starts after the "ID" at POS."""
    pos += 1  # the single white-space byte after ID
    length = params.get("/L", params.get("/Length"))
    if isinstance(length, float) and length >= 0:
        end = _INLINE_END.search(data, pos + int(length))
        if end is not None and end.start() - (pos + int(length)) < 16:
            return end.end()
    end = _INLINE_END.search(data, pos)
    return len(data) if end is None else end.end()


def _dict_of(items: list[Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in zip(items[::2], items[1::2], strict=False)
        if isinstance(key, str)
    }


def _inline_image(data: bytes, pos: int) -> int:
    """Where reading resumes after the inline image whose BI ends at POS: its parameters are
    read up to ID, then its data is skipped up to EI."""
    params: list[Any] = []
    # the parameters are a few short entries: past INLINE_PARAMS_BYTES it is garbage
    for match in _TOKEN.finditer(data, pos, pos + INLINE_PARAMS_BYTES):
        kind = match.lastindex
        if kind == 1:
            word = match.group(1)
            if word == b"ID":
                return _skip_inline_image(data, match.end(), _dict_of(params))
            if word == b"EI":
                return match.end()
            params.append(_number(word))
        elif kind == 2:
            params.append(_name(match.group(2)))
        elif kind is not None:
            params.append(None)
    return len(data)


def _number(word: bytes) -> Any:
    if word[0] in _NUMBER_START:
        try:
            return float(word)
        except ValueError:
            return 0.0  # "1.2.3": a broken number, still an operand
    return _KEYWORDS.get(word, word)


_NUMBER_START = b"0123456789+-."


def operations(data: bytes, budget: Budget | None = None) -> Iterator[Operation]:
    """Every (operands, operator) in the content stream DATA, in order; BudgetExceeded when
    BUDGET runs out."""
    operands: list[Any] = []
    stack: list[tuple[list[Any], bool]] = []  # outer containers while inside [ ] or << >>
    pos = 0
    size = len(data)
    number_start = _NUMBER_START
    keywords = _KEYWORDS
    most = MAX_OPERANDS
    if budget is not None and budget.left <= 0:
        raise BudgetExceeded
    left = budget.left if budget is not None else -1  # without a budget it never reaches 0
    try:
        while pos < size:
            restart = size
            for match in _TOKEN.finditer(data, pos):
                left -= 1
                if left == 0:
                    raise BudgetExceeded
                kind = match.lastindex
                if kind == 1:
                    word = match.group(1)
                    if word[0] in number_start:
                        if len(operands) < most:
                            try:
                                operands.append(float(word))
                            except ValueError:
                                operands.append(0.0)
                        continue
                    if word in keywords:
                        if len(operands) < most:
                            operands.append(keywords[word])
                        continue
                    if stack:
                        continue  # an operator inside an array: garbage, dropped
                    if word == b"BI":
                        operands = []
                        restart = _inline_image(data, match.end())
                        break
                    yield operands, word
                    operands = []
                elif kind == 3:
                    if len(operands) < most:
                        operands.append(unescape(match.group(3)))
                elif kind == 2:
                    if len(operands) < most:
                        operands.append(_name(match.group(2)))
                elif kind == 4:
                    if len(operands) < most:
                        operands.append(_hex(match.group(4)))
                elif kind == 6 or kind == 8:
                    if stack:
                        outer, is_dict = stack.pop()
                        value: Any = _dict_of(operands) if is_dict else operands
                        operands = outer
                        if len(stack) < MAX_NESTING and len(operands) < most:
                            operands.append(value)
                elif kind == 5 or kind == 7:
                    stack.append((operands, kind == 5))
                    operands = []
                elif kind == 9 and match.group(9) == b"(":
                    # a string the simple pattern could not close: nested parentheses, or none
                    body, restart = _nested_string(data, match.start(9))
                    if len(operands) < most:
                        operands.append(unescape(body))
                    break
            pos = restart
    finally:
        if budget is not None:
            budget.left = max(left, 0)

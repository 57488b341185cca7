"""Every stdout/stderr choice lives here: results on stdout, notices, warnings and errors on stderr.

stdout carries only the result. Notices are hidden by --quiet; warnings and errors never are.
Every line that leaves through here is scrubbed of known secrets. On a terminal, text chatpro did
not write itself (answers, titles, file names, server messages) passes the terminal filter, which
removes escape sequences and control characters (newline and tab kept); `Output.raw` opts out, and
piped output is never filtered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import IO, Any

from chatpro.credentials import scrub

PREFIX = "chatpro"


class Output:
    def __init__(
        self,
        stdout: IO[str],
        stderr: IO[str],
        *,
        quiet: bool = False,
        stdout_is_tty: bool = False,
        stderr_is_tty: bool = False,
        color: bool = False,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.quiet = quiet
        self.stdout_is_tty = stdout_is_tty
        self.stderr_is_tty = stderr_is_tty
        self.color = color
        self.raw = False  # --raw: show escape sequences from answers on a terminal too
        self.secrets: list[str] = []
        self._answer = TerminalFilter()

    # --- stdout: results ---------------------------------------------------------------------

    @property
    def filters_stdout(self) -> bool:
        """Whether untrusted text on stdout goes through the terminal filter."""
        return self.stdout_is_tty and not self.raw

    def untrusted(self, text: str) -> str:
        """TEXT made safe for stdout: filtered on a terminal (unless raw), unchanged when piped."""
        return terminal_safe(text) if self.filters_stdout else text

    def write(self, text: str) -> None:
        """Result text, possibly one chunk of a streamed answer, flushed at once.

        On a terminal an escape sequence split across chunks is still removed whole; call
        `end_answer()` when the streamed text ends.
        """
        if self.filters_stdout:
            text = self._answer.feed(text)
        self.stdout.write(text)
        self.stdout.flush()

    def end_answer(self) -> None:
        """Forget a half-received escape sequence at the end of a streamed answer."""
        self._answer = TerminalFilter()

    def line(self, text: str = "") -> None:
        self.stdout.write(self.untrusted(text) + "\n")
        self.stdout.flush()

    def json(self, data: Any) -> None:
        import json  # only --json needs it

        self.line(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A tabulate table on a terminal; plain aligned columns otherwise (scripts use --json)."""
        self.line(format_table(headers, rows, terminal=self.stdout_is_tty))

    # --- stderr: everything else -------------------------------------------------------------

    def _err(self, text: str) -> None:
        self.stderr.write(scrub(text, self.secrets) + "\n")
        self.stderr.flush()

    def err_safe(self, text: str) -> str:
        """TEXT made safe for stderr: filtered on a terminal, unchanged when redirected."""
        return terminal_safe(text) if self.stderr_is_tty else text

    def notice(self, message: str) -> None:
        """Progress and information; hidden by --quiet."""
        if not self.quiet:
            self._err(f"{PREFIX}: {self.err_safe(message)}")

    def warning(self, message: str) -> None:
        """Usage warnings and the like; never hidden."""
        self._err(self._paint(f"{PREFIX}: warning: {self.err_safe(message)}", "33"))

    def error(self, message: str, hint: str | None = None) -> None:
        self._err(self._paint(f"{PREFIX}: error: {self.err_safe(message)}", "31"))
        if hint:
            self._err(f"hint: {self.err_safe(hint)}")

    def raw_err(self, text: str) -> None:
        self._err(self.err_safe(text.rstrip("\n")))

    def _paint(self, text: str, code: str) -> str:
        if self.color and self.stderr_is_tty:
            return f"\033[{code}m{text}\033[0m"
        return text


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, terminal: bool) -> str:
    """HEADERS and ROWS as a tabulate table for a terminal, else as plain aligned columns."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if terminal:
        from tabulate import tabulate

        return str(tabulate(cells, headers=list(headers), tablefmt="simple", disable_numparse=True))
    return format_columns([list(headers), *cells])


def format_columns(rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# --- the terminal filter ------------------------------------------------------------------------

# C0 controls but newline and tab, DEL, and the C1 controls (which some terminals obey as ESC x)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_STRING_END = re.compile("[\x07\x1b\x9c]")
_GROUND, _ESC, _ESC_INTER, _CSI, _STRING, _STRING_ESC = range(6)
_STRING_OPENERS = frozenset("]PX^_")  # OSC, DCS, SOS, PM, APC after ESC
_C1_STRINGS = frozenset("\x90\x98\x9d\x9e\x9f")  # DCS, SOS, OSC, PM, APC as C1 bytes


class TerminalFilter:
    """Removes escape sequences and control characters from text fed in chunks.

    CSI (`ESC [` … final byte), OSC/DCS/SOS/PM/APC strings (up to BEL or ST, so OSC 52 clipboard
    writes, OSC 8 links and title changes vanish whole, payload included), two- and three-byte ESC
    sequences, their C1 forms, and every other C0/C1 control; newline and tab are kept. A
    sequence split across chunks is removed whole; an unterminated one at the end is dropped.
    """

    def __init__(self) -> None:
        self._state = _GROUND

    def feed(self, text: str) -> str:
        if self._state == _GROUND and not _CONTROL.search(text):
            return text  # the common case: nothing to remove
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            state = self._state
            if state == _GROUND:
                match = _CONTROL.search(text, i)
                if match is None:
                    out.append(text[i:])
                    break
                out.append(text[i : match.start()])
                ch = text[match.start()]
                i = match.end()
                if ch == "\x1b":
                    self._state = _ESC
                elif ch == "\x9b":
                    self._state = _CSI
                elif ch in _C1_STRINGS:
                    self._state = _STRING
                continue  # any other control character is dropped
            if state in (_STRING, _STRING_ESC):
                if state == _STRING:
                    match = _STRING_END.search(text, i)
                    if match is None:
                        break  # the payload continues in the next chunk
                    i = match.end()
                    ch = text[match.start()]
                    self._state = _STRING_ESC if ch == "\x1b" else _GROUND
                    continue
                ch = text[i]
                if ch == "\\":  # ESC \ = ST
                    i += 1
                    self._state = _GROUND
                else:  # an ESC inside a string cancels it and starts a new sequence
                    self._state = _ESC
                continue
            ch = text[i]
            code = ord(ch)
            if state == _ESC:
                if ch == "[":
                    self._state = _CSI
                elif ch in _STRING_OPENERS:
                    self._state = _STRING
                elif 0x20 <= code <= 0x2F:
                    self._state = _ESC_INTER
                elif ch == "\x1b":
                    pass
                elif 0x30 <= code <= 0x7E:
                    self._state = _GROUND
                else:
                    self._state = _GROUND
                    continue  # not a sequence after all: look at CH again as text
                i += 1
            elif state == _ESC_INTER:
                if 0x20 <= code <= 0x2F:
                    i += 1
                elif 0x30 <= code <= 0x7E:
                    i += 1
                    self._state = _GROUND
                else:
                    self._state = _GROUND
            else:  # _CSI: parameter and intermediate bytes, then one final byte
                if 0x20 <= code <= 0x3F:
                    i += 1
                elif 0x40 <= code <= 0x7E:
                    i += 1
                    self._state = _GROUND
                else:
                    self._state = _GROUND
        return "".join(out)

    def flush(self) -> str:
        """End of the text: an unfinished sequence is dropped."""
        self._state = _GROUND
        return ""


def terminal_safe(text: str) -> str:
    """TEXT without escape sequences or control characters (newline and tab kept)."""
    if not _CONTROL.search(text):
        return text
    return TerminalFilter().feed(text)


def strip_controls(text: str) -> str:
    """TEXT on one line and without escape sequences or control characters (server messages)."""
    return " ".join(terminal_safe(text).split())

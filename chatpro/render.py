"""Every stdout/stderr choice lives here: results on stdout, notices, warnings and errors on stderr.

stdout carries only the result. Notices are hidden by --quiet; warnings and errors never are.
Every line that leaves through here is scrubbed of known secrets.
"""

from __future__ import annotations

import json
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
        self.secrets: list[str] = []

    # --- stdout: results ---------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Raw result text (a streamed answer chunk), flushed at once."""
        self.stdout.write(text)
        self.stdout.flush()

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def json(self, data: Any) -> None:
        self.line(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A tabulate table on a terminal; plain aligned columns otherwise (scripts use --json)."""
        cells = [["" if v is None else str(v) for v in row] for row in rows]
        if self.stdout_is_tty:
            from tabulate import tabulate

            self.line(
                tabulate(cells, headers=list(headers), tablefmt="simple", disable_numparse=True)
            )
            return
        self.line(format_columns([list(headers), *cells]))

    # --- stderr: everything else -------------------------------------------------------------

    def _err(self, text: str) -> None:
        self.stderr.write(scrub(text, self.secrets) + "\n")
        self.stderr.flush()

    def notice(self, message: str) -> None:
        """Progress and information; hidden by --quiet."""
        if not self.quiet:
            self._err(f"{PREFIX}: {message}")

    def warning(self, message: str) -> None:
        """Usage warnings and the like; never hidden."""
        self._err(self._paint(f"{PREFIX}: warning: {message}", "33"))

    def error(self, message: str, hint: str | None = None) -> None:
        self._err(self._paint(f"{PREFIX}: error: {message}", "31"))
        if hint:
            self._err(f"hint: {hint}")

    def raw_err(self, text: str) -> None:
        self._err(text.rstrip("\n"))

    def _paint(self, text: str, code: str) -> str:
        if self.color and self.stderr_is_tty:
            return f"\033[{code}m{text}\033[0m"
        return text


def format_columns(rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def terminal_safe(text: str) -> str:
    """TEXT without escape sequences and control characters (newline and tab kept)."""
    import re

    text = re.sub(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b.", "", text)
    return "".join(ch for ch in text if ch in "\n\t" or not (ord(ch) < 32 or 127 <= ord(ch) < 160))


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"

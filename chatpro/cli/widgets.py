"""What chatpro draws on a terminal's stderr while it works: a spinner and a progress bar.

Both are for a terminal only (the caller checks `Output.stderr_is_tty` and `--quiet`), and both
always end their line, so nothing written after them is glued to a half-drawn bar.
"""

from __future__ import annotations

import threading
from typing import IO

from chatpro.render import terminal_safe

CLEAR_LINE = "\r\033[K"


class Spinner:
    """A spinner on stderr until `stop` (the first token of an answer, or the end)."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    INTERVAL = 0.1

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream = stream
        self.label = terminal_safe(label)
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Spinner:
        self._thread.start()
        return self

    def _run(self) -> None:
        frame = 0
        while not self._stopped.wait(self.INTERVAL if frame else 0.3):  # none for quick answers
            with self._lock:
                if self._stopped.is_set():
                    return
                self.stream.write(f"\r{self.FRAMES[frame % len(self.FRAMES)]} {self.label}")
                self.stream.flush()
                self._drawn = True
            frame += 1

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        with self._lock:
            self._stopped.set()
            if self._drawn:
                self.stream.write(CLEAR_LINE)
                self.stream.flush()


class ProgressBar:
    """A one-line progress bar for a large file; `close` always ends its line, also when
    extraction stopped early or failed."""

    WIDTH = 24

    def __init__(self, stream: IO[str], name: str) -> None:
        self.stream = stream
        self.name = terminal_safe(name)
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        share = min(done, total) / total
        filled = int(self.WIDTH * share)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\rextracting {self.name} [{bar}] {int(100 * share):3d}%")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write(CLEAR_LINE)
            self.stream.flush()
            self.shown = False

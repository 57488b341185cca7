"""The results file: one whole JSON line per finished input, appended as each finishes.

Lines are written with one write() each under a lock, so the file is always a sequence of whole
lines; a line torn by kill -9 is dropped when the file is opened again. A line without an error
marks its input done: a batch run again with the same file skips it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatpro.errors import InputError, StorageError
from chatpro.fsutil import describe_os_error


def dump(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def done_ids(path: Path) -> set[str]:
    """The ids of inputs with a result and no error in PATH (torn or foreign lines ignored)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    done: set[str] = set()
    for line in data.split(b"\n")[:-1]:  # the last piece is "" or a torn line
        if b'"id"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(record, dict)
            and record.get("error") is None
            and isinstance(record.get("id"), str)
        ):
            done.add(record["id"])
    return done


class ResultsFile:
    """Appends result lines to PATH (created 0600); cuts a torn last line first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            size = os.fstat(self._fd).st_size
            if size:
                keep = _whole_lines_size(self._fd, size)
                if keep != size:
                    os.ftruncate(self._fd, keep)
        except OSError as exc:
            raise StorageError(describe_os_error(exc, path)) from None

    def write(self, record: dict[str, Any]) -> None:
        line = dump(record)
        with self._lock:
            try:
                os.write(self._fd, line)
            except OSError as exc:
                raise StorageError(describe_os_error(exc, self.path)) from None

    def close(self) -> None:
        os.close(self._fd)


class LineSink:
    """Result lines to a text stream (stdout), one whole line at a time."""

    def __init__(self, write_line: Callable[[str], None]) -> None:
        self._write_line = write_line
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._write_line(dump(record).decode().rstrip("\n"))

    def close(self) -> None:
        pass


def _whole_lines_size(fd: int, size: int) -> int:
    """The size of the file up to and including its last newline."""
    step = 64 * 1024
    end = size
    while end > 0:
        start = max(0, end - step)
        chunk = os.pread(fd, end - start, start)
        at = chunk.rfind(b"\n")
        if at >= 0:
            return start + at + 1
        end = start
    return 0

"""Attachment texts kept beside the log: ``DATA/files/<sha256>.txt`` (SPEC "Files in a chat").

One file per sha256 of the uploaded file, written once (atomically, 0600, in a 0700 dir) and
never rewritten. Which texts are still needed is decided by the log: ChatLog removes a text when
no remaining line references it in ``attachments[].sha256``.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import TYPE_CHECKING

from chatpro.chatlog.records import clean_text
from chatpro.errors import StorageError
from chatpro.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from chatpro.paths import StrPath

_NAME = re.compile(r"[0-9a-f]{64}")
SUFFIX = ".txt"


def _checked(sha256: str) -> str:
    key = sha256.lower() if isinstance(sha256, str) else ""
    if not _NAME.fullmatch(key):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return key


class FileStore:
    def __init__(self, directory: StrPath) -> None:
        self.directory = os.fspath(directory)

    def path_for(self, sha256: str) -> str:
        return os.path.join(self.directory, _checked(sha256) + SUFFIX)

    def store(self, sha256: str, text: str) -> None:
        path = self.path_for(sha256)
        if os.path.isfile(path):
            return  # the same bytes always give the same text: kept once
        atomic_write_bytes(path, clean_text(text).encode("utf-8"))

    def text(self, sha256: str) -> str | None:
        try:
            path = self.path_for(sha256)
        except ValueError:
            return None
        try:
            with open(path, "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None

    def names(self) -> set[str]:
        try:
            entries = os.listdir(self.directory)
        except OSError:
            return set()
        return {
            name[: -len(SUFFIX)]
            for name in entries
            if name.endswith(SUFFIX) and _NAME.fullmatch(name[: -len(SUFFIX)])
        }

    def remove(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path_for(sha256))

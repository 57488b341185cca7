"""ChatLog: the one object the rest of chatpro uses to write and read ``chats.jsonl``.

Writes: an append is one ``write()`` of one whole line under a SHARED flock on ``chats.jsonl.lock``
(fsutil.append_line), so appenders never wait for each other. Prune, delete and clear rewrite the
file atomically (temp beside it, fsync, rename, fsync dir) under the EXCLUSIVE lock, so no append
can land in the old file while the new one is being written. Readers take no lock: a rename gives
them either the whole old file or the whole new one, and a torn last line is skipped.

Retention: see records.Window for the exact boundary. Expired messages are never returned, and are
removed on the first append of each day (the date of the last prune is kept in
``chats.jsonl.pruned``, by the clock, never by mtimes) and on an explicit prune.

Unreadable lines: readers skip them with one warning. A rewrite drops a line only when it is not a
JSON object at all (a torn or garbage line that can never be shown); a JSON object it cannot date
is kept untouched, and no valid line inside retention is ever dropped.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chatpro.chatlog import queries
from chatpro.chatlog.blocks import Skipped, forward, open_log, split_lines
from chatpro.chatlog.files import FileStore
from chatpro.chatlog.records import LINE_RE, Window, dump_line, loads, parse_ts
from chatpro.clock import Clock
from chatpro.errors import ConfigError, StorageError
from chatpro.fsutil import (
    append_line,
    atomic_write_bytes,
    atomic_writer,
    check_writable_file,
    file_lock,
    lock_path_for,
    remove_stale_temps,
    tighten_mode,
    write_all,
)
from chatpro.settings_schema import MAX_RETENTION_DAYS as MAX_RETENTION_DAYS

if TYPE_CHECKING:
    from chatpro.chatlog.queries import ChatSummary, SearchHit
    from chatpro.chatlog.totals import Group
    from chatpro.paths import StrPath

# the patterns below are compiled when first used, not at import (table commands start faster)


@functools.cache
def _sha256() -> re.Pattern[bytes]:
    """An attachment's reference to its text."""
    return re.compile(rb'"sha256": ?"([0-9a-fA-F]{64})"')


@functools.cache
def _line_stamps() -> re.Pattern[bytes]:
    """One match per line: group 1 is the ts of a whole line in our format, empty for any other
    line. `findall` over whole lines gives every line's stamp in one C-speed pass, with no second
    pass to count the lines (the prune's whole-block checks). Only offsets within ±14h, which the
    window's "surely kept/expired" bounds assume, count as our format here."""
    return re.compile(
        rb'\{"v": 1, "id": "[^"\n]*", "chat_id": "[^"\n]*", '
        rb'"ts": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}'
        rb'(?:[+-](?:0\d|1[0-3]):[0-5]\d|[+-]14:00))"[^\n]*\}\n'
        rb"|[^\n]*\n"
    )


class _Rewrite:
    """What a rewrite keeps. `whole` is a cheap whole-block test; `keep` decides one line and
    returns (keep it, it was a message we removed)."""

    def whole(self, block: bytes) -> int | None:
        """0: the block stays as it is; N > 0: all of it goes, N messages; None: line by line."""
        raise NotImplementedError

    def keep(self, line: bytes) -> tuple[bool, bool]:
        raise NotImplementedError


class _Prune(_Rewrite):
    def __init__(self, window: Window) -> None:
        self.window = window
        self.unreadable = 0

    def whole(self, block: bytes) -> int | None:
        if not block.endswith(b"\n"):
            return None
        stamps = _line_stamps().findall(block)
        if b"" not in stamps:  # every line is ours: decided by its stamps alone
            if min(stamps) >= self.window.surely_kept:
                return 0
            if max(stamps) < self.window.surely_expired:
                return len(stamps)
        if all(self._decide(line) == (True, False) for line in split_lines(block)):
            return 0
        return None

    def keep(self, line: bytes) -> tuple[bool, bool]:
        decision = self._decide(line)
        if decision == (False, False):
            self.unreadable += 1
        return decision

    def _decide(self, line: bytes) -> tuple[bool, bool]:
        m = _line_stamps().match(line + b"\n")
        if m is not None and m.group(1):
            kept = self.window.keeps_fixed(m.group(1))
            return kept, not kept
        try:
            obj = loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            return False, False  # torn or garbage: it can never be shown
        ts = parse_ts(obj.get("ts"))
        if ts is None:
            return True, False  # a JSON object we cannot date: not ours to destroy
        kept = ts >= self.window.cutoff
        return kept, not kept


class _DropChats(_Rewrite):
    def __init__(self, chat_ids: Sequence[str]) -> None:
        self.ids = set(chat_ids)
        self.pick = re.compile(
            b'"chat_id": ?"(' + b"|".join(re.escape(c.encode()) for c in sorted(self.ids)) + b')"'
        )

    def whole(self, block: bytes) -> int | None:
        return 0 if self.pick.search(block) is None else None

    def keep(self, line: bytes) -> tuple[bool, bool]:
        m = LINE_RE.match(line + b"\n")
        if m is not None:
            chat_id: Any = m.group(2).decode("ascii")
        else:
            try:
                obj = loads(line)
            except ValueError:
                return True, False  # unreadable lines are the prune's business
            chat_id = obj.get("chat_id") if isinstance(obj, dict) else None
        dropped = chat_id in self.ids
        return not dropped, dropped


class ChatLog:
    """The chat log at PATH (``chats.jsonl``)."""

    def __init__(
        self,
        path: StrPath,
        *,
        clock: Clock,
        retention_days: int = MAX_RETENTION_DAYS,
        warn: Callable[[str], None] = lambda m: None,
        files_dir: StrPath | None = None,
    ) -> None:
        if (
            isinstance(retention_days, bool)
            or not isinstance(retention_days, int)
            or not 1 <= retention_days <= MAX_RETENTION_DAYS
        ):
            raise ConfigError(
                f"history.retention_days must be a whole number from 1 to {MAX_RETENTION_DAYS}"
                f" (got {retention_days!r})"
            )
        self.path = os.fspath(path)
        self.clock = clock
        self.retention_days = retention_days
        self.warn = warn
        self.lock_path = lock_path_for(self.path)
        self.marker_path = self.path + ".pruned"
        self.files = FileStore(files_dir or os.path.join(os.path.dirname(self.path), "files"))
        self._tightened = False

    # --- writing ---------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise StorageError now if an answer could not be logged (chats.jsonl is a directory,
        the data dir is read-only…): call it before sending, so nothing is charged unlogged."""
        check_writable_file(self.path)
        if os.path.exists(self.files.directory) and not os.path.isdir(self.files.directory):
            raise StorageError(f"cannot write {self.files.directory}: it is not a directory")

    def append(
        self, records: Sequence[dict[str, Any]], *, files: Mapping[str, str] | None = None
    ) -> None:
        """Append RECORDS, one line each; the first write of a day prunes expired messages first.

        FILES maps sha256 → extracted text of the attachments the records reference: each is
        stored once (``file_text``) under the same exclusive lock as the append, so a concurrent
        delete or prune can never remove it in between."""
        lines = [dump_line(record) for record in records]
        self._tighten()
        self._daily_prune()
        if files:
            with file_lock(self.lock_path, exclusive=True):
                for sha256, text in files.items():
                    self.files.store(sha256, text)
                for line in lines:
                    append_line(self.path, line, lock=False)
            return
        for line in lines:
            append_line(self.path, line)

    def prune_if_due(self) -> None:
        """The daily prune on its own (``append`` runs it too): call it before a section that
        defers signals, so a long rewrite never runs with Ctrl-C blocked."""
        self._tighten()
        self._daily_prune()

    def prune(self) -> int:
        """Remove expired messages (and the file texts only they used); returns how many."""
        self._tighten()
        with file_lock(self.lock_path, exclusive=True):
            removed = self._prune_locked(collect=True)
            self._write_marker()
        return removed

    def delete(self, chat_ids: Sequence[str]) -> int:
        """Remove every message of CHAT_IDS and their file texts; returns how many were removed."""
        if not chat_ids:
            return 0
        self._tighten()
        with file_lock(self.lock_path, exclusive=True):
            removed = self._rewrite(_DropChats(chat_ids))
            self._collect_files()
            return removed

    def clear(self) -> int:
        """Remove every message and file text; returns how many visible messages there were."""
        self._tighten()
        with file_lock(self.lock_path, exclusive=True):
            remove_stale_temps(self.path)
            count = 0
            if os.path.exists(self.path):
                count = sum(1 for _ in self.iter_records())
                atomic_write_bytes(self.path, b"")
                _remove_summary(self.path)
            self._collect_files()
            return count

    # --- files in a chat (SPEC "Files in a chat") -------------------------------------------------

    def store_file_text(self, sha256: str, text: str) -> None:
        """Keep an attachment's extracted text (0600, once per sha256). Prefer ``append(records,
        files=...)``, which stores and logs in one step; text stored here and never referenced
        by a log line is removed by the next delete, clear or prune."""
        self._tighten()
        with file_lock(self.lock_path, exclusive=False):
            self.files.store(sha256, text)

    def file_text(self, sha256: str) -> str | None:
        """The stored text for SHA256, or None when there is none (never kept, or deleted)."""
        return self.files.text(sha256)

    # --- reading ---------------------------------------------------------------------------------

    def chats(self, limit: int | None = None) -> list[ChatSummary]:
        return queries.chats(self.path, self._window(), self._skipped(), limit)

    def client_chat_ids(self, client: str) -> set[str]:
        """Ids of the chats with a message tagged CLIENT (within retention)."""
        return queries.client_chat_ids(self.path, client, self._window(), self._skipped())

    def client_model_totals(
        self, *, since: bytes = b"", until: bytes = b"\xff", client: str | None = None
    ) -> dict[tuple[str, str], Group]:
        """Work per (client, model) within retention and the SINCE..UNTIL days (for reports)."""
        from chatpro.chatlog import totals

        return totals.client_model_totals(
            self.path, self._window(), self._skipped(), since=since, until=until, client=client
        )

    def resolve(self, id_or_prefix: str) -> str:
        from chatpro.chatlog import search

        return search.resolve(self.path, id_or_prefix, self._window(), self._skipped())

    def latest_chat_id(self) -> str | None:
        return queries.latest_chat_id(self.path, self._window(), self._skipped())

    def messages(self, chat_id: str) -> list[dict[str, Any]]:
        return queries.messages(self.path, chat_id, self._window(), self._skipped())

    def search(self, text: str, limit: int | None = None) -> list[SearchHit]:
        from chatpro.chatlog import search as search_module

        return search_module.search(self.path, text, self._window(), self._skipped(), limit)

    def iter_records(self) -> Iterator[dict[str, Any]]:
        return queries.iter_records(self.path, self._window(), self._skipped())

    # --- internals -------------------------------------------------------------------------------

    def _window(self) -> Window:
        self._tighten()
        return Window(self.clock.now(), self.retention_days)

    def _tighten(self) -> None:
        if not self._tightened:
            self._tightened = True
            for path in (self.path, os.path.dirname(self.path), self.files.directory):
                tighten_mode(path, self.warn)

    def _collect_files(self) -> None:
        """Remove stored file texts no log line references; call with the exclusive lock held."""
        stored = self.files.names()
        if not stored:
            return
        referenced: set[str] = set()
        with open_log(self.path) as opened:
            if opened is not None:
                fh, size = opened
                for _, block in forward(fh, size):
                    referenced.update(m.decode().lower() for m in _sha256().findall(block))
        for sha256 in stored - referenced:
            self.files.remove(sha256)

    def _skipped(self) -> Skipped:
        return Skipped(self.path, self.warn)

    def _today(self) -> str:
        return self.clock.now().date().isoformat()

    def _marker_date(self) -> str:
        try:
            with open(self.marker_path, "rb") as fh:
                return fh.read().decode("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def _write_marker(self) -> None:
        atomic_write_bytes(self.marker_path, (self._today() + "\n").encode())

    def _daily_prune(self) -> None:
        """Prune once per clock day. A failed prune must not cost the user the append."""
        today = self._today()
        if self._marker_date() == today:
            return
        try:
            with file_lock(self.lock_path, exclusive=True):
                if self._marker_date() == today:
                    return
                self._prune_locked()
                self._write_marker()
        except StorageError as exc:
            self.warn(f"could not remove expired chat messages: {exc.message}")

    def _prune_locked(self, *, collect: bool = False) -> int:
        rule = _Prune(self._window())
        removed = self._rewrite(rule)
        if collect or removed or rule.unreadable:
            self._collect_files()
        if rule.unreadable:
            lines = "line" if rule.unreadable == 1 else "lines"
            self.warn(f"removed {rule.unreadable} unreadable {lines} from {self.path}")
        return removed

    def _rewrite(self, rule: _Rewrite) -> int:
        """Rewrite the file keeping what RULE keeps; call with the exclusive lock held.

        A first read-only pass finds the first block that changes; when none does, the file is
        left alone (same inode, no write). Otherwise everything before that block is copied as is.
        """
        remove_stale_temps(self.path)
        with open_log(self.path) as opened:
            if opened is None:
                return 0
            fh, size = opened
            first = next((off for off, block in forward(fh, size) if rule.whole(block) != 0), None)
            if first is None:
                return 0
            removed = 0
            with atomic_writer(self.path) as out:
                _copy_range(fh.fileno(), out, first)
                for _, block in forward(fh, size, start=first):
                    gone = rule.whole(block)
                    if gone == 0:
                        write_all(out, block)
                        continue
                    if gone is not None:
                        removed += gone
                        continue
                    kept = []
                    for line in split_lines(block):
                        keep, was_message = rule.keep(line)
                        removed += was_message
                        if keep:
                            kept.append(line + b"\n")
                    write_all(out, b"".join(kept))
        _remove_summary(self.path)  # the rewrite's new inode already makes it ignored
        return removed


def _copy_range(src: int, dst: int, count: int) -> None:
    """Copy the first COUNT bytes of SRC to DST, in the kernel when it can."""
    offset = 0
    with contextlib.suppress(OSError, AttributeError):
        while offset < count:
            n = os.copy_file_range(src, dst, count - offset, offset)
            if n == 0:
                break
            offset += n
    while offset < count:
        data = os.pread(src, min(1 << 20, count - offset), offset)
        if not data:
            raise StorageError("the chat log shrank while it was being rewritten")
        write_all(dst, data)
        offset += len(data)


def _remove_summary(path: StrPath) -> None:
    """Drop the report's summary of a log that was just rewritten (imported only then)."""
    from chatpro import summary

    summary.remove(path)

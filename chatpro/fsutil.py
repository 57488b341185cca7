"""Crash- and concurrency-safe file primitives: locks, appends, atomic replaces.

Locks are ``flock`` on a separate ``*.lock`` file, never on the data file itself: a rewrite
replaces the data file, and a lock on the old inode would protect nothing. The kernel drops a
flock when its process dies, so a stale lock file from a killed process never blocks.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from chatpro.errors import StorageError
from chatpro.paths import DIR_MODE, FILE_MODE, ensure_dir

if TYPE_CHECKING:
    from chatpro.paths import StrPath


def describe_os_error(exc: OSError, path: StrPath) -> str:
    reason = {
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EFBIG: "file too large",
        errno.EROFS: "read-only file system",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return f"cannot write {path}: {reason}"


@contextlib.contextmanager
def file_lock(lock_path: StrPath, *, exclusive: bool = True) -> Iterator[None]:
    """Hold a flock on LOCK_PATH (created 0600) for the duration of the block."""
    import fcntl

    ensure_dir(os.path.dirname(lock_path))
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise StorageError(describe_os_error(exc, lock_path)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def lock_path_for(path: StrPath) -> str:
    return os.fspath(path) + ".lock"


def append_line(path: StrPath, line: bytes, *, lock: bool = True) -> None:
    """Append one newline-terminated record with a single write().

    Appenders share the lock (O_APPEND writes do not interleave) and a rewrite takes it
    exclusively. Two cases need the file to themselves and take the lock exclusively: a tail
    that does not end in a newline (a torn record from a killed process, or another appender's
    write still being copied, which the exclusive lock waits for), and undoing our own partial
    write after a failure (only when nothing was appended after it).
    """
    if not line.endswith(b"\n"):
        line += b"\n"
    ensure_dir(os.path.dirname(path))
    lock_file = lock_path_for(path) if lock else None
    exclusive = False
    while True:
        with _maybe_lock(lock_file, exclusive):
            fd = _open_append(path)
            try:
                size = os.fstat(fd).st_size
                torn = size > 0 and _last_byte(path, size) != b"\n"
                if torn and lock_file is not None and not exclusive:
                    exclusive = True
                    continue  # look again under the exclusive lock
                data = b"\n" + line if torn else line
                written = 0
                try:
                    written = os.write(fd, data)
                    if written == len(data):
                        return
                    failure: OSError = OSError(errno.ENOSPC, "short write")
                except OSError as exc:
                    failure = exc
                end = os.lseek(fd, 0, os.SEEK_CUR)
            finally:
                os.close(fd)
        if written:
            _undo_partial(path, end, written, lock_file)
        raise StorageError(describe_os_error(failure, path))


def _maybe_lock(
    lock_file: StrPath | None, exclusive: bool
) -> contextlib.AbstractContextManager[None]:
    return file_lock(lock_file, exclusive=exclusive) if lock_file else contextlib.nullcontext()


def _open_append(path: StrPath) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise StorageError(describe_os_error(exc, path)) from None


def _undo_partial(path: StrPath, end: int, written: int, lock_file: StrPath | None) -> None:
    """Cut our own partial record off the end, unless another record was appended after it."""
    with contextlib.suppress(OSError, StorageError), _maybe_lock(lock_file, True):
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            if os.fstat(fd).st_size == end:
                os.ftruncate(fd, end - written)
        finally:
            os.close(fd)


def _last_byte(path: StrPath, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1)


def temp_path_for(path: StrPath) -> str:
    # os.urandom, not secrets: importing secrets (hashlib, OpenSSL) costs table commands ~3 ms
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.tmp-{os.getpid()}-{os.urandom(4).hex()}")


def is_temp_for(candidate: StrPath, path: StrPath) -> bool:
    return os.path.basename(candidate).startswith(f".{os.path.basename(path)}.tmp-")


def real_path(path: StrPath) -> str:
    """PATH with symlinks followed: a rewrite replaces the link's target, in the target's own
    directory, and the link stays a link."""
    return os.path.realpath(path) if os.path.islink(path) else os.fspath(path)


def tighten_mode(path: StrPath, warn: Callable[[str], None]) -> None:
    """Set a file of ours back to 0600 (a directory to 0700) when group or others have any access,
    and say so through WARN. Files that are missing or not ours (another owner) are left alone."""
    try:
        st = os.stat(path)
    except OSError:
        return
    if not st.st_mode & 0o077 or st.st_uid != os.geteuid():
        return
    if stat.S_ISDIR(st.st_mode):
        want, kind = DIR_MODE, "directory"
    elif stat.S_ISREG(st.st_mode):
        want, kind = FILE_MODE, "file"
    else:
        return
    try:
        os.chmod(path, want)
    except OSError:
        return
    warn(
        f"{path} was open to other users (mode {stat.S_IMODE(st.st_mode):04o});"
        f" set the {kind} to {want:04o}"
    )


def check_writable_file(path: StrPath) -> None:
    """Raise StorageError when PATH could not be appended to or replaced: checked before a request
    is sent, so nothing is charged for an answer that could not be kept."""
    target = real_path(path)
    if os.path.exists(target) and not os.path.isfile(target):
        kind = "a directory" if os.path.isdir(target) else "not a regular file"
        raise StorageError(
            f"cannot write {path}: it is {kind}", hint=f"move {target} out of the way"
        )
    directory = os.path.dirname(os.path.abspath(target))
    while not os.path.exists(directory) and directory != os.path.dirname(directory):
        directory = os.path.dirname(directory)
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK | os.X_OK):
        raise StorageError(f"cannot write {path}: {directory} is not writable")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise StorageError(f"cannot write {path}: permission denied")


@contextlib.contextmanager
def atomic_writer(path: StrPath, mode: int = FILE_MODE, *, durable: bool = True) -> Iterator[int]:
    """Yield a file descriptor to a temp file beside PATH; on success fsync and rename it over PATH.

    On any error the temp file is removed and PATH is untouched. A symlinked PATH is followed:
    the temp file goes beside the target, which is replaced, and the link is kept. DURABLE=False
    skips the fsyncs, for state that means nothing after the machine restarts (reservations of
    requests in flight): the replace is still atomic for every process that reads it.
    """
    path = real_path(path)
    ensure_dir(os.path.dirname(path))
    tmp = temp_path_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise StorageError(describe_os_error(exc, path)) from None
    try:
        try:
            yield fd
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise StorageError(describe_os_error(exc, path)) from None
        raise
    if durable:
        fsync_dir(os.path.dirname(path))


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def atomic_write_bytes(
    path: StrPath, data: bytes, mode: int = FILE_MODE, *, durable: bool = True
) -> None:
    """Replace PATH with DATA atomically: temp file in the same dir, fsync, rename, fsync dir."""
    with atomic_writer(path, mode, durable=durable) as fd:
        write_all(fd, data)


def fsync_dir(directory: StrPath) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(directory or os.curdir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def remove_stale_temps(path: StrPath) -> None:
    """Remove temp files a killed rewrite of PATH left behind. Call only under PATH's exclusive lock."""
    path = real_path(path)
    directory = os.path.dirname(path) or os.curdir
    with contextlib.suppress(OSError):
        for name in os.listdir(directory):
            if is_temp_for(name, path):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, name))

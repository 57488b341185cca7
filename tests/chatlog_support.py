"""Helpers for tests/test_chatlog.py: a fixed clock, record builders and child-process scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from chatpro.chatlog import ChatLog, dump_line, make_record
from chatpro.clock import FixedClock

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 19, 20, 0, 123000, tzinfo=timezone(timedelta(hours=1)))


def make_log(path: Path, *, now: datetime = NOW, days: int = 90) -> tuple[ChatLog, list[str]]:
    warnings: list[str] = []
    return ChatLog(path, clock=FixedClock(now), retention_days=days, warn=warnings.append), warnings


def rec(
    chat_id: str,
    content: str = "hello",
    *,
    age: timedelta = timedelta(0),
    role: str = "user",
    model: str = "gpt-4o",
    now: datetime = NOW,
) -> dict[str, Any]:
    return make_record(chat_id=chat_id, role=role, model=model, content=content, ts=now - age)


def write_raw(path: Path, records: Sequence[dict[str, Any]], tail: bytes = b"") -> None:
    """Put records on disk without the store (no prune, no lock), e.g. already-expired ones."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        fh.write(b"".join(dump_line(r) for r in records) + tail)
    os.chmod(path, 0o600)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def all_lines_parse(path: Path) -> bool:
    """The file ends on a whole line and every line holds a JSON object.

    Blank lines are allowed: fsutil.append_line can add one when two appenders race (one sees
    the other's write half-copied and starts its record on a new line); readers ignore them.
    """
    data = path.read_bytes()
    return (not data or data.endswith(b"\n")) and all(
        isinstance(json.loads(line), dict) for line in data.split(b"\n")[:-1] if line.strip()
    )


def run_child(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


_PRELUDE = """
import sys
from datetime import datetime, timedelta
from pathlib import Path
from chatpro.chatlog import ChatLog, make_record
from chatpro.clock import FixedClock
path = Path(sys.argv[1])
now = datetime.fromisoformat(sys.argv[2])
log = ChatLog(path, clock=FixedClock(now))
"""

# argv: path now writer_no count -- appends COUNT records, one append() each
WRITER = (
    _PRELUDE
    + """
writer, count = int(sys.argv[3]), int(sys.argv[4])
chat = "c_%012x" % writer
for i in range(count):
    log.append([make_record(chat_id=chat, role="user", model="gpt-4o",
                            content=f"writer {writer} message {i} " + "x" * (i % 50), ts=now)])
"""
)

# argv: path now stop_file -- until STOP_FILE exists: add an expired record, then prune it away
PRUNER = (
    _PRELUDE
    + """
stop = Path(sys.argv[3])
rounds = removed = 0
while not stop.exists() or rounds < 5:
    log.append([make_record(chat_id="c_0ld0ld0ld0ld", role="user", model="gpt-4o",
                            content="expired", ts=now - timedelta(days=120))])
    removed += log.prune()
    rounds += 1
print(rounds, removed)
"""
)

# argv: path now ready_file -- prune, but freeze after the first block reaches the temp file
FROZEN_PRUNE = (
    _PRELUDE
    + """
import time
import chatpro.chatlog.store as store
real_write_all = store.write_all
def slow_write_all(fd, data):
    real_write_all(fd, data)
    Path(sys.argv[3]).write_text("writing")
    time.sleep(600)
store.write_all = slow_write_all
log.prune()
"""
)

# argv: path now extra_bytes size -- cap file size at current size + EXTRA, append SIZE bytes
FULL_DISK = (
    _PRELUDE
    + """
import os, resource, signal
from chatpro.errors import StorageError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = path.stat().st_size + int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    log.append([make_record(chat_id="c_aaaaaaaaaaaa", role="user", model="gpt-4o",
                            content="y" * int(sys.argv[4]), ts=now)])
except StorageError as exc:
    print("StorageError:", exc.message)
else:
    print("appended")
"""
)


def wait_for(predicate: Callable[[], bool], timeout: float = 60) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False

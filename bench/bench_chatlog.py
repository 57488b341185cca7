#!/usr/bin/env python3
"""Benchmark the chat log on big logs: list, search, show, prune and append, each timed as a
whole child process (interpreter start included) with its peak RSS.

    python bench/bench_chatlog.py                 # 100k and 1M messages
    python bench/bench_chatlog.py --sizes 100000  # just one size
    python bench/bench_chatlog.py --dir /big/tmp  # where the logs go (default: a temp dir)

Prints one JSON object on stdout. Logs are generated directly in the store's line format: chats of
2-40 messages, prompts of 20-150 characters, answers of 100-1000, spread over the last 100 days
so about a tenth of each log is past the 90-day retention and the first prune has work to do.
Goals (from the issue): 1M messages -> list/search/prune <= 1.5 s and <= 30 MiB; 100k <= 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone(timedelta(hours=1)))
WORDS = [
    *[
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "lazy",
        "dog",
        "invoice",
        "client",
        "python",
        "proposal",
        "draft",
    ],
    *[
        "email",
        "rate",
        "hour",
        "budget",
        "meeting",
        "contract",
        "deadline",
        "design",
        "review",
        "report",
        "summary",
    ],
]

OPS = {
    "list": "r = log.chats(limit=20); n = len(r)",
    "list_all": "r = log.chats(); n = len(r)",
    "search_rare": "r = log.search('zanzibar'); n = len(r)",
    "search_common_20": "r = log.search('Invoice', limit=20); n = len(r)",
    "search_all_quote": "r = log.search('say \"hi\"'); n = len(r)",
    "show": "r = log.messages(log.latest_chat_id()); n = len(r)",
    "resolve": "n = len(log.resolve(log.latest_chat_id()[:8]))",
    "prune": "n = log.prune()",
    "prune_again": "n = log.prune()",
    "append": (
        "from chatpro.chatlog import make_record\n"
        "log.append([make_record(chat_id='c_000000000001', role='user', model='gpt-4o',"
        " content='hi', ts=now)]); n = 1"
    ),
}

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from datetime import datetime
from pathlib import Path
from chatpro.chatlog import ChatLog
from chatpro.clock import FixedClock
now = datetime.fromisoformat(sys.argv[2])
warnings = []
log = ChatLog(Path(sys.argv[1]), clock=FixedClock(now), warn=warnings.append)
t1 = time.perf_counter()
{op}
t2 = time.perf_counter()
hwm = 0.0
try:  # VmHWM starts afresh at exec; ru_maxrss would carry the forking parent's size
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
except OSError:
    import resource
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"result": n, "op_seconds": t2 - t1, "warnings": warnings, "peak_rss_mib": hwm}}))
"""


def generate(path: Path, messages: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = NOW - timedelta(days=100)
    step = timedelta(days=100) / messages
    contents = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 200))) for _ in range(512)]
    contents[7] = 'they say "hi" and \\o/ in Zürich'
    with open(path, "w", encoding="utf-8") as fh:
        left = 0
        chat = ""
        buf = []
        for i in range(messages):
            if left == 0:
                chat = f"c_{rng.getrandbits(48):012x}"
                left = rng.randint(2, 40)
            left -= 1
            role = "user" if left % 2 else "assistant"
            text = contents[i % 512]
            if role == "user":
                text = text[:150]
            ts = (start + step * i).isoformat(timespec="milliseconds")
            record = {
                "v": 1,
                "id": f"m_{rng.getrandbits(64):016x}",
                "chat_id": chat,
                "ts": ts,
                "role": role,
                "model": "gpt-4o" if role == "assistant" else "gpt-4o-mini",
                "content": ("Invoice " if i % 1000 == 0 else "") + text,
                "attachments": [],
                "usage": {"prompt_tokens": 12, "completion_tokens": 80, "units": 1},
            }
            buf.append(json.dumps(record, ensure_ascii=False))
            if len(buf) >= 10000:
                fh.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            fh.write("\n".join(buf) + "\n")
    os.chmod(path, 0o600)


def run_op_with_rss(path: Path, op: str) -> dict[str, object]:
    """Run OP in a fresh child; time the whole process, and take the peak RSS it reports."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    script = CHILD.format(op=OPS[op])
    out_fd, out_path = tempfile.mkstemp()
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", script, str(path), NOW.isoformat()],
            cwd=REPO,
            env=env,
            stdout=out_fd,
        )
        _, status, _usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        os.lseek(out_fd, 0, 0)
        out = Path(out_path).read_bytes()
    finally:
        os.close(out_fd)
        os.unlink(out_path)
    if proc.returncode != 0:
        raise SystemExit(f"{op} failed with exit code {proc.returncode}")
    data = json.loads(out)
    return {
        "seconds": round(seconds, 3),
        "op_seconds": round(data["op_seconds"], 3),
        "peak_rss_mib": round(data["peak_rss_mib"], 1),
        "result": data["result"],
        "warnings": len(data["warnings"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--ops", nargs="+", default=list(OPS), choices=list(OPS))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="chatlog-bench-", dir=args.dir))
    report: dict[str, object] = {"now": NOW.isoformat(), "python": sys.version.split()[0]}
    try:
        for size in args.sizes:
            path = root / f"{size}" / "chats.jsonl"
            path.parent.mkdir(mode=0o700)
            t0 = time.perf_counter()
            generate(path, size)
            entry: dict[str, object] = {
                "messages": size,
                "bytes": path.stat().st_size,
                "generate_seconds": round(time.perf_counter() - t0, 1),
            }
            ops: dict[str, object] = {}
            for op in args.ops:
                ops[op] = run_op_with_rss(path, op)
            entry["ops"] = ops
            report[str(size)] = entry
            shutil.rmtree(path.parent)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

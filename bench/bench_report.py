"""Benchmark `chatpro report --format csv` and `chatpro usage --by client` as whole processes.

Builds a chats.jsonl of N messages (bench/chatlogs.py, tagged with clients, user lines priced)
and a ledger of N charges (bench/ledgers.py) in a temporary CHATPRO_HOME, then times each
command from spawn to exit (median of --reps runs) with its peak RSS (os.wait4). The first run
(no summary beside the files yet: it reads everything and writes one) is shown apart; the median
is the steady state, where a run reads only the summary and what was appended. Goal for each:
≤ 1.5 s and ≤ 30 MiB at 1M. Prints one line per case, and JSON with --json.

    python bench/bench_report.py [--messages 1000000] [--reps 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for _p in (str(REPO), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import chatlogs  # noqa: E402
import ledgers  # noqa: E402

GOAL_SECONDS, GOAL_MIB = 1.5, 30
CLIENTS = ("acme", "globex", "initech", "Stark Industries", None)
CASES = {
    "report --format csv": ["report", "--format", "csv"],
    "usage --by client": ["usage", "--by", "client"],
}


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak MiB) of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, rusage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(
            f"{' '.join(argv[1:])} failed: {proc.stderr.read().decode()[-300:] if proc.stderr else ''}"
        )
    return took, rusage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the data in DIR and reuse it on later runs with the same --messages",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="chatpro-bench-report-") as tmp:
        home = (args.keep or Path(tmp)) / "home"
        data = home / "data"
        data.mkdir(parents=True, mode=0o700, exist_ok=True)
        home.chmod(0o700)
        stamp = data / "bench-messages"
        if not (args.keep and stamp.exists() and stamp.read_text() == str(args.messages)):
            chatlogs.generate(data / "chats.jsonl", args.messages, clients=CLIENTS)
            ledgers.generate(data / "usage.jsonl", args.messages, chatlogs.NOW)
            stamp.write_text(str(args.messages))
        baseline = [sys.executable, "-c", "import click"]
        run_once(baseline, dict(os.environ))
        click_s = statistics.median(run_once(baseline, dict(os.environ))[0] for _ in range(5))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATPRO_", "OPENAI_"))}
        env.update(
            CHATPRO_HOME=str(home), CHATPRO_NOW=chatlogs.NOW.isoformat(), PYTHONPATH=str(REPO)
        )
        results = {}
        for name, cmd in CASES.items():
            full = [sys.executable, "-m", "chatpro", *cmd]
            for side in data.glob("*.summary"):
                side.unlink()  # the first run reads everything and writes the summary
            run_once(full, env)  # warm the page cache
            for side in data.glob("*.summary"):
                side.unlink()
            first_s, first_mib = run_once(full, env)
            runs = [run_once(full, env) for _ in range(args.reps)]
            seconds = statistics.median(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            results[name] = {
                "messages": args.messages,
                "median_s": round(seconds, 3),
                "peak_mib": round(peak, 1),
                "meets_goal": seconds <= GOAL_SECONDS and peak <= GOAL_MIB,
                "first_run_s": round(first_s, 3),
                "first_run_mib": round(first_mib, 1),
            }
    if args.json:
        print(
            json.dumps(
                {"import click (baseline)": {"median_s": round(click_s, 3)}, **results}, indent=2
            )
        )
    else:
        print(f"baseline: python -c 'import click' {click_s:.3f} s (machine load)")
        for name, r in results.items():
            verdict = "meets" if r["meets_goal"] else "misses"
            print(
                f"{name} over {r['messages']:,}: {r['median_s']:.2f} s, {r['peak_mib']:.1f} MiB peak"
                f" ({verdict} the goal ≤ {GOAL_SECONDS} s, ≤ {GOAL_MIB} MiB);"
                f" first run (no summary yet): {r['first_run_s']:.2f} s, {r['first_run_mib']:.1f} MiB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

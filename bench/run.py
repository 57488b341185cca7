"""Whole-process benchmarks for chatpro, each against a baseline measured in the same run.

    python bench/run.py            # 15 repetitions a case, logs of 100k and 1M messages
    python bench/run.py --quick    # 5 repetitions, 100k only: a fast check
    nox -s bench                   # installs the package, then runs this

Every case runs a real process and is timed from spawn to exit (median, min, max); peak memory
is the child's own maximum resident set size, from `/usr/bin/time -f %M` when it exists, else
from os.wait4's rusage (on Linux that figure starts from the runner's own size at spawn, so the
runner builds its inputs in subprocesses to stay small). Ratios compare medians
with a baseline run in the same loop, so a slower or busier machine moves both. Results go to
stdout and to docs/performance.md. A command that fails (or does not exist yet) is reported as
"failed" in the table; the runner carries on.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for _p in (str(REPO), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import chatlogs  # noqa: E402
import documents  # noqa: E402

PY = sys.executable
KEY = "sk-bench-0000000000000000000000000000"
NOW = chatlogs.NOW.isoformat()
TIKTOKEN_CACHE = REPO.parent / "shared" / "tiktoken-cache"
OPENAI_BASELINE = """\
import sys
import openai

c = openai.OpenAI(base_url=sys.argv[1], api_key=sys.argv[2])
for ch in c.chat.completions.create(
    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
):
    if ch.choices and ch.choices[0].delta.content:
        sys.stdout.write(ch.choices[0].delta.content)
sys.stdout.write("\\n")
"""


@dataclass(frozen=True)
class Goal:
    """What a case should meet: a ratio to its baseline, a time in seconds, a peak in MiB."""

    ratio: float | None = None
    seconds: float | None = None
    peak_mib: float | None = None
    cpu_seconds: float | None = None

    def text(self) -> str:
        parts = []
        if self.ratio is not None:
            parts.append(f"≤ {self.ratio:g}×")
        if self.cpu_seconds is not None:
            parts.append(f"≤ {self.cpu_seconds:g} s CPU")
        if self.seconds is not None:
            parts.append(f"≤ {self.seconds:g} s")
        if self.peak_mib is not None:
            parts.append(f"≤ {self.peak_mib:g} MiB")
        return ", ".join(parts)


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    peak_kib: int = 0
    error: str | None = None
    cpu: list[float] = field(default_factory=list)  # user+sys of the child, per timed run


@dataclass
class Row:
    case: str
    sample: Sample
    baseline_name: str | None
    baseline: Sample | None
    goal: Goal
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.sample.error is not None or not self.sample.seconds

    @property
    def median(self) -> float | None:
        return None if self.failed else statistics.median(self.sample.seconds)

    @property
    def ratio(self) -> float | None:
        base = self.baseline
        if self.failed or base is None or base.error or not base.seconds:
            return None
        return statistics.median(self.sample.seconds) / statistics.median(base.seconds)

    @property
    def cpu(self) -> float | None:
        return None if self.failed or not self.sample.cpu else statistics.median(self.sample.cpu)

    @property
    def peak_mib(self) -> float:
        return self.sample.peak_kib / 1024

    def met(self) -> str:
        if self.failed:
            return "failed"
        checks = []
        if self.goal.ratio is not None:
            checks.append(self.ratio is not None and self.ratio <= self.goal.ratio)
        if self.goal.seconds is not None:
            checks.append(self.median is not None and self.median <= self.goal.seconds)
        if self.goal.peak_mib is not None:
            checks.append(self.peak_mib <= self.goal.peak_mib)
        if self.goal.cpu_seconds is not None:
            checks.append(self.cpu is not None and self.cpu <= self.goal.cpu_seconds)
        if not checks:
            return "—"
        return "yes" if all(checks) else "no"


# --- running one process -------------------------------------------------------------------


TIME = "/usr/bin/time"
USE_TIME = os.path.exists(TIME) and os.access(TIME, os.X_OK)


def run_once(
    argv: Sequence[str],
    env: dict[str, str],
    *,
    stdin: bytes = b"",
    expect: Sequence[int] = (0,),
    cwd: Path | None = None,
) -> tuple[float, int, str | None, float]:
    """(seconds, peak RSS KiB, error or None, CPU seconds) of one whole process, stdout to
    /dev/null. The CPU time is user+sys from os.wait4: the child and the children it waited for."""
    with (
        tempfile.TemporaryFile() as inp,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        inp.write(stdin)
        inp.seek(0)
        command = [TIME, "-f", "%M", "-o", rss.name, *argv] if USE_TIME else list(argv)
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                command, stdin=inp, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd
            )
        except OSError as exc:
            return 0.0, 0, f"cannot start: {exc}", 0.0
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak = usage.ru_maxrss
        cpu = usage.ru_utime + usage.ru_stime
        if USE_TIME:
            peak = _time_peak(rss.name)
        if proc.returncode not in expect:
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
            errors = [line for line in lines if line.startswith("chatpro: error")]
            last = (errors or lines or [""])[-1]
            return elapsed, peak, f"exit {proc.returncode}: {last[:120]}", cpu
        return elapsed, peak, None, cpu


def _time_peak(path: str) -> int:
    """The %M figure (KiB) /usr/bin/time wrote: its last line that is a number."""
    try:
        lines = Path(path).read_text().split()
    except OSError:
        return 0
    numbers = [int(x) for x in lines if x.isdigit()]
    return numbers[-1] if numbers else 0


def measure(
    argv: Sequence[str],
    env: dict[str, str],
    reps: int,
    *,
    stdin: bytes = b"",
    expect: Sequence[int] = (0,),
    before_each: Callable[[], None] | None = None,
    warmup: int = 1,
) -> Sample:
    sample = Sample()
    for i in range(warmup + reps):
        if before_each is not None:
            before_each()
        seconds, peak, error, cpu = run_once(
            argv, env, stdin=stdin, expect=expect, cwd=env_cwd(env)
        )
        if error:
            sample.error = error
            return sample
        if i >= warmup:
            sample.seconds.append(seconds)
            sample.cpu.append(cpu)
            sample.peak_kib = max(sample.peak_kib, peak)
    return sample


@dataclass(frozen=True)
class Spec:
    """One command to time, for measure_together."""

    argv: Sequence[str]
    env: dict[str, str]
    stdin: bytes = b""
    expect: Sequence[int] = (0,)


def measure_together(specs: Sequence[Spec], reps: int, warmup: int = 1) -> list[Sample]:
    """Time SPECS round-robin (a, b, c, a, b, c, …) so a case and its baseline see the same
    machine load; a spec that fails stops being run."""
    samples = [Sample() for _ in specs]
    for i in range(warmup + reps):
        for spec, sample in zip(specs, samples, strict=True):
            if sample.error:
                continue
            seconds, peak, error, cpu = run_once(
                spec.argv, spec.env, stdin=spec.stdin, expect=spec.expect, cwd=env_cwd(spec.env)
            )
            if error:
                sample.error = error
            elif i >= warmup:
                sample.seconds.append(seconds)
                sample.cpu.append(cpu)
                sample.peak_kib = max(sample.peak_kib, peak)
    return samples


def env_cwd(env: dict[str, str]) -> Path:
    return Path(env["CHATPRO_HOME"]).parent


# --- the environment -----------------------------------------------------------------------


LAUNCHER = """\
import sys
from chatpro.cli.main import run
sys.exit(run())
"""


def chatpro_argv(work: Path) -> tuple[list[str], str]:
    """How to start chatpro: the installed console script beside this python, else a script
    that does what pip's console script does (not `-m`, whose runpy costs an installed user
    nothing), run with the worktree on PYTHONPATH and its modules compiled first."""
    script = Path(PY).parent / "chatpro"
    if script.exists():
        return [str(script)], str(script)
    import compileall

    compileall.compile_dir(REPO / "chatpro", quiet=1)  # as pip install does
    launcher = work / "chatpro_launcher.py"
    launcher.write_text(LAUNCHER)
    return [PY, str(launcher)], f"{PY} <console-script equivalent> (worktree on PYTHONPATH)"


def base_env(home: Path, server_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATPRO_"))}
    env.update(
        CHATPRO_HOME=str(home),
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=server_url,
        NO_COLOR="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if "PYTHONPATH" not in os.environ and not (Path(PY).parent / "chatpro").exists():
        env["PYTHONPATH"] = str(REPO)
    if TIKTOKEN_CACHE.is_dir():
        env["TIKTOKEN_CACHE_DIR"] = str(TIKTOKEN_CACHE)
    env.update(extra)
    home.mkdir(parents=True, exist_ok=True)
    return env


def start_server():  # -> tests.fakeserver.FakeOpenAI
    from tests.fakeserver import FakeOpenAI

    return FakeOpenAI().start()


# --- the cases -----------------------------------------------------------------------------


class Bench:
    def __init__(self, reps: int, heavy_reps: int, sizes: list[int], work: Path) -> None:
        self.reps = reps
        self.heavy_reps = heavy_reps
        self.sizes = sizes
        self.work = work
        self.rows: list[Row] = []
        self.chatpro, self.chatpro_text = chatpro_argv(work)
        self.server = start_server()
        self.notes: list[str] = []

    def env(self, name: str, **extra: str) -> dict[str, str]:
        return base_env(self.work / name / "home", self.server.url, **extra)

    def add(
        self,
        case: str,
        sample: Sample,
        goal: Goal,
        baseline: tuple[str, Sample] | None = None,
        note: str = "",
    ) -> None:
        name, base = baseline if baseline else (None, None)
        row = Row(case, sample, name, base, goal, note)
        self.rows.append(row)
        print(f"  {case}: {describe(row)}", file=sys.stderr, flush=True)

    def startup(self) -> None:
        env = self.env("startup")
        tables = (["model", "list"], ["usage"], ["history"], ["config", "show"])
        specs = [Spec([PY, "-c", "import click"], env), Spec([*self.chatpro, "--help"], env)]
        specs += [Spec([*self.chatpro, *args], env) for args in tables]
        click_base, help_sample, *samples = measure_together(specs, self.reps)
        self.add("chatpro --help", help_sample, Goal(ratio=1.3), ("import click", click_base))
        for args, sample in zip(tables, samples, strict=True):
            self.add(
                f"chatpro {' '.join(args)}", sample, Goal(ratio=1.3), ("import click", click_base)
            )

    def ask(self) -> None:
        env = self.env("ask")
        script = self.work / "openai_baseline.py"
        script.write_text(OPENAI_BASELINE)
        base, sample = measure_together(
            [
                Spec([PY, str(script), self.server.url, KEY], env),
                Spec([*self.chatpro, "ask", "hi"], env),
            ],
            self.reps,
        )
        self.add(
            "chatpro ask hi (streamed, loopback)",
            sample,
            Goal(ratio=0.6, peak_mib=45),
            ("openai-python stream", base),
        )

    def repl(self) -> None:
        env = self.env("repl")
        help_sample, sample = measure_together(
            [Spec([*self.chatpro, "--help"], env), Spec([*self.chatpro, "chat"], env, b"/exit\n")],
            self.reps,
        )
        self.add(
            "echo /exit | chatpro chat",
            sample,
            Goal(ratio=1.5),
            ("chatpro --help", help_sample),
            note="non-TTY: whole process, start to exit after /exit",
        )

    def files(self) -> None:
        env = self.env("files")
        where = self.work / "documents"
        built = subprocess.run(
            [PY, str(BENCH / "documents.py"), str(where)], capture_output=True, text=True, cwd=REPO
        )
        if built.returncode != 0:
            error = (built.stderr.strip().splitlines() or ["?"])[-1]
            self.add("building the documents", Sample(error=error), Goal())
            return
        docs = documents.paths_in(where)
        for kind in ("pdf", "docx", "pptx"):
            path = docs[kind]
            mb = path.stat().st_size / 1e6
            sample = measure(
                [*self.chatpro, "upload", "--extract", str(path)], env, self.heavy_reps
            )
            cpu = 1.0 if kind == "pdf" else 2.0
            self.add(
                f"upload --extract {mb:.1f} MB .{kind} (bench document)",
                sample,
                Goal(cpu_seconds=cpu, peak_mib=150),
            )
        bomb = docs["bomb"]
        sample = measure(
            [*self.chatpro, "upload", "--dry-run", str(bomb)], env, self.reps, expect=(2,)
        )
        self.add(
            f"upload --dry-run bomb .docx ({bomb.stat().st_size / 1e6:.1f} MB, 1 GiB member)",
            sample,
            Goal(seconds=1, peak_mib=100),
            note="refused, exit 2 expected",
        )

    def extraction(self) -> None:
        """Every type at ~1 MB and at its worst ~10 MiB (bench/corpus.py), one whole
        `chatpro upload --extract FILE` process each."""
        env = self.env("extraction")
        where = self.work / "corpus"
        built = subprocess.run(
            [PY, str(BENCH / "corpus.py"), str(where)], capture_output=True, text=True, cwd=REPO
        )
        if built.returncode != 0:
            error = (built.stderr.strip().splitlines() or ["?"])[-1]
            self.add("building the extraction corpus", Sample(error=error), Goal())
            return
        for line in built.stdout.splitlines():
            kind, label, path, size = line.split("\t")
            sample = measure([*self.chatpro, "upload", "--extract", path], env, self.heavy_reps)
            self.add(
                f"extract .{kind} {label} ({int(size) / 1e6:.1f} MB)",
                sample,
                Goal(cpu_seconds=2, peak_mib=150),
            )

    def batch_bench(self) -> str | None:
        """Run bench/bench_batch.py (the batch figures of issue 14), if present."""
        script = BENCH / "bench_batch.py"
        if not script.exists():
            return None
        proc = subprocess.run([PY, str(script)], capture_output=True, text=True, cwd=REPO)
        out = proc.stdout.strip()
        if proc.returncode != 0:
            out += f"\n(failed, exit {proc.returncode}: {proc.stderr.strip()[-300:]})"
        return out

    def history(self, messages: int) -> None:
        label = f"{messages // 1000}k" if messages < 1_000_000 else f"{messages // 1_000_000}M"
        env = self.env(f"history-{label}", CHATPRO_NOW=NOW)
        log = Path(env["CHATPRO_HOME"]) / "data" / "chats.jsonl"
        pristine = self.work / f"pristine-{label}.jsonl"
        started = time.perf_counter()
        subprocess.run(
            [PY, str(BENCH / "chatlogs.py"), str(pristine), str(messages)],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        self.notes.append(
            f"{label} log: {pristine.stat().st_size / 1e6:.0f} MB, generated in "
            f"{time.perf_counter() - started:.1f} s"
        )

        def restore() -> None:
            log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(pristine, log)
            # on disk before the timed run: otherwise the prune's fsync waits behind the
            # write-back of this copy (hundreds of MB at 1M messages), which no user's log has
            os.sync()

        restore()
        reps = self.reps if messages < 1_000_000 else self.heavy_reps
        seconds = 0.3 if messages < 1_000_000 else 1.5
        goal = Goal(seconds=seconds, peak_mib=30)
        cases = [
            ("history", [*self.chatpro, "history"], None),
            (
                f"history search {chatlogs.RARE_WORD}",
                [*self.chatpro, "history", "search", chatlogs.RARE_WORD],
                None,
            ),
            ("history prune", [*self.chatpro, "history", "prune"], restore),
        ]
        for name, argv, before in cases:
            sample = measure(argv, env, reps, before_each=before)
            note = (
                "10% of messages expired; log restored (and synced) before each run"
                if before
                else ""
            )
            self.add(f"{name} ({label} messages)", sample, goal, note=note)
        restore()
        empty_env = self.env(f"append-empty-{label}", CHATPRO_NOW=NOW)
        ask = [*self.chatpro, "ask", "--json", "hi"]
        empty, full = measure_together([Spec(ask, empty_env), Spec(ask, env)], reps, warmup=2)
        self.add(
            f"ask --json hi, append to {label} log",
            full,
            Goal(),
            ("same, empty log", empty),
            note="after a warm-up run (the day's first write prunes)",
        )

    def chatlog_bench(self) -> str | None:
        """Run bench/bench_chatlog.py (the chat log's own benchmark) at our sizes, if present."""
        script = BENCH / "bench_chatlog.py"
        if not script.exists():
            return None
        where = self.work / "bench-chatlog"
        where.mkdir(parents=True, exist_ok=True)
        argv = [PY, str(script), "--sizes", *map(str, self.sizes), "--dir", str(where)]
        print(f"  {' '.join(argv[1:])}", file=sys.stderr, flush=True)
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env("bc"), cwd=REPO)
        out = proc.stdout.strip()
        if proc.returncode != 0:
            out += f"\n(failed, exit {proc.returncode}: {proc.stderr.strip()[-300:]})"
        return out

    def report_bench(self) -> None:
        """Run bench/bench_report.py (report and usage --by client) at the largest size."""
        script = BENCH / "bench_report.py"
        argv = [PY, str(script), "--messages", str(max(self.sizes)), "--reps", str(self.heavy_reps)]
        print(f"  {' '.join(argv[1:])}", file=sys.stderr, flush=True)
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env("br"), cwd=REPO)
        if proc.returncode != 0:
            self.notes.append(f"bench_report.py failed: {proc.stderr.strip()[-300:]}")
            return
        self.notes += proc.stdout.strip().splitlines()

    def close(self) -> None:
        self.server.stop()


# --- output --------------------------------------------------------------------------------


def fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def describe(row: Row) -> str:
    if row.failed:
        return f"failed ({row.sample.error})"
    ratio = f", {row.ratio:.2f}× {row.baseline_name}" if row.ratio is not None else ""
    return f"median {fmt_s(row.median)}{ratio}, peak {row.peak_mib:.0f} MiB, goal met: {row.met()}"


HEADER = [
    "case",
    "median",
    "min",
    "max",
    "baseline median",
    "ratio",
    "CPU (median)",
    "goal",
    "met?",
    "peak MiB",
]


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(" --- " for _ in HEADER) + "|"]
    for r in rows:
        if r.failed:
            cells = [r.case, "failed", "", "", "", "", "", r.goal.text(), "failed", ""]
        else:
            base = r.baseline
            base_cell = ""
            if r.baseline_name:
                base_cell = (
                    f"{fmt_s(statistics.median(base.seconds))} ({r.baseline_name})"
                    if base and base.seconds and not base.error
                    else f"failed ({r.baseline_name})"
                )
            cells = [
                r.case,
                fmt_s(r.median),
                fmt_s(min(r.sample.seconds)),
                fmt_s(max(r.sample.seconds)),
                base_cell,
                f"{r.ratio:.2f}×" if r.ratio is not None else "",
                fmt_s(r.cpu),
                r.goal.text(),
                r.met(),
                f"{r.peak_mib:.1f}",
            ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


# Measured by hand (not by this script: the suite takes minutes), user+sys of the whole run
# with its children: `/usr/bin/time -v python -m pytest -q -n 2` from the tree's root, modules
# compiled first (compileall), on 2026-12-01 on this 2-core machine with other work running.
TEST_SUITE = """\
Measured by hand, not by this script (a suite run takes minutes): user+sys CPU of
`python -m pytest -q -n 2` with its children, modules compiled first, on this 2-core machine,
all three runs in the same hour (2026-12-01, 18:10-18:20 UTC).

| tree | test files | tests | user+sys CPU | wall |
| --- | --- | --- | --- | --- |
| 6f35c62, before the redesign | all 15 | 568 passed, 1 skipped | 84.2 s (73.1 + 11.1) | 73 s |
| main, the same 15 files | 15 | 633 passed, 1 skipped | 38.1 s (31.6 + 6.5) | 59 s |
| main, everything | 44 | 1,144 passed, 1 skipped | 126.5 s (115.7 + 10.8) | 142 s |

The tests that existed before the redesign (grown by 65 since) take 0.45× the CPU time (issue
10's goal: at most half), because most end-to-end tests run whole commands in-process through
`chatpro.cli.main.main` instead of starting an interpreter and importing openai each time; real
processes remain for signals, concurrency, crashes, completion and terminals. The whole suite
has 2.0× the tests and uses 1.5× the old suite's CPU time; the costliest are the report
summary's tests over generated logs and the memory tests over multi-megabyte documents. Without
compiled modules (PYTHONDONTWRITEBYTECODE=1 and no __pycache__) every chatpro subprocess
compiles chatpro again, which costs about 20 s more.
"""


def report(
    bench: Bench,
    args: argparse.Namespace,
    chatlog_out: str | None,
    took: float,
    batch_out: str | None = None,
) -> str:
    failures = [r for r in bench.rows if r.failed]
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{platform.system()} {platform.machine()}, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )
    mode = "quick (--quick)" if args.quick else "full"
    parts = [
        "# Performance",
        "",
        "<!-- Written by bench/run.py; rerun it rather than editing by hand. -->",
        "",
        f"- Date: {when}",
        f"- Machine: {machine}",
        f"- Load average at the end (1/5/15 min): {load}; a shared 2-core machine with other "
        "work running: every figure is slowed by it, ratios (case and baseline in the same "
        "loop) less so",
        f"- Run: {mode}; {bench.reps} timed runs a case ({bench.heavy_reps} for document "
        f"extraction and 1M-message logs), after untimed warm-up runs; took {took:.0f} s",
        f"- chatpro started as: `{bench.chatpro_text}`",
        "- Rerun: `nox -s bench` (installs the package, runs `python bench/run.py`), or "
        "`python bench/run.py --quick` for a fast check (5 runs, no 1M log).",
        "",
        table(bench.rows),
        "",
        "## What is measured",
        "",
        "- Cases and their baselines run round-robin (case, baseline, case, …) so both see "
        "the same machine load.",
        "- Every time is a whole process, from spawn to exit, stdout to /dev/null; median, min "
        "and max of the timed runs. Ratios are medians over the baseline's median, measured in "
        "the same run. Peak MiB is the child's maximum resident set size, "
        f"the highest over the runs ({'`/usr/bin/time -f %M`' if USE_TIME else 'os.wait4 rusage'}).",
        '- Baselines: `python -c "import click"` for startup and table commands; for '
        "`ask`, a minimal openai-python script streaming one chat completion from the same "
        "loopback server (tests/fakeserver.py, started in the runner's process).",
        "- `echo /exit | chatpro chat`: without a TTY there is no prompt to wait for, so this "
        "is the whole process: start, read `/exit`, exit; compared with `chatpro --help`.",
        "- Documents (~10 MB each, built by bench/documents.py): text (thousands of paragraphs, "
        "400 slides with notes, 400 PDF pages) plus an incompressible picture to reach the size "
        "of a real file. The bomb is a 1 MB .docx whose document part inflates to 1 GiB; "
        "`upload --dry-run` must refuse it (exit 2).",
        "- Chat logs (bench/chatlogs.py): SPEC's chats.jsonl, 2–20 messages a chat over 85 "
        "days, 10% past the 90-day retention, with `CHATPRO_NOW` fixed. `history prune` runs "
        "on a fresh copy each time so it really rewrites. The append case is "
        "`chatpro ask --json hi` with that log in place, against the same with an empty log.",
    ]
    notes = [*bench.notes, *[f"{r.case}: {r.note}" for r in bench.rows if r.note]]
    if notes:
        parts += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    if failures:
        parts += ["", "## Failed cases", ""]
        parts += [f"- {r.case}: {r.sample.error}" for r in failures]
    if batch_out is not None:
        parts += [
            "",
            "## Batch (bench/bench_batch.py)",
            "",
            "Goals (issue 14): 200 inputs at `--jobs 8` against a server answering in 200 ms "
            "≤ 1.3× the ideal (200 × 0.2 s / 8 = 5 s); resuming a finished batch of 10,000 "
            "inputs ≤ 1 s with no request; chatpro's own time per input ≤ 5 ms. Its output:",
            "",
            "```",
            batch_out,
            "```",
        ]
    parts += ["", "## Test suite", "", TEST_SUITE.rstrip()]
    if chatlog_out is not None:
        parts += [
            "",
            "## bench/bench_chatlog.py",
            "",
            "The chat log's own benchmark (whole processes over its own generated logs), run by "
            "bench/run.py at the same sizes; its JSON output:",
            "",
            "```json",
            chatlog_out,
            "```",
        ]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="chatpro whole-process benchmarks")
    parser.add_argument("--quick", action="store_true", help="5 runs a case; skip the 1M log")
    parser.add_argument("--reps", type=int, help="timed runs a case (default 15, quick 5)")
    parser.add_argument(
        "--output", type=Path, default=REPO / "docs" / "performance.md", help="report file"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    reps = args.reps or (5 if args.quick else 15)
    heavy = max(1, min(reps, 3 if args.quick else 5))
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chatpro-bench-") as tmp:
        bench = Bench(reps, heavy, sizes, Path(tmp))
        try:
            print("startup and tables", file=sys.stderr)
            bench.startup()
            print("ask", file=sys.stderr)
            bench.ask()
            print("chat", file=sys.stderr)
            bench.repl()
            print("files", file=sys.stderr)
            bench.files()
            for size in sizes:
                print(f"history, {size:,} messages", file=sys.stderr)
                bench.history(size)
            print("extraction per type", file=sys.stderr)
            bench.extraction()
            print("bench/bench_chatlog.py", file=sys.stderr)
            chatlog_out = bench.chatlog_bench()
            print("bench/bench_report.py", file=sys.stderr)
            bench.report_bench()
            print("bench/bench_batch.py", file=sys.stderr)
            batch_out = bench.batch_bench()
        finally:
            bench.close()
    text = report(bench, args, chatlog_out, time.perf_counter() - started, batch_out)
    print(table(bench.rows))
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

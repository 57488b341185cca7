"""Helpers for the allowance ledger tests: models, a clock tests can move, real charging processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WARN_AT = (50, 75, 80, 90, 95)
# A zone that is not UTC, so a test fails if the ledger ever uses UTC dates instead of local ones.
LOCAL = timezone(timedelta(hours=2))


@dataclass(frozen=True)
class Model:
    """Stands in for chatpro.models.ModelInfo: the three attributes the ledger reads."""

    name: str
    monthly_messages: int
    fallback: str | None = None


GPT4O = Model("gpt-4o", 300, "gpt-3.5-turbo")
GPT35 = Model("gpt-3.5-turbo", 1000)
LLAMA = Model("llama3.1", 0)
CATALOG = {m.name: m for m in (GPT4O, GPT35, LLAMA)}


def lookup(name: str) -> Model:
    return CATALOG[name]


def local(
    year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LOCAL)


class MovableClock:
    """A clock a test sets to any local time (FixedClock is frozen)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


_WORKER = r"""
import json, sys, time
from datetime import datetime
from pathlib import Path
from chatpro.clock import FixedClock
from chatpro.usage import Ledger

ledger_path, go_file, at, name, allowance, count = sys.argv[1:7]
warn_at = json.loads(sys.argv[7])


class Model:
    fallback = None

    def __init__(self, name, monthly_messages):
        self.name = name
        self.monthly_messages = monthly_messages


model = Model(name, int(allowance))
ledger = Ledger(Path(ledger_path), clock=FixedClock(datetime.fromisoformat(at)))
while not Path(go_file).exists():  # start together, so the charges really interleave
    time.sleep(0.005)
for _ in range(int(count)):
    for line in ledger.charge(model, units=1, prompt_tokens=10, completion_tokens=5, warn_at=warn_at):
        print(json.dumps(line), flush=True)
"""


def spawn_charger(
    ledger_path: Path,
    *,
    charges: int,
    model: Model,
    at: datetime,
    warn_at: tuple[int, ...] = WARN_AT,
) -> subprocess.Popen[str]:
    """A real process charging 1 unit CHARGES times once ``go`` exists beside the ledger.

    It prints each warning it gets as a JSON string line.
    """
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    args = [
        str(ledger_path),
        str(ledger_path.parent / "go"),
        at.isoformat(),
        model.name,
        str(model.monthly_messages),
        str(charges),
        json.dumps(list(warn_at)),
    ]
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        text=True,
    )


def start_chargers(ledger_path: Path) -> None:
    (ledger_path.parent / "go").touch()


def stop(procs: list[subprocess.Popen[str]]) -> None:
    """Never leave a worker behind (e.g. waiting for the go file after a failed assertion)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def charge_in_processes(
    ledger_path: Path,
    *,
    processes: int,
    charges_each: int,
    model: Model,
    at: datetime,
    warn_at: tuple[int, ...] = WARN_AT,
) -> list[str]:
    """Run PROCESSES real Python processes each charging 1 unit CHARGES_EACH times; all warnings."""
    procs: list[subprocess.Popen[str]] = []
    try:
        for _ in range(processes):
            procs.append(
                spawn_charger(
                    ledger_path, charges=charges_each, model=model, at=at, warn_at=warn_at
                )
            )
        start_chargers(ledger_path)
        warnings: list[str] = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            warnings.extend(json.loads(line) for line in out.splitlines())
        return warnings
    finally:
        stop(procs)

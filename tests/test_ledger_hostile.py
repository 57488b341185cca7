"""The ledger against bad figures, hostile lines and concurrent processes (SPEC "Robustness")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from chatpro.errors import AllowanceError, StorageError
from chatpro.usage import Ledger
from tests.usage_support import GPT4O, GPT35, REPO_ROOT, WARN_AT, MovableClock, local, lookup

NOW = local(2026, 11, 25, 19, 20)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "usage.jsonl"


@pytest.fixture
def ledger(ledger_path: Path, clock: MovableClock) -> Ledger:
    return Ledger(ledger_path, clock=clock)


def charge(ledger: Ledger, units: int = 1, **kw: object) -> list[str]:
    return ledger.charge(
        GPT4O, units=units, prompt_tokens=7, completion_tokens=3, warn_at=WARN_AT, **kw
    )


def _charge_line(units: bytes) -> bytes:
    return (
        b'{"v":1,"type":"charge","model":"gpt-4o","units":' + units + b',"prompt_tokens":1,'
        b'"completion_tokens":1,"ts":"x","cycle":"2026-11-25"}\n'
    )


BAD = {
    "fraction": _charge_line(b"1.5"),
    "Infinity": _charge_line(b"Infinity"),
    "1e400": _charge_line(b"1e400"),
    "10^400": _charge_line(b"1" + b"0" * 400),
    "negative": _charge_line(b"-3"),
    "deep nesting": b"[" * 100_000 + b"\n",
    "invalid UTF-8": b'{"v":1,"type":"\xff\xfe"}\n',
    "NUL": b"\x00\x00\n",
}


@pytest.mark.parametrize("line", BAD.values(), ids=BAD.keys())
def test_out_of_range_figures_are_a_clear_corrupt_ledger_error(
    ledger: Ledger, ledger_path: Path, line: bytes
) -> None:
    charge(ledger)
    with ledger_path.open("ab") as fh:
        fh.write(line)
    before = ledger_path.read_bytes()
    for call in (
        lambda: ledger.status([GPT4O]),
        lambda: ledger.has_allowance(GPT4O),
        lambda: ledger.reserve(GPT4O, cost=1, lookup=lookup, ttl_seconds=60),
        lambda: charge(ledger),
    ):
        with pytest.raises(StorageError, match=r"corrupt at line 3"):
            call()
    assert ledger_path.read_bytes() == before


def test_usage_reports_a_corrupt_ledger_in_one_line(run_offline, home: Path) -> None:
    path = home / "data" / "usage.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"v":1,"type":"start","anchor":"2026-11-01","ts":"x"}\n' + BAD["10^400"])
    result = run_offline("usage")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Overflow" not in result.stderr
    assert "usage ledger" in result.stderr and "corrupt at line 2" in result.stderr


@pytest.mark.parametrize("figure", [1.5, float("inf"), float("nan"), -1, 10**400, True, "3"])
def test_charge_refuses_figures_that_are_not_non_negative_integers(
    ledger: Ledger, ledger_path: Path, figure: object
) -> None:
    charge(ledger)
    before = ledger_path.read_bytes()
    for kw in ({"units": figure}, {"prompt_tokens": figure}, {"completion_tokens": figure}):
        args = {"units": 1, "prompt_tokens": 1, "completion_tokens": 1, **kw}
        with pytest.raises(ValueError):
            ledger.charge(GPT4O, warn_at=WARN_AT, **args)  # type: ignore[arg-type]
    assert ledger_path.read_bytes() == before


def test_client_and_cost_are_kept_on_the_charge(ledger: Ledger, ledger_path: Path) -> None:
    charge(ledger, client="acme", cost="0.0125")
    record = json.loads(ledger_path.read_bytes().splitlines()[-1])
    assert (record["client"], record["cost"]) == ("acme", "0.0125")
    for bad in ("lots", "-1", "NaN", 0.5):
        with pytest.raises(ValueError):
            charge(ledger, cost=bad)


# --- reservations ---------------------------------------------------------------------------------


def fill(ledger: Ledger, left: int) -> None:
    charge(ledger, GPT4O.monthly_messages - left)


def test_a_reservation_counts_as_used_until_charged_or_released(ledger: Ledger) -> None:
    fill(ledger, 3)
    first = ledger.reserve(GPT4O, cost=2, lookup=lookup, no_fallback=True, ttl_seconds=60)
    assert (first.model, first.cost, first.fallback) == ("gpt-4o", 2, False)
    with pytest.raises(AllowanceError):
        ledger.reserve(GPT4O, cost=2, lookup=lookup, no_fallback=True, ttl_seconds=60)
    spare = ledger.reserve(GPT4O, cost=2, lookup=lookup, ttl_seconds=60)  # falls back instead
    assert spare.model == "gpt-3.5-turbo" and spare.notice
    ledger.release(first)
    second = ledger.reserve(GPT4O, cost=3, lookup=lookup, no_fallback=True, ttl_seconds=60)
    charge(ledger, 3, reservation=second)  # the reservation becomes the charge
    assert ledger.status([GPT4O]).models[0].used == 300
    with pytest.raises(AllowanceError):
        ledger.reserve(GPT4O, cost=1, lookup=lookup, no_fallback=True, ttl_seconds=60)
    ledger.release(spare)
    ledger.release(spare)  # idempotent
    assert ledger.status([GPT35]).models[0].used == 0


def test_a_reservation_expires_by_the_clock(ledger: Ledger, clock: MovableClock) -> None:
    fill(ledger, 1)
    ledger.reserve(GPT4O, cost=1, lookup=lookup, no_fallback=True, ttl_seconds=120)
    clock.at = NOW + timedelta(seconds=119)
    with pytest.raises(AllowanceError):
        ledger.reserve(GPT4O, cost=1, lookup=lookup, no_fallback=True, ttl_seconds=120)
    clock.at = NOW + timedelta(seconds=120)
    ledger.reserve(GPT4O, cost=1, lookup=lookup, no_fallback=True, ttl_seconds=120)


_RESERVER = r"""
import sys, time
from datetime import datetime
from pathlib import Path
from chatpro.clock import FixedClock
from chatpro.errors import AllowanceError
from chatpro.usage import Ledger

path, go, at, mode = sys.argv[1:5]

class Model:
    name, monthly_messages, fallback = "gpt-4o", 300, None

ledger = Ledger(Path(path), clock=FixedClock(datetime.fromisoformat(at)))
while not Path(go).exists():
    time.sleep(0.005)
try:
    r = ledger.reserve(Model(), cost=1, lookup=lambda n: None, no_fallback=True, ttl_seconds=600)
except AllowanceError:
    print("refused", flush=True)
    sys.exit(3)
print("reserved", flush=True)
if mode == "hang":
    time.sleep(600)
time.sleep(0.05)  # the request is "in flight"
ledger.charge(Model(), units=1, prompt_tokens=1, completion_tokens=1, warn_at=[], reservation=r)
print("charged", flush=True)
"""


def _reserver(ledger_path: Path, mode: str = "charge") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            _RESERVER,
            str(ledger_path),
            str(ledger_path.parent / "go"),
            NOW.isoformat(),
            mode,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def test_thirty_processes_against_five_left_never_overspend(
    ledger: Ledger, ledger_path: Path
) -> None:
    fill(ledger, 5)
    procs = [_reserver(ledger_path) for _ in range(30)]
    try:
        (ledger_path.parent / "go").touch()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(not err for _, err in outs), [err for _, err in outs if err][:1]
    charged = sum(out.split() == ["reserved", "charged"] for out, _ in outs)
    refused = sum(out.split() == ["refused"] for out, _ in outs)
    assert (charged, refused) == (5, 25)
    assert ledger.status([GPT4O]).models[0].used == 300


def test_a_killed_process_reservation_stops_counting_after_its_ttl(
    ledger: Ledger, ledger_path: Path, clock: MovableClock
) -> None:
    fill(ledger, 1)
    (ledger_path.parent / "go").touch()
    proc = _reserver(ledger_path, "hang")
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "reserved\n"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    with pytest.raises(AllowanceError):
        ledger.reserve(GPT4O, cost=1, lookup=lookup, no_fallback=True, ttl_seconds=600)
    clock.at = NOW + timedelta(seconds=600)
    ledger.reserve(GPT4O, cost=1, lookup=lookup, no_fallback=True, ttl_seconds=600)


def test_looser_modes_are_set_back_with_a_notice(ledger_path: Path, clock: MovableClock) -> None:
    notices: list[str] = []
    ledger = Ledger(ledger_path, clock=clock, warn=notices.append)
    charge(ledger)
    os.chmod(ledger_path, 0o644)
    os.chmod(ledger_path.parent, 0o755)
    fresh = Ledger(ledger_path, clock=clock, warn=notices.append)
    fresh.status([GPT4O])
    assert ledger_path.stat().st_mode & 0o777 == 0o600
    assert ledger_path.parent.stat().st_mode & 0o777 == 0o700
    assert len(notices) == 2 and "0644" in notices[0] and "0600" in notices[0]


def test_a_ledger_that_is_a_directory_fails_the_check(ledger_path: Path, clock) -> None:
    ledger_path.mkdir(parents=True)
    with pytest.raises(StorageError, match="directory"):
        Ledger(ledger_path, clock=clock).check_writable()

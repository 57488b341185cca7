"""The allowance ledger as its callers (the request pipeline, `chatpro usage`) see it."""

from __future__ import annotations

import calendar
import json
import signal
import stat
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from chatpro.errors import AllowanceError, ExitCode, StorageError
from chatpro.usage import MIB, Ledger, cost_units, cycle_bounds
from tests.usage_support import (
    GPT4O,
    GPT35,
    LLAMA,
    WARN_AT,
    Model,
    MovableClock,
    charge_in_processes,
    local,
    lookup,
    spawn_charger,
    start_chargers,
    stop,
)

RENEWS = "2026-12-25"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(local(2026, 11, 25, 19, 20))


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "usage.jsonl"


@pytest.fixture
def ledger(ledger_path: Path, clock: MovableClock) -> Ledger:
    return Ledger(ledger_path, clock=clock)


def use(ledger: Ledger, model: Model, units: int, warn_at: tuple[int, ...] = WARN_AT) -> list[str]:
    return ledger.charge(model, units=units, prompt_tokens=7, completion_tokens=3, warn_at=warn_at)


def used(ledger: Ledger, model: Model) -> int:
    return ledger.status([model]).models[0].used


# --- cost ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "files", "cost"),
    [
        (0, (), 1),
        (12, (), 1),  # a short prompt
        (4000, (), 1),
        (4001, (), 2),
        (8000, (), 2),
        (8001, (), 3),
        (10, (MIB + MIB // 2,), 3),  # 1.5 MiB: 2 for the bytes, 1 for the tokens
        (10, (MIB,), 2),
        (10, (1, 1), 3),  # every file's bytes count on their own
        (4001, (10 * MIB,), 12),
    ],
)
def test_cost_is_started_4000_tokens_plus_started_mib_per_file(
    tokens: int, files: tuple[int, ...], cost: int
) -> None:
    assert cost_units(tokens, files) == cost


def test_negative_counts_are_a_bug_not_a_discount() -> None:
    with pytest.raises(ValueError):
        cost_units(-1)


# --- cycles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "today", "start", "renewal"),
    [
        # started on the 31st: the last day of shorter months, then back to the 31st
        (date(2027, 1, 31), date(2027, 2, 27), date(2027, 1, 31), date(2027, 2, 28)),
        (date(2027, 1, 31), date(2027, 2, 28), date(2027, 2, 28), date(2027, 3, 31)),
        (date(2027, 1, 31), date(2027, 3, 30), date(2027, 2, 28), date(2027, 3, 31)),
        (date(2027, 1, 31), date(2027, 3, 31), date(2027, 3, 31), date(2027, 4, 30)),
        (date(2027, 1, 31), date(2027, 4, 30), date(2027, 4, 30), date(2027, 5, 31)),
        # a leap year: Feb 29
        (date(2028, 1, 31), date(2028, 2, 28), date(2028, 1, 31), date(2028, 2, 29)),
        (date(2028, 1, 31), date(2028, 2, 29), date(2028, 2, 29), date(2028, 3, 31)),
        # started on Feb 29: the 29th where it exists, Feb 28 in common years
        (date(2028, 2, 29), date(2028, 3, 28), date(2028, 2, 29), date(2028, 3, 29)),
        (date(2028, 2, 29), date(2029, 2, 27), date(2029, 1, 29), date(2029, 2, 28)),
        (date(2028, 2, 29), date(2029, 2, 28), date(2029, 2, 28), date(2029, 3, 29)),
        (date(2028, 2, 29), date(2032, 2, 29), date(2032, 2, 29), date(2032, 3, 29)),
        # over the year boundary
        (date(2026, 12, 15), date(2027, 1, 3), date(2026, 12, 15), date(2027, 1, 15)),
        (date(2026, 11, 25), date(2026, 12, 31), date(2026, 12, 25), date(2027, 1, 25)),
        (date(2026, 12, 31), date(2027, 2, 1), date(2027, 1, 31), date(2027, 2, 28)),
        # the first day and years later
        (date(2026, 11, 25), date(2026, 11, 25), date(2026, 11, 25), date(2026, 12, 25)),
        (date(2026, 11, 25), date(2031, 6, 24), date(2031, 5, 25), date(2031, 6, 25)),
    ],
)
def test_cycle_bounds(anchor: date, today: date, start: date, renewal: date) -> None:
    assert cycle_bounds(anchor, today) == (start, renewal)


def test_cycles_tile_the_calendar_for_every_anchor_day() -> None:
    """Over three years (a leap day included), each day is in exactly one cycle, back to back."""
    for anchor_day in (1, 15, 28, 29, 30, 31):
        anchor = date(2027, 12, anchor_day)
        today = anchor
        previous = cycle_bounds(anchor, today)
        while today < date(2031, 1, 1):
            today += timedelta(days=1)
            start, renewal = cycle_bounds(anchor, today)
            assert start <= today < renewal
            if (start, renewal) != previous:
                assert start == previous[1] == today
            assert start.day == min(anchor_day, calendar.monthrange(start.year, start.month)[1])
            previous = (start, renewal)


def test_before_any_use_the_cycle_starts_today_and_nothing_is_written(
    ledger: Ledger, ledger_path: Path
) -> None:
    report = ledger.status([GPT4O, GPT35])
    assert (report.cycle_start, report.renewal_date) == (date(2026, 11, 25), date(2026, 12, 25))
    assert report.days_left == 30
    assert report.started is False
    assert [(m.model, m.used, m.remaining) for m in report.models] == [
        ("gpt-4o", 0, 300),
        ("gpt-3.5-turbo", 0, 1000),
    ]
    assert ledger.renewal_date() == date(2026, 12, 25)
    assert not ledger_path.exists()


def test_the_cycle_starts_on_the_local_day_of_the_first_request(
    ledger_path: Path,
) -> None:
    # 00:30 at UTC+2 on Jan 31 is still Jan 30 in UTC: the local day counts.
    clock = MovableClock(local(2027, 1, 31, 0, 30))
    ledger = Ledger(ledger_path, clock=clock)
    use(ledger, GPT4O, 1)
    clock.at = local(2027, 2, 20)
    report = ledger.status([GPT4O])
    assert (report.cycle_start, report.renewal_date, report.started) == (
        date(2027, 1, 31),
        date(2027, 2, 28),
        True,
    )
    assert report.days_left == 8


def test_renewal_is_at_local_midnight(ledger_path: Path) -> None:
    clock = MovableClock(local(2027, 1, 31, 10))
    ledger = Ledger(ledger_path, clock=clock)
    use(ledger, GPT4O, 200)
    clock.at = local(2027, 2, 27, 23, 59, 59)
    report = ledger.status([GPT4O])
    assert (report.cycle_start, report.models[0].used, report.days_left) == (
        date(2027, 1, 31),
        200,
        1,
    )
    clock.at = local(2027, 2, 28, 0, 0, 0)
    report = ledger.status([GPT4O])
    assert (report.cycle_start, report.renewal_date, report.models[0].used) == (
        date(2027, 2, 28),
        date(2027, 3, 31),
        0,
    )


def test_a_new_cycle_resets_use_and_warnings(ledger: Ledger, clock: MovableClock) -> None:
    assert use(ledger, GPT4O, 150) == [
        f"50% of your monthly gpt-4o allowance is used (150 of 300 messages); it renews on {RENEWS}"
    ]
    assert use(ledger, GPT4O, 150)[-1] == f"that was your last gpt-4o message until {RENEWS}"
    assert not ledger.has_allowance(GPT4O)
    clock.at = local(2026, 12, 25, 0, 0)
    assert ledger.has_allowance(GPT4O)
    assert used(ledger, GPT4O) == 0
    assert use(ledger, GPT4O, 150) == [
        "50% of your monthly gpt-4o allowance is used (150 of 300 messages);"
        " it renews on 2027-01-25"
    ]


# --- warnings -----------------------------------------------------------------------------------


def test_each_threshold_is_warned_exactly_once_then_the_last_message(ledger: Ledger) -> None:
    warnings = [line for _ in range(300) for line in use(ledger, GPT4O, 1)]
    assert warnings == [
        f"50% of your monthly gpt-4o allowance is used (150 of 300 messages); it renews on {RENEWS}",
        f"75% of your monthly gpt-4o allowance is used (225 of 300 messages); it renews on {RENEWS}",
        f"80% of your monthly gpt-4o allowance is used (240 of 300 messages); it renews on {RENEWS}",
        f"90% of your monthly gpt-4o allowance is used (270 of 300 messages); it renews on {RENEWS}",
        f"95% of your monthly gpt-4o allowance is used (285 of 300 messages); it renews on {RENEWS}",
        f"that was your last gpt-4o message until {RENEWS}",
    ]
    # a request that still got through (e.g. raced another process) warns nothing new
    assert use(ledger, GPT4O, 1) == []


def test_a_request_crossing_several_thresholds_names_only_the_highest(ledger: Ledger) -> None:
    assert use(ledger, GPT4O, 10) == []
    assert use(ledger, GPT4O, 240) == [
        f"80% of your monthly gpt-4o allowance is used (250 of 300 messages); it renews on {RENEWS}"
    ]
    assert use(ledger, GPT4O, 1) == []  # 50 and 75 count as shown
    assert use(ledger, GPT4O, 30) == [
        f"90% of your monthly gpt-4o allowance is used (281 of 300 messages); it renews on {RENEWS}"
    ]
    # crossing 95% and using the last message: the last-message line only
    assert use(ledger, GPT4O, 19) == [f"that was your last gpt-4o message until {RENEWS}"]
    assert use(ledger, GPT4O, 1) == []


def test_warnings_are_per_model_and_follow_the_configured_thresholds(ledger: Ledger) -> None:
    assert use(ledger, GPT35, 600, warn_at=(60, 100)) == [
        "60% of your monthly gpt-3.5-turbo allowance is used (600 of 1000 messages);"
        f" it renews on {RENEWS}"
    ]
    assert use(ledger, GPT4O, 150, warn_at=(60, 100)) == []
    assert use(ledger, GPT4O, 150, warn_at=(60, 100)) == [
        f"that was your last gpt-4o message until {RENEWS}"  # 100 in warn_at is the last message
    ]


def test_an_unlimited_model_is_never_refused_and_never_warned(ledger: Ledger) -> None:
    assert use(ledger, LLAMA, 100_000) == []
    plan = ledger.plan(LLAMA, cost=50, lookup=lookup, no_fallback=True, has_files=True)
    assert (plan.model, plan.fallback, plan.notice) == ("llama3.1", False, None)
    assert ledger.has_allowance(LLAMA)
    (usage,) = ledger.status([LLAMA]).models
    assert (usage.used, usage.allowance, usage.remaining, usage.percent) == (100_000, 0, None, 0.0)


# --- before a request ---------------------------------------------------------------------------


def test_the_requested_model_answers_while_it_can_afford_the_request(ledger: Ledger) -> None:
    use(ledger, GPT4O, 297)
    plan = ledger.plan(GPT4O, cost=3, lookup=lookup)
    assert (plan.model, plan.requested_model, plan.fallback, plan.notice, plan.cost) == (
        "gpt-4o",
        "gpt-4o",
        False,
        None,
        3,
    )
    assert ledger.has_allowance(GPT4O)


def test_a_used_up_model_falls_back_with_a_notice_naming_the_renewal_date(ledger: Ledger) -> None:
    use(ledger, GPT4O, 300)
    plan = ledger.plan(GPT4O, cost=1, lookup=lookup)
    assert (plan.model, plan.requested_model, plan.fallback) == ("gpt-3.5-turbo", "gpt-4o", True)
    assert plan.notice == f"gpt-4o allowance used up until {RENEWS}; answering with gpt-3.5-turbo"
    assert not ledger.has_allowance(GPT4O)


def test_a_request_costing_more_than_is_left_falls_back_too(ledger: Ledger) -> None:
    use(ledger, GPT4O, 298)
    plan = ledger.plan(GPT4O, cost=3, lookup=lookup)
    assert plan.model == "gpt-3.5-turbo"
    assert plan.notice is not None and "2 messages left" in plan.notice and RENEWS in plan.notice


def test_no_fallback_is_exit_3_naming_the_renewal_date(ledger: Ledger) -> None:
    use(ledger, GPT4O, 300)
    with pytest.raises(AllowanceError) as caught:
        ledger.plan(GPT4O, cost=1, lookup=lookup, no_fallback=True)
    assert caught.value.exit_code == ExitCode.ALLOWANCE == 3
    assert caught.value.message == (
        f"your monthly gpt-4o allowance is used up (300 of 300 messages); it renews on {RENEWS}"
    )
    assert caught.value.hint is not None and "--no-fallback" in caught.value.hint


def test_files_never_fall_back(ledger: Ledger) -> None:
    use(ledger, GPT4O, 300)
    with pytest.raises(AllowanceError) as caught:
        ledger.plan(GPT4O, cost=3, lookup=lookup, has_files=True)
    assert RENEWS in caught.value.message
    assert caught.value.hint == "files need gpt-4o; there is no fallback for uploads"


def test_when_the_fallback_is_used_up_too_the_request_is_refused(ledger: Ledger) -> None:
    use(ledger, GPT4O, 300)
    use(ledger, GPT35, 1000)
    with pytest.raises(AllowanceError) as caught:
        ledger.plan(GPT4O, cost=1, lookup=lookup)
    assert RENEWS in caught.value.message


def test_fallback_chains_are_followed_and_loops_end(ledger: Ledger) -> None:
    a, b, c = Model("a", 1, "b"), Model("b", 1, "c"), Model("c", 1, "a")
    models = {m.name: m for m in (a, b, c)}
    for model in (a, b):
        use(ledger, model, 1)
    assert ledger.plan(a, cost=1, lookup=models.__getitem__).model == "c"
    use(ledger, c, 1)
    with pytest.raises(AllowanceError):
        ledger.plan(a, cost=1, lookup=models.__getitem__)
    lonely = Model("lonely", 1, "missing")  # a fallback the catalog does not know
    use(ledger, lonely, 1)
    with pytest.raises(AllowanceError):
        ledger.plan(lonely, cost=1, lookup=models.__getitem__)


# --- status ---------------------------------------------------------------------------------------


def test_status_sums_the_cycle(ledger: Ledger, ledger_path: Path, clock: MovableClock) -> None:
    ledger.charge(GPT4O, units=2, prompt_tokens=5000, completion_tokens=400, warn_at=WARN_AT)
    ledger.charge(GPT4O, units=1, prompt_tokens=100, completion_tokens=50, warn_at=WARN_AT)
    clock.at = local(2026, 12, 1, 9)
    report = Ledger(ledger_path, clock=clock).status([GPT4O, GPT35, LLAMA])  # a new process
    assert report.days_left == 24
    gpt4o, gpt35, llama = report.models
    assert (gpt4o.used, gpt4o.allowance, gpt4o.remaining, gpt4o.percent) == (3, 300, 297, 1.0)
    assert (gpt4o.prompt_tokens, gpt4o.completion_tokens) == (5100, 450)
    assert (gpt35.used, gpt35.remaining, gpt35.percent) == (0, 1000, 0.0)
    assert (llama.remaining, llama.percent) == (None, 0.0)


def test_percent_has_one_decimal(ledger: Ledger) -> None:
    use(ledger, GPT4O, 1)
    assert ledger.status([GPT4O]).models[0].percent == 0.3


# --- the file -----------------------------------------------------------------------------------


def test_the_ledger_is_private(ledger: Ledger, ledger_path: Path) -> None:
    use(ledger, GPT4O, 1)
    assert stat.S_IMODE(ledger_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(ledger_path.with_name("usage.jsonl.lock").stat().st_mode) == 0o600
    assert stat.S_IMODE(ledger_path.parent.stat().st_mode) == 0o700


def test_the_ledger_is_json_lines_another_tool_can_read(ledger: Ledger, ledger_path: Path) -> None:
    use(ledger, GPT4O, 150)
    records = [json.loads(line) for line in ledger_path.read_text().splitlines()]
    assert [r["type"] for r in records] == ["start", "charge", "warned"]
    assert records[0]["anchor"] == "2026-11-25"
    assert {k: records[1][k] for k in ("model", "units", "cycle")} == {
        "model": "gpt-4o",
        "units": 150,
        "cycle": "2026-11-25",
    }


CORRUPTIONS = {
    "garbage": b"this is not json\n",
    "a list": b"[1, 2]\n",
    "units as text": b'{"v":1,"type":"charge","model":"gpt-4o","units":"many","prompt_tokens":1,'
    b'"completion_tokens":1,"ts":"x","cycle":"2026-11-25"}\n',
    "negative units": b'{"v":1,"type":"charge","model":"gpt-4o","units":-5,"prompt_tokens":1,'
    b'"completion_tokens":1,"ts":"x","cycle":"2026-11-25"}\n',
    "unknown type": b'{"v":1,"type":"refund","model":"gpt-4o","units":5}\n',
    "second start": b'{"v":1,"type":"start","anchor":"2026-11-01","ts":"x"}\n',
    "bad cycle": b'{"v":1,"type":"warned","model":"gpt-4o","threshold":50,"cycle":"soon"}\n',
    "two records on a line": b'{"v":1,"type":"start","anchor":"2026-11-01","ts":"x"},{}\n',
}


@pytest.mark.parametrize("bad_line", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_corrupt_ledger_is_a_clear_error_and_stays_untouched(
    ledger: Ledger, ledger_path: Path, bad_line: bytes
) -> None:
    use(ledger, GPT4O, 3)
    lines = ledger_path.read_bytes().splitlines(keepends=True)
    ledger_path.write_bytes(lines[0] + bad_line + b"".join(lines[1:]))
    before = ledger_path.read_bytes()
    calls: list[Callable[[], object]] = [
        lambda: ledger.status([GPT4O]),
        lambda: ledger.plan(GPT4O, cost=1, lookup=lookup),
        lambda: ledger.has_allowance(GPT4O),
        lambda: use(ledger, GPT4O, 1),
    ]
    for call in calls:
        with pytest.raises(StorageError) as caught:
            call()
        assert str(ledger_path) in caught.value.message
        assert "line 2" in caught.value.message and "corrupt" in caught.value.message
        assert "\n" not in caught.value.message
    assert ledger_path.read_bytes() == before


def test_a_charge_without_a_start_record_is_corrupt(ledger_path: Path, clock: MovableClock) -> None:
    ledger_path.parent.mkdir()
    ledger_path.write_bytes(
        b'{"v":1,"type":"charge","model":"gpt-4o","units":1,"prompt_tokens":1,'
        b'"completion_tokens":1,"ts":"x","cycle":"2026-11-25"}\n'
    )
    with pytest.raises(StorageError, match="line 1"):
        Ledger(ledger_path, clock=clock).status([GPT4O])


def test_a_torn_final_line_is_tolerated_and_cut_by_the_next_charge(
    ledger: Ledger, ledger_path: Path
) -> None:
    use(ledger, GPT4O, 3)
    with open(ledger_path, "ab") as fh:
        fh.write(b'{"v":1,"type":"charge","model":"gpt-4o","un')  # a write cut short
    assert used(ledger, GPT4O) == 3
    use(ledger, GPT4O, 2)
    assert used(ledger, GPT4O) == 5
    text = ledger_path.read_text()
    assert text.endswith("\n")
    assert all(json.loads(line) for line in text.splitlines())


def test_a_whole_final_record_that_lost_its_newline_still_counts(
    ledger: Ledger, ledger_path: Path
) -> None:
    use(ledger, GPT4O, 3)
    ledger_path.write_bytes(ledger_path.read_bytes().rstrip(b"\n"))
    assert used(ledger, GPT4O) == 3
    use(ledger, GPT4O, 1)
    assert used(ledger, GPT4O) == 4


def test_blank_lines_are_ignored(ledger: Ledger, ledger_path: Path) -> None:
    use(ledger, GPT4O, 3)
    ledger_path.write_bytes(ledger_path.read_bytes() + b"\n  \n")
    assert used(ledger, GPT4O) == 3


def test_a_long_ledger_counts_only_the_current_cycle(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    lines = [b'{"v":1,"type":"start","anchor":"2024-01-25","ts":"x"}']
    for month in range(1, 13):
        record = {
            "v": 1,
            "type": "charge",
            "model": "gpt-4o",
            "units": 1,
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "ts": "x",
            "cycle": f"2024-{month:02d}-25",
        }
        lines += [json.dumps(record).encode()] * 2000
    ledger_path.write_bytes(b"\n".join(lines) + b"\n")
    ledger = Ledger(ledger_path, clock=MovableClock(local(2025, 1, 20)))
    report = ledger.status([GPT4O])
    assert report.cycle_start == date(2024, 12, 25)
    assert (report.models[0].used, report.models[0].prompt_tokens) == (2000, 20000)


# --- real processes -----------------------------------------------------------------------------


def test_concurrent_processes_lose_no_charge_and_warn_each_threshold_once(
    ledger_path: Path,
) -> None:
    model = Model("gpt-4o", 500, None)
    at = local(2026, 11, 25, 19, 20)
    warnings = charge_in_processes(ledger_path, processes=20, charges_each=25, model=model, at=at)
    ledger = Ledger(ledger_path, clock=MovableClock(at))
    assert used(ledger, model) == 500
    assert sorted(warnings) == sorted(
        [
            f"{p}% of your monthly gpt-4o allowance is used ({p * 5} of 500 messages);"
            f" it renews on {RENEWS}"
            for p in WARN_AT
        ]
        + [f"that was your last gpt-4o message until {RENEWS}"]
    )
    records = [json.loads(line) for line in ledger_path.read_text().splitlines()]
    assert sum(r["type"] == "start" for r in records) == 1
    assert sum(r["type"] == "charge" for r in records) == 500


def test_a_process_killed_while_charging_leaves_a_whole_ledger(ledger_path: Path) -> None:
    at = local(2026, 11, 25, 19, 20)
    model = Model("gpt-4o", 1_000_000, None)
    proc = spawn_charger(ledger_path, charges=1_000_000, model=model, at=at)
    try:
        start_chargers(ledger_path)
        while not ledger_path.exists() or ledger_path.read_bytes().count(b"\n") < 50:
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        stop([proc])
    ledger = Ledger(ledger_path, clock=MovableClock(at))
    charged = sum(b'"type":"charge"' in line for line in ledger_path.read_bytes().splitlines())
    assert used(ledger, model) == charged > 0
    use(ledger, model, 1)  # and the next process carries on
    assert used(ledger, model) == charged + 1

"""The Ledger: the allowance decisions the request pipeline and `chatpro usage` ask for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from chatpro.clock import Clock
from chatpro.errors import AllowanceError
from chatpro.fsutil import file_lock, lock_path_for
from chatpro.paths import ensure_dir
from chatpro.usage.journal import (
    LAST_MESSAGE,
    LEDGER_VERSION,
    State,
    Totals,
    append_records,
    parse,
    read,
)


class ModelLike(Protocol):
    """What the ledger needs to know about a model (chatpro.models.ModelInfo fits)."""

    @property
    def name(self) -> str: ...

    @property
    def monthly_messages(self) -> int: ...  # 0 = unlimited

    @property
    def fallback(self) -> str | None: ...


@dataclass(frozen=True)
class Plan:
    """Which model answers a request, and the notice to show when it is not the one asked for."""

    model: str
    requested_model: str
    fallback: bool
    notice: str | None
    cost: int


@dataclass(frozen=True)
class ModelUsage:
    model: str
    used: int
    allowance: int  # 0 = unlimited
    remaining: int | None  # None when unlimited; never below 0
    percent: float  # of the allowance, 1 decimal; 0.0 when unlimited
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class UsageReport:
    cycle_start: date
    renewal_date: date
    days_left: int
    models: list[ModelUsage]
    started: bool  # False before the first request ever: the cycle shown starts today


class Ledger:
    """The allowance ledger at PATH. Every method reads the journal afresh (other processes write)."""

    def __init__(self, path: Path, *, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        self._lock = lock_path_for(path)

    def _today(self) -> date:
        return self.clock.now().date()

    def _state(self, today: date) -> State:
        if not self.path.exists():
            return parse(self.path, b"", today)
        with file_lock(self._lock, exclusive=False):
            return parse(self.path, read(self.path), today)

    # queries

    def renewal_date(self) -> date:
        return self._state(self._today()).renewal_date

    def has_allowance(self, model: ModelLike) -> bool:
        """True while MODEL has at least one message left this cycle (or is unlimited)."""
        if model.monthly_messages <= 0:
            return True
        return self._state(self._today()).used(model.name) < model.monthly_messages

    def status(self, models: Sequence[ModelLike]) -> UsageReport:
        today = self._today()
        state = self._state(today)
        return UsageReport(
            cycle_start=state.cycle_start,
            renewal_date=state.renewal_date,
            days_left=(state.renewal_date - today).days,
            models=[_model_usage(model, state) for model in models],
            started=state.anchor is not None,
        )

    # before a request

    def plan(
        self,
        model: ModelLike,
        *,
        cost: int,
        lookup: Callable[[str], ModelLike],
        no_fallback: bool = False,
        has_files: bool = False,
    ) -> Plan:
        """Decide which model answers a request costing COST, or raise AllowanceError (exit 3).

        LOOKUP resolves a fallback name to a model (KeyError ends the chain).
        """
        state = self._state(self._today())
        renews = state.renewal_date.isoformat()
        if _affords(model, state, cost):
            return Plan(model.name, model.name, False, None, cost)
        candidate = None if has_files or no_fallback else _fallback_for(model, state, cost, lookup)
        if candidate is not None:
            if state.used(model.name) >= model.monthly_messages:
                why = f"{model.name} allowance used up until {renews}"
            else:
                left = model.monthly_messages - state.used(model.name)
                why = (
                    f"{model.name} allowance has only {_messages(left)} left until {renews}"
                    f" (this request costs {cost})"
                )
            return Plan(
                candidate.name,
                model.name,
                True,
                f"{why}; answering with {candidate.name}",
                cost,
            )
        used, allowance = state.used(model.name), model.monthly_messages
        if used >= allowance:
            message = (
                f"your monthly {model.name} allowance is used up ({used} of {allowance} messages);"
                f" it renews on {renews}"
            )
        else:
            message = (
                f"this request costs {_messages(cost)} but your monthly {model.name} allowance has"
                f" only {allowance - used} of {allowance} left; it renews on {renews}"
            )
        if has_files:
            hint = f"files need {model.name}; there is no fallback for uploads"
        elif no_fallback and (spare := _fallback_for(model, state, cost, lookup)) is not None:
            hint = f"without --no-fallback, {spare.name} would answer"
        elif model.fallback:
            hint = f"the fallback {model.fallback} has not enough allowance left either"
        else:
            hint = "run `chatpro usage` to see what is left"
        raise AllowanceError(message, hint=hint)

    # after a request

    def charge(
        self,
        model: ModelLike,
        *,
        units: int,
        prompt_tokens: int,
        completion_tokens: int,
        warn_at: Sequence[int],
    ) -> list[str]:
        """Record an answered request; return the warning lines it triggers (without prefix).

        At most one line: the highest threshold this request reached that was not shown yet in
        this cycle; all lower unshown ones are marked shown with it. Reaching the whole allowance
        (less than one message left) is the highest threshold, shown as "that was your last …
        message" instead of a percentage.
        """
        if min(units, prompt_tokens, completion_tokens) < 0:
            raise ValueError("units and token counts cannot be negative")
        now = self.clock.now()
        today = now.date()
        ensure_dir(self.path.parent)
        with file_lock(self._lock, exclusive=True):
            existed = self.path.exists()
            state = parse(self.path, read(self.path), today)
            records: list[dict[str, object]] = []
            stamp = now.isoformat(timespec="milliseconds")
            if state.anchor is None:
                records.append(
                    {
                        "v": LEDGER_VERSION,
                        "type": "start",
                        "anchor": today.isoformat(),
                        "ts": stamp,
                    }
                )
            cycle = state.cycle_start.isoformat()
            records.append(
                {
                    "v": LEDGER_VERSION,
                    "type": "charge",
                    "model": model.name,
                    "units": units,
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "ts": stamp,
                    "cycle": cycle,
                }
            )
            warnings: list[str] = []
            allowance = model.monthly_messages
            if allowance > 0:
                used = state.used(model.name) + units
                reached = [
                    t
                    for t in sorted({t for t in warn_at if 0 < t < LAST_MESSAGE} | {LAST_MESSAGE})
                    if used * 100 >= t * allowance and (model.name, t) not in state.warned
                ]
                for threshold in reached:
                    records.append(
                        {
                            "v": LEDGER_VERSION,
                            "type": "warned",
                            "model": model.name,
                            "threshold": threshold,
                            "cycle": cycle,
                        }
                    )
                if reached:
                    warnings.append(
                        _warning(model.name, reached[-1], used, allowance, state.renewal_date)
                    )
            append_records(self.path, records, state, existed)
        return warnings


def _affords(model: ModelLike, state: State, cost: int) -> bool:
    allowance = model.monthly_messages
    return allowance <= 0 or allowance - state.used(model.name) >= cost


def _fallback_for(
    model: ModelLike, state: State, cost: int, lookup: Callable[[str], ModelLike]
) -> ModelLike | None:
    """The first model along MODEL's fallback chain that can afford COST (loops end the chain)."""
    seen = {model.name}
    name = model.fallback
    while name and name not in seen:
        try:
            candidate = lookup(name)
        except KeyError:
            return None
        if candidate.name in seen:
            return None
        if _affords(candidate, state, cost):
            return candidate
        seen.update((name, candidate.name))
        name = candidate.fallback
    return None


def _model_usage(model: ModelLike, state: State) -> ModelUsage:
    totals = state.totals.get(model.name) or Totals()
    allowance = max(model.monthly_messages, 0)
    if allowance == 0:
        remaining, percent = None, 0.0
    else:
        remaining = max(allowance - totals.units, 0)
        percent = round(totals.units * 100 / allowance, 1)
    return ModelUsage(
        model=model.name,
        used=totals.units,
        allowance=allowance,
        remaining=remaining,
        percent=percent,
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
    )


def _warning(model: str, threshold: int, used: int, allowance: int, renews: date) -> str:
    if threshold >= LAST_MESSAGE:
        return f"that was your last {model} message until {renews.isoformat()}"
    return (
        f"{threshold}% of your monthly {model} allowance is used ({used} of {allowance} messages);"
        f" it renews on {renews.isoformat()}"
    )


def _messages(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"

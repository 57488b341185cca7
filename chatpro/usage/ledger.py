"""The Ledger: the allowance decisions the request pipeline and `chatpro usage` ask for."""

# Annotations are evaluated here (no `from __future__ import annotations`): typing.NamedTuple
# compiles each string annotation of its fields, about 1 ms of every start (architecture.md).

import os
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, Protocol

from chatpro.clock import Clock
from chatpro.errors import AllowanceError
from chatpro.fsutil import check_writable_file, file_lock, lock_path_for, tighten_mode
from chatpro.paths import StrPath, ensure_dir
from chatpro.usage import reservations
from chatpro.usage.journal import (
    BUDGET_KIND,
    BUDGET_MODEL,
    LAST_MESSAGE,
    LEDGER_VERSION,
    MAX_FIGURE,
    State,
    Totals,
    append_records,
    parse,
    read,
    valid_figure,
)


class ModelLike(Protocol):
    """What the ledger needs to know about a model (chatpro.models.ModelInfo fits)."""

    @property
    def name(self) -> str: ...

    @property
    def monthly_messages(self) -> int: ...  # 0 = unlimited

    @property
    def fallback(self) -> str | None: ...


# The values here are plain classes and NamedTuples, not dataclasses: `model list` and `usage`
# import this module, and building a dataclass at import costs more than reading the ledger.


class Plan:
    """Which model answers a request, and the notice to show when it is not the one asked for."""

    __slots__ = ("cost", "fallback", "model", "notice", "requested_model")

    def __init__(
        self, model: str, requested_model: str, fallback: bool, notice: str | None, cost: int
    ) -> None:
        self.model = model
        self.requested_model = requested_model
        self.fallback = fallback
        self.notice = notice
        self.cost = cost

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return ("model", "requested_model", "fallback", "notice", "cost")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Plan)
            and type(other) is type(self)
            and other._values() == self._values()
        )

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(self._names(), self._values(), strict=True))
        return f"{type(self).__name__}({shown})"


class Reservation(Plan):
    """A Plan whose cost is held in the ledger until it is charged, released or expires."""

    __slots__ = ("expires", "reservation_id")

    def __init__(
        self,
        model: str,
        requested_model: str,
        fallback: bool,
        notice: str | None,
        cost: int,
        reservation_id: str,
        expires: datetime,
    ) -> None:
        super().__init__(model, requested_model, fallback, notice, cost)
        self.reservation_id = reservation_id
        self.expires = expires

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return (*super()._names(), "reservation_id", "expires")


class ModelUsage(NamedTuple):
    model: str
    used: int
    allowance: int  # 0 = unlimited
    remaining: int | None  # None when unlimited; never below 0
    percent: float  # of the allowance, 1 decimal; 0.0 when unlimited
    prompt_tokens: int
    completion_tokens: int


class UsageReport(NamedTuple):
    cycle_start: date
    renewal_date: date
    days_left: int
    models: list[ModelUsage]
    started: bool  # False before the first request ever: the cycle shown starts today


class Ledger:
    """The allowance ledger at PATH. Every method reads the journal afresh (other processes write)."""

    def __init__(
        self,
        path: StrPath,
        *,
        clock: Clock,
        warn: Callable[[str], None] = lambda m: None,
        budget: Decimal | None = None,
        currency: str = "USD",
    ) -> None:
        self.path = os.fspath(path)
        self.clock = clock
        self.budget = budget  # money a cycle ([money] monthly_budget); None: no budget
        self.currency = currency
        self.warn = warn  # notices, e.g. a file mode set back to 0600
        self._lock = lock_path_for(path)
        self._reservations = reservations.path_for(path)
        self._tightened = False

    def _today(self) -> date:
        return self.clock.now().date()

    def _state(self, today: date) -> State:
        if not os.path.exists(self.path) and not os.path.exists(self._reservations):
            return parse(self.path, b"", today)
        with file_lock(self._lock, exclusive=False):
            self._tighten()
            state = parse(self.path, read(self.path), today)
            live, _ = reservations.load(self._reservations, self.clock.now())
        state.reserved = reservations.units_by_model(live)
        return state

    # queries

    def renewal_date(self) -> date:
        return self._state(self._today()).renewal_date

    def has_allowance(self, model: ModelLike) -> bool:
        """True while MODEL has at least one message left this cycle (or is unlimited)."""
        if model.monthly_messages <= 0:
            return True
        return self._state(self._today()).used(model.name) < model.monthly_messages

    def spend(self) -> Decimal:
        """The exact cost of this cycle's charges (charges without a cost count 0)."""
        return self._state(self._today()).spend

    def budget_spent(self) -> bool:
        """True when a budget is set and this cycle's spend has reached it."""
        return self.budget is not None and self.spend() >= self.budget

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

        LOOKUP resolves a fallback name to a model (KeyError ends the chain). Nothing is held:
        use ``reserve`` before sending, so concurrent processes cannot both spend the last units.
        """
        _check_units(cost)
        state = self._state(self._today())
        return _decide(model, state, cost, lookup, no_fallback, has_files)

    def reserve(
        self,
        model: ModelLike,
        *,
        cost: int,
        lookup: Callable[[str], ModelLike],
        no_fallback: bool = False,
        has_files: bool = False,
        ttl_seconds: float,
    ) -> Reservation:
        """Plan like ``plan`` and hold COST units of the chosen model, atomically under the lock.

        Other live reservations count as used. The reservation ends with ``charge(...,
        reservation=r)`` (it becomes the charge) or ``release(r)``; if neither comes (a killed
        process) it lapses TTL_SECONDS after now by the ledger's clock.
        """
        _check_units(cost)
        if not (isinstance(ttl_seconds, (int, float)) and 0 < ttl_seconds < 10**9):
            raise ValueError("ttl_seconds must be a positive number of seconds")
        import secrets

        now = self.clock.now()
        ensure_dir(os.path.dirname(self.path))
        with file_lock(self._lock, exclusive=True):
            self._tighten()
            state = parse(self.path, read(self.path), now.date())
            live, _ = reservations.load(self._reservations, now)
            state.reserved = reservations.units_by_model(live)
            plan = _decide(model, state, cost, lookup, no_fallback, has_files)
            held = reservations.Held(
                "r_" + secrets.token_hex(8), plan.model, cost, now + timedelta(seconds=ttl_seconds)
            )
            reservations.save(self._reservations, [*live, held])
        return Reservation(
            plan.model,
            plan.requested_model,
            plan.fallback,
            plan.notice,
            plan.cost,
            reservation_id=held.id,
            expires=held.expires,
        )

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose request failed before an answer (idempotent)."""
        with file_lock(self._lock, exclusive=True):
            self._drop(reservation.reservation_id)

    def _drop(self, reservation_id: str | None) -> None:
        """Remove one reservation and any lapsed ones from the file; lock held."""
        if not os.path.exists(self._reservations):
            return
        live, stale = reservations.load(self._reservations, self.clock.now())
        kept = [h for h in live if h.id != reservation_id]
        if stale or len(kept) != len(live):
            reservations.save(self._reservations, kept)

    # after a request

    def charge(
        self,
        model: ModelLike,
        *,
        units: int,
        prompt_tokens: int,
        completion_tokens: int,
        warn_at: Sequence[int],
        reservation: Reservation | None = None,
        client: str | None = None,
        cost: str | None = None,
    ) -> list[str]:
        """Record an answered request; return the warning lines it triggers (without prefix).

        UNITS and the token counts must be whole numbers from 0 to MAX_FIGURE (else ValueError:
        validate server figures before calling). RESERVATION, when given, is committed: it stops
        counting and this charge takes its place. CLIENT (a tag) and COST (a decimal amount of
        money as a string, e.g. "0.0125") are stored on the record as given.

        At most one warning line: the highest threshold this request reached that was not shown
        yet in this cycle; all lower unshown ones are marked shown with it. Reaching the whole
        allowance (less than one message left) is the highest threshold, shown as "that was your
        last … message" instead of a percentage.
        """
        for figure in (units, prompt_tokens, completion_tokens):
            _check_units(figure)
        if client is not None and (not isinstance(client, str) or not client):
            raise ValueError("client must be a non-empty string")
        if cost is not None:
            _check_money(cost)
        now = self.clock.now()
        today = now.date()
        ensure_dir(os.path.dirname(self.path))
        with file_lock(self._lock, exclusive=True):
            self._tighten()
            existed = os.path.exists(self.path)
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
            charge: dict[str, object] = {
                "v": LEDGER_VERSION,
                "type": "charge",
                "model": model.name,
                "units": units,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "ts": stamp,
                "cycle": cycle,
            }
            if client is not None:
                charge["client"] = client
            if cost is not None:
                charge["cost"] = cost
            records.append(charge)
            warnings: list[str] = []
            allowance = model.monthly_messages
            if allowance > 0:
                used = state.charged(model.name) + units
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
            if self.budget is not None and cost is not None:
                records_, line = _budget_warning(
                    state, state.spend + Decimal(cost), self.budget, self.currency, warn_at, cycle
                )
                records += records_
                if line:
                    warnings.append(line)
            append_records(self.path, records, state, existed)
            if reservation is not None:  # after the charge: a crash in between only holds more
                self._drop(reservation.reservation_id)
        return warnings

    def check_writable(self) -> None:
        """Raise StorageError now if the ledger could not be written (e.g. it is a directory)."""
        check_writable_file(self.path)

    def _tighten(self) -> None:
        if not self._tightened:
            self._tightened = True
            tighten_mode(self.path, self.warn)
            tighten_mode(os.path.dirname(self.path), self.warn)


def _check_units(value: object) -> None:
    if not valid_figure(value):
        raise ValueError(f"a count must be a whole number from 0 to {MAX_FIGURE}, not {value!r}")


def _check_money(value: object) -> None:
    from decimal import Decimal, InvalidOperation

    try:
        ok = isinstance(value, str) and Decimal(value).is_finite() and Decimal(value) >= 0
    except InvalidOperation:
        ok = False
    if not ok:
        raise ValueError(f"cost must be a decimal amount as a string, not {value!r}")


def _decide(
    model: ModelLike,
    state: State,
    cost: int,
    lookup: Callable[[str], ModelLike],
    no_fallback: bool,
    has_files: bool,
) -> Plan:
    """Ledger.plan's decision over STATE (live reservations count as used)."""
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


def _budget_warning(
    state: State, spent: Decimal, budget: Decimal, currency: str, warn_at: Sequence[int], cycle: str
) -> tuple[list[dict[str, object]], str | None]:
    """The warned records and the one line (highest threshold) a spend of SPENT reaches."""
    reached = [
        t
        for t in sorted({t for t in warn_at if 0 < t < 100} | {100})
        if spent * 100 >= t * budget and t not in state.budget_warned
    ]
    records: list[dict[str, object]] = [
        {
            "v": LEDGER_VERSION,
            "type": "warned",
            "model": BUDGET_MODEL,
            "threshold": t,
            "cycle": cycle,
            "kind": BUDGET_KIND,
        }
        for t in reached
    ]
    if not reached:
        return records, None
    shown = f"({_amount(spent)} of {_amount(budget)} {currency})"
    renews = state.renewal_date.isoformat()
    if reached[-1] >= 100:
        return records, f"your monthly budget is spent {shown}; it renews on {renews}"
    return records, (
        f"{reached[-1]}% of your monthly budget is spent {shown}; it renews on {renews}"
    )


def _amount(value: Decimal) -> str:
    from chatpro.money import format_money

    return format_money(value, "").strip()


def _messages(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"

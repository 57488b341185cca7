"""The one clock. The app context holds it; tests inject a fixed one.

`CHATPRO_NOW` (an ISO 8601 time, e.g. ``2026-01-31T10:00:00+01:00``) fixes the clock for a
whole process, so subprocess tests and scripts can exercise cycles and retention at any date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in local time."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now().astimezone()


class FixedClock:
    """Always AT (a plain class: the clock is built at every start, before any dataclass)."""

    __slots__ = ("at",)

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __repr__(self) -> str:
        return f"FixedClock(at={self.at!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixedClock) and other.at == self.at

    def __hash__(self) -> int:
        return hash(self.at)

    def now(self) -> datetime:
        if self.at.tzinfo is None:
            return self.at.astimezone()
        return self.at


def clock_from_env(environ: Mapping[str, str]) -> Clock:
    """The system clock, or a fixed one when CHATPRO_NOW is set."""
    value = environ.get("CHATPRO_NOW", "").strip()
    if not value:
        return SystemClock()
    from chatpro.errors import ConfigError

    try:
        return FixedClock(datetime.fromisoformat(value))
    except ValueError:
        raise ConfigError(f"CHATPRO_NOW is not an ISO 8601 time: {value!r}") from None

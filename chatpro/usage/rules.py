"""The pure allowance rules: what a request costs and when a cycle renews. No files, no clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

MIB = 1024 * 1024
TOKENS_PER_UNIT = 4000


def cost_units(tokens_sent: int, file_bytes: Sequence[int] = ()) -> int:
    """Messages a request costs: 1 per started 4,000 tokens sent (at least 1) + 1 per started MiB."""
    if tokens_sent < 0 or any(size < 0 for size in file_bytes):
        raise ValueError("token and byte counts cannot be negative")
    units = max(1, -(-tokens_sent // TOKENS_PER_UNIT))
    return units + sum(-(-size // MIB) for size in file_bytes)


def renewal_after(anchor: date, months_after: int) -> date:
    """The anchor's day MONTHS_AFTER months later, clamped to the month's last day."""
    index = anchor.year * 12 + (anchor.month - 1) + months_after
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    """calendar.monthrange(year, month)[1], without importing calendar at every start."""
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def cycle_bounds(anchor: date, today: date) -> tuple[date, date]:
    """(cycle start, renewal date) of the cycle containing TODAY, for cycles anchored on ANCHOR.

    Each renewal keeps the anchor day where the month has it, else the month's last day
    (Jan 31 → Feb 28/29 → Mar 31). A TODAY before the anchor (a clock set back) counts as the
    first cycle.
    """
    if today < anchor:
        return anchor, renewal_after(anchor, 1)
    months = (today.year - anchor.year) * 12 + (today.month - anchor.month)
    if renewal_after(anchor, months) > today:
        months -= 1
    return renewal_after(anchor, months), renewal_after(anchor, months + 1)

"""Renderings that several commands share: the allowance table (`usage`, `/usage` in chat) and
the chat rows (`history`, `/history` in chat). Each returns headers and rows; the caller puts
them on stdout (a command's result) or stderr (what the chat loop says)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from chatpro.render import one_line

if TYPE_CHECKING:
    from decimal import Decimal

    from chatpro.chatlog import ChatSummary
    from chatpro.usage import UsageReport

Table = tuple[list[str], list[list[object]]]

USAGE_HEADERS = [
    "model",
    "used",
    "allowance",
    "remaining",
    "percent",
    "tokens sent",
    "tokens received",
    "cost",
]
CHAT_HEADERS = ["id", "last activity", "model", "messages", "expires", "title"]


def when(ts: datetime | str) -> str:
    """A time as the user's local `YYYY-MM-DD HH:MM`."""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return ts.astimezone().strftime("%Y-%m-%d %H:%M")


def cycle_line(report: UsageReport) -> str:
    days = f"{report.days_left} day{'s' if report.days_left != 1 else ''} left"
    return (
        f"Cycle: {report.cycle_start.isoformat()} to {report.renewal_date.isoformat()} "
        f"(renews {report.renewal_date.isoformat()}, {days})"
    )


def usage_table(report: UsageReport, costs: Mapping[str, Decimal], currency: str) -> Table:
    """Per model: used, allowance, remaining, percent, tokens and cost this cycle."""
    from decimal import Decimal  # here: `history` imports this module too

    from chatpro.money import format_money

    rows: list[list[object]] = [
        [
            m.model,
            m.used,
            m.allowance if m.allowance else "unlimited",
            "" if m.remaining is None else m.remaining,
            f"{m.percent:.1f}%" if m.allowance else "",
            f"{m.prompt_tokens:,}",
            f"{m.completion_tokens:,}",
            format_money(costs.get(m.model, Decimal(0)), currency),
        ]
        for m in report.models
    ]
    return USAGE_HEADERS, rows


def chat_table(chats: Sequence[ChatSummary], current: str | None = None) -> Table:
    """Chats newest first; CURRENT (the chat loop's own chat) is marked with a *."""
    headers = CHAT_HEADERS if current is None else ["", *CHAT_HEADERS]
    rows: list[list[object]] = []
    for c in chats:
        row: list[object] = [
            c.chat_id,
            when(c.last_ts),
            c.model,
            c.messages,
            f"{c.expires_in_days}d",
            one_line(c.title, 50),
        ]
        rows.append(row if current is None else ["*" if c.chat_id == current else "", *row])
    return headers, rows

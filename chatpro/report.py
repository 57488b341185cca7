"""`chatpro report`: per client (and per model within it) work read from the chat log, for
invoices and time sheets, as Markdown, CSV or JSON. No Click, no printing: text in, text out."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chatpro.chatlog.totals import Group, Totals

NO_CLIENT = "(none)"  # how untagged work is reported
FORMATS = ("md", "csv", "json")
HEADERS = [
    "client",
    "model",
    "chats",
    "messages",
    "tokens_in",
    "tokens_out",
    "units",
    "cost",
    "currency",
    "first_activity",
    "last_activity",
]


@dataclass(frozen=True)
class Line:
    client: str
    model: str
    chats: int
    messages: int
    tokens_in: int
    tokens_out: int
    units: int
    cost: Decimal  # exact
    first: str  # ISO timestamps as written in the log
    last: str


@dataclass(frozen=True)
class Report:
    lines: list[Line]  # by client, then model
    total: Line
    currency: str
    since: date | None
    until: date | None
    retention_days: int
    client: str | None

    @property
    def coverage(self) -> str:
        return (
            f"covers the last {self.retention_days} days only (history.retention_days):"
            " older messages are no longer in the log"
        )


def build(
    groups: dict[tuple[str, str], Group],
    *,
    currency: str,
    since: date | None,
    until: date | None,
    retention_days: int,
    client: str | None,
) -> Report:
    """GROUPS' chats are distinct per row; the total counts a chat once however many rows it is in
    (``Totals.chats``; a plain dict's total adds the rows up)."""
    lines = []
    for (who, model), g in sorted(groups.items(), key=lambda kv: (kv[0][0] or "\uffff", kv[0][1])):
        lines.append(
            Line(
                who or NO_CLIENT,
                model,
                g.chats,
                g.messages,
                g.prompt_tokens,
                g.completion_tokens,
                g.units,
                g.cost(),
                g.first.decode(),
                g.last.decode(),
            )
        )
    total = Line(
        "total",
        "",
        groups.chats if isinstance(groups, Totals) else sum(line.chats for line in lines),
        sum(line.messages for line in lines),
        sum(line.tokens_in for line in lines),
        sum(line.tokens_out for line in lines),
        sum(line.units for line in lines),
        sum((line.cost for line in lines), Decimal(0)),
        min((line.first for line in lines), default=""),
        max((line.last for line in lines), default=""),
    )
    return Report(lines, total, currency, since, until, retention_days, client)


def cents(amount: Decimal) -> str:
    """AMOUNT rounded to 2 places for a table (only when shown)."""
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _cells(line: Line, currency: str) -> list[Any]:
    return [
        line.client,
        line.model,
        line.chats,
        line.messages,
        line.tokens_in,
        line.tokens_out,
        line.units,
        cents(line.cost),
        currency,
        line.first,
        line.last,
    ]


def to_csv(report: Report) -> str:
    """A header row and one row per client and model; plain numbers, ISO times, no total row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for line in report.lines:
        writer.writerow(_cells(line, report.currency))
    return out.getvalue()


def to_markdown(report: Report) -> str:
    def esc(value: object) -> str:
        return str(value).replace("|", "\\|")

    period = _period(report)
    head = ["Client", "Model", "Chats", "Messages", "Tokens in", "Tokens out", "Units"]
    head += [f"Cost ({report.currency})", "First activity", "Last activity"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" * 5 + "---|---|"]
    for line in report.lines:
        cells = _cells(line, report.currency)
        del cells[8]  # the currency is in the header
        rows.append("| " + " | ".join(esc(c) for c in cells) + " |")
    t = report.total
    rows.append(
        f"| **Total** | | {t.chats} | {t.messages} | {t.tokens_in} | {t.tokens_out} | {t.units}"
        f" | **{cents(t.cost)}** | {t.first} | {t.last} |"
    )
    note = f"_This report {report.coverage}._"
    return f"# Work report{period}\n\n" + "\n".join(rows) + f"\n\n{note}\n"


def to_json(report: Report) -> str:
    def obj(line: Line) -> dict[str, Any]:
        return {
            "client": line.client,
            "model": line.model or None,
            "chats": line.chats,
            "messages": line.messages,
            "tokens_in": line.tokens_in,
            "tokens_out": line.tokens_out,
            "units": line.units,
            "cost": str(line.cost),
            "first_activity": line.first or None,
            "last_activity": line.last or None,
        }

    total = obj(report.total)
    del total["client"], total["model"]
    data = {
        "currency": report.currency,
        "client": report.client,
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "retention_days": report.retention_days,
        "note": f"This report {report.coverage}.",
        "rows": [obj(line) for line in report.lines],
        "total": total,
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def render(report: Report, fmt: str) -> str:
    return {"md": to_markdown, "csv": to_csv, "json": to_json}[fmt](report)


def _period(report: Report) -> str:
    parts = []
    if report.client:
        parts.append(f"for {report.client}")
    if report.since:
        parts.append(f"from {report.since.isoformat()}")
    if report.until:
        parts.append(f"to {report.until.isoformat()}")
    return (" " + " ".join(parts)) if parts else ""

"""`chatpro report`: work per client and model from the chat log, for invoices."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from chatpro.cli.common import get_app, write_result
from chatpro.errors import InputError


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a date (use YYYY-MM-DD)") from None


@click.command(
    epilog="""\b
Examples:
  chatpro report                                  # Markdown, every client
  chatpro report --client acme --since 2026-11-01 --until 2026-11-30
  chatpro report --format csv -o november.csv     # opens in a spreadsheet
  chatpro report --format json | jq '.total.cost'
""",
)
@click.option("--client", metavar="NAME", help="Only this client's work.")
@click.option("--since", metavar="DATE", help="From this day (YYYY-MM-DD), inclusive.")
@click.option("--until", metavar="DATE", help="To this day (YYYY-MM-DD), inclusive.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "json"]),
    default="md",
    show_default=True,
    help="md: a pipe table with a total row; csv: for spreadsheets; json: exact, for scripts.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE."
)
@click.pass_context
def report(
    ctx: click.Context,
    client: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Per client and model: chats, messages, tokens, units, cost, first and last activity.

    Read from the chat log, so it covers the retention window only (history.retention_days).
    Amounts are exact in JSON (decimal strings) and rounded to cents in Markdown and CSV.
    Untagged work is reported as client "(none)".
    """
    from chatpro.report import build, render

    app = get_app(ctx)
    start, end = _day(since, "--since"), _day(until, "--until")
    if start and end and start > end:
        raise InputError(f"--since {start} is after --until {end}")
    if client is not None:
        from chatpro.clients import check_client_name

        client = check_client_name(client, "--client")
    groups = app.chatlog().client_model_totals(
        since=start.isoformat().encode() if start else b"",
        until=end.isoformat().encode() if end else b"\xff",
        client=client,
    )
    result = build(
        groups,
        currency=app.settings.currency,
        since=start,
        until=end,
        retention_days=app.settings.retention_days,
        client=client,
    )
    app.out.notice(f"this report {result.coverage}")
    if client is not None and not groups:
        app.out.notice(f"no work for client {client!r} in that period")
    text = render(result, fmt)
    write_result(app, text, output)

"""`chatpro usage`: this cycle's allowance per model; `--check` for cron guards."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import click

from chatpro.cli.common import get_app
from chatpro.cli.complete import complete_models
from chatpro.cli.views import cycle_line, usage_table
from chatpro.errors import AllowanceError
from chatpro.money import format_money

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.usage.spend import Row


@click.command(
    epilog="""\b
Examples:
  chatpro usage
  chatpro usage --json | jq '.models[] | select(.model=="gpt-4o").remaining'
  chatpro usage --check && chatpro ask "Daily summary" < notes.txt   # in cron
  chatpro usage --check fast || echo "GPT-3.5 allowance used up"
  chatpro usage --by client          # spend per client this cycle
  chatpro usage --client acme --json
""",
)
@click.argument("model_name", metavar="[MODEL]", required=False, shell_complete=complete_models)
@click.option(
    "--check",
    is_flag=True,
    help="Print nothing; exit 0 while MODEL (default model) has allowance left and the budget"
    " is not spent, 3 when not.",
)
@click.option(
    "--client", "client", metavar="NAME", help="Only this client's spend, tokens, messages."
)
@click.option(
    "--by",
    type=click.Choice(["client", "model", "day"]),
    help="A table of this cycle per client, model or day: messages, tokens, cost.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def usage(
    ctx: click.Context,
    model_name: str | None,
    check: bool,
    client: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Show this cycle's allowance and spend: used, remaining and renewal date per model.

    The cycle starts on the day of the first request and renews monthly on that day.
    A request costs 1 message per started 4,000 tokens sent, plus 1 per started MiB of files.
    Amounts in --json are exact decimals written as strings (e.g. "0.0125").
    """
    app = get_app(ctx)
    catalog = app.catalog
    ledger = app.ledger()
    if check:
        info = catalog.resolve(model_name) if model_name else catalog.default
        if not ledger.has_allowance(info) or ledger.budget_spent():
            raise click.exceptions.Exit(AllowanceError.exit_code)
        return
    if client is not None:
        from chatpro.clients import check_client_name

        client = check_client_name(client, "--client")
    if by is not None or client is not None:
        _breakdown(app, by or "model", client, as_json)
        return
    from chatpro.usage.spend import spend

    spent = spend(ledger.path, app.clock.now().date(), by="model")
    by_model = {row.key: row.cost for row in spent.rows}
    currency = app.settings.currency
    budget = app.settings.monthly_budget
    models = [catalog.resolve(model_name)] if model_name else list(catalog.models.values())
    report = ledger.status(models)
    if as_json:
        app.out.json(
            {
                "cycle_start": report.cycle_start.isoformat(),
                "renewal_date": report.renewal_date.isoformat(),
                "days_left": report.days_left,
                "started": report.started,
                "models": [
                    {
                        "model": m.model,
                        "used": m.used,
                        "allowance": m.allowance,
                        "unlimited": m.allowance == 0,
                        "remaining": m.remaining,
                        "percent": m.percent,
                        "tokens_sent": m.prompt_tokens,
                        "tokens_received": m.completion_tokens,
                        "prompt_tokens": m.prompt_tokens,
                        "completion_tokens": m.completion_tokens,
                        "cost": str(by_model.get(m.model, 0)),
                    }
                    for m in report.models
                ],
                "currency": currency,
                "spend": str(spent.total.cost),
                "budget": None if budget is None else str(budget),
                "budget_left": None if budget is None else str(max(budget - spent.total.cost, 0)),
            }
        )
        return
    app.out.line(cycle_line(report))
    app.out.line()
    app.out.table(*usage_table(report, by_model, currency))
    app.out.line()
    line = f"Spent this cycle: {format_money(spent.total.cost, currency)}"
    if budget is not None:
        left = max(budget - spent.total.cost, Decimal(0))
        line += (
            f" of a {format_money(budget, currency)} budget ({format_money(left, currency)} left)"
        )
    app.out.line(line)


def _breakdown(app: App, by: str, client: str | None, as_json: bool) -> None:
    """`usage --by` and `--client`: this cycle's charges grouped, read straight from the ledger."""
    from chatpro.usage.spend import spend

    spent = spend(app.ledger().path, app.clock.now().date(), by=by, client=client)  # type: ignore[arg-type]
    currency = app.settings.currency
    if as_json:
        app.out.json(
            {
                "cycle_start": spent.cycle_start.isoformat(),
                "renewal_date": spent.renewal_date.isoformat(),
                "by": by,
                "client": client,
                "currency": currency,
                "rows": [_row_json(by, r) for r in spent.rows],
                "total": _row_json(by, spent.total),
            }
        )
        return
    whose = f" for {client}" if client else ""
    app.out.line(
        f"Cycle: {spent.cycle_start.isoformat()} to {spent.renewal_date.isoformat()}{whose}"
    )
    app.out.line()
    rows = [*spent.rows, spent.total] if spent.rows else []
    app.out.table(
        [by, "requests", "messages", "tokens in", "tokens out", "cost"],
        [
            [
                app.out.untrusted(r.key),
                f"{r.requests:,}",
                f"{r.units:,}",
                f"{r.prompt_tokens:,}",
                f"{r.completion_tokens:,}",
                format_money(r.cost, currency),
            ]
            for r in rows
        ],
    )
    if not rows:
        app.out.line(f"No charges{whose} this cycle.")


def _row_json(by: str, row: Row) -> dict[str, object]:
    return {
        by: row.key,
        "requests": row.requests,
        "messages": row.units,
        "tokens_in": row.prompt_tokens,
        "tokens_out": row.completion_tokens,
        "cost": str(row.cost),
    }

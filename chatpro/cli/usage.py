"""`chatpro usage`: this cycle's allowance per model; `--check` for cron guards."""

from __future__ import annotations

import click

from chatpro.cli.common import get_app
from chatpro.cli.complete import complete_models
from chatpro.errors import AllowanceError


@click.command(
    epilog="""\b
Examples:
  chatpro usage
  chatpro usage --json | jq '.models[] | select(.model=="gpt-4o").remaining'
  chatpro usage --check && chatpro ask "Daily summary" < notes.txt   # in cron
  chatpro usage --check fast || echo "GPT-3.5 allowance used up"
""",
)
@click.argument("model_name", metavar="[MODEL]", required=False, shell_complete=complete_models)
@click.option(
    "--check",
    is_flag=True,
    help="Print nothing; exit 0 while MODEL (default model) has allowance left, 3 when not.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def usage(ctx: click.Context, model_name: str | None, check: bool, as_json: bool) -> None:
    """Show this cycle's allowance: used, remaining and renewal date per model.

    The cycle starts on the day of the first request and renews monthly on that day.
    A request costs 1 message per started 4,000 tokens sent, plus 1 per started MiB of files.
    """
    app = get_app(ctx)
    catalog = app.catalog
    ledger = app.ledger()
    if check:
        info = catalog.resolve(model_name) if model_name else catalog.default
        if not ledger.has_allowance(info):
            raise click.exceptions.Exit(AllowanceError.exit_code)
        return
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
                    }
                    for m in report.models
                ],
            }
        )
        return
    days = f"{report.days_left} day{'s' if report.days_left != 1 else ''} left"
    app.out.line(
        f"Cycle: {report.cycle_start.isoformat()} to {report.renewal_date.isoformat()} "
        f"(renews {report.renewal_date.isoformat()}, {days})"
    )
    app.out.line()
    app.out.table(
        ["model", "used", "allowance", "remaining", "percent", "tokens sent", "tokens received"],
        [
            [
                m.model,
                m.used,
                m.allowance if m.allowance else "unlimited",
                "" if m.remaining is None else m.remaining,
                f"{m.percent:.1f}%" if m.allowance else "",
                f"{m.prompt_tokens:,}",
                f"{m.completion_tokens:,}",
            ]
            for m in report.models
        ],
    )

"""`chatpro model`: the default model, the catalog, and setting the default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from chatpro.cli.common import get_app
from chatpro.cli.complete import complete_models

if TYPE_CHECKING:
    from decimal import Decimal

    from chatpro.app import App
    from chatpro.models import ModelInfo
    from chatpro.usage import ModelUsage, UsageReport


def _allowance(app: App, models: list[ModelInfo]) -> tuple[dict[str, ModelUsage], UsageReport]:
    """Each model's use this cycle, by name, and the report it came from."""
    report = app.ledger().status(models)
    return {m.model: m for m in report.models}, report


def _price(value: Decimal | None) -> str | None:
    """Exact, as a string (JSON numbers would be floats)."""
    return None if value is None else str(value)


def _price_pair(inp: str | None, out: str | None) -> str:
    if inp is None and out is None:
        return ""
    return f"{inp or '-'}/{out or '-'}"


@click.group(
    invoke_without_command=True,
    epilog="""\b
Examples:
  chatpro model                 # the default model and its allowance left
  chatpro model list --json
  chatpro model set fast        # make gpt-3.5-turbo the default
""",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def model(ctx: click.Context, as_json: bool) -> None:
    """Show the default model and how much of its allowance is left."""
    if ctx.invoked_subcommand is not None:
        return
    app = get_app(ctx)
    info = app.catalog.default
    usage, report = _allowance(app, [info])
    u = usage[info.name]
    data = {
        "model": info.name,
        "aliases": list(info.aliases),
        "description": info.description,
        "allowance": info.monthly_messages,
        "used": u.used,
        "remaining": u.remaining,
        "renews": report.renewal_date.isoformat(),
    }
    if as_json:
        app.out.json(data)
        return
    if info.monthly_messages:
        left = f"{u.remaining} of {info.monthly_messages} messages left this cycle (renews {data['renews']})"
    else:
        left = "unlimited allowance"
    aliases = f" ({', '.join(info.aliases)})" if info.aliases else ""
    app.out.line(f"{info.name}{aliases}: {left}")


@model.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option(
    "--server",
    is_flag=True,
    help="List what the server offers (GET /v1/models) and whether config declares it.",
)
@click.pass_context
def list_models(ctx: click.Context, as_json: bool, server: bool) -> None:
    """List the models: aliases, context window, files, allowance, use and prices.

    Prices are per million tokens (input/output) with the date they were read from the
    provider's price list; "config" marks prices set in config.toml. With --server: the
    models the server offers; one that is "not declared" may still be used with -m (an
    8,192-token window is assumed until it is declared in config.toml).

    \b
    Examples:
      chatpro model list
      chatpro model list --server
    """
    app = get_app(ctx)
    if server:
        _list_server_models(app, as_json)
        return
    catalog = app.catalog
    models = list(catalog.models.values())
    usage, _ = _allowance(app, models)
    default = catalog.default.name
    rows: list[dict[str, Any]] = []
    for m in models:
        u = usage[m.name]
        rows.append(
            {
                "name": m.name,
                "default": m.name == default,
                "aliases": list(m.aliases),
                "description": m.description,
                "context_window": m.context_window,
                "files": m.takes_files,
                "allowance": m.monthly_messages,
                "used": u.used,
                "remaining": u.remaining,
                "input_per_mtok": _price(m.input_per_mtok),
                "output_per_mtok": _price(m.output_per_mtok),
                "currency": catalog.currency,
                "prices_read": m.prices_read,
            }
        )
    if as_json:
        app.out.json(rows)
        return
    app.out.table(
        [
            "",
            "model",
            "aliases",
            "context",
            "files",
            "allowance",
            "used",
            f"{catalog.currency}/M in/out",
            "prices read",
            "description",
        ],
        [
            [
                "*" if r["default"] else "",
                r["name"],
                ", ".join(r["aliases"]),
                f"{r['context_window']:,}",
                "yes" if r["files"] else "no",
                r["allowance"] or "unlimited",
                r["used"],
                _price_pair(r["input_per_mtok"], r["output_per_mtok"]),
                r["prices_read"]
                or ("config" if r["input_per_mtok"] or r["output_per_mtok"] else ""),
                r["description"],
            ]
            for r in rows
        ],
    )


def _list_server_models(app: App, as_json: bool) -> None:
    catalog = app.catalog
    rows: list[dict[str, Any]] = []
    for name in app.client().list_models():
        info = catalog.models.get(name)
        known = "not declared" if info is None else "built in" if info.builtin else "declared"
        rows.append(
            {
                "name": name,
                "catalog": known,
                "context_window": info.context_window if info is not None else None,
            }
        )
    if as_json:
        app.out.json(rows)
        return
    if not rows:
        app.out.notice("the server lists no models")
        return
    app.out.table(
        ["model", "catalog", "context"],
        [
            [
                r["name"],
                r["catalog"],
                f"{r['context_window']:,}" if r["context_window"] else "8,192 assumed",
            ]
            for r in rows
        ],
    )


@model.command("set")
@click.argument("name", shell_complete=complete_models)
@click.pass_context
def set_model(ctx: click.Context, name: str) -> None:
    """Make NAME (a model or alias) the default model.

    \b
    Example:
      chatpro model set powerful
    """
    from chatpro.config import parse_key, set_in_file

    app = get_app(ctx)
    info = app.catalog.resolve(name)
    set_in_file(app.paths.config_file, parse_key("default_model"), info.name)
    app.out.notice(f"default model set to {info.name}")

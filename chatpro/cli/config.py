"""`chatpro config`: show, get, set, unset, path, edit."""

from __future__ import annotations

import json
from typing import Any

import click

from chatpro.cli.common import get_app
from chatpro.errors import InputError


def effective(app: Any) -> dict[str, Any]:
    """Every setting with its effective value (defaults filled in), as a TOML-shaped dict."""
    s = app.settings
    return {
        "default_model": s.default_model,
        "api": {
            "base_url": s.base_url,
            "timeout": s.timeout,
            "max_retries": s.max_retries,
            "allow_insecure": s.allow_insecure,
        },
        "profile": {"skills": list(s.skills), "bio": s.bio},
        "history": {"retention_days": s.retention_days},
        "usage": {"warn_at": list(s.warn_at)},
        "privacy": {"on_secret": s.on_secret},
        "aliases": dict(s.aliases),
        "models": {name: dict(fields) for name, fields in s.models.items()},
    }


def _is_table(parts: tuple[str, ...]) -> bool:
    sections = ("api", "profile", "history", "usage", "privacy", "aliases", "models")
    return (len(parts) == 1 and parts[0] in sections) or (len(parts) == 2 and parts[0] == "models")


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        import tomli_w

        return tomli_w.dumps(value).rstrip()
    return json.dumps(value, ensure_ascii=False)


@click.group(
    epilog="""\b
Examples:
  chatpro config show
  chatpro config get history.retention_days
  chatpro config set profile.skills "Python, Technical writing"
  chatpro config set models.gpt-4o.monthly_messages 500
  chatpro config unset api.base_url
  chatpro config path --json
""",
)
def config() -> None:
    """Show and change settings in config.toml (validated; written atomically)."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Print the effective settings (defaults filled in).

    \b
    Example:
      chatpro config show --json | jq .usage
    """
    app = get_app(ctx)
    data = effective(app)
    if as_json:
        app.out.json(data)
        return
    import tomli_w

    app.out.write(tomli_w.dumps(data))


@config.command("get")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print the value as JSON.")
@click.pass_context
def get(ctx: click.Context, key: str, as_json: bool) -> None:
    """Print one setting's effective value.

    \b
    Example:
      chatpro config get usage.warn_at
    """
    from chatpro.config import get_value, parse_key

    app = get_app(ctx)
    parsed = parse_key(key)
    if not _is_table(parsed.parts):
        parsed.checker()  # unknown keys are exit 2
    try:
        value = get_value(effective(app), parsed)
    except KeyError:
        raise InputError(f"{parsed.dotted} is not set") from None
    app.out.line(json.dumps(value, ensure_ascii=False) if as_json else _format_value(value))


@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@click.pass_context
def set_(ctx: click.Context, key: str, value: str) -> None:
    """Set KEY to VALUE (checked against the schema before the file is written).

    \b
    Examples:
      chatpro config set privacy.on_secret redact
      chatpro config set usage.warn_at "50, 90"
    """
    from chatpro.config import coerce, edit_document, parse_key, set_value

    app = get_app(ctx)
    parsed = parse_key(key)
    checked = coerce(parsed, value)
    edit_document(app.paths.config_file, lambda doc: set_value(doc, parsed, checked))
    app.out.notice(f"{parsed.dotted} = {_format_value(checked)}")


@config.command("unset")
@click.argument("key")
@click.pass_context
def unset(ctx: click.Context, key: str) -> None:
    """Remove KEY from config.toml (its default applies again).

    \b
    Example:
      chatpro config unset api.timeout
    """
    from chatpro.config import edit_document, parse_key, unset_value

    app = get_app(ctx)
    parsed = parse_key(key)
    if not _is_table(parsed.parts):
        parsed.checker()
    removed = edit_document(app.paths.config_file, lambda doc: unset_value(doc, parsed))
    app.out.notice(f"{parsed.dotted} removed" if removed else f"{parsed.dotted} was not set")


@config.command("path")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def path(ctx: click.Context, as_json: bool) -> None:
    """Print where every file lives (CHATPRO_HOME moves them all).

    \b
    Example:
      chatpro config path
    """
    app = get_app(ctx)
    paths = app.paths.as_dict()
    if as_json:
        app.out.json(paths)
        return
    app.out.table(["what", "path"], list(paths.items()))


@config.command("edit")
@click.pass_context
def edit(ctx: click.Context) -> None:
    """Open config.toml in $VISUAL or $EDITOR, then check what was saved.

    \b
    Examples:
      chatpro config edit
      EDITOR=nano chatpro config edit
    """
    from chatpro.config import load_settings
    from chatpro.paths import ensure_dir

    app = get_app(ctx)
    if not app.stdin_is_tty and not app.environ.get("EDITOR") and not app.environ.get("VISUAL"):
        raise InputError(
            "config edit needs a terminal or $EDITOR", hint="use 'chatpro config set KEY VALUE'"
        )
    target = app.paths.config_file
    ensure_dir(target.parent)
    if not target.exists():
        from chatpro.fsutil import atomic_write_bytes

        atomic_write_bytes(target, b"# chatpro settings: see 'chatpro config show' for every key\n")
    click.edit(filename=str(target))
    load_settings(target)  # an invalid result is reported (exit 4) so it can be fixed at once
    app.out.notice(f"saved {target}")

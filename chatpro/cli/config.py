"""`chatpro config`: show, get, set, unset, path, edit."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from chatpro.cli.common import get_app
from chatpro.errors import InputError

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.config import Effective

SOURCE_HELP = "Say where each value comes from: env, file or default."


def _entries(app: App) -> list[Effective]:
    from chatpro.config import effective_values
    from chatpro.models import BUILTIN_ALIASES

    return effective_values(app.settings, app.environ, BUILTIN_ALIASES)


def _model_entries(app: App, model: str) -> list[Effective]:
    """A catalog model's figures (config.toml's own keys marked as from the file)."""
    from chatpro.config import Effective, Key
    from chatpro.settings_schema import MODEL_FIELDS

    info = app.catalog.models.get(model)
    if info is None:
        return []
    in_file = app.settings.models.get(model, {})
    out = []
    for name in MODEL_FIELDS:
        value: Any = getattr(info, {"files": "takes_files"}.get(name, name))
        if name == "fallback" and value is None:
            value = ""
        if value is None:
            continue  # no price
        source = "file" if name in in_file else "default"
        out.append(Effective(Key(("models", model, name)), value, source))
    return out


def _toml_value(value: Any) -> str:
    """One value as TOML, on one line (60.0 shows as 60)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    import tomli_w

    return str(tomli_w.dumps({"v": value})).strip()[len("v = ") :]


def _source(entry: Effective) -> str:
    return f"{entry.source} ({entry.env})" if entry.env else entry.source


def _render(entries: list[Effective], with_source: bool) -> str:
    """ENTRIES as TOML, grouped by table, each line ending `# SOURCE` when asked."""
    from chatpro.settings_schema import quote_part

    groups: dict[tuple[str, ...], list[Effective]] = {(): []}
    for entry in entries:
        groups.setdefault(entry.key.parts[:-1], []).append(entry)
    lines: list[str] = []
    for header, items in groups.items():
        if header:
            lines += ["", "[" + ".".join(quote_part(p) for p in header) + "]"]
        for entry in items:
            name = quote_part(entry.key.parts[-1])
            if entry.value is None:
                line = f"# {name} is not set"
            else:
                line = f"{name} = {_toml_value(entry.value)}"
            lines.append(f"{line}  # {_source(entry)}" if with_source else line)
    return "\n".join(lines).lstrip("\n") + "\n"


def _as_json(entries: list[Effective]) -> dict[str, Any]:
    """A TOML-shaped object whose leaves are {"value", "source"[, "env"]}."""
    data: dict[str, Any] = {}
    for entry in entries:
        node = data
        for part in entry.key.parts[:-1]:
            node = node.setdefault(part, {})
        node[entry.key.parts[-1]] = entry.as_json()
    return data


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    import json

    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


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
@click.option("--json", "as_json", is_flag=True, help="Print JSON: each value with its source.")
@click.option("--source", "with_source", is_flag=True, help=SOURCE_HELP)
@click.pass_context
def show(ctx: click.Context, as_json: bool, with_source: bool) -> None:
    """Print the effective settings: the environment over config.toml over the defaults.

    \b
    Examples:
      chatpro config show --source
      chatpro config show --json | jq .api.base_url
    """
    app = get_app(ctx)
    entries = _entries(app)
    if as_json:
        app.out.json(_as_json(entries))
        return
    app.out.write(_render(entries, with_source))


@config.command("get")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print the value and its source as JSON.")
@click.option("--source", "with_source", is_flag=True, help=SOURCE_HELP)
@click.pass_context
def get(ctx: click.Context, key: str, as_json: bool, with_source: bool) -> None:
    """Print one setting's effective value (a table prints all of its keys).

    \b
    Examples:
      chatpro config get usage.warn_at
      chatpro config get api.base_url --source
      chatpro config get models.gpt-4o.input_per_mtok
    """
    from chatpro.config import parse_key

    app = get_app(ctx)
    parsed = parse_key(key)
    if parsed.is_table:
        entries = [e for e in _entries(app) if e.key.parts[: len(parsed.parts)] == parsed.parts]
        if parsed.parts[0] == "models" and len(parsed.parts) == 2:
            entries = _model_entries(app, parsed.parts[1])
        if not entries:
            raise InputError(f"{parsed.dotted} is not set")
        if as_json:
            app.out.json(_as_json(entries))
        else:
            app.out.write(_render(entries, with_source))
        return
    parsed.declaration()  # unknown keys are exit 2
    found = [e for e in _entries(app) if e.key == parsed]
    if not found and parsed.parts[0] == "models":
        found = [e for e in _model_entries(app, parsed.parts[1]) if e.key == parsed]
    if not found:
        raise InputError(f"{parsed.dotted} is not set")
    entry = found[0]
    if as_json:
        app.out.json({"key": parsed.dotted, **entry.as_json()})
    elif with_source:
        app.out.line(f"{_format_value(entry.value)}  # {_source(entry)}")
    else:
        app.out.line(_format_value(entry.value))
    if entry.value is None and not as_json:
        app.out.notice(f"{parsed.dotted} is not set (no default)")


@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@click.pass_context
def set_(ctx: click.Context, key: str, value: str) -> None:
    """Set KEY to VALUE in config.toml, keeping its comments and layout.

    VALUE is checked against the key's type and against every other setting first: an alias,
    default_model or fallback naming an unknown model is refused (exit 2, nothing written).

    \b
    Examples:
      chatpro config set privacy.on_secret redact
      chatpro config set usage.warn_at "50, 90"
      chatpro config set aliases.mini gpt-4o-mini
    """
    from chatpro.config import parse_key, set_in_file
    from chatpro.settings_schema import BY_KEY

    app = get_app(ctx)
    parsed = parse_key(key)
    checked = set_in_file(app.paths.config_file, parsed, value)
    app.out.notice(f"{parsed.dotted} = {_format_value(checked)}")
    declared = BY_KEY.get(parsed.plain)
    if declared and declared.env and app.environ.get(declared.env, "").strip():
        app.out.notice(f"{declared.env} is set and wins over {parsed.dotted} for now")


@config.command("unset")
@click.argument("key")
@click.pass_context
def unset(ctx: click.Context, key: str) -> None:
    """Remove KEY from config.toml (its default applies again).

    \b
    Example:
      chatpro config unset api.timeout
    """
    from chatpro.config import parse_key, unset_in_file

    app = get_app(ctx)
    parsed = parse_key(key)
    if not parsed.is_table:
        parsed.declaration()
    removed = unset_in_file(app.paths.config_file, parsed)
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
    ensure_dir(os.path.dirname(target))
    if not os.path.exists(target):
        from chatpro.fsutil import atomic_write_bytes

        atomic_write_bytes(target, b"# chatpro settings: see 'chatpro config show' for every key\n")
    click.edit(filename=target)
    load_settings(target)  # an invalid result is reported (exit 4) so it can be fixed at once
    app.out.notice(f"saved {target}")

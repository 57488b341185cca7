"""`chatpro key`: store, show (masked) and remove the API key. The key is never an argument."""

from __future__ import annotations

import click

from chatpro.cli.common import get_app
from chatpro.errors import ConfigError


@click.group(
    epilog="""\b
Examples:
  chatpro key set                    # hidden prompt on a terminal
  printf '%s\\n' "$KEY" | chatpro key set
  chatpro key show --json
""",
)
def key() -> None:
    """Store, show (masked) or remove the API key.

    Lookup order: OPENAI_API_KEY in the environment, then the credentials file (mode 0600).
    """


@key.command("set")
@click.pass_context
def set_key(ctx: click.Context) -> None:
    """Store the key: a hidden prompt on a terminal, one line from stdin otherwise.

    \b
    Example:
      chatpro key set < ~/secrets/openai.txt
    """
    from chatpro.credentials import store_key, validate_key_text

    app = get_app(ctx)
    if app.stdin_is_tty:
        text = click.prompt("API key", hide_input=True, err=True, default="", show_default=False)
    else:
        text = app.stdin.readline()
    value = validate_key_text(text)
    store_key(app.paths.credentials_file, value)
    app.out.notice(f"key stored in {app.paths.credentials_file}")
    if app.environ.get("OPENAI_API_KEY"):
        app.out.notice(
            "note: OPENAI_API_KEY is set in the environment and wins over the stored key"
        )


@key.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show_key(ctx: click.Context, as_json: bool) -> None:
    """Show the key masked (e.g. sk-…a1b2) and where it comes from (env or file).

    \b
    Example:
      chatpro key show
    """
    from chatpro.credentials import find_key, mask

    app = get_app(ctx)
    found = find_key(app.environ, app.paths.credentials_file, app.out.warning)
    if found is None:
        raise ConfigError("no API key is set", hint="run 'chatpro key set' or set OPENAI_API_KEY")
    source = "env" if found.source == "env" else "file"
    where = "OPENAI_API_KEY" if source == "env" else str(app.paths.credentials_file)
    if as_json:
        app.out.json({"key": mask(found.value), "source": source, "location": where})
    else:
        app.out.line(f"{mask(found.value)} (from {source}: {where})")


@key.command("remove")
@click.pass_context
def remove_key(ctx: click.Context) -> None:
    """Delete the stored key file (the environment variable is not touched).

    \b
    Example:
      chatpro key remove
    """
    from chatpro.credentials import remove_key as remove

    app = get_app(ctx)
    if remove(app.paths.credentials_file):
        app.out.notice(f"removed {app.paths.credentials_file}")
    else:
        app.out.notice("no stored key to remove")

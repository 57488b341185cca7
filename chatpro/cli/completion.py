"""`chatpro completion SHELL`: print a completion script generated from the Click commands."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from chatpro.cli.common import get_app

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_CHATPRO_COMPLETE"


def completion_source(shell: str) -> str:
    """The script Click generates for SHELL (the same text as completions/chatpro.SHELL)."""
    from click.shell_completion import get_completion_class

    from chatpro.cli.main import cli

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are all supported by Click
        raise click.BadParameter(f"unsupported shell {shell!r}")
    return cls(cli, {}, "chatpro", COMPLETE_VAR).source()


def install_path(shell: str, environ: Mapping[str, str]) -> tuple[Path, str | None]:
    """Where SHELL looks for a user's completion script, and what to add to its rc file, if any."""
    home = Path(environ.get("HOME") or Path.home())
    if shell == "bash":
        data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        return data / "bash-completion" / "completions" / "chatpro", None
    if shell == "zsh":
        return home / ".zfunc" / "_chatpro", "fpath+=~/.zfunc; autoload -Uz compinit && compinit"
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return config / "fish" / "completions" / "chatpro.fish", None


@click.command(
    epilog="""\b
Examples:
  chatpro completion bash --install     # writes it where bash-completion finds it
  chatpro completion zsh --install      # then add the line it prints to ~/.zshrc
  chatpro completion fish > ~/.config/fish/completions/chatpro.fish
  eval "$(chatpro completion bash)"     # this shell only
""",
)
@click.argument("shell", type=click.Choice(SHELLS))
@click.option(
    "--install",
    is_flag=True,
    help="Write the script where SHELL finds it (creating the directories) and print the path.",
)
@click.pass_context
def completion(ctx: click.Context, shell: str, install: bool) -> None:
    """Print the completion script for SHELL (bash, zsh or fish), or --install it.

    Model names, aliases, template names, chat ids and file names complete as you type.
    """
    app = get_app(ctx)
    source = completion_source(shell)
    if not install:
        app.out.write(source)
        return
    from chatpro.errors import StorageError
    from chatpro.fsutil import atomic_write_bytes

    path, rc_line = install_path(shell, app.environ)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    atomic_write_bytes(path, source.encode("utf-8"), mode=0o644)
    app.out.line(str(path))
    if rc_line:
        app.out.notice(f"add this line to ~/.{shell}rc if it is not there yet: {rc_line}")
    app.out.notice("open a new shell to use it")

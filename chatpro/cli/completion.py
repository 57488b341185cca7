"""`chatpro completion SHELL`: print a completion script generated from the Click commands."""

from __future__ import annotations

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


@click.command(
    epilog="""\b
Examples:
  chatpro completion bash > ~/.local/share/bash-completion/completions/chatpro
  chatpro completion zsh > "${fpath[1]}/_chatpro"
  chatpro completion fish > ~/.config/fish/completions/chatpro.fish
  eval "$(chatpro completion bash)"     # this shell only
""",
)
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    Model names, aliases, template names and chat ids complete as you type.
    """
    get_app(ctx).out.write(completion_source(shell))

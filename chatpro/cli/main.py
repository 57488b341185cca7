"""The `chatpro` entry point: global options, lazily loaded commands, and the one error mapping."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from chatpro import __version__
from chatpro.errors import ChatproError, ExitCode

# name -> (module, attribute, short help). Commands are imported only when used, so that
# `chatpro --help` and table commands start fast.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "ask": ("chatpro.cli.ask", "ask", "Ask one question; the answer streams to stdout."),
    "chat": ("chatpro.cli.chat", "chat", "Chat interactively (or line by line from stdin)."),
    "upload": ("chatpro.cli.upload", "upload", "Analyse files: PDF, Word, PowerPoint, code, text."),
    "history": (
        "chatpro.cli.history",
        "history",
        "List, show, search, export and delete past chats.",
    ),
    "usage": ("chatpro.cli.usage", "usage", "Show this month's allowance and what is left."),
    "model": ("chatpro.cli.model", "model", "Show, list and set the default model."),
    "config": ("chatpro.cli.config", "config", "Show and change settings in config.toml."),
    "key": ("chatpro.cli.key", "key", "Store, show (masked) or remove the API key."),
    "templates": ("chatpro.cli.templates", "templates", "List and show starter prompt templates."),
    "completion": ("chatpro.cli.completion", "completion", "Print a shell completion script."),
}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr, _ = entry
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # short help from the table, without importing every command module
        rows = [(name, entry[2]) for name, entry in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Command names with their short help from the table, without importing the commands."""
        from click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=entry[2])
            for name, entry in COMMANDS.items()
            if name.startswith(incomplete)
        ]
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise click.UsageError(f"unknown command '{name}'{hint}", ctx)
        return super().resolve_command(ctx, args)


@click.group(
    cls=LazyGroup,
    context_settings=CONTEXT_SETTINGS,
    epilog='Examples:\n\n\b\n  chatpro ask "Draft a reply asking for a deadline extension"\n'
    '  chatpro upload brief.pdf -p "List the deliverables"\n'
    '  chatpro usage --check && chatpro ask -m fast "Summarize" < notes.txt\n\n'
    "Docs: docs/guide.md. Exit codes: 0 ok, 1 bug, 2 bad input, 3 allowance used up, "
    "4 key/config, 5 service/network, 130 interrupted.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors (also CHATPRO_DEBUG=1).")
@click.option(
    "-q", "--quiet", is_flag=True, help="Hide notices and progress (never warnings or errors)."
)
@click.version_option(__version__, "--version", prog_name="chatpro", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """chatpro: your command-line AI work companion on OpenAI chat models.

    GPT-4o ("powerful") for files and longer work, GPT-3.5 ("fast") for quick tasks, each with
    a monthly allowance. Results go to stdout, everything else to stderr.
    """
    from chatpro.app import App

    state = ctx.ensure_object(dict)
    debug = debug or state.get("debug", False)
    ctx.obj = App.from_environment(quiet=quiet, debug=debug, **state.get("app_kwargs", {}))


def _debug_requested(argv: list[str]) -> bool:
    flag = os.environ.get("CHATPRO_DEBUG", "").strip().lower()
    return "--debug" in argv or flag not in ("", "0", "false", "no")


def _secrets() -> list[str]:
    from chatpro.app import App

    try:
        return App.from_environment().known_secrets()
    except Exception:  # noqa: BLE001 - scrubbing is best effort
        key = os.environ.get("OPENAI_API_KEY", "").strip()
        return [key] if key else []


def _print_error(message: str, hint: str | None = None) -> None:
    from chatpro.credentials import scrub

    secrets = _secrets()
    sys.stderr.write(scrub(f"chatpro: error: {message}", secrets) + "\n")
    if hint:
        sys.stderr.write(scrub(f"hint: {hint}", secrets) + "\n")
    sys.stderr.flush()


def _print_traceback() -> None:
    import traceback

    from chatpro.credentials import scrub

    sys.stderr.write(scrub(traceback.format_exc(), _secrets()))
    sys.stderr.flush()


def run(argv: list[str] | None = None, **app_kwargs: Any) -> None:
    """Run the CLI and exit with SPEC's code; every error path is mapped here."""
    import signal

    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    signal.signal(signal.SIGTERM, _on_sigterm)
    code = main(args, debug=debug, **app_kwargs)
    sys.exit(code)


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM ends a request like Ctrl-C: the partial answer is charged and logged, then exit."""
    raise KeyboardInterrupt


def main(args: list[str], *, debug: bool = False, **app_kwargs: Any) -> int:
    try:
        code = cli.main(
            args=args,
            prog_name="chatpro",
            standalone_mode=False,
            obj={"debug": debug, "app_kwargs": app_kwargs},
        )
        # without standalone mode Click returns the code of a `click.exceptions.Exit`
        return code if isinstance(code, int) else ExitCode.OK
    except ChatproError as exc:
        if debug:
            _print_traceback()
        _print_error(exc.message, exc.hint)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        # `chatpro` or `chatpro key` alone: the help, as `gh` does
        sys.stdout.write(exc.format_message() + "\n")
        return ExitCode.OK
    except click.UsageError as exc:
        hint = None
        if exc.ctx is not None:
            hint = f"see '{exc.ctx.command_path} --help'"
        _print_error(exc.format_message(), hint)
        return ExitCode.BAD_INPUT
    except click.ClickException as exc:
        _print_error(exc.format_message())
        return exc.exit_code if exc.exit_code else ExitCode.BAD_INPUT
    except (KeyboardInterrupt, click.Abort):
        sys.stderr.write("\n")
        _print_error("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.OK
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback only with --debug
        if debug:
            _print_traceback()
        _print_error(f"internal error: {type(exc).__name__}: {exc}", "run with --debug for details")
        return ExitCode.INTERNAL


def _silence_stdout() -> None:
    """After a closed pipe (chatpro … | head), make the interpreter's final flush quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

"""The `chatpro` entry point: global options, lazily loaded commands, and the one error mapping."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from chatpro import __version__
from chatpro.errors import Cancelled, ChatproError, ExitCode, Interrupted

if TYPE_CHECKING:
    from chatpro.app import App

# name -> (module, attribute, short help). Commands are imported only when used, so that
# `chatpro --help` and table commands start fast.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "ask": ("chatpro.cli.ask", "ask", "Ask one question; the answer streams to stdout."),
    "chat": ("chatpro.cli.chat", "chat", "Chat interactively (or line by line from stdin)."),
    "upload": (
        "chatpro.cli.upload",
        "upload",
        "Analyse files: PDF, Word, PowerPoint, sheets, code.",
    ),
    "batch": (
        "chatpro.cli.batch",
        "batch",
        "Run one prompt over many inputs, live or as a remote batch.",
    ),
    "history": (
        "chatpro.cli.history",
        "history",
        "List, show, search, export and delete past chats.",
    ),
    "report": ("chatpro.cli.report", "report", "Report work per client and model for invoices."),
    "usage": ("chatpro.cli.usage", "usage", "Show this month's allowance and what is left."),
    "model": ("chatpro.cli.model", "model", "Show, list and set the default model."),
    "config": ("chatpro.cli.config", "config", "Show and change settings in config.toml."),
    "key": ("chatpro.cli.key", "key", "Store, show (masked) or remove the API key."),
    "templates": ("chatpro.cli.templates", "templates", "List and show starter prompt templates."),
    "completion": ("chatpro.cli.completion", "completion", "Print a shell completion script."),
    "help": (
        "chatpro.cli.help",
        "help_command",
        "Reference topics: exit codes, config, file types.",
    ),
}

GLOBAL_FLAGS = ("--debug", "-q", "--quiet")
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
    "Reference: chatpro help TOPIC (exit-codes, environment, config, file-types, models, "
    "paths). Exit codes: 0 ok, 1 bug, 2 bad input, 3 allowance used up, 4 key/config, "
    "5 service/network, 75 batch not finished, 130 interrupted.",
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
    app = ctx.find_root().obj
    app.out.quiet = app.out.quiet or quiet
    app.debug = app.debug or debug


def _debug_requested(argv: list[str], environ: Mapping[str, str]) -> bool:
    flag = environ.get("CHATPRO_DEBUG", "").strip().lower()
    return "--debug" in argv or flag not in ("", "0", "false", "no")


def run(argv: list[str] | None = None) -> None:
    """The console script: run the CLI and exit with SPEC's code."""
    import gc
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    code = main(list(sys.argv[1:] if argv is None else argv))
    # The interpreter's exit walks every object in its final garbage collections (about 5 ms of
    # a table command's time); frozen objects are skipped. Files are closed and streams flushed
    # as before: nothing of ours waits for the garbage collector.
    gc.freeze()
    sys.exit(code)


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM ends a request like Ctrl-C: the partial answer is charged and logged, then exit."""
    raise KeyboardInterrupt


def main(args: list[str], **app_kwargs: Any) -> int:
    """Run chatpro with ARGS and return its exit code; every error path is mapped here.

    APP_KWARGS go to App.from_environment (environ, clock, stdin, stdout, stderr): tests run
    whole commands in-process with their own streams, environment and clock.
    """
    from chatpro.app import App

    try:
        app = App.from_environment(**app_kwargs)
    except ChatproError as exc:  # the environment itself is unusable (a bad CHATPRO_NOW)
        stderr = app_kwargs.get("stderr") or sys.stderr
        stderr.write(f"chatpro: error: {exc.message}\n")
        return exc.exit_code
    app.debug = app.debug or _debug_requested(args, app.environ)
    out = app.out
    try:
        return _run_cli(app, args)
    except Interrupted as exc:
        out.stderr.write("\n")
        out.notice(exc.message)
        return exc.exit_code
    except Cancelled as exc:
        out.notice(exc.message)
        return exc.exit_code
    except ChatproError as exc:
        if app.debug:
            _print_traceback(app)
        out.error(exc.message, exc.hint)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        # `chatpro` or `chatpro key` alone: the help, as `gh` does
        out.line(exc.format_message())
        return ExitCode.OK
    except click.UsageError as exc:
        out.error(exc.format_message(), _usage_hint(exc))
        return ExitCode.BAD_INPUT
    except click.ClickException as exc:
        out.error(exc.format_message())
        return exc.exit_code if exc.exit_code else ExitCode.BAD_INPUT
    except (KeyboardInterrupt, click.Abort):
        out.stderr.write("\n")
        out.notice("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.OK
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback only with --debug
        if app.debug:
            _print_traceback(app)
        out.error(f"internal error: {type(exc).__name__}: {exc}", "run with --debug for details")
        return ExitCode.INTERNAL


def _run_cli(app: App, args: list[str]) -> int:
    try:
        code = cli.main(args=args, prog_name="chatpro", standalone_mode=False, obj=app)
    except BaseException:
        app.out.secrets[:] = app.known_secrets()  # whatever is printed next is scrubbed of the key
        raise
    # without standalone mode Click returns the code of a `click.exceptions.Exit`
    return code if isinstance(code, int) else ExitCode.OK


def _usage_hint(exc: click.UsageError) -> str | None:
    if exc.ctx is None:
        return None
    option = _global_option_misplaced(exc)
    if option:
        return f"{option} is a global option: put it before the command (chatpro {option} {exc.ctx.info_name} ...)"
    return f"see '{exc.ctx.command_path} --help'"


def _global_option_misplaced(exc: click.UsageError) -> str | None:
    if isinstance(exc, click.NoSuchOption) and exc.option_name in GLOBAL_FLAGS:
        return exc.option_name
    return None


def _print_traceback(app: App) -> None:
    import traceback

    app.out.raw_err(traceback.format_exc())


def _silence_stdout() -> None:
    """After a closed pipe (chatpro … | head), make the interpreter's final flush quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

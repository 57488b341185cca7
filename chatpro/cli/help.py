"""`chatpro help [TOPIC]`: the reference that travels with the installed package.

Each topic is built from the table the code itself uses (exit codes, settings, file types, the
model catalog, paths), so it cannot drift from what chatpro does.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from chatpro.cli.common import get_app

ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("OPENAI_API_KEY", "the API key; wins over the stored one (chatpro key set)"),
    ("OPENAI_BASE_URL", "any OpenAI-compatible server; wins over api.base_url"),
    ("CHATPRO_HOME", "put config, credentials, chats and the ledger under this directory"),
    ("XDG_CONFIG_HOME", "Linux, without CHATPRO_HOME: config in $XDG_CONFIG_HOME/chatpro"),
    ("XDG_DATA_HOME", "Linux, without CHATPRO_HOME: chats and ledger in $XDG_DATA_HOME/chatpro"),
    ("CHATPRO_MODEL", "the default model for this process; wins over default_model"),
    ("CHATPRO_CLIENT", "tag work with this client (after --client, before .chatpro.toml)"),
    ("CHATPRO_DEBUG", "1: tracebacks on errors, like --debug (key-free)"),
    ("NO_COLOR", "no colours on stderr"),
    ("TIKTOKEN_CACHE_DIR", "where tiktoken finds its encodings (pre-fill it offline)"),
)


def _exit_codes() -> str:
    from chatpro.errors import EXIT_CODES

    return "\n".join(f"{code:>4}  {meaning}" for code, meaning in EXIT_CODES)


def _environment() -> str:
    width = max(len(name) for name, _ in ENVIRONMENT)
    return "\n".join(f"{name.ljust(width)}  {what}" for name, what in ENVIRONMENT)


def _config() -> str:
    from chatpro.settings_schema import reference_table

    return (
        "Keys of config.toml ('chatpro config path' shows where it is; 'chatpro config set KEY "
        "VALUE' changes one):\n\n" + reference_table()
    )


def _file_types() -> str:
    from chatpro.files.types import SUPPORTED

    rows = [f"{t.extension:<7} {t.mime:<75} {t.label}" for _, t in sorted(SUPPORTED.items())]
    return "At most 10 MiB (10,485,760 bytes) a file.\n\n" + "\n".join(rows)


def _models() -> str:
    app = click.get_current_context().find_root().obj
    rows = []
    for info in app.catalog.models.values():
        aliases = f" ({', '.join(info.aliases)})" if info.aliases else ""
        files = "files" if info.takes_files else "no files"
        allowance = f"{info.monthly_messages} a cycle" if info.monthly_messages else "unlimited"
        rows.append(
            f"{info.name}{aliases}: {info.context_window:,} tokens, {files}, {allowance}"
            + (f", falls back to {info.fallback}" if info.fallback else "")
        )
    return "\n".join(rows) + "\n\n'chatpro model list' shows prices and what is used."


def _paths() -> str:
    app = click.get_current_context().find_root().obj
    paths = app.paths.as_dict()
    width = max(len(k) for k in paths)
    return "\n".join(f"{name.ljust(width)}  {where}" for name, where in paths.items())


TOPICS: dict[str, tuple[str, Callable[[], str]]] = {
    "exit-codes": ("what each exit code means", _exit_codes),
    "environment": ("the environment variables chatpro reads", _environment),
    "config": ("every key of config.toml, its type and default", _config),
    "file-types": ("the file types upload and ask -f take", _file_types),
    "models": ("the models this config knows", _models),
    "paths": ("where chatpro keeps its files", _paths),
}


@click.command(
    epilog="""\b
Examples:
  chatpro help                 # the topics
  chatpro help exit-codes
  chatpro help config | less
"""
)
@click.argument("topic", required=False, metavar="[TOPIC]")
@click.pass_context
def help_command(ctx: click.Context, topic: str | None) -> None:
    """Show a reference topic: exit codes, environment, config keys, file types, models, paths."""
    from chatpro.errors import InputError

    out = get_app(ctx).out
    if topic is None:
        width = max(len(name) for name in TOPICS)
        out.line("Topics (chatpro help TOPIC):")
        for name, (what, _) in TOPICS.items():
            out.line(f"  {name.ljust(width)}  {what}")
        out.line("Each command's options and examples: chatpro COMMAND --help.")
        return
    entry = TOPICS.get(topic.lower())
    if entry is None:
        import difflib

        close = difflib.get_close_matches(topic.lower(), list(TOPICS), n=1)
        raise InputError(
            f"no help topic {topic!r} (topics: {', '.join(TOPICS)})",
            hint=f"did you mean {close[0]}?" if close else None,
        )
    out.line(entry[1]().rstrip("\n"))

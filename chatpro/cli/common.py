"""Pieces the request commands (ask, upload, chat) share: options, stdin, running and rendering."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from chatpro.cli.complete import complete_chat_ids, complete_models, complete_templates
from chatpro.errors import ChatproError, InputError

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.conversation import Answer, Conversation, Notice, Turn
    from chatpro.files import Attachment
    from chatpro.models import ModelInfo
    from chatpro.paths import StrPath
    from chatpro.schema import Schema


def get_app(ctx: click.Context) -> App:
    return ctx.find_root().obj  # type: ignore[no-any-return]


def model_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-m",
        "--model",
        metavar="MODEL",
        shell_complete=complete_models,
        help="Model or alias (powerful, fast); default from config.",
    )(f)


def chat_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--chat",
        "chat_id",
        metavar="ID",
        shell_complete=complete_chat_ids,
        help="Continue chat ID (a unique prefix is enough).",
    )(f)
    f = click.option(
        "-c", "--continue", "continue_latest", is_flag=True, help="Continue the most recent chat."
    )(f)
    return f


def client_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--client",
        metavar="NAME",
        help="Tag this work with a client (default: CHATPRO_CLIENT or client in .chatpro.toml).",
    )(f)


def raw_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--raw",
        is_flag=True,
        help="On a terminal, show the answer as received, escape sequences included "
        "(by default they are removed; piped output is never changed).",
    )(f)


def template_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-t",
        "--template",
        metavar="NAME",
        shell_complete=complete_templates,
        help="Use a starter template (see 'chatpro templates').",
    )(f)


def schema_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--schema-multi",
        is_flag=True,
        help='With --schema: the answer is a list of such objects, printed as {"items": [...]}.',
    )(f)
    return click.option(
        "--schema",
        "schema_spec",
        metavar="SCHEMA",
        help="Answer with JSON matching SCHEMA: a JSON Schema file, inline JSON, or fields like "
        "'name, deadline date, budget int, deliverables list'. stdout is the JSON only.",
    )(f)


def load_schema(spec: str | None, multi: bool) -> Schema | None:
    """The parsed --schema (exit 2 before anything is sent when it is bad), or None."""
    if spec is None:
        if multi:
            raise InputError("--schema-multi needs --schema")
        return None
    from chatpro.schema import parse_schema

    return parse_schema(spec, multi=multi)


def schema_system(system: str | None, schema: Schema | None) -> str | None:
    """The system text with the schema's instructions after it."""
    if schema is None:
        return system
    return "\n\n".join(p for p in (system, schema.instructions()) if p)


def check_chat_flags(continue_latest: bool, chat_id: str | None) -> None:
    if continue_latest and chat_id:
        raise InputError("use either -c/--continue or --chat ID, not both")


def read_stdin_bytes(app: App) -> bytes:
    """All of piped stdin, refused (exit 2) past the 10 MiB file limit."""
    from chatpro.files import read_limited

    stream = getattr(app.stdin, "buffer", None)
    if stream is None:  # a text stream (tests): encode what it holds
        return app.stdin.read().encode("utf-8")
    return read_limited(stream, name="stdin")


def load_stdin(data: bytes, *, default_extension: str) -> Attachment:
    """Piped bytes as an attachment named stdin.EXT, the type recognised by its bytes."""
    from chatpro.files import load_bytes, sniff_document

    return load_bytes(data, f"stdin{sniff_document(data) or default_extension}")


def read_stdin_payload(app: App) -> tuple[str, Any]:
    """Piped stdin: ("text", str), ("document", Attachment) or ("none", None) on a terminal."""
    if app.stdin_is_tty:
        return "none", None
    data = read_stdin_bytes(app)
    if not data:
        return "none", None
    attachment = load_stdin(data, default_extension=".txt")
    if attachment.kind == "text":
        return "text", attachment.text
    return "document", attachment


def open_conversation(
    app: App,
    *,
    model: str | None,
    system: str | None = None,
    template: str | None = None,
    continue_latest: bool = False,
    chat_id: str | None = None,
    client: str | None = None,
    switch: str = "-m",
) -> Conversation:
    """A Conversation for the command's options, continuing a chat when asked to.

    The client tag: --client, else the client of the chat it continues, else CHATPRO_CLIENT,
    else the nearest .chatpro.toml.
    """
    from pathlib import Path

    from chatpro.clients import check_client_name, resolve_client

    check_chat_flags(continue_latest, chat_id)
    conversation = app.conversation(
        model_info=resolve_model(app, model) if model else None,
        system=system,
        template=template,
        client=check_client_name(client) if client is not None else None,
        switch=switch,
    )
    show_notices(app, conversation.open(chat_id, latest=continue_latest))
    kept = conversation.unknown_chat_model
    if kept is not None and model is None:  # the chat's model may be one the server offers
        info = _offered_model(app, kept, quiet_failure=True)
        if info is not None:
            conversation.set_model(info)
        else:
            app.out.notice(
                f"this chat's model {kept} is no longer configured; "
                f"using {conversation.model_info.name}"
            )
    if conversation.client is None:
        conversation.client = resolve_client(None, app.environ, Path.cwd())
    return conversation


def resolve_model(app: App, name: str) -> ModelInfo:
    """The model NAME means: from the catalog, else one the server offers (asked only then),
    with a notice that its window is assumed. Unknown to both: exit 2 with suggestions."""
    catalog = app.catalog
    try:
        return catalog.resolve(name)
    except InputError as unknown:
        if name in catalog.broken_aliases:
            raise
        error = unknown
    try:
        offered = app.client().list_models()
    except ChatproError as exc:
        raise InputError(
            error.message,
            hint=f"{error.hint}; the server could not be asked for its models ({exc.message})",
        ) from None
    info = _offered_model(app, catalog.target_name(name), offered=offered)
    if info is not None:
        return info
    import difflib

    close = difflib.get_close_matches(name, offered, n=3, cutoff=0.5)
    if not close:
        raise error
    offers = f"the server offers {' and '.join(close)}"
    if error.hint and error.hint.startswith("did you mean"):
        hint = f"{error.hint} ({offers})"
    else:
        hint = f"did you mean {' or '.join(close)}? ({offers}; no need to declare it)"
    raise InputError(error.message, hint=hint) from None


def _offered_model(
    app: App, name: str, *, offered: list[str] | None = None, quiet_failure: bool = False
) -> ModelInfo | None:
    """NAME as a model the server offers (with the notice that its window is assumed), or None
    when the server does not list it (or, with QUIET_FAILURE, cannot be asked)."""
    if offered is None:
        try:
            offered = app.client().list_models()
        except ChatproError:
            if not quiet_failure:
                raise
            return None
    if name not in offered:
        return None
    info = app.catalog.with_server_model(name)
    app.out.notice(
        f"{info.name} is offered by the server but not declared: an 8,192-token context "
        f'window is assumed until it is declared in config.toml ([models."{info.name}"] '
        "context_window = …)"
    )
    return info


def write_result(app: App, text: str, output: StrPath | None) -> None:
    """A command's result: on stdout, or written atomically to OUTPUT with a notice."""
    if output is None:
        app.out.write(text)
        return
    from chatpro.fsutil import atomic_write_bytes

    atomic_write_bytes(output, text.encode("utf-8"))
    app.out.notice(f"wrote {output}")


def show_notices(app: App, notices: Sequence[Notice]) -> None:
    for notice in notices:
        (app.out.warning if notice.warning else app.out.notice)(notice.text)


def run_turn(
    app: App,
    conversation: Conversation,
    turn: Turn,
    *,
    as_json: bool,
    schema: Schema | None = None,
) -> Answer:
    """Prepare (no side effects), print notices, send with streaming to stdout, print warnings.

    An answer cut short is rendered like any other (its text, its JSON, its warnings), then its
    error is raised for the exit code. With SCHEMA, stdout is the validated JSON only; an answer
    that does not validate is charged and logged, then exit 5.
    """
    from dataclasses import replace

    from chatpro.cli.widgets import Spinner

    out = app.out
    prepared = conversation.prepare(turn)
    if schema is not None:  # the mode follows the model that answers (a fallback may not have it)
        prepared.turn = replace(
            prepared.turn, response_format=schema.response_format(prepared.model.name)
        )
    show_notices(app, prepared.notices)
    wrote: list[str] = []
    spinner = None
    if out.stderr_is_tty and not out.quiet:
        spinner = Spinner(out.stderr, f"{prepared.model.name} is thinking…").start()

    def on_text(text: str) -> None:
        if spinner is not None:
            spinner.stop()
        if not as_json and schema is None:
            wrote.append(text)
            out.write(text)

    try:
        answer = conversation.send(prepared, on_text)
    finally:
        if spinner is not None:
            spinner.stop()
        out.end_answer()
        if wrote and not wrote[-1].endswith("\n"):
            out.write("\n")
    invalid = None
    if schema is not None and answer.stop is None:
        invalid = _render_structured(app, answer, schema, as_json=as_json)
    elif as_json:
        out.json(answer.as_json())
    incomplete = answer.incomplete_notice()
    if incomplete:
        out.notice(incomplete)
    for warning in answer.warnings:
        out.warning(warning)
    if answer.stop is not None:
        raise answer.stop
    if invalid is not None:
        raise invalid
    return answer


def _render_structured(
    app: App, answer: Answer, schema: Schema, *, as_json: bool
) -> ChatproError | None:
    """Print the answer's validated JSON (or the usual JSON with a "json" field); return the
    violation instead of raising, so that warnings are still shown."""
    import json

    try:
        value = schema.check_answer(answer.text)
    except ChatproError as exc:
        if as_json:
            app.out.json({**answer.as_json(), "json": None})
        return exc
    if as_json:
        app.out.json({**answer.as_json(), "json": value})
    elif app.out.stdout_is_tty:
        app.out.json(value)
    else:
        app.out.line(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return None

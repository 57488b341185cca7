"""`chatpro upload`: files into analysis (the same path as `ask -f` and piped documents)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from chatpro.cli.common import (
    chat_options,
    client_option,
    get_app,
    load_schema,
    load_stdin,
    model_option,
    open_conversation,
    read_stdin_bytes,
    run_turn,
    schema_options,
    schema_system,
    show_notices,
    template_option,
)
from chatpro.cli.widgets import ProgressBar
from chatpro.conversation import require_file_model

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.conversation import Conversation, FileRow, Turn
    from chatpro.files import Attachment

DEFAULT_PROMPT = (
    "Summarize these files for a freelancer: the key points, the deliverables, the deadlines "
    "and the risks."
)
PROGRESS_MIN_BYTES = 1024 * 1024


def load_all(app: App, files: tuple[str, ...]) -> list[Attachment]:
    """Validate and extract every file before anything is sent; `-` reads stdin."""
    from chatpro.files import MAX_FILE_BYTES, load_path

    attachments = []
    for name in files:
        if name == "-":
            attachments.append(load_stdin(read_stdin_bytes(app), default_extension=".txt"))
            continue
        path = Path(name)
        big = path.is_file() and PROGRESS_MIN_BYTES <= path.stat().st_size <= MAX_FILE_BYTES
        bar = None
        if big and app.out.stderr_is_tty and not app.out.quiet:
            bar = ProgressBar(app.out.stderr, path.name)
        try:
            attachments.append(load_path(path, progress=bar))
        finally:
            if bar is not None:
                bar.close()
    return attachments


def _types_epilog() -> str:
    """The supported extensions, from the type table, wrapped for --help."""
    import textwrap

    from chatpro.files.types import SUPPORTED

    listed = " ".join(sorted(SUPPORTED)) + " (at most 10 MiB = 10,485,760 bytes each)."
    return "\n".join(textwrap.wrap("Types: " + listed, 95))


@click.command(
    epilog="""\b
Examples:
  chatpro upload brief.pdf -p "What are the deliverables?"
  chatpro upload contract.docx deck.pptx --json | jq -r .text
  chatpro upload --dry-run *.pdf          # type, size, tokens and cost; nothing sent
  chatpro upload --extract notes.docx > notes.txt
  curl -s https://example.com/brief.pdf | chatpro upload -

\b
"""
    + _types_epilog(),
)
@click.argument(
    "files", nargs=-1, required=True, metavar="FILE...", type=click.Path(allow_dash=True)
)
@click.option(
    "-p",
    "--prompt",
    metavar="TEXT",
    help="What to ask about the files (default: a summary of key points, deliverables, deadlines and risks).",
)
@model_option
@template_option
@chat_options
@client_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object with the answer and usage."
)
@click.option(
    "--no-stream", is_flag=True, help="Wait for the whole answer instead of streaming it."
)
@click.option(
    "--no-fallback", is_flag=True, help="Kept for symmetry with ask: files never fall back."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and extract only; print type, size, tokens and cost per file.",
)
@click.option("--extract", is_flag=True, help="Print the extracted text; nothing is sent.")
@schema_options
@click.pass_context
def upload(
    ctx: click.Context,
    files: tuple[str, ...],
    prompt: str | None,
    model: str | None,
    template: str | None,
    continue_latest: bool,
    chat_id: str | None,
    client: str | None,
    as_json: bool,
    no_stream: bool,
    no_fallback: bool,
    dry_run: bool,
    extract: bool,
    schema_spec: str | None,
    schema_multi: bool,
) -> None:
    """Analyse files: PDF, Word, PowerPoint, spreadsheets, email, code and text.

    Every file is checked (type, size, bytes) and its text extracted before anything is sent;
    a refused file is exit 2 and nothing is sent or charged. Files need a model that takes
    files (gpt-4o).
    """
    from chatpro.conversation import Turn
    from chatpro.errors import InputError

    app = get_app(ctx)
    if dry_run and extract:
        raise InputError("use either --dry-run or --extract, not both")
    if files.count("-") > 1:
        raise InputError("stdin ('-') can be given only once")
    schema = load_schema(schema_spec, schema_multi)
    conversation = None
    if not extract:
        conversation = open_conversation(
            app,
            model=model,
            system=schema_system(None, schema),
            template=template,
            continue_latest=continue_latest,
            chat_id=chat_id,
            client=client,
        )
        require_file_model(app.catalog, conversation.model_info)
    attachments = load_all(app, files)
    if conversation is None:
        for att in attachments:
            for line in att.notices:
                app.out.notice(f"{att.name}: {line}")
            if len(attachments) > 1:
                app.out.line(f"--- {att.name} ---")
            app.out.write(att.text if att.text.endswith("\n") or not att.text else att.text + "\n")
        return
    turn = Turn(
        prompt=prompt if prompt is not None else ("" if template else DEFAULT_PROMPT),
        title=", ".join(a.name for a in attachments) if prompt is None else None,
        attachments=attachments,
        stream=not no_stream,
        allow_fallback=False,
    )
    if dry_run:
        _print_dry_run(app, conversation, turn, as_json)
        return
    run_turn(app, conversation, turn, as_json=as_json, schema=schema)


def _print_dry_run(app: App, conversation: Conversation, turn: Turn, as_json: bool) -> None:
    """What the real upload would send and be charged: the same prepare, nothing sent."""
    from chatpro.usage import cost_units

    prepared = conversation.prepare(turn, check_allowance=False)
    show_notices(app, prepared.notices)
    single = len(prepared.files) == 1

    def cost(row: FileRow) -> int:
        return prepared.units if single else cost_units(row.tokens, [row.size])

    if as_json:
        app.out.json(
            {
                "model": prepared.model.name,
                "estimated": prepared.estimated,
                "files": [
                    {
                        "name": row.name,
                        "type": row.label,
                        "mime": row.mime,
                        "bytes": row.size,
                        "pages": row.pages,
                        "slides": row.slides,
                        "tokens": row.tokens,
                        "cost": cost(row),
                        "cut": row.cut,
                        "earlier": row.earlier,
                    }
                    for row in prepared.files
                ],
                "tokens": prepared.tokens_sent,
                "cost": prepared.units,
                "cut": prepared.cut,
            }
        )
        return
    approx = "~" if prepared.estimated else ""
    table: list[list[object]] = [
        [
            row.name,
            row.label,
            row.mime,
            _size(row.size),
            row.pages if row.pages is not None else (row.slides if row.slides is not None else ""),
            f"{approx}{row.tokens:,}",
            _messages(cost(row)),
            "yes" if row.cut else "no",
        ]
        for row in prepared.files
    ]
    if not single:
        total = f"{approx}{prepared.tokens_sent:,}"
        cut = "yes" if prepared.cut else "no"
        table.append(["total", "", "", "", "", total, _messages(prepared.units), cut])
    app.out.table(["file", "type", "mime", "size", "pages/slides", "tokens", "cost", "cut"], table)


def _messages(n: int) -> str:
    return f"{n} message{'s' if n != 1 else ''}"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"

"""`chatpro upload`: files into analysis (the same path as `ask -f` and piped documents)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chatpro.cli.common import (
    chat_options,
    check_chat_flags,
    get_app,
    load_stdin,
    model_option,
    read_stdin_bytes,
    run_request,
    template_option,
)

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.files import Attachment
    from chatpro.models import ModelInfo

DEFAULT_PROMPT = (
    "Summarize these files for a freelancer: the key points, the deliverables, the deadlines "
    "and the risks."
)
PROGRESS_MIN_BYTES = 1024 * 1024


def progress_for(app: App, name: str) -> Callable[[int, int], None] | None:
    """A one-line progress bar on stderr for large files, on a terminal only."""
    if not app.out.stderr_is_tty or app.out.quiet:
        return None
    stream = app.out.stderr

    def report(done: int, total: int) -> None:
        if total <= 0:
            return
        width = 24
        filled = int(width * min(done, total) / total)
        stream.write(
            f"\rextracting {name} [{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}%"
        )
        if done >= total:
            stream.write("\r\033[K")
        stream.flush()

    return report


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
        attachments.append(load_path(path, progress=progress_for(app, path.name) if big else None))
    return attachments


def dry_run_rows(info: ModelInfo, attachments: list[Attachment]) -> dict[str, Any]:
    from chatpro.tokens import get_tokenizer
    from chatpro.usage import cost_units

    tok = get_tokenizer(info.encoding)
    rows = []
    for att in attachments:
        tokens = tok.count(att.text)
        rows.append(
            {
                "name": att.name,
                "type": att.label,
                "mime": att.mime,
                "bytes": att.size,
                "pages": att.pages,
                "slides": att.slides,
                "tokens": tokens,
                "cost": cost_units(tokens, [att.size]),
                "truncated": att.truncated,
            }
        )
    return {"model": info.name, "estimated": tok.estimated, "files": rows}


@click.command(
    epilog="""\b
Examples:
  chatpro upload brief.pdf -p "What are the deliverables?"
  chatpro upload contract.docx deck.pptx --json | jq -r .text
  chatpro upload --dry-run *.pdf          # type, size, tokens and cost; nothing sent
  chatpro upload --extract notes.docx > notes.txt
  curl -s https://example.com/brief.pdf | chatpro upload -

\b
Types: .cpp .cs .css .doc .docx .html .java .js .json .md .pdf .php .pptx .py .rb .sh .tex
.ts .txt (at most 10 MB each).
""",
)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "-p",
    "--prompt",
    metavar="TEXT",
    help="What to ask about the files (default: a summary of key points, deliverables, deadlines and risks).",
)
@model_option
@template_option
@chat_options
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
@click.pass_context
def upload(
    ctx: click.Context,
    files: tuple[str, ...],
    prompt: str | None,
    model: str | None,
    template: str | None,
    continue_latest: bool,
    chat_id: str | None,
    as_json: bool,
    no_stream: bool,
    no_fallback: bool,
    dry_run: bool,
    extract: bool,
) -> None:
    """Analyse files: PDF, Word (.docx, .doc), PowerPoint, code and text.

    Every file is checked (type, size, bytes) and its text extracted before anything is sent;
    a refused file is exit 2 and nothing is sent or charged. Files need a model that takes
    files (gpt-4o).
    """
    from chatpro.errors import InputError
    from chatpro.request import AskRequest

    app = get_app(ctx)
    check_chat_flags(continue_latest, chat_id)
    if dry_run and extract:
        raise InputError("use either --dry-run or --extract, not both")
    if files.count("-") > 1:
        raise InputError("stdin ('-') can be given only once")
    attachments = load_all(app, files)
    if extract:
        for att in attachments:
            if len(attachments) > 1:
                app.out.line(f"--- {att.name} ---")
            app.out.write(att.text if att.text.endswith("\n") or not att.text else att.text + "\n")
        return
    if dry_run:
        _print_dry_run(app, model, attachments, as_json)
        return
    request = AskRequest(
        prompt=prompt if prompt is not None else ("" if template else DEFAULT_PROMPT),
        model=model,
        template=template,
        attachments=attachments,
        continue_latest=continue_latest,
        chat_id=chat_id,
        stream=not no_stream,
        allow_fallback=False,
    )
    run_request(app, request, as_json=as_json)


def _print_dry_run(
    app: App, model: str | None, attachments: list[Attachment], as_json: bool
) -> None:
    from chatpro.request import require_file_model

    info = app.catalog.resolve(model) if model else app.catalog.default
    require_file_model(app.catalog, info)
    report = dry_run_rows(info, attachments)
    if as_json:
        app.out.json(report)
        return
    approx = "~" if report["estimated"] else ""
    app.out.table(
        ["file", "type", "mime", "size", "pages/slides", "tokens", "cost"],
        [
            [
                r["name"],
                r["type"],
                r["mime"],
                _size(r["bytes"]),
                r["pages"]
                if r["pages"] is not None
                else (r["slides"] if r["slides"] is not None else ""),
                f"{approx}{r['tokens']:,}",
                f"{r['cost']} message{'s' if r['cost'] != 1 else ''}",
            ]
            for r in report["files"]
        ],
    )


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"

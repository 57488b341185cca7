"""`chatpro ask`: one prompt in, one answer out."""

from __future__ import annotations

from pathlib import Path

import click

from chatpro.cli.common import (
    chat_options,
    client_option,
    get_app,
    load_schema,
    model_option,
    open_conversation,
    raw_option,
    read_stdin_payload,
    run_turn,
    schema_options,
    schema_system,
    template_option,
)


@click.command(
    epilog="""\b
Examples:
  chatpro ask "Draft a reply asking the client for a deadline extension"
  git diff | chatpro ask -m fast "Write a commit message for this"
  chatpro ask -f contract.pdf "What are the payment terms?"
  chatpro ask -c "Make it shorter"
  chatpro ask --json "Name three risks" | jq -r .text
"""
)
@click.argument("prompt", nargs=-1)
@model_option
@click.option("-s", "--system", metavar="TEXT", help="A system prompt for this request.")
@click.option(
    "-f",
    "--file",
    "files",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=False),
    help="Attach a file (repeatable); same types and limits as 'chatpro upload'.",
)
@template_option
@chat_options
@client_option
@raw_option
@click.option(
    "--no-stream", is_flag=True, help="Wait for the whole answer instead of streaming it."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object with the answer and usage."
)
@click.option("--no-log", is_flag=True, help="Do not record this exchange in the chat log.")
@click.option(
    "--no-fallback", is_flag=True, help="Fail (exit 3) instead of falling back to another model."
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    metavar="N",
    help="Limit the answer's length in tokens.",
)
@click.option(
    "--temperature",
    type=click.FloatRange(0.0, 2.0),
    metavar="T",
    help="Sampling temperature, 0 to 2.",
)
@schema_options
@click.pass_context
def ask(
    ctx: click.Context,
    prompt: tuple[str, ...],
    model: str | None,
    system: str | None,
    files: tuple[Path, ...],
    template: str | None,
    continue_latest: bool,
    chat_id: str | None,
    client: str | None,
    raw: bool,
    no_stream: bool,
    as_json: bool,
    no_log: bool,
    no_fallback: bool,
    max_tokens: int | None,
    temperature: float | None,
    schema_spec: str | None,
    schema_multi: bool,
) -> None:
    """Ask one question; the answer streams to stdout.

    PROMPT words are joined by spaces. Text piped on stdin is appended after a blank line (or is
    the prompt); a piped PDF, Word or PowerPoint document is attached as a file.
    """
    from chatpro.conversation import Turn
    from chatpro.files import load_path

    app = get_app(ctx)
    app.out.raw = raw
    schema = load_schema(schema_spec, schema_multi)
    conversation = open_conversation(
        app,
        model=model,
        system=schema_system(system, schema),
        template=template,
        continue_latest=continue_latest,
        chat_id=chat_id,
        client=client,
    )
    text = " ".join(prompt).strip()
    attachments = [load_path(path) for path in files]
    kind, payload = read_stdin_payload(app)
    if kind == "document":
        attachments.append(payload)
    elif kind == "text" and payload.strip():
        text = f"{text}\n\n{payload}" if text else payload
    turn = Turn(
        prompt=text,
        attachments=attachments,
        stream=not no_stream,
        log=not no_log,
        allow_fallback=not no_fallback,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    run_turn(app, conversation, turn, as_json=as_json, schema=schema)

"""`chatpro batch`: one prompt over many inputs, live or through the Batch API, and the remote
batches' status, fetch, cancel and list."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chatpro.cli.common import (
    get_app,
    load_schema,
    model_option,
    resolve_model,
    schema_options,
    schema_system,
    show_notices,
    template_option,
)
from chatpro.errors import InputError

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.batch.inputs import BatchInput
    from chatpro.batch.live import Job
    from chatpro.conversation import Conversation

SUBCOMMANDS = ("status", "fetch", "cancel", "list")


class BatchGroup(click.Group):
    """`batch [PROMPT] ...` runs a batch; `batch status|fetch|cancel|list` manage remote ones."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        run = self.commands["run"]
        with click.Context(run, info_name=ctx.info_name, parent=ctx.parent) as sub:
            run.format_help(sub, formatter)
        rows = [(n, self.commands[n].get_short_help_str(70)) for n in SUBCOMMANDS]
        with formatter.section("Remote batches"):
            formatter.write_dl(rows)


@click.group(
    cls=BatchGroup,
    epilog="""\b
Examples:
  chatpro batch --inputs leads.csv "Write a first line for {name}" -o out.jsonl
  chatpro batch fetch BATCH_ID -o out.jsonl
""",
)
def batch() -> None:
    """Run one prompt over many inputs; manage batches sent with --remote."""


@batch.command(
    "run",
    epilog="""\b
Examples:
  chatpro batch -f 'briefs/*.pdf' "List the deliverables" -o results.jsonl
  chatpro batch --inputs leads.csv "Write a first line for {name} at {company}" --jobs 8
  chatpro batch --inputs jobs.jsonl -t proposal --schema "title, budget int" -o out.jsonl
  chatpro batch --remote -f 'contracts/*.pdf' "Summarize"   # prints the batch id
  chatpro batch fetch BATCH_ID -o out.jsonl || [ $? -eq 75 ]   # not finished yet

\b
Each result is one JSON line: {"id", "input", "chat_id", "model", "text" or "json", "usage",
"error"}. Run it again with the same -o to skip inputs already done. Exit 0 when all succeeded,
5 when any failed, 3 when the allowance does not cover the batch (see --partial).
""",
)
@click.argument("prompt", nargs=-1)
@click.option(
    "-f",
    "--file",
    "files",
    multiple=True,
    metavar="FILE",
    help="An input file or glob (repeatable); one request each, like 'chatpro upload'.",
)
@click.option(
    "--inputs",
    "inputs_file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="A .jsonl (objects) or .csv (header row) file; each row fills {field} in the prompt.",
)
@template_option
@model_option
@schema_options
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    metavar="N",
    help="Requests at a time.",
)
@click.option(
    "-o",
    "--output",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="OUT.jsonl",
    help="Append result lines here (default: stdout); inputs done already are skipped.",
)
@click.option("--client", metavar="NAME", help="Tag every chat of the batch with client NAME.")
@click.option(
    "--no-fallback", is_flag=True, help="Fail (exit 3) instead of falling back to another model."
)
@click.option(
    "--partial", is_flag=True, help="When the allowance does not cover all, run those that fit."
)
@click.option("--remote", is_flag=True, help="Send through the server's Batch API; prints its id.")
@click.pass_context
def run_batch(
    ctx: click.Context,
    prompt: tuple[str, ...],
    files: tuple[str, ...],
    inputs_file: Path | None,
    template: str | None,
    model: str | None,
    schema_spec: str | None,
    schema_multi: bool,
    jobs: int,
    out_path: Path | None,
    client: str | None,
    no_fallback: bool,
    partial: bool,
    remote: bool,
) -> None:
    """Run one prompt over many inputs: files (-f) or rows (--inputs), N at a time.

    Every result is charged and logged like an ask. The whole batch's cost is checked against
    the allowance before anything is sent.
    """
    from chatpro.batch.inputs import file_inputs, row_inputs
    from chatpro.batch.results import done_ids

    app = get_app(ctx)
    schema = load_schema(schema_spec, schema_multi)
    if bool(files) == bool(inputs_file):
        raise InputError("give the inputs with either -f FILE... or --inputs FILE")
    if remote and out_path is not None:
        raise InputError("-o goes with 'batch fetch' for a remote batch")
    text = " ".join(prompt).strip()
    tpl = None
    if template:
        from chatpro.templates import get_template

        tpl = get_template(app.paths.templates_dir, template)
    if inputs_file is not None:
        row_prompt = tpl.render(text) if tpl else text
        if not row_prompt.strip():
            raise InputError("give a PROMPT or -t TEMPLATE for the rows")
        items = row_inputs(inputs_file, row_prompt)
        system = schema_system(tpl.system if tpl and tpl.system else None, schema)
        conv_template = None
    else:
        from chatpro.cli.upload import DEFAULT_PROMPT

        items = file_inputs(list(files), text or ("" if template else DEFAULT_PROMPT))
        system = schema_system(None, schema)
        conv_template = template
    if not items:
        raise InputError("no inputs: the inputs file has no rows")
    done = done_ids(out_path) if out_path is not None else set()
    pending = [item for item in items if item.id not in done]
    if not pending:
        app.out.notice(f"all {len(items)} inputs are done already (in {out_path})")
        return

    model_info = resolve_model(app, model) if model else None

    def new_conversation() -> Conversation:
        conversation = app.conversation(
            model_info=model_info, system=system, template=conv_template
        )
        conversation.client = client
        return conversation

    work = _price_all(app, new_conversation(), pending, allow_fallback=not no_fallback)
    if remote:
        _submit(app, work, schema=schema, client=client, partial=partial)
        return
    _run_live(
        app, work, new_conversation, schema, jobs, out_path, partial, len(items) - len(pending)
    )


def _price_all(
    app: App, conversation: Conversation, pending: list[BatchInput], *, allow_fallback: bool
) -> list[Job]:
    """Every input checked and priced before anything is sent (a refused file: exit 2)."""
    from chatpro.batch.live import price
    from chatpro.conversation import Notice, Turn, require_file_model
    from chatpro.files import load_path

    work = []
    for item in pending:
        attachments = []
        if item.path is not None:
            require_file_model(conversation.catalog, conversation.model_info)
            attachments.append(load_path(item.path))
        turn = Turn(
            prompt=item.prompt,
            attachments=attachments,
            allow_fallback=allow_fallback and not attachments,
        )
        job, prepared = price(conversation, item, turn)
        label = item.path.name if item.path is not None else f"row {item.label['row']}"
        show_notices(
            app, [Notice(f"{label}: {n.text}", warning=n.warning) for n in prepared.notices]
        )
        work.append(job)
    return work


def _run_live(
    app: App,
    work: list[Job],
    new_conversation: Any,
    schema: Any,
    jobs: int,
    out_path: Path | None,
    partial: bool,
    skipped: int,
) -> None:
    from chatpro.batch.live import LiveBatch, count_fitting, refuse_or_trim
    from chatpro.batch.results import LineSink, ResultsFile
    from chatpro.errors import Interrupted, ServiceError

    fitting = count_fitting(work, ledger=app.ledger(), catalog=app.catalog, fallback=True)
    runnable = refuse_or_trim(work, fitting, partial=partial)
    if len(runnable) < len(work):
        app.out.notice(
            f"running the {len(runnable)} of {len(work)} inputs that fit in the allowance"
        )
    if skipped:
        app.out.notice(f"skipping {skipped} inputs done already")
    from chatpro.lazy_openai import import_openai

    app.client()  # no key or a bad base URL: exit 4 before anything is sent
    import_openai()  # once, here: importing it from several threads at once can fail
    sink: Any = ResultsFile(out_path) if out_path is not None else LineSink(app.out.line)
    progress = (
        _Progress(app, len(runnable)) if app.out.stderr_is_tty and not app.out.quiet else None
    )
    runner = LiveBatch(
        new_conversation=new_conversation,
        sink=sink,
        jobs=jobs,
        schema=schema,
        on_progress=progress,
        on_warning=app.out.warning,
    )
    try:
        summary = runner.run(runnable)
    finally:
        sink.close()
        if progress is not None:
            progress.close()
    if summary.interrupted:
        raise Interrupted(
            f"interrupted: {summary.done + summary.failed} of {len(runnable)} inputs finished"
        )
    where = f" (see the error field in {out_path})" if out_path is not None else ""
    if summary.failed:
        raise ServiceError(f"{summary.failed} of {len(runnable)} inputs failed{where}")
    app.out.notice(f"{summary.done} inputs done")


class _Progress:
    """A one-line progress bar on a stderr terminal."""

    WIDTH = 24

    def __init__(self, app: App, total: int) -> None:
        self.stream = app.out.stderr
        self.total = total
        self.shown = False

    def __call__(self, done: int, failed: int, total: int) -> None:
        finished = done + failed
        filled = self.WIDTH * finished // max(total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        fail = f", {failed} failed" if failed else ""
        self.stream.write(f"\rbatch [{bar}] {finished}/{total}{fail}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _remote(app: App) -> Any:
    from chatpro.batch.remote import RemoteBatches

    return RemoteBatches(Path(app.paths.data_dir, "batches"), app.client)


def _submit(app: App, work: list[Job], *, schema: Any, client: str | None, partial: bool) -> None:
    """Send WORK as one remote batch: the allowance is checked (and the units recorded as
    reserved in the batch's state) like a live batch's; prints the batch id."""
    from chatpro.batch.live import count_fitting, refuse_or_trim

    fitting = count_fitting(work, ledger=app.ledger(), catalog=app.catalog, fallback=False)
    runnable = refuse_or_trim(work, fitting, partial=partial)
    state = _remote(app).submit(
        runnable,
        schema=schema,
        client_tag=client,
        created=app.clock.now().isoformat(timespec="seconds"),
        log=app.chatlog(),
        ledger=app.ledger(),
        catalog=app.catalog,
    )
    app.out.notice(
        f"sent {len(runnable)} requests as batch {state['id']} ({state['status']}); "
        f"fetch the results with 'chatpro batch fetch {state['id']}'"
    )
    app.out.line(state["id"])


def _latest_id(app: App) -> str:
    states = _remote(app).all()
    if not states:
        raise InputError("no batch was sent from here yet", hint="chatpro batch --remote ...")
    return str(states[-1]["id"])


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": state["id"],
        "status": state["status"],
        "created": state.get("created"),
        "inputs": len(state.get("items", {})),
        "counts": state.get("counts"),
        "charged": len(state.get("charged", [])),
        "reserved_units": state.get("reserved_units", 0),
        "errors": state.get("errors") or [],
    }


@batch.command(
    "status",
    epilog="""\b
Example:
  chatpro batch status --json | jq -r .status
""",
)
@click.argument("batch_id", required=False, metavar="[ID]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def status(ctx: click.Context, batch_id: str | None, as_json: bool) -> None:
    """Show a remote batch's status (default: the latest sent)."""
    app = get_app(ctx)
    state = _remote(app).refresh(batch_id or _latest_id(app))
    summary = _summary(state)
    if as_json:
        app.out.json(summary)
        return
    counts = summary["counts"] or {}
    app.out.line(
        f"{summary['id']}  {summary['status']}  {counts.get('completed', 0)} done, "
        f"{counts.get('failed', 0)} failed of {summary['inputs']}"
    )
    for error in summary["errors"]:
        app.out.line(f"  error: {error}")


@batch.command(
    "fetch",
    epilog="""\b
Example:
  chatpro batch fetch BATCH_ID -o out.jsonl; [ $? -eq 75 ] && echo "not yet"
""",
)
@click.argument("batch_id", metavar="ID")
@click.option(
    "-o",
    "--output",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="OUT.jsonl",
    help="Append the result lines here (default: stdout).",
)
@click.pass_context
def fetch(ctx: click.Context, batch_id: str, out_path: Path | None) -> None:
    """Write a finished remote batch's results; exit 75 while it is not finished yet.

    Each answer is charged and logged once, however often the batch is fetched.
    """
    from chatpro.batch.results import LineSink, ResultsFile, done_ids
    from chatpro.errors import ServiceError

    app = get_app(ctx)
    fetched = _remote(app).fetch(
        batch_id,
        ledger=app.ledger(),
        log=app.chatlog(),
        catalog=app.catalog,
        clock=app.clock,
        warn_at=app.settings.warn_at,
    )
    done = done_ids(out_path) if out_path is not None else set()
    sink: Any = ResultsFile(out_path) if out_path is not None else LineSink(app.out.line)
    try:
        for line in fetched.lines:
            if line["id"] not in done:
                sink.write(line)
    finally:
        sink.close()
    for warning in fetched.warnings:
        app.out.warning(warning)
    if fetched.failed:
        raise ServiceError(f"{fetched.failed} of {len(fetched.lines)} inputs failed")


@batch.command(
    "cancel",
    epilog="""\b
Example:
  chatpro batch cancel BATCH_ID
""",
)
@click.argument("batch_id", metavar="ID")
@click.pass_context
def cancel(ctx: click.Context, batch_id: str) -> None:
    """Cancel a remote batch; answers done before it stopped can still be fetched."""
    app = get_app(ctx)
    state = _remote(app).cancel(batch_id)
    app.out.line(f"{state['id']}  {state['status']}")


@batch.command(
    "list",
    epilog="""\b
Example:
  chatpro batch list --json
""",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def list_batches(ctx: click.Context, as_json: bool) -> None:
    """List the remote batches sent from here, as last seen (status refreshes them)."""
    app = get_app(ctx)
    summaries = [_summary(state) for state in _remote(app).all()]
    if as_json:
        app.out.json(summaries)
        return
    app.out.table(
        ["id", "status", "created", "inputs", "charged"],
        [[s["id"], s["status"], s["created"], s["inputs"], s["charged"]] for s in summaries],
    )

"""`chatpro history`: the chat log — list, show, search, export, delete, clear, prune."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import click

from chatpro.chatlog.records import record_title
from chatpro.cli.common import get_app, write_result
from chatpro.cli.complete import complete_chat_ids
from chatpro.cli.views import chat_table, when
from chatpro.errors import Cancelled, InputError
from chatpro.render import one_line

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.chatlog import ChatLog

DEFAULT_LIMIT = 20


def _list(
    app: App, limit: int | None, show_all: bool, as_json: bool, client: str | None = None
) -> None:
    cap = None if show_all else (limit or DEFAULT_LIMIT)
    if client is None:
        chats = app.chatlog().chats(limit=cap)
    else:
        from chatpro.clients import check_client_name

        log = app.chatlog()
        ids = log.client_chat_ids(check_client_name(client, "--client"))
        chats = [c for c in log.chats(limit=None) if c.chat_id in ids][:cap] if ids else []
    if as_json:
        app.out.json(
            [
                {
                    "chat_id": c.chat_id,
                    "last_activity": c.last_ts.isoformat(timespec="milliseconds"),
                    "started": c.first_ts.isoformat(timespec="milliseconds"),
                    "model": c.model,
                    "messages": c.messages,
                    "title": c.title,
                    "expires_in_days": c.expires_in_days,
                }
                for c in chats
            ]
        )
        return
    if not chats and client is not None:
        app.out.notice(f"no chats for client {client!r}")
        return
    if not chats:
        app.out.notice(f"no chats yet (chats are kept for {app.settings.retention_days} days)")
        return
    app.out.table(*chat_table(chats))


@click.group(
    invoke_without_command=True,
    epilog="""\b
Examples:
  chatpro history                       # the 20 most recent chats
  chatpro history show c_3f9a           # a unique prefix of the id is enough
  chatpro history search invoice --json | jq -r '.[].chat_id'
  chatpro history export --format md -o chats.md
  chatpro history delete c_3f9a --yes
""",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Show at most N chats (default {DEFAULT_LIMIT}).",
)
@click.option("--all", "show_all", is_flag=True, help="Show every chat.")
@click.option("--client", metavar="NAME", help="Only chats with work for this client.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def history(
    ctx: click.Context, limit: int | None, show_all: bool, client: str | None, as_json: bool
) -> None:
    """List past chats, newest first (messages are kept for history.retention_days, at most 90)."""
    if ctx.invoked_subcommand is None:
        _list(get_app(ctx), limit, show_all, as_json, client)


@history.command("list")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Show at most N chats (default {DEFAULT_LIMIT}).",
)
@click.option("--all", "show_all", is_flag=True, help="Show every chat.")
@click.option("--client", metavar="NAME", help="Only chats with work for this client.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_chats(
    ctx: click.Context, limit: int | None, show_all: bool, client: str | None, as_json: bool
) -> None:
    """List chats: id, last activity, model, messages, title, days until it expires.

    \b
    Example:
      chatpro history list --all --json
      chatpro history list --client acme
    """
    _list(get_app(ctx), limit, show_all, as_json, client)


@history.command("show")
@click.argument("chat_id", metavar="ID", shell_complete=complete_chat_ids)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, chat_id: str, as_json: bool) -> None:
    """Print one chat's messages.

    \b
    Example:
      chatpro history show c_3f9a --json | jq -r '.messages[-1].content'
    """
    app = get_app(ctx)
    log = app.chatlog()
    full = log.resolve(chat_id)
    messages = log.messages(full)
    if as_json:
        app.out.json({"chat_id": full, "messages": messages})
        return
    for i, record in enumerate(messages):
        if i:
            app.out.line()
        extra = " (interrupted)" if record.get("interrupted") else ""
        app.out.line(
            f"--- {record.get('role')} · {when(record['ts'])} · {record.get('model', '')}{extra}"
        )
        for att in record.get("attachments") or []:
            app.out.line(
                f"[attached: {att.get('name')} ({att.get('mime')}, {att.get('bytes')} bytes)]"
            )
        app.out.line(str(record.get("content", "")))


@history.command("search")
@click.argument("text")
@click.option(
    "--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N matches (default 50)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(ctx: click.Context, text: str, limit: int | None, as_json: bool) -> None:
    """Find messages containing TEXT (case-insensitive), newest first.

    \b
    Example:
      chatpro history search "payment terms"
    """
    app = get_app(ctx)
    if not text.strip():
        raise InputError("nothing to search for")
    hits = app.chatlog().search(text, limit=limit or 50)
    if as_json:
        app.out.json(
            [
                {
                    "chat_id": h.chat_id,
                    "message_id": h.message_id,
                    "ts": h.ts.isoformat(timespec="milliseconds"),
                    "role": h.role,
                    "snippet": h.snippet,
                }
                for h in hits
            ]
        )
        return
    if not hits:
        app.out.notice(f"no messages match {text!r}")
        return
    app.out.table(
        ["chat", "time", "role", "snippet"],
        [[h.chat_id, when(h.ts), h.role, h.snippet] for h in hits],
    )


def _with_texts(log: ChatLog, record: dict[str, Any]) -> dict[str, Any]:
    """RECORD with each attachment's stored text as ``attachments[].text`` (None when not kept)."""
    attachments = record.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return record
    texts = []
    for att in attachments:
        if isinstance(att, dict):
            sha = att.get("sha256")
            att = {**att, "text": log.file_text(sha) if isinstance(sha, str) else None}
        texts.append(att)
    return {**record, "attachments": texts}


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in TEXT."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _render_markdown(chats: list[tuple[str, list[dict[str, Any]]]]) -> str:
    out: list[str] = []
    for chat_id, messages in chats:
        first = next((m for m in messages if m.get("role") == "user"), None)
        title = record_title(first) if first is not None else ""
        out.append(f"# {one_line(title, 80) or chat_id}\n")
        out.append(f"Chat `{chat_id}`\n")
        for m in messages:
            out.append(
                f"## {m.get('role', '').capitalize()} · {when(m['ts'])} · {m.get('model', '')}\n"
            )
            for att in m.get("attachments") or []:
                out.append(
                    f"*Attached: {att.get('name')} ({att.get('mime')}, {att.get('bytes')} bytes)*\n"
                )
                text = att.get("text")
                if isinstance(text, str):
                    fence = _fence(text)
                    out.append(f"{fence}text\n{text}\n{fence}\n")
            out.append(f"{m.get('content', '')}\n")
    return "\n".join(out)


@history.command("export")
@click.argument("chat_ids", metavar="[ID]...", nargs=-1, shell_complete=complete_chat_ids)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "md"]),
    default="jsonl",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write to FILE (mode 0600) instead of stdout.",
)
@click.option(
    "--with-files",
    is_flag=True,
    help="Include the extracted text of attached files (attachments[].text; fenced in md).",
)
@click.pass_context
def export(
    ctx: click.Context, chat_ids: tuple[str, ...], fmt: str, output: str | None, with_files: bool
) -> None:
    """Export chats (all of them, or the IDs given) as JSON lines, JSON or Markdown.

    \b
    Examples:
      chatpro history export > backup.jsonl
      chatpro history export c_3f9a --format md -o proposal-chat.md
    """
    import json  # only export writes JSON: not at import, which every `history` pays

    app = get_app(ctx)
    log = app.chatlog()
    wanted = [log.resolve(c) for c in chat_ids]

    def complete(record: dict[str, Any]) -> dict[str, Any]:
        return _with_texts(log, record) if with_files else record

    if fmt == "jsonl" and not wanted:
        lines = [json.dumps(complete(r), ensure_ascii=False) for r in log.iter_records()]
        text = "\n".join(lines) + ("\n" if lines else "")
    else:
        ids = wanted or [c.chat_id for c in reversed(log.chats(limit=None))]
        chats = [(cid, [complete(r) for r in log.messages(cid)]) for cid in ids]
        if fmt == "jsonl":
            lines = [json.dumps(r, ensure_ascii=False) for _, msgs in chats for r in msgs]
            text = "\n".join(lines) + ("\n" if lines else "")
        elif fmt == "json":
            text = (
                json.dumps(
                    [{"chat_id": cid, "messages": msgs} for cid, msgs in chats],
                    ensure_ascii=False,
                    indent=2,
                )
                + "\n"
            )
        else:
            text = _render_markdown(chats)
    write_result(app, text, output)


def _confirm(app: App, question: str, yes: bool, what: str) -> None:
    if yes:
        return
    if not app.stdin_is_tty:
        raise InputError(f"{what} needs --yes when not run on a terminal; nothing was deleted")
    if not click.confirm(question, default=False, err=True):
        raise Cancelled("cancelled; nothing was deleted")


@history.command("delete")
@click.argument(
    "chat_ids", metavar="ID...", nargs=-1, required=True, shell_complete=complete_chat_ids
)
@click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal)."
)
@click.pass_context
def delete(ctx: click.Context, chat_ids: tuple[str, ...], yes: bool) -> None:
    """Delete chats (allowance already used is not refunded).

    \b
    Example:
      chatpro history delete c_3f9a c_77b2 --yes
    """
    app = get_app(ctx)
    log = app.chatlog()
    ids = list(dict.fromkeys(log.resolve(c) for c in chat_ids))
    _confirm(
        app,
        f"Delete {len(ids)} chat{'s' if len(ids) != 1 else ''} ({', '.join(ids)})?",
        yes,
        "history delete",
    )
    removed = log.delete(ids)
    app.out.notice(f"deleted {len(ids)} chat{'s' if len(ids) != 1 else ''} ({removed} messages)")


@history.command("clear")
@click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal)."
)
@click.pass_context
def clear(ctx: click.Context, yes: bool) -> None:
    """Delete every chat (allowance already used is not refunded).

    \b
    Example:
      chatpro history clear --yes
    """
    app = get_app(ctx)
    _confirm(app, "Delete every chat in the log?", yes, "history clear")
    removed = app.chatlog().clear()
    app.out.notice(f"deleted all chats ({removed} messages)")


@history.command("prune")
@click.pass_context
def prune(ctx: click.Context) -> None:
    """Remove messages older than history.retention_days now (this also happens daily on write).

    \b
    Example:
      chatpro history prune
    """
    app = get_app(ctx)
    removed = app.chatlog().prune()
    app.out.notice(f"removed {removed} expired message{'s' if removed != 1 else ''}")

"""Dynamic shell completion: model names and aliases, template names, chat ids.

Click calls these while the shell asks for candidates (`_CHATPRO_COMPLETE=bash_complete …`), before
any command runs, so there is no App in ctx.obj: each callback builds what it needs from the
environment. Everything heavy is imported inside the callbacks, and a callback never raises or
prints: a broken config or chat log means fewer candidates, not a traceback in the user's shell.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from click import Context, Parameter
    from click.shell_completion import CompletionItem

    from chatpro.paths import Paths

# Reading a huge chat log for ids must not stall the shell: only the last this many bytes count.
CHAT_TAIL_BYTES = 8 * 1024 * 1024


def _paths() -> Paths:
    from chatpro.paths import resolve_paths

    return resolve_paths(os.environ)


def _items(pairs: list[tuple[str, str]], incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    seen: set[str] = set()
    items = []
    for value, help_text in pairs:
        if value in seen or not value.startswith(incomplete):
            continue
        seen.add(value)
        items.append(CompletionItem(value, help=help_text or None))
    return items


def model_candidates() -> list[tuple[str, str]]:
    """(name, description) for every model and alias the config knows, built-ins when it is broken."""
    from chatpro.config import Settings, load_settings
    from chatpro.models import build_catalog

    try:
        settings = load_settings(_paths().config_file)
    except Exception:  # noqa: BLE001 - completion must never fail
        settings = Settings()
    catalog = build_catalog(settings)
    pairs = [(m.name, m.description) for m in catalog.models.values()]
    pairs += [(alias, f"alias for {target}") for alias, target in catalog.aliases.items()]
    return pairs


def template_candidates() -> list[tuple[str, str]]:
    """(name, description) of built-in and user templates; built-ins alone when a file is broken."""
    from chatpro import templates

    try:
        found = templates.list_templates(_paths().templates_dir)
    except Exception:  # noqa: BLE001 - completion must never fail
        return [(name, "") for name in templates.BUILTIN_NAMES]
    return [(t.name, t.description) for t in found]


def chat_candidates() -> list[tuple[str, str]]:
    """(chat id, title) newest first, from the chat log (the log's own reader when present)."""
    paths = _paths()
    try:
        from chatpro.chatlog import ChatLog
    except ImportError:
        return _scan_chat_ids(paths.chats_file)
    try:
        from chatpro.clock import clock_from_env
        from chatpro.config import load_settings

        log = ChatLog(
            paths.chats_file,
            clock=clock_from_env(os.environ),
            retention_days=load_settings(paths.config_file).retention_days,
            warn=lambda message: None,
        )
        return [(c.chat_id, _one_line(c.title)) for c in log.chats(limit=None)]
    except Exception:  # noqa: BLE001 - completion must never fail
        return _scan_chat_ids(paths.chats_file)


def _one_line(text: Any, width: int = 60) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _scan_chat_ids(chats_file: Any) -> list[tuple[str, str]]:
    """Chat ids from the tail of chats.jsonl, newest first; torn or foreign lines are skipped."""
    import json

    try:
        with open(chats_file, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > CHAT_TAIL_BYTES:
                fh.seek(size - CHAT_TAIL_BYTES)
                fh.readline()  # drop the partial first line
            data = fh.read()
    except OSError:
        return []
    titles: dict[str, str] = {}
    order: list[str] = []
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("chat_id"), str):
            continue
        chat_id = record["chat_id"]
        if chat_id not in titles:
            titles[chat_id] = ""
        if not titles[chat_id] and record.get("role") == "user":
            titles[chat_id] = _one_line(record.get("content"))
        order.append(chat_id)
    newest = list(dict.fromkeys(reversed(order)))
    return [(chat_id, titles[chat_id]) for chat_id in newest]


def complete_models(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """Model names and aliases (for -m/--model, `model set`, `usage MODEL`)."""
    try:
        return _items(model_candidates(), incomplete)
    except Exception:  # noqa: BLE001 - completion must never fail
        return []


def complete_templates(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """Template names (for -t/--template and `templates show`)."""
    try:
        return _items(template_candidates(), incomplete)
    except Exception:  # noqa: BLE001 - completion must never fail
        return []


def complete_chat_ids(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """Chat ids, newest first (for --chat and history show/delete/export)."""
    try:
        return _items(chat_candidates(), incomplete)
    except Exception:  # noqa: BLE001 - completion must never fail
        return []

"""The chat log, ``chats.jsonl``: one JSON message record a line (SPEC "history — the chat log").

Public API: ChatLog, the record helpers and the two result types. See store.py for the locking
and retention rules, and blocks.py/queries.py/search.py for how big logs are read cheaply.

The names are loaded when first used (PEP 562), so a module that needs only one part (the usage
report reads blocks.py) does not build the whole store at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatpro.lazy import lazy_exports

if TYPE_CHECKING:
    from chatpro.chatlog.queries import ChatSummary, SearchHit
    from chatpro.chatlog.records import (
        RECORD_VERSION,
        dump_line,
        format_ts,
        make_record,
        new_chat_id,
        new_message_id,
        parse_ts,
        title_of,
    )
    from chatpro.chatlog.store import MAX_RETENTION_DAYS, ChatLog

# public name -> the module that defines it
_WHERE = {
    "ChatSummary": "queries",
    "SearchHit": "queries",
    "RECORD_VERSION": "records",
    "dump_line": "records",
    "format_ts": "records",
    "make_record": "records",
    "new_chat_id": "records",
    "new_message_id": "records",
    "parse_ts": "records",
    "title_of": "records",
    "MAX_RETENTION_DAYS": "store",
    "ChatLog": "store",
}

__all__ = [
    "MAX_RETENTION_DAYS",
    "RECORD_VERSION",
    "ChatLog",
    "ChatSummary",
    "SearchHit",
    "dump_line",
    "format_ts",
    "make_record",
    "new_chat_id",
    "new_message_id",
    "parse_ts",
    "title_of",
]


__getattr__ = lazy_exports(__name__, _WHERE)

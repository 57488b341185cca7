"""The chat log, ``chats.jsonl``: one JSON message record a line (SPEC "history — the chat log").

Public API: ChatLog, the record helpers and the two result types. See store.py for the locking
and retention rules, and blocks.py/queries.py/search.py for how big logs are read cheaply.
"""

from __future__ import annotations

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

"""What one message to the model is, at each step: the Turn a front end asks for, the Prepared
request (checked, priced, nothing sent), the Answer that came back, and how an exchange is
written to the chat log. Plain values, shared by the Conversation, the front ends and batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from chatpro.errors import ChatproError
from chatpro.money import money_number

if TYPE_CHECKING:
    from chatpro.chatlog import ChatLog
    from chatpro.clock import Clock
    from chatpro.files import Attachment
    from chatpro.models import ModelInfo


class Notice(NamedTuple):
    """A line for stderr: a warning (never hidden) or a notice (hidden by --quiet)."""

    text: str
    warning: bool = False


@dataclass(frozen=True)
class Turn:
    """One message to send: the prompt, files attached to it, and how to send it."""

    prompt: str
    attachments: Sequence[Attachment] = ()
    model: str | None = None  # this turn only; None: the chat's model
    stream: bool = True
    log: bool = True
    allow_fallback: bool = True
    max_tokens: int | None = None
    temperature: float | None = None
    title: str | None = None  # the chat's title when the prompt is not one (an upload's files)
    response_format: dict[str, Any] | None = None  # structured output (chatpro.schema)


@dataclass(frozen=True)
class FileRow:
    """A file of the request as it will be sent: what dry-run prints and the log records."""

    name: str
    mime: str
    label: str
    size: int
    sha256: str
    pages: int | None
    slides: int | None
    tokens: int
    cut: bool
    earlier: bool  # attached earlier in the chat (sent again as context)

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mime": self.mime,
            "bytes": self.size,
            "sha256": self.sha256,
            "tokens": self.tokens,
        }


@dataclass
class Prepared:
    """Everything needed to send, already checked; built before any side effect."""

    turn: Turn
    model: ModelInfo
    requested: ModelInfo
    chat_id: str
    new_chat: bool
    messages: list[dict[str, str]]
    user_content: str
    system_record: str | None
    files: list[FileRow]
    new_file_texts: list[tuple[str, str]]  # (sha256, text) of files attached by this turn
    tokens_sent: int
    units: int
    estimated: bool
    cut: bool
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    """What a sent request achieved. STOP is set when the answer was cut short or interrupted:
    the partial answer was still charged and logged, and the front end raises STOP after it."""

    chat_id: str
    model: str
    requested_model: str
    text: str
    finish_reason: str | None
    client: str | None
    prompt_tokens: int
    completion_tokens: int
    units: int
    estimated: bool
    warnings: list[str]
    cost: Decimal | None = None
    stop: ChatproError | None = None

    @property
    def fallback(self) -> bool:
        return self.model != self.requested_model

    @property
    def interrupted(self) -> bool:
        return self.stop is not None

    def incomplete_notice(self) -> str | None:
        """What to say on stderr about a complete answer that is still not a whole one."""
        if self.stop is not None:
            return None
        if self.finish_reason == "length":
            return 'the answer stopped at the length limit (finish_reason "length"); it may be incomplete'
        if not self.text.strip():
            return "the model sent an empty answer"
        if self.finish_reason == "content_filter":
            return "the answer was stopped by the server's content filter"
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "model": self.model,
            "requested_model": self.requested_model,
            "fallback": self.fallback,
            "text": self.text,
            "finish_reason": self.finish_reason,
            "client": self.client,
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "units": self.units,
                "estimated": self.estimated,
                "cost": money_number(self.cost),
            },
            "warnings": self.warnings,
            "interrupted": self.interrupted,
        }


def record_exchange(
    log: ChatLog,
    clock: Clock,
    *,
    chat_id: str,
    requested_model: str,
    system_record: str | None,
    user_content: str,
    attachments: list[dict[str, Any]],
    new_file_texts: Sequence[tuple[str, str]],
    answer: Answer,
    title: str | None = None,
) -> None:
    """Append one exchange (system text of a new chat, the question, the answer) to the log:
    the one way an answer is logged, also for `batch fetch`."""
    from chatpro.chatlog import make_record

    now = clock.now()
    records = []
    if system_record:
        records.append(
            make_record(
                chat_id=chat_id,
                role="system",
                model=requested_model,
                content=system_record,
                ts=now,
                client=answer.client,
            )
        )
    records.append(
        make_record(
            chat_id=chat_id,
            role="user",
            model=requested_model,
            content=user_content,
            ts=now,
            attachments=attachments,
            usage={
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": 0,
                "units": answer.units,
            },
            client=answer.client,
        )
    )
    if answer.cost is not None:
        records[-1]["cost"] = money_number(answer.cost)
    if title:
        records[-1]["title"] = title
    records.append(
        make_record(
            chat_id=chat_id,
            role="assistant",
            model=answer.model,
            content=answer.text,
            ts=clock.now(),
            usage={
                "prompt_tokens": 0,
                "completion_tokens": answer.completion_tokens,
                "units": 0,
            },
            interrupted=answer.interrupted,
            client=answer.client,
        )
    )
    log.append(records, files=dict(new_file_texts))

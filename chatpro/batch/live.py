"""The live batch: the requests of a batch N at a time, each through its own Conversation.

Each input is prepared (every check, priced) before anything is sent, the whole batch's cost is
checked against the allowance, then worker threads send them; each answer is charged and logged
like an ask (the ledger and chat log lock their files), and its result line is written as soon
as it is settled. Ctrl-C stops new requests, cuts the running ones at their next chunk (their
partial answers are charged, logged and written with an error), and then ends the batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from chatpro.batch.inputs import BatchInput
from chatpro.errors import AllowanceError, ChatproError, Interrupted

if TYPE_CHECKING:
    from chatpro.conversation import Answer, Conversation, Prepared, Turn
    from chatpro.models import Catalog, ModelInfo
    from chatpro.schema import Schema
    from chatpro.usage import Ledger


class Sink(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Job:
    """An input ready to send: its turn and what it costs on the model asked for."""

    input: BatchInput
    turn: Turn
    model: ModelInfo
    units: int
    prepared: Prepared  # as priced (the remote batch sends exactly this)


@dataclass(frozen=True)
class Summary:
    done: int
    failed: int
    interrupted: bool


def price(conversation: Conversation, item: BatchInput, turn: Turn) -> tuple[Job, Prepared]:
    """Prepare TURN without deciding on the allowance: every check, and its price."""
    prepared = conversation.prepare(turn, check_allowance=False)
    return Job(item, turn, prepared.model, prepared.units, prepared), prepared


def count_fitting(jobs: Sequence[Job], *, ledger: Ledger, catalog: Catalog, fallback: bool) -> int:
    """How many jobs, in order, the allowance left pays for (text rows may use the fallback)."""
    left: dict[str, int | None] = {}

    def remaining(model: ModelInfo) -> int | None:
        if model.name not in left:
            left[model.name] = ledger.status([model]).models[0].remaining
        return left[model.name]

    for count, job in enumerate(jobs):
        chain = [job.model]
        if fallback and job.turn.allow_fallback and not job.turn.attachments:
            name = job.model.fallback
            while name and name not in {m.name for m in chain}:
                try:
                    chain.append(catalog.lookup(name))
                except KeyError:
                    break
                name = chain[-1].fallback
        for model in chain:
            rest = remaining(model)
            if rest is None or rest >= job.units:
                if rest is not None:
                    left[model.name] = rest - job.units
                break
        else:
            return count
    return len(jobs)


def refuse_or_trim(jobs: list[Job], fitting: int, *, partial: bool) -> list[Job]:
    """All JOBS when they fit; with PARTIAL the first FITTING; else exit 3 naming how many fit."""
    if fitting >= len(jobs):
        return jobs
    if partial and fitting > 0:
        return jobs[:fitting]
    total = sum(job.units for job in jobs)
    raise AllowanceError(
        f"the batch costs {total} message{'s' if total != 1 else ''} but only {fitting} of its "
        f"{len(jobs)} inputs fit in the allowance left",
        hint="--partial runs those that fit; `chatpro usage` shows what is left",
    )


def result_line(
    item: BatchInput,
    answer: Answer | None,
    *,
    error: str | None,
    schema: Schema | None = None,
    value: Any = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {"id": item.id, "input": item.label}
    record["chat_id"] = answer.chat_id if answer is not None else None
    record["model"] = answer.model if answer is not None else None
    if schema is not None and error is None:
        record["json"] = value
    else:
        record["text"] = answer.text if answer is not None else None
    record["usage"] = (
        {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "units": answer.units,
            "estimated": answer.estimated,
        }
        if answer is not None
        else None
    )
    record["error"] = error
    return record


class LiveBatch:
    """Runs jobs JOBS at a time; NEW_CONVERSATION gives each request its own Conversation."""

    def __init__(
        self,
        *,
        new_conversation: Callable[[], Conversation],
        sink: Sink,
        jobs: int,
        schema: Schema | None = None,
        on_progress: Callable[[int, int, int], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.new_conversation = new_conversation
        self.sink = sink
        self.jobs = max(1, jobs)
        self.schema = schema
        self.on_progress = on_progress
        self.on_warning = on_warning
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._done = 0
        self._failed = 0

    def run(self, work: Sequence[Job]) -> Summary:
        total = len(work)
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="chatpro-batch")
        pending: set[Future[None]] = {pool.submit(self._one, job, total) for job in work}
        interrupted = False
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # a bug in a worker ends the batch like any bug
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self._stop.set()  # no new request starts; running ones stop at their next chunk
            pool.shutdown(wait=True, cancel_futures=True)
        return Summary(self._done, self._failed, interrupted)

    def _one(self, job: Job, total: int) -> None:
        if self._stop.is_set():
            return
        item = job.input
        answer: Answer | None = None
        value: Any = None
        error: str | None = None
        try:
            conversation = self.new_conversation()
            prepared = conversation.prepare(job.turn)
            if self.schema is not None:
                fmt = self.schema.response_format(prepared.model.name)
                prepared.turn = replace(prepared.turn, response_format=fmt)
            answer = conversation.send(prepared, self._check_stop)
            if answer.stop is not None:
                error = answer.stop.message
            elif self.schema is not None:
                value = self.schema.check_answer(answer.text)
        except Interrupted:
            return  # nothing came: nothing charged, the input stays to do
        except ChatproError as exc:
            error = exc.message
        if answer is not None and self.on_warning is not None:
            for warning in answer.warnings:
                self.on_warning(warning)
        self.sink.write(result_line(item, answer, error=error, schema=self.schema, value=value))
        with self._lock:
            if error is None:
                self._done += 1
            else:
                self._failed += 1
            done, failed = self._done, self._failed
        if self.on_progress is not None:
            self.on_progress(done, failed, total)

    def _check_stop(self, text: str) -> None:
        if self._stop.is_set():
            raise KeyboardInterrupt  # Conversation.send keeps, charges and logs the partial answer

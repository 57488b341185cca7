"""Batches through the server's Batch API: submit, follow, fetch (charge and log), cancel.

The state of each remote batch is DATA/batches/<id>.json (0600, atomic rewrites): what each
request was (its input, chat id, model, price, the user text and files for the log) and which
results have been charged already, so fetching twice never charges twice. The allowance is
reserved at submit, one ledger reservation per request that lasts the Batch API's 24-hour window
(so concurrent asks and other batches see it as used), and each answer is charged against its
reservation at fetch through the same ledger and `record_exchange` an ask uses; requests that
failed or expired release theirs. The Batch API's price is half the model's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatpro.batch.inputs import BatchInput
from chatpro.batch.live import Job, result_line
from chatpro.errors import ChatproError, InputError, NotReady
from chatpro.fsutil import atomic_write_bytes
from chatpro.paths import ensure_dir

if TYPE_CHECKING:
    from chatpro.chatlog import ChatLog
    from chatpro.client import ChatClient
    from chatpro.clock import Clock
    from chatpro.models import Catalog
    from chatpro.schema import Schema
    from chatpro.usage import Ledger
    from chatpro.usage.ledger import Reservation

ENDPOINT = "/v1/chat/completions"
RESERVATION_SECONDS = 25 * 3600  # the 24-hour completion window, and an hour to fetch
BATCH_PRICE = Decimal("0.5")  # the Batch API costs half the model's price
UNFINISHED = ("validating", "in_progress", "finalizing", "cancelling")


@dataclass
class Fetched:
    lines: list[dict[str, Any]]
    charged: int  # results charged by this fetch
    failed: int
    warnings: list[str]


class RemoteBatches:
    """The remote batches kept in STATE_DIR, talking to the server through CLIENT (a factory)."""

    def __init__(self, state_dir: Path, client: Callable[[], ChatClient]) -> None:
        self.state_dir = state_dir
        self.client = client

    # --- state --------------------------------------------------------------------------------

    def path(self, batch_id: str) -> Path:
        if not batch_id or "/" in batch_id or batch_id.startswith("."):
            raise InputError(f"not a batch id: {batch_id!r}")
        return self.state_dir / f"{batch_id}.json"

    def load(self, batch_id: str) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.path(batch_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"no batch {batch_id} was sent from here", hint="see 'chatpro batch list'"
            ) from None
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the state of batch {batch_id}: {exc}") from None
        return state

    def save(self, state: dict[str, Any]) -> None:
        ensure_dir(self.state_dir)
        data = json.dumps(state, ensure_ascii=False, indent=1).encode()
        atomic_write_bytes(self.path(state["id"]), data)

    def all(self) -> list[dict[str, Any]]:
        if not self.state_dir.is_dir():
            return []
        states = []
        for path in self.state_dir.glob("*.json"):
            try:
                states.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return sorted(states, key=lambda s: (s.get("created", ""), s.get("id", "")))

    # --- the API ------------------------------------------------------------------------------

    def _call(self, what: Callable[[Any], Any]) -> Any:
        client = self.client()
        try:
            return what(client._client())
        except ChatproError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped like every chat request's errors
            raise client._map_error(exc, attempts=1)[0] from None

    def submit(
        self,
        jobs: Sequence[Job],
        *,
        schema: Schema | None,
        client_tag: str | None,
        created: str,
        log: ChatLog,
        ledger: Ledger,
        catalog: Catalog,
    ) -> dict[str, Any]:
        """Reserve the allowance, upload the requests, create the batch, keep its state; returns
        the state. Nothing stays reserved when the upload or the creation fails."""
        held = [
            ledger.reserve(
                job.prepared.model,
                cost=job.prepared.units,
                lookup=catalog.lookup,
                no_fallback=True,
                has_files=bool(job.prepared.files),
                ttl_seconds=RESERVATION_SECONDS,
            )
            for job in jobs
        ]
        try:
            return self._submit(
                jobs, held, schema=schema, client_tag=client_tag, created=created, log=log
            )
        except BaseException:
            for reservation in held:
                ledger.release(reservation)
            raise

    def _submit(
        self,
        jobs: Sequence[Job],
        held: Sequence[Reservation],
        *,
        schema: Schema | None,
        client_tag: str | None,
        created: str,
        log: ChatLog,
    ) -> dict[str, Any]:
        lines, items = [], {}
        for n, (job, reservation) in enumerate(zip(jobs, held, strict=True), 1):
            prepared = job.prepared
            custom_id = f"req-{n}"
            body: dict[str, Any] = {"model": prepared.model.name, "messages": prepared.messages}
            if schema is not None:
                body["response_format"] = schema.response_format(prepared.model.name)
            lines.append({"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body})
            items[custom_id] = {
                "id": job.input.id,
                "input": job.input.label,
                "chat_id": prepared.chat_id,
                "model": prepared.model.name,
                "requested": prepared.requested.name,
                "units": prepared.units,
                "system": prepared.system_record,
                "user": prepared.user_content,
                "attachments": [row.record() for row in prepared.files if not row.earlier],
                "prompt_tokens": prepared.tokens_sent,
                "reservation": reservation.reservation_id,
                "reservation_expires": reservation.expires.isoformat(),
            }
            for sha, text in prepared.new_file_texts:  # kept now: the request no longer has them
                log.store_file_text(sha, text)
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        upload = self._call(
            lambda sdk: sdk.files.create(
                file=("batch.jsonl", data, "application/jsonl"), purpose="batch"
            )
        )
        batch = self._call(
            lambda sdk: sdk.batches.create(
                input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h"
            )
        )
        state = {
            "id": batch.id,
            "created": created,
            "status": batch.status,
            "input_file_id": upload.id,
            "output_file_id": None,
            "error_file_id": None,
            "client": client_tag,
            "schema": None
            if schema is None
            else {"name": schema.name, "schema": schema.schema, "multi": schema.multi},
            "reserved_units": sum(job.units for job in jobs),
            "items": items,
            "charged": [],
        }
        self.save(state)
        return state

    def refresh(self, batch_id: str) -> dict[str, Any]:
        """The batch's state with the server's latest status and counts."""
        state = self.load(batch_id)
        batch = self._call(lambda sdk: sdk.batches.retrieve(batch_id))
        self._update(state, batch)
        self.save(state)
        return state

    def cancel(self, batch_id: str) -> dict[str, Any]:
        state = self.load(batch_id)
        batch = self._call(lambda sdk: sdk.batches.cancel(batch_id))
        self._update(state, batch)
        self.save(state)
        return state

    @staticmethod
    def _update(state: dict[str, Any], batch: Any) -> None:
        state["status"] = batch.status
        state["output_file_id"] = getattr(batch, "output_file_id", None)
        state["error_file_id"] = getattr(batch, "error_file_id", None)
        counts = getattr(batch, "request_counts", None)
        if counts is not None:
            state["counts"] = {
                "total": counts.total,
                "completed": counts.completed,
                "failed": counts.failed,
            }
        errors = getattr(batch, "errors", None)
        data = getattr(errors, "data", None) or []
        state["errors"] = [str(getattr(e, "message", "") or getattr(e, "code", "")) for e in data]

    def fetch(
        self,
        batch_id: str,
        *,
        ledger: Ledger,
        log: ChatLog,
        catalog: Catalog,
        clock: Clock,
        warn_at: Sequence[int],
    ) -> Fetched:
        """The result line of every input; answers not charged before are charged and logged.
        NotReady (exit 75) while the batch is still running."""
        from chatpro.conversation import Answer, record_exchange
        from chatpro.money import cost_of
        from chatpro.schema import Schema

        state = self.refresh(batch_id)
        status = state["status"]
        if status in UNFINISHED:
            raise NotReady(f"batch {batch_id} is not finished yet ({status}); try again later")
        outcomes = self._results(state)
        spec = state.get("schema")
        schema = Schema(spec["name"], spec["schema"], spec["multi"]) if spec else None
        charged = set(state["charged"])
        fetched = Fetched([], 0, 0, [])
        for custom_id, item in state["items"].items():
            body, error = outcomes.get(custom_id, (None, _missing_reason(state)))
            answer = None
            value = None
            if body is not None:
                text, prompt_tokens, completion_tokens, model = _read_body(body, item)
                try:
                    info: Any = catalog.lookup(item["model"])
                except KeyError:
                    info = _Unlisted(item["model"])
                full_price = cost_of(info, prompt_tokens, completion_tokens)
                answer = Answer(
                    chat_id=item["chat_id"],
                    model=model,
                    requested_model=item["requested"],
                    text=text,
                    finish_reason=None,
                    client=state.get("client"),
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    units=item["units"],
                    estimated=False,
                    warnings=[],
                    cost=None if full_price is None else full_price * BATCH_PRICE,
                )
                if custom_id not in charged:
                    fetched.warnings += ledger.charge(
                        info,
                        units=item["units"],
                        prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens,
                        warn_at=warn_at,
                        reservation=_held(item),
                        client=answer.client,
                        cost=None if answer.cost is None else str(answer.cost),
                    )
                    record_exchange(
                        log,
                        clock,
                        chat_id=item["chat_id"],
                        requested_model=item["requested"],
                        system_record=item["system"],
                        user_content=item["user"],
                        attachments=item["attachments"],
                        new_file_texts=(),
                        answer=answer,
                    )
                    charged.add(custom_id)
                    state["charged"] = sorted(charged)
                    state["reserved_units"] = max(0, state["reserved_units"] - item["units"])
                    self.save(state)  # at once: a crash now never charges this answer again
                    fetched.charged += 1
                if schema is not None:
                    try:
                        value = schema.check_answer(text)
                    except ChatproError as exc:
                        error = exc.message
            line = result_line(
                BatchInput(item["id"], item["input"], ""),
                answer,
                error=error,
                schema=schema,
                value=value,
            )
            fetched.failed += error is not None
            fetched.lines.append(line)
        unanswered = [c for c in state["items"] if c not in charged]
        for custom_id in unanswered:  # the batch is over: what did not come back costs nothing
            reservation = _held(state["items"][custom_id])
            if reservation is not None:
                ledger.release(reservation)
        state["reserved_units"] = 0
        state["fetched"] = True
        state["unanswered"] = len(unanswered)
        self.save(state)
        return fetched

    def _results(
        self, state: dict[str, Any]
    ) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
        """custom_id -> (the chat completion body, or None and why not) from both files."""
        outcomes: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        for key in ("output_file_id", "error_file_id"):
            file_id = state.get(key)
            if not file_id:
                continue
            content = self._call(_file_content(file_id))
            for raw in content.content.decode("utf-8", "replace").splitlines():
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
                    continue
                outcomes[line["custom_id"]] = _outcome(line)
        return outcomes


def _file_content(file_id: str) -> Callable[[Any], Any]:
    return lambda sdk: sdk.files.content(file_id)


class _Unlisted:
    """A model no longer in the catalog: charged without an allowance."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.monthly_messages = 0
        self.fallback = None


def _outcome(line: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    error = line.get("error")
    response = line.get("response") or {}
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else str(error)
        return None, f"{code}: {message}" if code else str(message)
    status = response.get("status_code")
    body = response.get("body")
    if status != 200 or not isinstance(body, dict):
        detail = ""
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            detail = f": {body['error'].get('message', '')}"
        return None, f"the server refused the request (HTTP {status}){detail}"
    return body, None


def _read_body(body: dict[str, Any], item: dict[str, Any]) -> tuple[str, int, int, str]:
    choices = body.get("choices") or [{}]
    text = str(((choices[0] or {}).get("message") or {}).get("content") or "")
    usage = body.get("usage") or {}
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    prompt = prompt if isinstance(prompt, int) and prompt >= 0 else item["prompt_tokens"]
    completion = completion if isinstance(completion, int) and completion >= 0 else len(text) // 4
    return text, prompt, completion, str(body.get("model") or item["model"])


def _held(item: dict[str, Any]) -> Reservation | None:
    """The ledger reservation an item was sent with (None for a state written before them)."""
    from chatpro.usage.ledger import Reservation

    reservation_id = item.get("reservation")
    if not isinstance(reservation_id, str):
        return None
    return Reservation(
        model=item["model"],
        requested_model=item["requested"],
        fallback=False,
        notice=None,
        cost=item["units"],
        reservation_id=reservation_id,
        expires=datetime.fromisoformat(item["reservation_expires"]),
    )


def _missing_reason(state: dict[str, Any]) -> str:
    status = state["status"]
    if status == "failed":
        why = "; ".join(state.get("errors") or []) or "no reason given"
        return f"the batch failed: {why}"
    if status == "expired":
        return "expired: not done within the 24 h window"
    if status == "cancelled":
        return "cancelled before it was done"
    return "no result for this request"

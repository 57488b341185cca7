"""The conversation core: one chat, and what sending one message to the model means.

A Conversation is built from its parts (settings, model catalog, ledger, chat log, a client
factory, the clock, the templates dir) and holds one chat: its id, its model, its client, its
system text, its earlier messages and the files that belong to it. `ask`, `upload`, `chat` and
`batch` are front ends on it: they build a Turn, call `prepare` (every check, no side effect),
render the notices, then `send` (reserve, stream, charge, record).

    prepare: template → privacy guard → context and files of the chat → fit the window
             → plan against the allowance (fallback or refuse)
    send:    reserve the cost → stream → count → charge and record as one step

Nothing is sent, charged or logged until every check in `prepare` has passed. An answer that
began is always charged and logged, also when it was cut short: the outcome says so in
`Answer.stop`, a typed error the front end raises after rendering.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chatpro.errors import ChatproError, InputError, Interrupted, ServiceError
from chatpro.exchange import Answer, FileRow, Notice, Prepared, Turn, record_exchange
from chatpro.fitting import FileText, Fitted, fit
from chatpro.money import cost_of
from chatpro.usage.rules import TOKENS_PER_UNIT, cost_units

if TYPE_CHECKING:
    from chatpro.chatlog import ChatLog
    from chatpro.client import ChatClient, Reply
    from chatpro.clock import Clock
    from chatpro.config import Settings
    from chatpro.models import Catalog, ModelInfo
    from chatpro.paths import StrPath
    from chatpro.templates import Template
    from chatpro.usage import Ledger

COUNT_EXACTLY_UP_TO = 256 * 1024
"""An answer longer than this (characters) that the server sent no usage for is estimated, not
tokenized: settling must stay fast enough for Ctrl-C to end any command within 2 seconds."""


def profile_text(skills: Sequence[str], bio: str) -> str:
    parts = []
    if bio.strip():
        parts.append(f"About the user: {bio.strip()}")
    if skills:
        parts.append(f"The user's skills: {', '.join(skills)}.")
    if not parts:
        return ""
    return "You are helping a freelancer. " + " ".join(parts) + " Fit your answers to them."


def require_file_model(catalog: Catalog, model: ModelInfo, *, switch: str = "-m") -> None:
    """Files need a model that takes them: exit 2 naming one that does."""
    if model.takes_files:
        return
    takers = catalog.file_models()
    raise InputError(
        f"{model.name} does not take files; use a model that does: "
        + (", ".join(takers) if takers else "none is configured for this server"),
        hint=f"{switch} {takers[0]}"
        if takers
        else 'declare one in config.toml: [models."NAME"] with files = true',
    )


@dataclass
class _ChatFile:
    """A file that belongs to the chat: its text is sent again with every later message."""

    row: FileRow
    text: str
    coverage: float = 1.0


class Conversation:
    """One chat with the model. Build it with its parts; `open` an earlier chat or start anew."""

    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Catalog,
        ledger: Ledger,
        log: ChatLog,
        client_factory: Callable[[], ChatClient],
        clock: Clock,
        templates_dir: StrPath,
        model: str | None = None,
        system: str | None = None,
        template: str | None = None,
        client: str | None = None,
        switch: str = "-m",
        model_info: ModelInfo | None = None,
    ) -> None:
        """MODEL_INFO: a model the front end resolved already (one the server offers that the
        catalog does not know); it wins over MODEL."""
        self.settings = settings
        self.catalog = catalog
        self.ledger = ledger
        self.log = log
        self.client_factory = client_factory
        self.clock = clock
        self.switch = switch  # how the front end says "use another model": -m or /model
        self.template: Template | None = None
        if template:
            from chatpro.templates import get_template

            self.template = get_template(templates_dir, template)
        self.system = system
        self._chosen: ModelInfo | None = model_info  # resolved by the front end
        self.model: str | None = (
            model_info.name if model_info else catalog.resolve(model).name if model else None
        )
        if self.model is None:
            catalog.default  # noqa: B018 - an unknown default model is exit 2 now, not after a prompt
        self.client = client  # None: untagged, or the client of the chat it continues
        self._said_estimated = False
        self._reset()

    def _reset(self) -> None:
        self.chat_id: str | None = None
        self.context: list[dict[str, str]] = []
        self.files: list[_ChatFile] = []
        self._system_logged = False  # this chat's system text is in its context already
        self._first_turn = True  # the template renders the first message of each chat
        self.unknown_chat_model: str | None = None  # the continued chat's model, not in the
        # catalog: until the front end resolves it, the chat goes on with the default model

    # --- which chat ---------------------------------------------------------------------------

    def open(self, chat_id: str | None = None, *, latest: bool = False) -> list[Notice]:
        """Continue chat CHAT_ID (a unique prefix), or the most recent one with LATEST."""
        self._reset()
        if not (chat_id or latest):
            return []
        found = self.log.resolve(chat_id) if chat_id else self.log.latest_chat_id()
        if found is None:
            return [Notice("no earlier chat to continue; starting a new one")]
        self.chat_id = found
        return self._load(found)

    def new(self) -> None:
        """Start another chat (the model and client chosen for this conversation stay)."""
        self._reset()

    def _load(self, chat_id: str) -> list[Notice]:
        notices: list[Notice] = []
        chat_model: str | None = None
        chat_client: str | None = None
        missing: list[str] = []
        for record in self.log.messages(chat_id):
            role = record.get("role")
            if role not in ("user", "assistant", "system"):
                continue
            self.context.append({"role": str(role), "content": str(record.get("content", ""))})
            if isinstance(record.get("client"), str):
                chat_client = record["client"]
            if role != "user":
                continue
            if isinstance(record.get("model"), str):
                chat_model = record["model"]  # the model asked for, never a fallback's
            for att in record.get("attachments") or ():
                if isinstance(att, dict):
                    self._load_file(att, missing)
        if missing:
            notices.append(
                Notice(
                    f"the text of {', '.join(missing)} is no longer kept; the chat goes on without it"
                )
            )
        if self.model is None and chat_model is not None:
            try:
                self.model = self.catalog.lookup(chat_model).name
            except KeyError:  # the front end may find it on the server, or say so
                self.unknown_chat_model = chat_model
        if self.client is None:
            self.client = chat_client
        self._first_turn = False
        return notices

    def _load_file(self, att: dict[str, Any], missing: list[str]) -> None:
        sha = att.get("sha256")
        name = str(att.get("name", "file"))
        if not isinstance(sha, str) or any(f.row.sha256 == sha for f in self.files):
            return
        text = self.log.file_text(sha)
        if text is None:
            missing.append(name)
            return
        size = att.get("bytes")
        row = FileRow(
            name=name,
            mime=str(att.get("mime", "")),
            label="",
            size=size if isinstance(size, int) and size >= 0 else 0,
            sha256=sha,
            pages=None,
            slides=None,
            tokens=0,
            cut=False,
            earlier=True,
        )
        self.files.append(_ChatFile(row, text))

    @property
    def model_info(self) -> ModelInfo:
        return self._resolve(self.model) if self.model else self.catalog.default

    def set_model(self, model: str | ModelInfo) -> ModelInfo:
        """Use MODEL from now on: a name or alias from the catalog, or an already-resolved
        ModelInfo (a model the server offers)."""
        info = model if not isinstance(model, str) else self.catalog.resolve(model)
        self._chosen = info if not isinstance(model, str) else None
        self.model = info.name
        return info

    def _resolve(self, name: str) -> ModelInfo:
        if self._chosen is not None and name == self._chosen.name:
            return self._chosen
        return self.catalog.resolve(name)

    # --- before sending: every check, no side effect -----------------------------------------

    def prepare(self, turn: Turn, *, check_allowance: bool = True) -> Prepared:
        """Everything before sending. CHECK_ALLOWANCE=False (a dry run) prices the request for
        the model asked for without deciding on a fallback or refusing."""
        from chatpro.chatlog import new_chat_id
        from chatpro.privacy import guard

        settings = self.settings
        requested = self._resolve(turn.model) if turn.model else self.model_info
        attachments = list(turn.attachments)
        if attachments or self.files:
            require_file_model(self.catalog, requested, switch=self.switch)

        prompt = turn.prompt
        system_parts: list[str] = []
        if self.template is not None:
            if self._first_turn:
                prompt = self.template.render(prompt)
            if self.template.system:
                system_parts.append(self.template.system)
        if self.system:
            system_parts.append(self.system)
        if not prompt.strip() and not attachments:
            raise InputError("nothing to ask: give a prompt, pipe text on stdin, or attach a file")

        notices: list[Notice] = []

        def checked(text: str, source: str) -> str:
            result = guard(text, policy=settings.on_secret, source=source)
            notices.extend(Notice(line, warning=True) for line in result.lines)
            return result.text

        prompt = checked(prompt, "the prompt")
        system_record = "\n\n".join(checked(p, "the system text") for p in system_parts) or None
        profile = checked(profile_text(settings.skills, settings.bio), "the profile")
        sent_system = None if self._system_logged else system_record
        system_text = "\n\n".join(p for p in (profile, sent_system) if p)

        texts: list[FileText] = []
        rows: list[FileRow] = []
        for chat_file in self.files:
            texts.append(FileText(chat_file.row.name, chat_file.text, chat_file.coverage))
            rows.append(chat_file.row)
        new_texts: list[tuple[str, str]] = []
        for att in attachments:
            name = checked(att.name, "a file name")
            for line in att.notices:
                notices.append(Notice(f"{att.name}: {line}"))
            if not att.text.strip():
                notices.append(
                    Notice(f"{att.name}: no text could be extracted (a scanned document?)")
                )
            text = checked(att.text, att.name)
            texts.append(FileText(name, text, att.coverage))
            rows.append(
                FileRow(
                    name=name,
                    mime=att.mime,
                    label=att.label,
                    size=att.size,
                    sha256=att.sha256,
                    pages=att.pages,
                    slides=att.slides,
                    tokens=0,
                    cut=False,
                    earlier=False,
                )
            )
            new_texts.append((att.sha256, text))

        model = requested
        fitted = self._fit(model, system_text, prompt, texts, turn.max_tokens)
        file_bytes = [a.size for a in attachments]
        units = cost_units(fitted.tokens, file_bytes)
        plan = (
            self.ledger.plan(
                model,
                cost=units,
                lookup=self.catalog.lookup,
                no_fallback=not turn.allow_fallback,
                has_files=bool(texts),
            )
            if check_allowance
            else None
        )
        if (
            plan is not None and plan.model != model.name
        ):  # the fallback has its own window and encoding
            model = self.catalog.lookup(plan.model)
            fitted = self._fit(model, system_text, prompt, texts, turn.max_tokens)
            units = cost_units(fitted.tokens, file_bytes)
            if plan.notice:
                notices.append(Notice(plan.notice))
        if (
            fitted.estimated
            and (fitted.tokens > TOKENS_PER_UNIT or fitted.cut)
            and not self._said_estimated
        ):
            self._said_estimated = True
            notices.append(
                Notice(
                    f"token counts are estimates: tiktoken's {model.encoding or 'encoding'} "
                    "could not be loaded (see 'Offline token counts' in the guide)"
                )
            )
        for cut in fitted.cuts:
            notices.append(Notice(cut.notice(model.name)))
        if fitted.dropped_messages:
            n = fitted.dropped_messages
            notices.append(
                Notice(
                    f"the chat is longer than {model.name}'s context window; "
                    f"left out the {n} oldest message{'s' if n != 1 else ''}"
                )
            )
        cut_names = {c.name for c in fitted.cuts}
        for att in attachments:  # capped at extraction but not cut again: say how much went
            if att.truncated and att.name not in cut_names:
                share = (
                    f" (about {100 * att.coverage:.0f}% of the document)"
                    if att.coverage < 1
                    else ""
                )
                notices.append(
                    Notice(f"{att.name}: only the first part of its text is sent{share}")
                )
        rows = [
            replace(row, tokens=tokens, cut=row.name in cut_names)
            for row, tokens in zip(rows, fitted.file_tokens, strict=True)
        ]
        new_chat = self.chat_id is None
        return Prepared(
            turn=turn,
            model=model,
            requested=requested,
            chat_id=self.chat_id or new_chat_id(),
            new_chat=new_chat,
            messages=fitted.messages,
            user_content=prompt,
            system_record=system_record if new_chat else None,
            files=rows,
            new_file_texts=new_texts,
            tokens_sent=fitted.tokens,
            units=units,
            estimated=fitted.estimated,
            cut=fitted.cut,
            notices=notices,
        )

    def _fit(
        self,
        model: ModelInfo,
        system_text: str,
        prompt: str,
        files: list[FileText],
        max_tokens: int | None,
    ) -> Fitted:
        from chatpro.tokens import encoding_available, get_tokenizer

        return fit(
            model_name=model.name,
            window=model.context_window,
            tokenizer=lambda: get_tokenizer(model.encoding),
            exact_available=encoding_available(model.encoding),
            system_text=system_text,
            context=self.context,
            prompt=prompt,
            files=files,
            max_tokens=max_tokens,
        )

    # --- sending: reserve, stream, charge, record --------------------------------------------

    def send(self, prepared: Prepared, on_text: Callable[[str], None]) -> Answer:
        """Send PREPARED, streaming text to ON_TEXT; charge and log what came back.

        A request that fails before any answer costs nothing and raises. An answer that began
        is charged and logged; when it was cut short the Answer carries the error in `stop`.
        """
        from chatpro.client import StreamCut

        turn = prepared.turn
        client = self.client_factory()  # a missing key or bad base URL: exit 4, nothing sent
        self.ledger.check_writable()  # a ledger or log that cannot be written: before sending
        if turn.log:
            self.log.check_writable()
        reservation = self.ledger.reserve(
            prepared.model,
            cost=prepared.units,
            lookup=self.catalog.lookup,
            no_fallback=True,  # prepare chose the model; a race that spent it is exit 3
            has_files=bool(prepared.files),
            ttl_seconds=self._reservation_ttl(),
        )
        parts: list[str] = []

        def collect(text: str) -> None:
            parts.append(text)
            on_text(text)

        stop: ChatproError | None = None
        reply: Reply | None = None
        try:
            reply = client.complete(
                model=prepared.model.name,
                messages=prepared.messages,
                stream=turn.stream,
                on_text=collect,
                max_tokens=turn.max_tokens,
                temperature=turn.temperature,
                response_format=turn.response_format,
            )
        except StreamCut as exc:
            if not exc.partial and not parts:
                self.ledger.release(reservation)
                raise ServiceError(exc.message) from None  # nothing came: free, nothing logged
            stop = exc
        except KeyboardInterrupt:
            if not parts:
                self.ledger.release(reservation)
                raise Interrupted() from None
            stop = Interrupted(partial_kept=True)
        except BaseException:
            self.ledger.release(reservation)
            raise

        text = reply.text if reply is not None else "".join(parts)
        completion_tokens, prompt_tokens, estimated = self._figures(prepared, reply, text)
        cost = cost_of(prepared.model, prompt_tokens, completion_tokens)
        if turn.log:
            self.log.prune_if_due()  # a long rewrite never runs with Ctrl-C held
        with deferred_signals():  # charge and record as one step: Ctrl-C waits for both
            warnings = self.ledger.charge(
                prepared.model,
                units=prepared.units,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                warn_at=self.settings.warn_at,
                reservation=reservation,
                client=self.client,
                cost=None if cost is None else str(cost),
            )
            answer = Answer(
                chat_id=prepared.chat_id,
                model=prepared.model.name,
                requested_model=prepared.requested.name,
                text=text,
                finish_reason=reply.finish_reason if reply is not None else None,
                client=self.client,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                units=prepared.units,
                estimated=estimated,
                warnings=warnings,
                cost=cost,
                stop=stop,
            )
            if turn.log:
                self._record(prepared, answer)
        self._remember(prepared, answer)
        return answer

    def _reservation_ttl(self) -> float:
        """How long a reservation outlives a process killed mid-request (SPEC: api.timeout ×
        attempts, each attempt being bounded by api.timeout as a whole)."""
        return self.settings.timeout * (self.settings.max_retries + 1)

    def _figures(self, prepared: Prepared, reply: Reply | None, text: str) -> tuple[int, int, bool]:
        """(completion tokens, prompt tokens, estimated): the server's figures when it sent
        usable ones, else chatpro's own count."""
        served_completion = reply.completion_tokens if reply is not None else None
        served_prompt = reply.prompt_tokens if reply is not None else None
        if _count_like(served_completion) and _count_like(served_prompt):
            return served_completion, served_prompt, False  # type: ignore[return-value]
        if len(text) > COUNT_EXACTLY_UP_TO:
            from chatpro.tokens import estimate_tokens

            completion = estimate_tokens(text)
        else:
            from chatpro.tokens import get_tokenizer

            completion = get_tokenizer(prepared.model.encoding).count(text)
        return completion, prepared.tokens_sent, True

    def _record(self, prepared: Prepared, answer: Answer) -> None:
        record_exchange(
            self.log,
            self.clock,
            chat_id=prepared.chat_id,
            requested_model=prepared.requested.name,
            system_record=prepared.system_record,
            user_content=prepared.user_content,
            attachments=[row.record() for row in prepared.files if not row.earlier],
            new_file_texts=prepared.new_file_texts,
            answer=answer,
            title=prepared.turn.title if prepared.new_chat else None,
        )

    def _remember(self, prepared: Prepared, answer: Answer) -> None:
        """The chat goes on from here: later turns carry this exchange and its files."""
        if self.chat_id is None and prepared.system_record:
            self.context.append({"role": "system", "content": prepared.system_record})
            self._system_logged = True
        self.chat_id = prepared.chat_id
        self.context.append({"role": "user", "content": prepared.user_content})
        self.context.append({"role": "assistant", "content": answer.text})
        texts = dict(prepared.new_file_texts)
        for row in prepared.files:
            if not row.earlier and row.sha256 in texts:
                kept = replace(row, earlier=True)
                self.files.append(_ChatFile(kept, texts.pop(row.sha256)))
        self._first_turn = False


def _count_like(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, so an answer is never charged but unlogged."""
    import signal
    import threading

    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


__all__ = [
    "Answer",
    "Conversation",
    "FileRow",
    "Notice",
    "Prepared",
    "Turn",
    "deferred_signals",
    "profile_text",
    "record_exchange",
    "require_file_model",
]

"""The one request pipeline that ask, upload and chat share.

resolve model → build messages (system, context, files, prompt) → guard secrets → count tokens and
fit the context window → plan against the allowance (fallback or refuse) → send → charge → record.
Nothing is sent, charged or logged until every check before "send" has passed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chatpro.errors import ChatproError, InputError, Interrupted, ServiceError

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.files import Attachment
    from chatpro.models import Catalog, ModelInfo
    from chatpro.tokens import Tokenizer

ANSWER_RESERVE_MAX = 4096  # tokens kept free for the answer when --max-tokens is not given


@dataclass
class AskRequest:
    prompt: str
    model: str | None = None
    system: str | None = None
    template: str | None = None
    attachments: Sequence[Attachment] = ()
    continue_latest: bool = False
    chat_id: str | None = None
    stream: bool = True
    log: bool = True
    allow_fallback: bool = True
    max_tokens: int | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class AskResult:
    chat_id: str
    model: str
    requested_model: str
    fallback: bool
    text: str
    prompt_tokens: int
    completion_tokens: int
    units: int
    estimated: bool
    warnings: list[str]
    interrupted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "model": self.model,
            "requested_model": self.requested_model,
            "fallback": self.fallback,
            "text": self.text,
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "units": self.units,
                "estimated": self.estimated,
            },
            "warnings": self.warnings,
            "interrupted": self.interrupted,
        }


@dataclass
class Prepared:
    """Everything needed to send, already checked; built before any side effect."""

    model: ModelInfo
    requested: ModelInfo
    chat_id: str
    new_chat: bool
    messages: list[dict[str, str]]
    user_content: str
    system_record: str | None
    attachments: list[dict[str, Any]]
    tokens_sent: int
    cost: int
    estimated: bool
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class Notice:
    """A line for stderr before the request is sent: a warning (never hidden) or a notice."""

    text: str
    warning: bool = False


def profile_text(skills: Sequence[str], bio: str) -> str:
    parts = []
    if bio.strip():
        parts.append(f"About the user: {bio.strip()}")
    if skills:
        parts.append(f"The user's skills: {', '.join(skills)}.")
    if not parts:
        return ""
    return "You are helping a freelancer. " + " ".join(parts) + " Fit your answers to them."


def require_file_model(catalog: Catalog, model: ModelInfo) -> None:
    """Files need a model that takes them: exit 2 naming one that does."""
    if model.takes_files:
        return
    takers = catalog.file_models()
    raise InputError(
        f"{model.name} does not take files; use a model that does: "
        + (", ".join(takers) if takers else "none is configured"),
        hint=f"add -m {takers[0]}" if takers else None,
    )


def compose_user_content(prompt: str, files: Sequence[tuple[str, str]]) -> str:
    """The user message as sent: each file's text in a fenced block, then the prompt."""
    blocks = [f"--- file: {name} ---\n{text}\n--- end of {name} ---" for name, text in files]
    return "\n\n".join([*blocks, prompt] if prompt else blocks)


class Pipeline:
    def __init__(self, app: App) -> None:
        self.app = app

    # --- step 1-4: everything before sending, free of side effects --------------------------

    def prepare(self, request: AskRequest) -> Prepared:
        app = self.app
        settings = app.settings
        catalog = app.catalog
        requested = catalog.resolve(request.model) if request.model else catalog.default
        attachments = list(request.attachments)
        if attachments:
            require_file_model(catalog, requested)

        prompt = request.prompt
        system_parts: list[str] = []
        if request.template:
            from chatpro.templates import get_template

            template = get_template(app.paths.templates_dir, request.template)
            prompt = template.render(prompt)
            if template.system:
                system_parts.append(template.system)
        if request.system:
            system_parts.append(request.system)
        if not prompt.strip() and not attachments:
            raise InputError("nothing to ask: give a prompt, pipe text on stdin, or attach a file")

        # the privacy guard runs on what would be sent
        from chatpro.privacy import guard

        notices: list[Notice] = []
        result = guard(prompt, policy=settings.on_secret, source="the prompt")
        prompt = result.text
        notices.extend(Notice(line, warning=True) for line in result.lines)
        file_texts: list[tuple[str, str]] = []
        for att in attachments:
            if not att.text.strip():
                notices.append(
                    Notice(f"{att.name}: no text could be extracted (a scanned document?)")
                )
            if att.truncated:
                notices.append(
                    Notice(f"{att.name}: the extracted text was capped at its first part")
                )
            result = guard(att.text, policy=settings.on_secret, source=att.name)
            file_texts.append((att.name, result.text))
            notices.extend(Notice(line, warning=True) for line in result.lines)

        chat_id, new_chat, context = self._context(request, notices)
        system_record = "\n\n".join(system_parts) or None
        profile = profile_text(settings.skills, settings.bio)
        system_text = "\n\n".join(p for p in (profile, system_record) if p)

        from chatpro.usage import cost_units

        model = requested
        file_bytes = [a.size for a in attachments]
        fitted = self._fit(model, system_text, context, prompt, file_texts, request.max_tokens)
        cost = cost_units(fitted.tokens, file_bytes)
        plan = app.ledger().plan(
            model,
            cost=cost,
            lookup=catalog.lookup,
            no_fallback=not request.allow_fallback,
            has_files=bool(attachments),
        )
        if plan.model != model.name:  # the fallback has its own window and encoding
            model = catalog.lookup(plan.model)
            fitted = self._fit(model, system_text, context, prompt, file_texts, request.max_tokens)
            cost = cost_units(fitted.tokens, file_bytes)
            if plan.notice:
                notices.append(Notice(plan.notice))
        notices.extend(Notice(text) for text in fitted.notices)

        records = [
            {
                "name": att.name,
                "mime": att.mime,
                "bytes": att.size,
                "sha256": att.sha256,
                "tokens": tokens,
            }
            for att, tokens in zip(attachments, fitted.file_tokens, strict=False)
        ]
        return Prepared(
            model=model,
            requested=requested,
            chat_id=chat_id,
            new_chat=new_chat,
            messages=fitted.messages,
            user_content=prompt,
            system_record=system_record if new_chat else None,
            attachments=records,
            tokens_sent=fitted.tokens,
            cost=cost,
            estimated=fitted.estimated,
            notices=notices,
        )

    def _context(
        self, request: AskRequest, notices: list[Notice]
    ) -> tuple[str, bool, list[dict[str, str]]]:
        from chatpro.chatlog import new_chat_id

        if not (request.continue_latest or request.chat_id):
            return new_chat_id(), True, []
        log = self.app.chatlog()
        if request.chat_id:
            chat_id = log.resolve(request.chat_id)
        else:
            latest = log.latest_chat_id()
            if latest is None:
                notices.append(Notice("no earlier chat to continue; starting a new one"))
                return new_chat_id(), True, []
            chat_id = latest
        context = [
            {"role": r["role"], "content": r.get("content", "")}
            for r in log.messages(chat_id)
            if r.get("role") in ("user", "assistant", "system")
        ]
        return chat_id, False, context

    def _fit(
        self,
        model: ModelInfo,
        system_text: str,
        context: list[dict[str, str]],
        prompt: str,
        files: list[tuple[str, str]],
        max_tokens: int | None,
    ) -> Fitted:
        """Messages that fit MODEL's window: files cut at a token boundary, old context dropped."""
        from chatpro.tokens import encoding_available, estimate_tokens, get_tokenizer
        from chatpro.usage import TOKENS_PER_UNIT

        window = model.context_window
        reserve = max_tokens if max_tokens is not None else min(ANSWER_RESERVE_MAX, window // 4)
        budget = max(window - reserve, 1)
        notices: list[str] = []

        texts = [system_text, prompt, *(t for _, t in files), *(m["content"] for m in context)]
        overhead = _overhead(2 + len(files) + len(context))
        upper_bound = sum(len(t.encode("utf-8")) for t in texts) + overhead
        if upper_bound <= min(TOKENS_PER_UNIT, budget):
            # A token is at least one byte: this request fits and costs one unit for certain,
            # so loading an encoding (a noticeable part of a short ask's time) can wait.
            tokens = sum(estimate_tokens(t) for t in texts) + overhead
            return Fitted(
                _messages(system_text, context, compose_user_content(prompt, files)),
                min(tokens, upper_bound),
                [estimate_tokens(t) for _, t in files],
                not encoding_available(model.encoding),
                [],
            )

        tok = get_tokenizer(model.encoding)
        fixed = tok.count(system_text) + tok.count(prompt) + _overhead(2 + len(files))
        file_tokens = [tok.count(text) for _, text in files]
        room_for_files = max(budget - fixed, 0)
        if sum(file_tokens) > room_for_files:
            files, file_tokens, cut_notices = _cut_files(tok, files, file_tokens, room_for_files)
            notices.extend(cut_notices)
        used = fixed + sum(file_tokens)

        kept: list[dict[str, str]] = []
        for message in reversed(context):  # newest first; drop the oldest that do not fit
            n = tok.count(message["content"]) + _overhead(1)
            if used + n > budget:
                break
            kept.append(message)
            used += n
        kept.reverse()
        if len(kept) < len(context):
            dropped = len(context) - len(kept)
            notices.append(
                f"the chat is longer than {model.name}'s context window; "
                f"left out the {dropped} oldest message{'s' if dropped != 1 else ''}"
            )
        messages = _messages(system_text, kept, compose_user_content(prompt, files))
        return Fitted(messages, used, file_tokens, tok.estimated, notices)

    # --- step 5-7: send, charge, record -------------------------------------------------------

    def send(
        self, prepared: Prepared, request: AskRequest, on_text: Callable[[str], None]
    ) -> AskResult:
        from chatpro.client import StreamCut

        app = self.app
        client = app.client()
        parts: list[str] = []

        def collect(text: str) -> None:
            parts.append(text)
            on_text(text)

        error: ChatproError | None = None
        interrupted = False
        reply = None
        try:
            reply = client.complete(
                model=prepared.model.name,
                messages=prepared.messages,
                stream=request.stream,
                on_text=collect,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
            )
        except StreamCut as exc:
            error = exc
            interrupted = True
        except KeyboardInterrupt:
            if not parts:
                raise Interrupted("interrupted") from None
            error = Interrupted("interrupted")
            interrupted = True

        text = reply.text if reply is not None else "".join(parts)
        if reply is None and not text and isinstance(error, ServiceError):
            raise error  # failed before any answer: free, nothing logged
        with deferred_signals():  # charge and record as one step: Ctrl-C waits for both
            return self._settle(prepared, request, reply, text, error, interrupted)

    def _settle(
        self,
        prepared: Prepared,
        request: AskRequest,
        reply: Any,
        text: str,
        error: ChatproError | None,
        interrupted: bool,
    ) -> AskResult:
        """Charge the allowance and record the exchange; raise ERROR afterwards if there was one."""
        app = self.app
        completion_tokens = (
            reply.completion_tokens
            if reply is not None and reply.completion_tokens is not None
            else self._count(prepared.model, text)
        )
        prompt_tokens = (
            reply.prompt_tokens
            if reply is not None and reply.prompt_tokens is not None
            else prepared.tokens_sent
        )
        warnings = app.ledger().charge(
            prepared.model,
            units=prepared.cost,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            warn_at=app.settings.warn_at,
        )
        result = AskResult(
            chat_id=prepared.chat_id,
            model=prepared.model.name,
            requested_model=prepared.requested.name,
            fallback=prepared.model.name != prepared.requested.name,
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            units=prepared.cost,
            estimated=prepared.estimated,
            warnings=warnings,
            interrupted=interrupted,
        )
        if request.log:
            self._record(prepared, result)
        if error is not None:
            error.result = result
            raise error
        return result

    def _record(self, prepared: Prepared, result: AskResult) -> None:
        from chatpro.chatlog import make_record

        app = self.app
        now = app.clock.now()
        records = []
        if prepared.system_record:
            records.append(
                make_record(
                    chat_id=prepared.chat_id,
                    role="system",
                    model=prepared.requested.name,
                    content=prepared.system_record,
                    ts=now,
                )
            )
        records.append(
            make_record(
                chat_id=prepared.chat_id,
                role="user",
                model=prepared.requested.name,
                content=prepared.user_content,
                ts=now,
                attachments=prepared.attachments,
                usage={
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": 0,
                    "units": result.units,
                },
            )
        )
        records.append(
            make_record(
                chat_id=prepared.chat_id,
                role="assistant",
                model=result.model,
                content=result.text,
                ts=app.clock.now(),
                usage={
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": result.completion_tokens,
                    "units": result.units,
                },
                interrupted=result.interrupted,
            )
        )
        app.chatlog().append(records)

    @staticmethod
    def _count(model: ModelInfo, text: str) -> int:
        from chatpro.tokens import get_tokenizer

        return get_tokenizer(model.encoding).count(text)


@dataclass(frozen=True)
class Fitted:
    messages: list[dict[str, str]]
    tokens: int
    file_tokens: list[int]
    estimated: bool
    notices: list[str]


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


def _messages(
    system_text: str, context: list[dict[str, str]], user_content: str
) -> list[dict[str, str]]:
    system = [{"role": "system", "content": system_text}] if system_text else []
    return [*system, *context, {"role": "user", "content": user_content}]


def _overhead(messages: int) -> int:
    """Tokens the chat format adds per message (OpenAI's documented ~3, plus 3 for the reply)."""
    return 3 * messages + 3


def _cut_files(
    tok: Tokenizer, files: list[tuple[str, str]], counts: list[int], room: int
) -> tuple[list[tuple[str, str]], list[int], list[str]]:
    """Share ROOM among the files, smallest first, cutting each at a token boundary."""
    order = sorted(range(len(files)), key=lambda i: counts[i])
    new_counts = list(counts)
    new_files = list(files)
    notices = []
    remaining = room
    for pos, i in enumerate(order):
        share = remaining // (len(order) - pos)
        if counts[i] <= share:
            remaining -= counts[i]
            continue
        name, text = files[i]
        cut, kept = tok.truncate(text, share)
        new_files[i] = (name, cut)
        new_counts[i] = kept
        remaining -= kept
        percent = 100 * kept / counts[i] if counts[i] else 0
        notices.append(
            f"{name} is too long for the model's context window: kept the first "
            f"{kept:,} of {counts[i]:,} tokens ({percent:.0f}%)"
        )
    return new_files, new_counts, notices

"""The OpenAI wrapper: lazy `import openai`, streaming with usage, our own retries, errors mapped.

The SDK's own retries are off (max_retries=0) so that a 429 `insufficient_quota` fails at once
and every retry is visible and bounded here. Every SDK and transport error becomes a ChatproError
with SPEC's exit code; server messages are scrubbed of the key, flattened to one line, capped and
stripped of control characters before they are shown. Nothing a server sends is trusted: usage
figures are checked, the answer is capped (`MAX_ANSWER_BYTES`; the body cap, the per-attempt
deadline and the redirect rule live in chatpro/transport.py), unpaired surrogates become U+FFFD.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from chatpro.credentials import scrub
from chatpro.errors import AuthError, ConfigError, ServiceError
from chatpro.render import strip_controls

RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx
MAX_BACKOFF_SECONDS = 8.0
BASE_BACKOFF_SECONDS = 0.5
MAX_ANSWER_BYTES = 8 * 1024 * 1024
MAX_TOKEN_FIGURE = 2**53  # larger "token counts" are nonsense, not usage
MAX_SERVER_MESSAGE = 300
MAX_LISTED_MODELS = 10_000  # a server's model list is read up to this many entries
_SURROGATE = re.compile("[\ud800-\udfff]")


class ClientConfig(NamedTuple):
    api_key: str
    base_url: str
    timeout: float
    max_retries: int

    def __repr__(self) -> str:
        return f"ClientConfig(base_url={self.base_url!r}, timeout={self.timeout}, max_retries={self.max_retries})"


class Reply(NamedTuple):
    text: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    usage_valid: bool = True  # False: the server sent figures that are not token counts (ignored)


class StreamCut(ServiceError):
    """The answer was cut off (stream broken, a cap or the deadline reached): an outcome, not a
    crash. PARTIAL is the text delivered through `on_text` before the cut (may be empty)."""

    def __init__(self, message: str, partial: str) -> None:
        super().__init__(message)
        self.partial = partial


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str, *, allow_insecure: bool, source: str) -> str:
    """https:// anywhere; http:// only for loopback hosts unless api.allow_insecure is set."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"invalid base URL from {source}: {url!r} (expected https://HOST/...)")
    if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// base URL for non-loopback host {parts.hostname!r} (from {source})",
            hint="use https://, or set api.allow_insecure = true to send your key unencrypted",
        )
    return url.rstrip("/")


class ChatClient:
    def __init__(
        self, config: ClientConfig, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._config = config
        self._sleep = sleep
        self._sdk: Any = None
        self._guard: Any = None  # chatpro.transport.Guard, made with the SDK client

    def _client(self) -> Any:
        if self._sdk is None:
            from chatpro.lazy_openai import import_openai

            openai = import_openai()
            from chatpro.transport import http_client

            cfg = self._config
            http, self._guard = http_client(cfg.base_url, cfg.timeout)
            self._sdk = openai.OpenAI(
                api_key=cfg.api_key,
                base_url=cfg.base_url,
                timeout=openai.Timeout(cfg.timeout, connect=min(cfg.timeout, 10.0)),
                max_retries=0,
                http_client=http,
            )
        return self._sdk

    def complete(
        self,
        *,
        model: str,
        messages: Sequence[dict[str, str]],
        stream: bool,
        on_text: Callable[[str], None],
        max_tokens: int | None = None,
        temperature: float | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Reply:
        """Send one chat request; deliver text through ON_TEXT as it arrives; return the Reply."""
        kwargs: dict[str, Any] = {"model": model, "messages": list(messages)}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if temperature is not None:
            kwargs["temperature"] = temperature
        if response_format is not None:
            kwargs["response_format"] = response_format
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        raw = self._create_with_retries(kwargs)
        try:
            try:
                response = raw.parse()
                body = None if stream else raw.content
            except Exception as exc:  # noqa: BLE001 - a body that is not a chat completion
                raise self._map_error(exc, attempts=1)[0] from None
            if stream:
                return self._read_stream(response, model, on_text)
            return self._read_whole(response, body, model, on_text)
        finally:
            self._guard.end_attempt()

    def list_models(self) -> list[str]:
        """The ids of the models the server offers (GET /models), sorted, each once. Errors are
        mapped and retried as for `complete`; a reply that is not a model list is exit 5."""
        import json

        raw = self._with_retries(
            lambda sdk: sdk.models.with_raw_response.list(),
            hint_404="this server may not list its models; declare them in config.toml",
        )
        try:
            try:
                body = raw.content
            except Exception as exc:  # noqa: BLE001 - a body cut short or over a limit
                raise self._map_error(exc, attempts=1)[0] from None
        finally:
            self._guard.end_attempt()
        try:
            data = json.loads(body)
        except ValueError:
            raise ServiceError("the server's reply is not valid JSON") from None
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ServiceError("the server's reply is not a list of models")
        ids = {_short_text(e.get("id")) for e in entries[:MAX_LISTED_MODELS] if isinstance(e, dict)}
        return sorted(i for i in ids if i)

    # --- internals ----------------------------------------------------------------------------

    def _create_with_retries(self, kwargs: dict[str, Any]) -> Any:
        """POST /chat/completions through the SDK client, as
        `sdk.chat.completions.with_raw_response.create(**kwargs)` does, for the raw response too
        (usage figures are checked as the server sent them).

        The same client, request options, SSE stream and response models; only the resource
        module is skipped, whose import (every create-parameter type and the structured-output
        helpers) costs a one-question `ask` about 20 ms and 2 MiB. KWARGS are plain JSON values,
        which the resource's parameter transform leaves as they are.
        """
        from chatpro.lazy_openai import import_openai

        stream_cls = import_openai().Stream  # first: with its type packages loaded lazily
        from openai._constants import RAW_RESPONSE_HEADER
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        options = {"headers": {RAW_RESPONSE_HEADER: "true"}, "security": {"bearer_auth": True}}
        return self._with_retries(
            lambda sdk: sdk.post(
                "/chat/completions",
                body=kwargs,
                options=options,
                cast_to=ChatCompletion,
                stream=bool(kwargs.get("stream")),
                stream_cls=stream_cls[ChatCompletionChunk],
            )
        )

    def _with_retries(self, call: Callable[[Any], Any], *, hint_404: str | None = None) -> Any:
        """CALL(sdk) with our retries; the attempt's deadline stays open for reading the body
        (the caller ends it)."""
        attempts = self._config.max_retries + 1
        sdk = self._client()
        for attempt in range(1, attempts + 1):
            self._guard.begin_attempt()
            try:
                return call(sdk)
            except Exception as exc:  # noqa: BLE001 - every SDK error is mapped below
                self._guard.end_attempt()
                error, retry_after = self._map_error(exc, attempts=attempt, hint_404=hint_404)
                if retry_after is None or attempt == attempts:
                    raise error from None
                self._sleep(retry_after if retry_after > 0 else self._backoff(attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2.0 ** (attempt - 1)))

    def _map_error(
        self, exc: Exception, *, attempts: int, hint_404: str | None = None
    ) -> tuple[ServiceError | AuthError, float | None]:
        """The ChatproError for EXC, and whether to retry (seconds to wait; 0 = backoff)."""
        from chatpro.lazy_openai import import_openai
        from chatpro.transport import DeadlineExceeded, GuardError

        openai = import_openai()
        tries = f" after {attempts} attempt{'s' if attempts > 1 else ''}"
        guard = _find(exc, GuardError)
        if isinstance(guard, DeadlineExceeded) or isinstance(exc, openai.APITimeoutError):
            return ServiceError(
                f"the server did not answer within {self._config.timeout:g} s{tries}"
            ), 0
        if guard is not None:
            return ServiceError(guard.reason), None
        if isinstance(exc, openai.APIConnectionError):
            cause = _root_cause(exc)
            return ServiceError(f"cannot connect to {self._config.base_url}: {cause}{tries}"), 0
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            said = self._server_said(exc)
            if status == 401:
                return AuthError(
                    "the server refused the API key (HTTP 401)",
                    hint="check it with 'chatpro key show'; set another with 'chatpro key set' or OPENAI_API_KEY",
                ), None
            if status == 403:
                return AuthError(f"access denied (HTTP 403){said}"), None
            if status == 429 and _error_code(exc) == "insufficient_quota":
                return ServiceError(
                    "the API account has no quota left (HTTP 429 insufficient_quota); not retried",
                    hint="check the plan and billing of the account this key belongs to",
                ), None
            if status in RETRY_STATUSES or 500 <= status <= 599:
                what = {
                    429: "rate limited by the server",
                    408: "the server timed out",
                    409: "the server reported a conflict",
                }.get(status, "the server failed")
                if status in (503, 529):
                    what = "the server is overloaded"
                return ServiceError(f"{what} (HTTP {status}){tries}{said}"), _retry_after(exc)
            if status == 404:
                return ServiceError(
                    f"the server answered HTTP 404 (not found){said}",
                    hint=hint_404 or self._hint_404(),
                ), None
            return ServiceError(f"the server refused the request (HTTP {status}){said}"), None
        if isinstance(exc, openai.APIResponseValidationError) or _is_json_error(exc):
            return ServiceError("the server's reply is not valid JSON"), None
        if isinstance(exc, openai.APIError):
            message = self._clean_message(getattr(exc, "message", None) or str(exc))
            return ServiceError(f"the server reported an error: {message or 'no details'}"), None
        if isinstance(exc, openai.OpenAIError):
            return ServiceError(f"request failed: {self._clean_message(str(exc))}"), None
        return ServiceError(
            f"request failed: {type(exc).__name__}: {self._clean_message(str(exc))}"
        ), None

    def _hint_404(self) -> str:
        """Point at the base URL when its path lacks a version segment, else at the model name."""
        path = urlsplit(self._config.base_url).path.rstrip("/")
        last = path.rsplit("/", 1)[-1]
        if not re.fullmatch(r"v\d+(?:\.\d+)?(?:alpha|beta)?\w*", last):
            return f"the base URL usually ends in /v1 (OPENAI_BASE_URL={self._config.base_url}/v1)"
        return "is the model name right for this server?"

    def _server_said(self, exc: Any) -> str:
        """'; the server said "…"' for an error body with a message, else ''."""
        body = getattr(exc, "body", None)
        message = None
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict):
                message = inner.get("message")
            elif isinstance(inner, str):
                message = inner
        text = self._clean_message(str(message)) if message else ""
        return f'; the server said "{text.rstrip(".")}"' if text else ""

    def _clean_message(self, text: str) -> str:
        """A server's words made fit to show: no key, one line, no control characters, capped."""
        flat = strip_controls(self._scrub(_utf8_safe(text[: MAX_SERVER_MESSAGE * 4])))
        if len(flat) > MAX_SERVER_MESSAGE:
            flat = flat[: MAX_SERVER_MESSAGE - 1] + "…"
        return self._scrub(flat)

    def _scrub(self, text: str) -> str:
        return scrub(text, [self._config.api_key])

    def _cut(self, exc: BaseException, partial: str) -> StreamCut:
        """The StreamCut for EXC raised while reading a stream."""
        from chatpro.lazy_openai import import_openai
        from chatpro.transport import DeadlineExceeded, GuardError

        openai = import_openai()
        guard = _find(exc, GuardError)
        if isinstance(guard, DeadlineExceeded) or _is_timeout(exc):
            reason = f"no complete answer within {self._config.timeout:g} s"
        elif guard is not None:
            reason = guard.reason
        elif _is_json_error(exc):
            reason = "the server sent a chunk that is not valid JSON"
        elif isinstance(exc, _Malformed):
            reason = "the server sent a chunk that is not part of a chat answer"
        elif isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
            message = self._clean_message(getattr(exc, "message", None) or str(exc))
            reason = f"the server reported an error: {message or 'no details'}"
        else:
            reason = "the connection was dropped"
        return StreamCut(f"the answer was cut off: {reason}", partial)

    def _read_whole(
        self, response: Any, body: bytes | None, model: str, on_text: Callable[[str], None]
    ) -> Reply:
        try:
            choices = response.choices
            if not isinstance(choices, list):
                raise _Malformed
            choice = choices[0] if choices else None
            if choice is None:
                raise ServiceError("the server's reply has no answer in it")
            content = choice.message.content
            if content is not None and not isinstance(content, str):
                raise _Malformed
            finish = _short_text(getattr(choice, "finish_reason", None))
            prompt_tokens, completion_tokens, valid = _usage(_raw_usage(body))
            served = _short_text(getattr(response, "model", None)) or model
        except ServiceError:
            raise
        except Exception:  # noqa: BLE001 - a reply that is not a chat completion
            raise ServiceError("the server's reply is not a valid chat completion") from None
        text, size = _utf8_safe_sized(content or "")
        if size > MAX_ANSWER_BYTES:
            text = _cap(text, MAX_ANSWER_BYTES)
            on_text(text)
            raise StreamCut(_ANSWER_CAP_MESSAGE, text)
        on_text(text)
        return Reply(
            text=text,
            model=served,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish,
            usage_valid=valid,
        )

    def _read_stream(self, stream: Any, model: str, on_text: Callable[[str], None]) -> Reply:
        parts: list[str] = []
        size = 0
        watcher = _watch(stream)
        finish_reason: str | None = None
        prompt_tokens = completion_tokens = None
        saw_usage = False
        usage_valid = True
        served_model = model
        try:
            chunks = iter(stream)
            while True:
                try:
                    chunk = next(chunks)
                    texts, finish, usage, served = _chunk_parts(chunk)
                except StopIteration:
                    break
                except Exception as exc:  # noqa: BLE001 - anything mid-stream is a cut-off answer
                    raise self._cut(exc, "".join(parts)) from None
                served_model = served or served_model
                finish_reason = finish or finish_reason
                if usage is not None:
                    saw_usage = True
                    raw_usage = watcher.usage if watcher is not None else usage
                    prompt_tokens, completion_tokens, usage_valid = _usage(raw_usage)
                for text in texts:
                    text, n = _utf8_safe_sized(text)
                    if size + n > MAX_ANSWER_BYTES:
                        text = _cap(text, MAX_ANSWER_BYTES - size)
                        if text:
                            parts.append(text)
                            on_text(text)
                        raise StreamCut(_ANSWER_CAP_MESSAGE, "".join(parts))
                    size += n
                    parts.append(text)
                    on_text(
                        text
                    )  # its own errors (a closed stdout, Ctrl-C) pass through as they are
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a broken stream can fail; nothing to do
                    pass
        if (
            finish_reason is None and not saw_usage and not (watcher is not None and watcher.seen)
        ):  # neither the end, nor the usage chunk, nor [DONE] came
            partial = "".join(parts)
            if not partial:
                raise StreamCut("the server closed the stream before answering", partial)
            raise StreamCut(
                "the answer was cut off: the stream ended before the answer was complete", partial
            )
        return Reply(
            text="".join(parts),
            model=served_model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason,
            usage_valid=usage_valid,
        )


_ANSWER_CAP_MESSAGE = (
    f"the answer was cut off: it passed the {MAX_ANSWER_BYTES // (1024 * 1024)} MiB limit"
)


class _Malformed(Exception):
    """A reply or chunk whose shape is not a chat completion's."""


def _chunk_parts(chunk: Any) -> tuple[list[str], str | None, Any, str | None]:
    """(answer texts, finish_reason, usage object or None, model) of one stream chunk."""
    choices = getattr(chunk, "choices", None)
    if choices is None:
        choices = []
    if not isinstance(choices, list):
        raise _Malformed
    texts: list[str] = []
    finish: str | None = None
    for choice in choices:
        delta = getattr(choice, "delta", None)
        content = getattr(delta, "content", None) if delta is not None else None
        if content is not None and not isinstance(content, str):
            raise _Malformed
        if content:
            texts.append(content)
        finish = _short_text(getattr(choice, "finish_reason", None)) or finish
    return texts, finish, getattr(chunk, "usage", None), _short_text(getattr(chunk, "model", None))


def _raw_usage(body: bytes | None) -> Any:
    """The "usage" value of a JSON body exactly as sent (the SDK would turn "12" into 12)."""
    import json

    try:
        data = json.loads(body) if body else None
    except ValueError:
        return None
    return data.get("usage") if isinstance(data, dict) else None


def _usage(usage: Any) -> tuple[int | None, int | None, bool]:
    """(prompt_tokens, completion_tokens, valid): figures that are not non-negative integers
    (1.5, Infinity, -3, "12", null, true) make the whole usage ignored."""
    if usage is None:
        return None, None, True
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    else:  # the SDK's object, when the raw value could not be seen
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
    if _token_figure(prompt) and _token_figure(completion):
        return prompt, completion, True
    return None, None, False


def _token_figure(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_TOKEN_FIGURE


def _short_text(value: Any, limit: int = 200) -> str | None:
    """A short one-line identifier from the server (model, finish_reason), or None."""
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    clean = strip_controls(_utf8_safe(value))
    return clean or None


def _utf8_safe(text: str) -> str:
    """TEXT with unpaired surrogates (a lone `\\ud800` JSON escape) replaced by U+FFFD."""
    return _utf8_safe_sized(text)[0]


def _utf8_safe_sized(text: str) -> tuple[str, int]:
    try:
        return text, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        text = _SURROGATE.sub("\ufffd", text)
        return text, len(text.encode("utf-8"))


def _cap(text: str, limit: int) -> str:
    """The longest prefix of TEXT that is at most LIMIT bytes of UTF-8."""
    return text.encode("utf-8")[: max(0, limit)].decode("utf-8", "ignore")


def _find(exc: BaseException, kind: type[Any] | tuple[type[Any], ...]) -> Any:
    """The first exception of type KIND in EXC's cause/context chain, or None."""
    seen: BaseException | None = exc
    for _ in range(50):
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _is_timeout(exc: BaseException) -> bool:
    import httpx2

    from chatpro.lazy_openai import import_openai

    return _find(exc, (httpx2.TimeoutException, import_openai().APITimeoutError)) is not None


class _EventWatcher:
    """Wraps the SDK stream's SSE decoder: notices `[DONE]` (the SDK swallows it) and keeps the
    last "usage" value as the server sent it."""

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder
        self.seen = False
        self.usage: Any = None

    def iter_bytes(self, chunks: Any) -> Any:
        import json

        for event in self._decoder.iter_bytes(chunks):
            data = getattr(event, "data", "")
            if isinstance(data, str):
                if data.startswith("[DONE]"):
                    self.seen = True
                elif '"usage"' in data and len(data) < 65536:
                    try:
                        parsed = json.loads(data)
                    except ValueError:
                        parsed = None
                    if isinstance(parsed, dict) and parsed.get("usage") is not None:
                        self.usage = parsed["usage"]
            yield event

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decoder, name)


def _watch(stream: Any) -> _EventWatcher | None:
    """A watcher on STREAM's events, where the SDK lets us see them."""
    decoder = getattr(stream, "_decoder", None)
    if decoder is None or not hasattr(decoder, "iter_bytes"):
        return None
    watcher = _EventWatcher(decoder)
    try:
        stream._decoder = watcher
    except AttributeError:
        return None
    return watcher


def _error_code(exc: Any) -> str | None:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner.get("code") or inner.get("type")
    return None


def _retry_after(exc: Any) -> float:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("retry-after")
    try:
        return max(0.0, min(float(value), MAX_BACKOFF_SECONDS)) if value is not None else 0.0
    except ValueError:
        return 0.0


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen).lower()
    if "refused" in text:
        return "connection refused"
    if "name" in text and ("resolution" in text or "not known" in text or "resolve" in text):
        return "host not found"
    if "reset" in text or "disconnected" in text or "closed" in text:
        return "the connection was dropped"
    return type(seen).__name__


def _is_json_error(exc: BaseException) -> bool:
    import json

    return _find(exc, json.JSONDecodeError) is not None

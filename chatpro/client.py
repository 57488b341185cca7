"""The OpenAI wrapper: lazy `import openai`, streaming with usage, our own retries, errors mapped.

The SDK's own retries are off (max_retries=0) so that a 429 `insufficient_quota` fails at once
and every retry is visible and bounded here. Every SDK and transport error becomes a ChatproError
with SPEC's exit code; server messages are scrubbed of the key before they are shown.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chatpro.credentials import scrub
from chatpro.errors import AuthError, ConfigError, ServiceError

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 8.0
BASE_BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class ClientConfig:
    api_key: str
    base_url: str
    timeout: float
    max_retries: int

    def __repr__(self) -> str:
        return f"ClientConfig(base_url={self.base_url!r}, timeout={self.timeout}, max_retries={self.max_retries})"


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None


class StreamCut(ServiceError):
    """The answer began but the stream broke off; the partial text was already delivered."""

    def __init__(self, message: str, partial: str) -> None:
        super().__init__(message)
        self.partial = partial


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
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

    def _client(self) -> Any:
        if self._sdk is None:
            from chatpro.lazy_openai import import_openai

            openai = import_openai()
            cfg = self._config
            self._sdk = openai.OpenAI(
                api_key=cfg.api_key,
                base_url=cfg.base_url,
                timeout=openai.Timeout(cfg.timeout, connect=min(cfg.timeout, 10.0)),
                max_retries=0,
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
        response = self._create_with_retries(kwargs)
        if stream:
            return self._read_stream(response, model, on_text)
        return self._read_whole(response, model, on_text)

    # --- internals ----------------------------------------------------------------------------

    def _create_with_retries(self, kwargs: dict[str, Any]) -> Any:
        attempts = self._config.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response: Any = self._client().chat.completions.create(**kwargs)
                return response
            except Exception as exc:  # noqa: BLE001 - every SDK error is mapped below
                error, retry_after = self._map_error(exc, attempts=attempt)
                if retry_after is None or attempt == attempts:
                    raise error from None
                self._sleep(retry_after if retry_after > 0 else self._backoff(attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2.0 ** (attempt - 1)))

    def _map_error(self, exc: Exception, *, attempts: int) -> tuple[Exception, float | None]:
        """The ChatproError for EXC, and whether to retry (seconds to wait; 0 = backoff)."""
        from chatpro.lazy_openai import import_openai

        openai = import_openai()
        tries = f" after {attempts} attempt{'s' if attempts > 1 else ''}"
        if isinstance(exc, openai.APITimeoutError):
            return ServiceError(
                f"the server did not answer within {self._config.timeout:g} s{tries}"
            ), 0
        if isinstance(exc, openai.APIConnectionError):
            cause = _root_cause(exc)
            return ServiceError(f"cannot connect to {self._config.base_url}: {cause}{tries}"), 0
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = self._server_message(exc)
            if status == 401:
                return AuthError(
                    "the server refused the API key (HTTP 401)",
                    hint="check it with 'chatpro key show'; set another with 'chatpro key set' or OPENAI_API_KEY",
                ), None
            if status == 403:
                return AuthError(f"access denied (HTTP 403){detail}"), None
            if status == 429 and _error_code(exc) == "insufficient_quota":
                return ServiceError(
                    "the API account has no quota left (HTTP 429 insufficient_quota); not retried",
                    hint="check the plan and billing of the account this key belongs to",
                ), None
            if status in RETRY_STATUSES:
                what = "rate limited by the server" if status == 429 else "the server failed"
                return ServiceError(f"{what} (HTTP {status}){detail}{tries}"), _retry_after(exc)
            if status == 404:
                return ServiceError(
                    f"the server answered HTTP 404{detail}",
                    hint="is the model name right for this server?",
                ), None
            return ServiceError(f"the server refused the request (HTTP {status}){detail}"), None
        if isinstance(exc, openai.APIResponseValidationError) or _is_json_error(exc):
            return ServiceError("the server's reply is not valid JSON"), None
        if isinstance(exc, openai.OpenAIError):
            return ServiceError(f"request failed: {self._scrub(str(exc))}"), None
        return ServiceError(f"request failed: {type(exc).__name__}: {self._scrub(str(exc))}"), None

    def _server_message(self, exc: Any) -> str:
        body = getattr(exc, "body", None)
        message = None
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict):
                message = inner.get("message")
            elif isinstance(inner, str):
                message = inner
        if not message:
            return ""
        text = " ".join(str(message).split())[:300]
        return f": {self._scrub(text)}"

    def _scrub(self, text: str) -> str:
        return scrub(text, [self._config.api_key])

    def _read_whole(self, response: Any, model: str, on_text: Callable[[str], None]) -> Reply:
        try:
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content or "") if choice is not None else ""
            usage = response.usage
        except Exception:  # noqa: BLE001 - a reply that is not a chat completion
            raise ServiceError("the server's reply is not a valid chat completion") from None
        if choice is None:
            raise ServiceError("the server's reply has no answer in it")
        on_text(text)
        return Reply(
            text=text,
            model=getattr(response, "model", None) or model,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            finish_reason=choice.finish_reason,
        )

    def _read_stream(self, stream: Any, model: str, on_text: Callable[[str], None]) -> Reply:
        parts: list[str] = []
        saw_done = _watch_for_done(stream)
        finish_reason: str | None = None
        prompt_tokens = completion_tokens = None
        served_model = model
        try:
            for chunk in stream:
                if getattr(chunk, "model", None):
                    served_model = chunk.model
                if chunk.usage is not None:
                    prompt_tokens = chunk.usage.prompt_tokens
                    completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices or ():
                    delta = choice.delta.content if choice.delta is not None else None
                    if delta:
                        parts.append(delta)
                        on_text(delta)
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
        except Exception as exc:  # noqa: BLE001 - anything mid-stream is a cut-off answer
            partial = "".join(parts)
            error, _ = self._map_error(exc, attempts=1)
            reason = error.message if isinstance(error, ServiceError) else str(error)
            if _is_json_error(exc):
                reason = "the server sent a chunk that is not valid JSON"
            raise StreamCut(f"the answer was cut off: {reason}", partial) from None
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a broken stream can fail; nothing to do
                    pass
        if (
            finish_reason is None and prompt_tokens is None and not saw_done()
        ):  # neither the end, nor the usage chunk, nor [DONE] came
            partial = "".join(parts)
            if not partial and prompt_tokens is None:
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
        )


class _DoneWatcher:
    """Wraps the SDK stream's SSE decoder to notice the `[DONE]` event (the SDK swallows it)."""

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder
        self.seen = False

    def iter_bytes(self, chunks: Any) -> Any:
        for event in self._decoder.iter_bytes(chunks):
            if str(getattr(event, "data", "")).startswith("[DONE]"):
                self.seen = True
            yield event

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decoder, name)


def _watch_for_done(stream: Any) -> Callable[[], bool]:
    """A check for "the server ended the stream properly", where the SDK lets us see it."""
    decoder = getattr(stream, "_decoder", None)
    if decoder is None or not hasattr(decoder, "iter_bytes"):
        return lambda: False
    watcher = _DoneWatcher(decoder)
    try:
        stream._decoder = watcher
    except AttributeError:
        return lambda: False
    return lambda: watcher.seen


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

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, json.JSONDecodeError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False

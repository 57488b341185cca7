"""An OpenAI-compatible chat server on 127.0.0.1 for the tests.

It speaks the real wire protocol (JSON and SSE streaming with a final usage chunk, error bodies
and statuses) so the real `openai` client is exercised end to end. Tests script what the next
requests get (`server.queue(...)`) and read what the server received (`server.requests`).
Hostile behaviours too: arbitrary usage values, raw SSE framing, gzip bodies and bombs, endless
and trickling streams, redirects, and whole raw HTTP responses.
"""

from __future__ import annotations

import gzip as gzip_module
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_TEXT = "Here is a draft reply for your client."


@dataclass
class Behaviour:
    """What one request gets. Defaults: a streamed/whole answer of `text` with a usage chunk."""

    text: str = DEFAULT_TEXT
    status: int = 200
    error_body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunk_size: int = 8  # characters a streamed chunk
    delay: float = 0.0  # seconds before answering
    chunk_delay: float = 0.0  # seconds between streamed chunks
    cut_after: int | None = None  # close the connection after this many chunks
    include_usage: bool = True
    finish: bool = True  # send finish_reason and [DONE]
    finish_reason: bool = True  # send the chunk with finish_reason (some servers never do)
    stop_reason: str = "stop"  # the finish_reason sent ("length": the answer hit the limit)
    raw: bytes | None = None  # send these bytes as the body (e.g. invalid JSON)
    prompt_tokens: int | None = None
    usage: Any = None  # the "usage" object sent as it is (any JSON: 1.5, "12", null, ...)
    raw_chunks: list[bytes] | None = None  # a streamed body of exactly these byte pieces
    gzip: bool = False  # gzip the body (content-encoding: gzip)
    bomb: int = 0  # the body is gzip of this many zero bytes, sent as an SSE stream
    endless: bool = False  # stream `text` chunks forever (until the client goes away)
    trickle: bytes | None = None  # stream these bytes one piece at a time, `chunk_delay` apart
    redirect_to: str | None = None  # answer 307 with this Location
    response: bytes | None = None  # a whole raw HTTP response (status line and all), then close


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def last_user(self) -> str:
        users = [m for m in self.messages if m.get("role") == "user"]
        return str(users[-1]["content"]) if users else ""

    @property
    def system(self) -> str:
        return "\n".join(str(m["content"]) for m in self.messages if m.get("role") == "system")


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._queue: list[Behaviour] = []
        self.default = Behaviour()
        # extra endpoints (tests/fakebatch.py): (method, path, headers, body) -> (status, body, type)
        self.routes: list[Any] = []
        self.model_ids = ["gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo"]  # what GET /v1/models lists
        self.gets: list[str] = []  # the paths of GET requests, in order
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def fail(
        self,
        status: int,
        message: str = "failure",
        *,
        code: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = {"error": {"message": message, "type": "error", "code": code}}
        self.queue(
            *[
                Behaviour(status=status, error_body=body, headers=headers or {})
                for _ in range(times)
            ]
        )

    def _next(self) -> Behaviour:
        with self._lock:
            return self._queue.pop(0) if self._queue else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _routed(self, method: str, raw: bytes) -> bool:
                headers = {k.lower(): v for k, v in self.headers.items()}
                for route in server.routes:
                    answer = route(method, self.path, headers, raw)
                    if answer is not None:
                        self._send(*answer)
                        return True
                return False

            def do_GET(self) -> None:  # /v1/models
                with server._lock:
                    server.gets.append(self.path)
                if self._routed("GET", b""):
                    return
                data = [{"id": m, "object": "model"} for m in server.model_ids]
                body = json.dumps({"object": "list", "data": data}).encode()
                self._send(200, body, "application/json")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                if self._routed("POST", raw):
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                with server._lock:
                    server.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                b = server._next()
                if b.delay:
                    time.sleep(b.delay)
                if b.response is not None:
                    self.close_connection = True
                    self.wfile.write(b.response)
                    self.wfile.flush()
                    return
                if b.redirect_to is not None:
                    self._send(307, b"", "text/plain", {"location": b.redirect_to, **b.headers})
                    return
                if b.raw is not None:
                    self._send(b.status, b.raw, "application/json", b.headers)
                    return
                if b.raw_chunks is not None or b.bomb or b.endless or b.trickle is not None:
                    self._hostile_stream(b)
                    return
                if b.status != 200:
                    self._send(
                        b.status,
                        json.dumps(b.error_body or {}).encode(),
                        "application/json",
                        b.headers,
                    )
                    return
                model = body.get("model", "gpt-4o")
                prompt_tokens = (
                    b.prompt_tokens if b.prompt_tokens is not None else _rough_tokens(body)
                )
                completion_tokens = max(1, len(b.text) // 4)
                usage: Any = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                }
                if b.usage is not None:
                    usage = b.usage
                if body.get("stream"):
                    self._stream(
                        b,
                        model,
                        usage,
                        bool((body.get("stream_options") or {}).get("include_usage")),
                    )
                else:
                    reply = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": b.text},
                                "finish_reason": b.stop_reason,
                                "logprobs": None,
                            }
                        ],
                        "usage": usage if b.include_usage else None,
                    }
                    data = json.dumps(reply).encode()
                    headers = dict(b.headers)
                    if b.gzip:
                        data = gzip_module.compress(data)
                        headers["content-encoding"] = "gzip"
                    self._send(200, data, "application/json", headers)

            def _hostile_stream(self, b: Behaviour) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                if b.bomb or b.gzip:
                    self.send_header("content-encoding", "gzip")
                for k, v in b.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.close_connection = True
                try:
                    if b.bomb:
                        self.wfile.write(_gzip_zeros(b.bomb))
                    elif b.trickle is not None:
                        for i in range(0, len(b.trickle), b.chunk_size):
                            self.wfile.write(b.trickle[i : i + b.chunk_size])
                            self.wfile.flush()
                            time.sleep(b.chunk_delay)
                    elif b.endless:
                        piece = json.dumps(
                            {
                                "id": "c",
                                "object": "chat.completion.chunk",
                                "created": 0,
                                "model": "gpt-4o",
                                "choices": [
                                    {
                                        "index": 0,
                                        "delta": {"content": b.text},
                                        "finish_reason": None,
                                    }
                                ],
                            }
                        )
                        block = f"data: {piece}\n\n".encode() * 64
                        while True:
                            self.wfile.write(block)
                    else:
                        pieces = b.raw_chunks or []
                        if b.gzip:
                            pieces = [gzip_module.compress(b"".join(pieces))]
                        for piece in pieces:
                            self.wfile.write(piece)
                            self.wfile.flush()
                            if b.chunk_delay:
                                time.sleep(b.chunk_delay)
                    self.wfile.flush()
                except OSError:
                    pass

            def _send(
                self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, b: Behaviour, model: str, usage: Any, want_usage: bool) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()
                pieces = [
                    b.text[i : i + b.chunk_size] for i in range(0, len(b.text), b.chunk_size)
                ] or [""]

                def event(obj: Any) -> None:
                    self.wfile.write(f"data: {json.dumps(obj)}\n\n".encode())
                    self.wfile.flush()

                def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
                    return {
                        "id": "chatcmpl-test",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }

                try:
                    event(chunk({"role": "assistant", "content": ""}))
                    for n, piece in enumerate(pieces):
                        if b.cut_after is not None and n >= b.cut_after:
                            self.wfile.flush()
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        if b.chunk_delay:
                            time.sleep(b.chunk_delay)
                        event(chunk({"content": piece}))
                    if not b.finish:
                        return
                    if b.finish_reason:
                        event(chunk({}, b.stop_reason))
                    if want_usage and b.include_usage:
                        event(
                            {
                                "id": "chatcmpl-test",
                                "object": "chat.completion.chunk",
                                "created": 0,
                                "model": model,
                                "choices": [],
                                "usage": usage,
                            }
                        )
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        return Handler


def sse(*objects: Any, done: bool = True) -> list[bytes]:
    """SSE events for OBJECTS (dicts are JSON-encoded; bytes and str are sent as the data)."""
    events = []
    for obj in objects:
        if isinstance(obj, bytes):
            data = obj
        else:
            data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        events.append(b"data: " + data + b"\n\n")
    if done:
        events.append(b"data: [DONE]\n\n")
    return events


def text_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    """One chat.completion.chunk carrying TEXT."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }


def _gzip_zeros(size: int) -> bytes:
    """gzip of SIZE zero bytes, made without holding SIZE bytes in memory."""
    import io

    out = io.BytesIO()
    with gzip_module.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            gz.write(block)
        gz.write(bytes(size % len(block)))
    return out.getvalue()


def _rough_tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4 + 1

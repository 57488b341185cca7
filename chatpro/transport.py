"""The HTTP layer under the openai client: what a server may do to us is bounded here.

- One deadline per attempt (connect to last byte): every socket read, write and connect gets the
  time that is left as its timeout, so a server trickling bytes is stopped at the deadline without
  a watchdog thread.
- Response bodies are decompressed here, in bounded steps, and counted after decompression: past
  `MAX_BODY_BYTES` the read stops (a tiny gzip body that inflates to gigabytes included).
- Redirects are followed only to the base URL's own scheme, host and port.

Imported only by `ChatClient` when it first talks to the server (it imports httpx2).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore2
import httpx2

MAX_BODY_BYTES = 32 * 1024 * 1024
_STEP = 64 * 1024  # most bytes one decompression step may produce


class GuardError(Exception):
    """A limit stopped the request; `reason` is a clean phrase for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BodyTooLarge(GuardError):
    pass


class DeadlineExceeded(GuardError):
    pass


class CrossHostRedirect(GuardError):
    pass


class BadEncoding(GuardError):
    pass


class Guard:
    """The limits of one client: the allowed origin, the body cap and the current deadline."""

    def __init__(self, base_url: str, timeout: float, *, max_body: int = MAX_BODY_BYTES) -> None:
        url = httpx2.URL(base_url)
        self.origin = (url.scheme, url.host, url.port)
        self.timeout = timeout
        self.max_body = max_body
        self.deadline: float | None = None

    def begin_attempt(self) -> None:
        self.deadline = time.monotonic() + self.timeout

    def end_attempt(self) -> None:
        self.deadline = None

    def clamp(self, timeout: float | None) -> float | None:
        """TIMEOUT shortened to the time left in this attempt; past the deadline, stop."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(f"no complete answer within {self.timeout:g} s")
        return left if timeout is None else min(timeout, left)

    def check_origin(self, url: httpx2.URL) -> None:
        if (url.scheme, url.host, url.port) != self.origin:
            host = url.host[:100] or "?"
            raise CrossHostRedirect(
                f"the server redirected the request to another host ({host}); not followed"
            )


def http_client(base_url: str, timeout: float) -> tuple[httpx2.Client, Guard]:
    """An httpx2 client for the openai SDK with every transport (proxies included) guarded."""
    guard = Guard(base_url, timeout)
    client = httpx2.Client(
        follow_redirects=True,  # as the SDK does; check_origin refuses other hosts
        headers={"accept-encoding": "gzip, deflate"},
        **tls_settings(guard),
    )
    # httpx2 builds the transports (and the proxy ones from the environment) itself; wrap them.
    client._transport = GuardedTransport(client._transport, guard)
    client._mounts = {
        pattern: None if transport is None else GuardedTransport(transport, guard)
        for pattern, transport in client._mounts.items()
    }
    return client, guard


def tls_settings(guard: Guard) -> dict[str, Any]:
    """The client's TLS settings for GUARD's origin.

    A plain-http server (a model server on this machine, a test server) is never reached over
    TLS: check_origin keeps every request on the base URL's scheme. Its client gets a context that
    trusts no certificate instead of one loaded with the CA bundle (about 3 MiB and 20 ms spent
    for nothing), so a TLS connection, were one ever attempted, would fail closed. An https
    origin keeps httpx2's default verification."""
    if guard.origin[0] != "http":
        return {}
    import ssl

    return {"verify": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)}  # verifies, with nothing trusted


class GuardedTransport(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport, guard: Guard) -> None:
        self._inner = inner
        self._guard = guard
        pool = getattr(inner, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if pool is not None and backend is not None:
            pool._network_backend = _DeadlineBackend(backend, guard)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self._guard.check_origin(request.url)
        self._guard.clamp(None)
        response = self._inner.handle_request(request)
        encodings = [
            e.strip().lower()
            for e in response.headers.get_list("content-encoding", split_commas=True)
            if e.strip().lower() not in ("", "identity")
        ]
        headers = [
            (k, v)
            for k, v in response.headers.raw
            if k.lower() not in (b"content-encoding", b"content-length") or not encodings
        ]
        assert isinstance(response.stream, httpx2.SyncByteStream)
        return httpx2.Response(
            status_code=response.status_code,
            headers=headers,
            stream=_GuardedBody(response.stream, encodings, self._guard),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


class _GuardedBody(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, encodings: list[str], guard: Guard) -> None:
        self._inner = inner
        self._guard = guard
        self._decoders = [_Inflater(e) for e in reversed(encodings)]
        self._seen = 0

    def __iter__(self) -> Iterator[bytes]:
        for raw in self._inner:
            self._guard.clamp(None)
            for piece in self._decode(raw, 0):
                self._seen += len(piece)
                if self._seen > self._guard.max_body:
                    raise BodyTooLarge(
                        f"the reply passed the {self._guard.max_body // (1024 * 1024)} MiB limit"
                    )
                yield piece

    def _decode(self, data: bytes, level: int) -> Iterator[bytes]:
        if level == len(self._decoders):
            if data:
                yield data
            return
        for piece in self._decoders[level].feed(data):
            yield from self._decode(piece, level + 1)

    def close(self) -> None:
        self._inner.close()


class _Inflater:
    """gzip or deflate, decompressed at most `_STEP` bytes at a time."""

    def __init__(self, encoding: str) -> None:
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise BadEncoding(f"the server used an unsupported content encoding ({encoding[:40]})")
        self._gzip = encoding != "deflate"
        self._raw_deflate = False
        self._started = False
        self._done = False
        self._d = self._new()

    def _new(self) -> Any:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while (data or self._started) and not self._done:
            try:
                out = self._d.decompress(data, _STEP)
            except zlib.error:
                if not self._gzip and not self._started and not self._raw_deflate:
                    self._raw_deflate = True  # "deflate" sent without the zlib header
                    self._d = self._new()
                    continue
                raise BadEncoding("the server sent a compressed reply that is corrupt") from None
            self._started = True
            if out:
                yield out
            if self._d.eof:
                rest = self._d.unused_data
                if self._gzip and rest:
                    self._d, self._started = self._new(), False  # another gzip member
                    data = rest
                    continue
                self._done = True
                return
            data = self._d.unconsumed_tail
            if not data and len(out) < _STEP:
                return


class _DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self, inner: httpcore2.NetworkBackend, guard: Guard) -> None:
        self._inner = inner
        self._guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, self._guard.clamp(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._guard)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_unix_socket(path, self._guard.clamp(timeout), socket_options)
        return _DeadlineStream(stream, self._guard)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream, guard: Guard) -> None:
        self._inner = inner
        self._guard = guard

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._guard.clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._guard.clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        stream = self._inner.start_tls(ssl_context, server_hostname, self._guard.clamp(timeout))
        return _DeadlineStream(stream, self._guard)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

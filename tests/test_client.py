"""ChatClient against the loopback server, in-process: the real openai client over real HTTP."""

from __future__ import annotations

import json

import pytest

from chatpro.client import ChatClient, ClientConfig, Reply, StreamCut, is_loopback
from chatpro.errors import ChatproError, ServiceError
from tests.conftest import SENTINEL_KEY
from tests.fakeserver import Behaviour, FakeOpenAI, sse, text_chunk

MiB = 1024 * 1024


def make_client(url: str, *, timeout: float = 10, retries: int = 0) -> ChatClient:
    config = ClientConfig(api_key=SENTINEL_KEY, base_url=url, timeout=timeout, max_retries=retries)
    return ChatClient(config, sleep=lambda seconds: None)


def ask(client: ChatClient, *, stream: bool = True) -> tuple[Reply, list[str]]:
    got: list[str] = []
    reply = client.complete(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        stream=stream,
        on_text=got.append,
    )
    return reply, got


def cut(client: ChatClient, *, stream: bool = True) -> StreamCut:
    with pytest.raises(StreamCut) as info:
        ask(client, stream=stream)
    return info.value


def failure(client: ChatClient, *, stream: bool = True) -> ChatproError:
    with pytest.raises(ChatproError) as info:
        ask(client, stream=stream)
    return info.value


# --- usage figures ---------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("bad", [1.5, float("inf"), -3, "12", None, True, 10**30])
def test_usage_that_is_not_a_token_count_is_ignored(server, stream, bad):
    server.queue(Behaviour(usage={"prompt_tokens": bad, "completion_tokens": 7, "total_tokens": 9}))
    reply, _ = ask(make_client(server.url), stream=stream)
    assert reply.text == "Here is a draft reply for your client."
    assert (reply.prompt_tokens, reply.completion_tokens) == (None, None)
    assert reply.usage_valid is False


def test_usage_1e400_is_ignored(server):
    usage = b'{"id":"c","object":"chat.completion.chunk","created":0,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1e400,"completion_tokens":2}}'
    server.queue(Behaviour(raw_chunks=sse(text_chunk("ok", "stop"), usage)))
    reply, _ = ask(make_client(server.url))
    assert reply.text == "ok"
    assert reply.prompt_tokens is None


def test_valid_usage_is_kept(server):
    server.queue(Behaviour(usage={"prompt_tokens": 11, "completion_tokens": 3}))
    reply, _ = ask(make_client(server.url))
    assert (reply.prompt_tokens, reply.completion_tokens, reply.usage_valid) == (11, 3, True)


# --- caps --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_gzip_bomb_stops_at_the_body_cap(server, stream):
    server.queue(Behaviour(bomb=100 * MiB))  # ~100 KB on the wire
    error = failure(make_client(server.url), stream=stream)
    assert isinstance(error, ServiceError)
    assert "32 MiB" in error.message


def test_gzip_stream_is_read(server):
    server.queue(Behaviour(raw_chunks=sse(text_chunk("zipped", "stop")), gzip=True))
    reply, _ = ask(make_client(server.url))
    assert reply.text == "zipped"


def test_endless_stream_stops_at_the_answer_cap_with_the_partial_answer(server):
    server.queue(Behaviour(endless=True, text="y" * 1000))
    got: list[str] = []
    with pytest.raises(StreamCut) as info:
        make_client(server.url, timeout=300).complete(  # the cap stops it, not the deadline
            model="gpt-4o",
            messages=[{"role": "user", "content": "x"}],
            stream=True,
            on_text=got.append,
        )
    assert info.value.message == "the answer was cut off: it passed the 8 MiB limit"
    assert len(info.value.partial) == 8 * MiB
    assert "".join(got) == info.value.partial


def test_whole_answer_over_the_cap_is_cut(server):
    server.queue(Behaviour(text="z" * (9 * MiB)))
    error = cut(make_client(server.url), stream=False)
    assert len(error.partial) == 8 * MiB


# --- deadline, redirects -----------------------------------------------------------------------


def test_timeout_bounds_the_whole_attempt_not_each_read(server):
    first = sse(text_chunk("Hello"), done=False)
    server.queue(Behaviour(raw_chunks=first + [b": "] * 60, chunk_delay=0.3))
    error = cut(make_client(server.url, timeout=1.5))
    assert error.message == "the answer was cut off: no complete answer within 1.5 s"
    assert error.partial == "Hello"


def test_redirect_to_another_host_is_not_followed(server):
    other = FakeOpenAI().start()
    try:
        server.queue(Behaviour(redirect_to=f"{other.url}/chat/completions"))
        error = failure(make_client(server.url), stream=True)
        assert isinstance(error, ServiceError)
        assert "redirected the request to another host" in error.message
        assert other.requests == []
    finally:
        other.stop()


def test_redirect_on_the_same_host_is_followed(server):
    server.queue(Behaviour(redirect_to=f"{server.url}/chat/completions?moved=1"))
    reply, _ = ask(make_client(server.url))
    assert reply.text == "Here is a draft reply for your client."
    assert [r.path for r in server.requests] == [
        "/v1/chat/completions",
        "/v1/chat/completions?moved=1",
    ]


# --- surrogates --------------------------------------------------------------------------------


def test_unpaired_surrogate_in_a_stream_becomes_replacement_character(server):
    server.queue(Behaviour(raw_chunks=sse(json.dumps(text_chunk("a\ud800b", "stop")))))
    reply, got = ask(make_client(server.url))
    assert reply.text == "a\ufffdb"
    assert got == ["a\ufffdb"]


def test_unpaired_surrogate_in_a_whole_reply_becomes_replacement_character(server):
    server.queue(Behaviour(text="a\udfffb"))
    reply, _ = ask(make_client(server.url), stream=False)
    assert reply.text == "a\ufffdb"


# --- errors and retries ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 520, 529, 408, 409, 429])
def test_every_5xx_and_408_409_429_is_retried(server, status):
    server.fail(status, "busy")
    reply, _ = ask(make_client(server.url, retries=1))
    assert reply.text
    assert len(server.requests) == 2


def test_rate_limit_message_is_one_clean_sentence(server):
    server.fail(429, "Rate limit exceeded.", times=3)
    error = failure(make_client(server.url, retries=2))
    assert error.message == (
        'rate limited by the server (HTTP 429) after 3 attempts; the server said "Rate limit exceeded"'
    )


def test_insufficient_quota_is_not_retried(server):
    server.fail(429, "quota", code="insufficient_quota", times=3)
    error = failure(make_client(server.url, retries=2))
    assert "insufficient_quota" in error.message
    assert len(server.requests) == 1


def test_dropped_connection_mid_stream_says_so(server):
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    event = sse(text_chunk("Hel"), done=False)[0]
    body = f"{len(event):x}\r\n".encode() + event + b"\r\n" + b"ff\r\ndata: {"  # then gone
    server.queue(Behaviour(response=head + body))
    error = cut(make_client(server.url))
    assert error.message == "the answer was cut off: the connection was dropped"
    assert error.partial == "Hel"


def test_server_message_is_scrubbed_flattened_capped_and_stripped(server):
    nasty = f"bad key {SENTINEL_KEY}\n\x1b]52;c;aGk=\x07\x1b[2Jline two\r\n" + "x" * 5000
    server.fail(400, nasty)
    error = failure(make_client(server.url))
    assert SENTINEL_KEY not in error.message
    assert "\x1b" not in error.message and "\n" not in error.message and "\r" not in error.message
    assert "line two" in error.message
    assert len(error.message) < 400


def test_404_without_a_version_in_the_base_url_hints_at_the_path(server):
    server.fail(404, "not found")
    base = f"http://127.0.0.1:{server.port}"
    error = failure(make_client(base))
    assert error.hint == f"the base URL usually ends in /v1 (OPENAI_BASE_URL={base}/v1)"


def test_404_with_a_versioned_base_url_hints_at_the_model(server):
    server.fail(404, "model not found")
    error = failure(make_client(server.url))
    assert error.hint is not None and "model name" in error.hint


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("evil.localhost", False),
        ("localhost.evil.com", False),
        ("128.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback

"""A hostile server against real chatpro processes, and random replies against the client."""

from __future__ import annotations

import gzip
import json
import random
import signal
import subprocess
import sys

from chatpro.client import ChatClient, ClientConfig, Reply
from chatpro.errors import ChatproError
from tests.conftest import SENTINEL_KEY
from tests.fakeserver import Behaviour, FakeOpenAI, sse, text_chunk


def set_config(run, text: str) -> None:
    cfg = run.home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def test_trickling_server_is_stopped_at_the_deadline_exit_5(run, server):
    set_config(run, "[api]\ntimeout = 2\nmax_retries = 0\n")
    first = sse(text_chunk("Hello"), done=False)
    server.queue(Behaviour(raw_chunks=first + [b": "] * 100, chunk_delay=0.5))
    result = run("ask", "hi")
    assert result.returncode == 5, result.stderr
    assert result.stdout.startswith("Hello")
    assert "no complete answer within 2 s" in result.stderr


def test_cross_host_redirect_is_exit_5_and_not_followed(run, server):
    other = FakeOpenAI().start()
    try:
        server.queue(Behaviour(redirect_to=f"{other.url}/chat/completions"))
        result = run("ask", "--no-stream", "secret plans")
        assert result.returncode == 5
        assert "redirected the request to another host" in result.stderr
        assert other.requests == []
    finally:
        other.stop()


def test_unpaired_surrogate_no_stream_is_exit_0(run, server):
    server.queue(Behaviour(text="caf\ud800!"))
    result = run("ask", "--no-stream", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "caf\ufffd!\n"


def test_unpaired_surrogate_streamed_is_not_cut_off(run, server):
    server.queue(Behaviour(raw_chunks=sse(json.dumps(text_chunk("caf\udc00!", "stop")))))
    result = run("ask", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "caf\ufffd!\n"
    assert "cut off" not in result.stderr


def test_fractional_usage_does_not_break_later_commands(run, server):
    server.queue(Behaviour(usage={"prompt_tokens": 1.5, "completion_tokens": 1e300}))
    assert run("ask", "hi").returncode == 0
    assert run("ask", "again").returncode == 0
    assert run("usage").returncode == 0


def test_gzip_bomb_is_exit_5(run, server):
    server.queue(Behaviour(bomb=64 * 1024 * 1024))
    result = run("ask", "hi")
    assert result.returncode == 5
    assert "32 MiB" in result.stderr


def test_ctrl_c_ends_an_endless_fast_stream(run, server):
    server.queue(Behaviour(endless=True, text="y" * 500))
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatpro", "ask", "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=run.environment(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    proc.stdout.read(100_000)  # well into the answer
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()[-500:]


# --- fuzz: random replies thrown at ChatClient.complete ----------------------------------------------


def random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 7, 2**70, 1.5, float("inf")])
    if kind == 3:
        return rng.choice(["", "stop", "\ud800", "x" * rng.randint(0, 50), "\x1b[2J"])
    if kind in (4, 5):
        return rng.choice(["gpt-4o", "length", None, 3])
    if kind == 6:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["choices", "delta", "content", "usage", "prompt_tokens", "message", "model", "error"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_chunk(rng: random.Random) -> object:
    roll = rng.random()
    if roll < 0.4:
        chunk = text_chunk(rng.choice(["hi", "", "\ud83d", "a\x1b]52;c;x\x07"]))
        if rng.random() < 0.3:
            chunk["choices"][0] = random_json(rng)
        return chunk
    if roll < 0.6:
        return {"choices": [], "usage": random_json(rng)}
    return json.dumps(random_json(rng))  # any JSON value as an event


def random_reply(rng: random.Random) -> Behaviour:
    roll = rng.random()
    if roll < 0.45:  # a stream of random chunks with random framing
        events = b"".join(
            sse(*[random_chunk(rng) for _ in range(rng.randint(0, 5))], done=rng.random() < 0.5)
        )
        if rng.random() < 0.3:
            events = events[: rng.randint(0, len(events))]
        if rng.random() < 0.2:
            events = events.replace(b"\n\n", rng.choice([b"\n", b"\r\n\r\n", b"\n\n\n", b"\r"]))
        return Behaviour(raw_chunks=[events], gzip=rng.random() < 0.1)
    status = rng.choice([200, 200, 200, 201, 204, 301, 400, 404, 418, 429, 500, 529, 600])
    if roll < 0.75:
        body = json.dumps(random_json(rng)).encode()
    elif roll < 0.85:
        body = gzip.compress(b"{}")[: rng.randint(0, 20)] + rng.randbytes(rng.randint(0, 30))
    else:
        body = rng.randbytes(rng.randint(0, 60))
    headers = ""
    if rng.random() < 0.2:
        headers += f"content-encoding: {rng.choice(['gzip', 'deflate', 'br', 'x'])}\r\n"
    ctype = rng.choice(["application/json", "text/event-stream", "text/plain"])
    length = len(body) if rng.random() < 0.8 else rng.randint(0, 100)
    head = (
        f"HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {length}\r\n{headers}\r\n"
    )
    return Behaviour(response=head.encode() + body)


def test_fuzz_random_replies_give_a_reply_or_a_chatpro_error(server):
    rng = random.Random(20240601)
    config = ClientConfig(api_key=SENTINEL_KEY, base_url=server.url, timeout=0.5, max_retries=0)
    client = ChatClient(config, sleep=lambda seconds: None)
    outcomes: dict[str, int] = {}
    for _ in range(1000):
        server.queue(random_reply(rng))
        stream = rng.random() < 0.5
        try:
            reply = client.complete(
                model="gpt-4o",
                messages=[{"role": "user", "content": "x"}],
                stream=stream,
                on_text=lambda text: text.encode("utf-8"),  # printing would fail on a surrogate
            )
            assert isinstance(reply, Reply)
            reply.text.encode("utf-8")
            kind = "reply"
        except ChatproError as exc:
            assert SENTINEL_KEY not in exc.message
            assert "\x1b" not in exc.message and "\n" not in exc.message
            kind = type(exc).__name__
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert outcomes.get("reply", 0) > 50, outcomes
    assert sum(outcomes.values()) == 1000


def test_a_plain_http_server_gets_a_client_that_trusts_no_certificate():
    import ssl

    from chatpro.transport import Guard, tls_settings

    # a local model server over http never needs the CA bundle; should a TLS connection ever
    # be attempted through its client, verification is still on and nothing is trusted
    context = tls_settings(Guard("http://127.0.0.1:8080/v1", 5))["verify"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert tls_settings(Guard("https://api.openai.com/v1", 5)) == {}  # httpx2's verification


def test_a_redirect_from_plain_http_to_tls_on_the_same_host_is_not_followed(run, server):
    host_port = server.url.split("://", 1)[1].split("/", 1)[0]
    server.queue(Behaviour(redirect_to=f"https://{host_port}/v1/chat/completions"))
    result = run("ask", "--no-stream", "secret plans")
    assert result.returncode == 5
    assert "redirected the request" in result.stderr
    assert len(server.requests) == 1

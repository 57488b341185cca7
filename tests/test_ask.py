"""`chatpro ask` end to end: a real chatpro process against the loopback OpenAI server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from tests.conftest import SENTINEL_KEY, default_sigint
from tests.fakeserver import Behaviour


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert SENTINEL_KEY not in text
        assert SENTINEL_KEY[8:24] not in text


def test_answer_on_stdout_nothing_on_stderr(run, server):
    server.default = Behaviour(text="Dear client, could we move the deadline to Friday?")
    result = run("ask", "Draft", "a", "reply")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Dear client, could we move the deadline to Friday?\n"
    assert result.stderr == ""
    sent = server.requests[-1]
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["model"] == "gpt-4o"
    assert sent.last_user == "Draft a reply"
    assert sent.headers.get("authorization") == f"Bearer {SENTINEL_KEY}"


def test_json_has_the_spec_keys(run, server):
    server.default = Behaviour(text="Three risks.")
    result = run("ask", "--json", "Name three risks")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"chat_id", "model", "requested_model", "fallback", "text", "usage", "warnings"} <= set(
        data
    )
    assert data["text"] == "Three risks."
    assert data["model"] == data["requested_model"] == "gpt-4o"
    assert data["fallback"] is False
    assert {"prompt_tokens", "completion_tokens", "units"} <= set(data["usage"])
    assert data["usage"]["units"] == 1
    assert data["chat_id"].startswith("c_")


def test_piped_text_is_appended_after_a_blank_line(run, server):
    result = run("ask", "Summarize", input="line one\nline two\n")
    assert result.returncode == 0, result.stderr
    assert server.requests[-1].last_user == "Summarize\n\nline one\nline two\n"


def test_piped_text_alone_is_the_prompt(run, server):
    result = run("ask", input="What is a retainer?")
    assert result.returncode == 0, result.stderr
    assert server.requests[-1].last_user == "What is a retainer?"


@pytest.mark.parametrize("args,stdin", [((), ""), (("   ",), "\n\n")])
def test_nothing_to_ask_is_exit_2_and_sends_nothing(run, server, args, stdin):
    result = run("ask", *args, input=stdin)
    assert result.returncode == 2
    assert result.stderr.startswith("chatpro: error: nothing to ask")
    assert result.stdout == ""
    assert server.requests == []


def test_no_stream_and_request_options_reach_the_server(run, server):
    server.default = Behaviour(text="ok")
    result = run(
        "ask", "--no-stream", "-s", "Be terse.", "--max-tokens", "50", "--temperature", "0.2", "hi"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
    body = server.requests[-1].body
    assert "stream" not in body or body["stream"] is False
    assert body["max_tokens"] == 50
    assert body["temperature"] == 0.2
    assert "Be terse." in server.requests[-1].system


def test_model_alias_and_env_default(run, server):
    assert run("ask", "-m", "fast", "hi").returncode == 0
    assert server.requests[-1].body["model"] == "gpt-3.5-turbo"
    assert run("ask", "hi", env={"CHATPRO_MODEL": "fast"}).returncode == 0
    assert server.requests[-1].body["model"] == "gpt-3.5-turbo"


def test_unknown_model_is_exit_2_with_a_suggestion(run, server):
    result = run("ask", "-m", "gpt-4", "hi")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("chatpro: error: unknown model 'gpt-4'")
    assert "gpt-4o" in result.stderr
    assert len(lines) <= 2
    assert server.requests == []


@pytest.mark.parametrize("debug", [False, True])
def test_refused_key_is_exit_4_and_never_printed(run, server, debug):
    server.fail(401, f"Incorrect API key provided: {SENTINEL_KEY}", code="invalid_api_key")
    args = ["--debug"] if debug else []
    result = run(*args, "ask", "hi")
    assert result.returncode == 4
    assert "401" in result.stderr
    assert_no_key(result.stdout, result.stderr)
    if not debug:
        assert "Traceback" not in result.stderr


def test_forbidden_is_exit_4(run, server):
    server.fail(403, "project has no access")
    result = run("ask", "hi")
    assert result.returncode == 4
    assert "403" in result.stderr


def test_no_key_is_exit_4(run, server):
    result = run("ask", "hi", env={"OPENAI_API_KEY": ""})
    assert result.returncode == 4
    assert "no API key" in result.stderr
    assert server.requests == []


def test_insufficient_quota_fails_at_once(run, server):
    server.fail(429, "You exceeded your current quota", code="insufficient_quota", times=5)
    result = run("ask", "hi")
    assert result.returncode == 5
    assert "quota" in result.stderr
    assert len(server.requests) == 1


def test_server_errors_are_retried_then_exit_5(run, server):
    run.env["CHATPRO_HOME"] = str(run.home)
    (run.home / "config").mkdir(parents=True)
    (run.home / "config" / "config.toml").write_text("[api]\nmax_retries = 2\n")
    server.fail(503, "overloaded", times=10)
    result = run("ask", "hi")
    assert result.returncode == 5
    assert "503" in result.stderr
    assert len(server.requests) == 3
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_retry_that_succeeds_answers(run, server):
    server.fail(500, "hiccup")
    server.queue(Behaviour(text="fine"))
    result = run("ask", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fine\n"


def test_rate_limit_after_retries_is_exit_5(run, server):
    server.fail(
        429, "slow down", code="rate_limit_exceeded", times=10, headers={"retry-after": "0"}
    )
    result = run("ask", "hi")
    assert result.returncode == 5
    assert "429" in result.stderr


def test_connection_refused_is_exit_5(run, server):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("ask", "hi", env={"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"})
    assert result.returncode == 5
    assert "refused" in result.stderr
    assert_no_key(result.stderr)


def test_timeout_is_exit_5(run, server):
    (run.home / "config").mkdir(parents=True)
    (run.home / "config" / "config.toml").write_text("[api]\ntimeout = 0.5\nmax_retries = 0\n")
    server.queue(Behaviour(delay=3))
    result = run("ask", "hi")
    assert result.returncode == 5
    assert "within" in result.stderr


def test_stream_cut_keeps_the_partial_answer_and_exits_5(run, server):
    server.queue(Behaviour(text="The first part. The second part.", chunk_size=5, cut_after=3))
    result = run("ask", "hi")
    assert result.returncode == 5
    assert result.stdout.startswith("The first part"[:15])
    assert "cut off" in result.stderr


def test_a_reply_that_is_not_json_is_exit_5(run, server):
    server.queue(Behaviour(raw=b"<html>bad gateway</html>"))
    result = run("ask", "--no-stream", "hi")
    assert result.returncode == 5
    assert "JSON" in result.stderr


@pytest.mark.parametrize("url", ["http://api.example.com/v1", "http://10.0.0.5:8080/v1"])
def test_plain_http_to_a_remote_host_is_exit_4(run, server, url):
    result = run("ask", "hi", env={"OPENAI_BASE_URL": url})
    assert result.returncode == 4
    assert "http://" in result.stderr
    assert server.requests == []


def test_allow_insecure_lifts_the_check(run, server):
    (run.home / "config").mkdir(parents=True)
    (run.home / "config" / "config.toml").write_text(
        "[api]\nallow_insecure = true\nmax_retries = 0\ntimeout = 2\n"
    )
    result = run("ask", "hi", env={"OPENAI_BASE_URL": "http://nonexistent.invalid/v1"})
    assert result.returncode == 5  # got past the check, then failed to connect


def test_invalid_config_is_exit_4_naming_file_and_key(run, server):
    cfg = run.home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("[history]\nretention_days = 365\n")
    before = cfg.read_bytes()
    result = run("ask", "hi")
    assert result.returncode == 4
    assert str(cfg) in result.stderr
    assert "history.retention_days" in result.stderr
    assert cfg.read_bytes() == before
    assert server.requests == []


def interrupt_mid_answer(run, server, sig: int) -> tuple[int, str]:
    """Start `chatpro ask hi` on a slow stream, send SIG once the answer has begun."""
    server.queue(Behaviour(text="x" * 400, chunk_size=4, chunk_delay=0.05))
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatpro", "ask", "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=run.environment(),
        preexec_fn=default_sigint,
    )
    assert proc.stdout is not None
    proc.stdout.read(4)  # the answer has begun
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    return proc.returncode, err.decode()


def test_ctrl_c_during_an_answer_is_exit_130(run, server):
    code, err = interrupt_mid_answer(run, server, signal.SIGINT)
    assert code == 130
    assert "Aborted" not in err
    assert "Traceback" not in err


def test_output_redirect_leaves_only_the_answer(run, server, tmp_path):
    server.default = Behaviour(text="only this")
    target = tmp_path / "out.txt"
    env = run.environment()
    with open(target, "w") as fh:
        code = subprocess.call(
            [sys.executable, "-m", "chatpro", "ask", "x"],
            stdout=fh,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    assert code == 0
    assert target.read_text() == "only this\n"


def test_version(run_offline):
    result = run_offline("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("chatpro ")


def test_unknown_option_is_exit_2_one_line(run_offline):
    result = run_offline("ask", "--bogus")
    assert result.returncode == 2
    assert result.stderr.startswith("chatpro: error:")
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_bad_clock_override_is_a_configuration_error(run_offline):
    result = run_offline("ask", "hi", env={"CHATPRO_NOW": "not-a-date"})
    assert result.returncode == 4  # a bad CHATPRO_NOW is a configuration problem
    assert "CHATPRO_NOW" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_mid_answer_keeps_the_partial_answer_whole(run, server, home):
    code, _err = interrupt_mid_answer(run, server, signal.SIGTERM)
    assert code == 130
    records = [
        json.loads(line) for line in (home / "data" / "chats.jsonl").read_text().splitlines()
    ]
    assert [r["role"] for r in records] == ["user", "assistant"]
    assert records[-1]["interrupted"] is True
    assert records[-1]["content"].startswith("xxxx")


def test_a_stream_ended_by_done_alone_is_complete(run, server):
    """Some compatible servers send neither finish_reason nor usage, only [DONE]."""
    server.queue(Behaviour(text="short answer", finish_reason=False, include_usage=False))
    result = run("ask", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "short answer\n"


def test_a_stream_that_stops_without_an_end_is_cut(run, server):
    server.queue(Behaviour(text="never finished", finish=False))
    result = run("ask", "hi")
    assert result.returncode == 5
    assert result.stdout == "never finished\n"
    assert "cut off" in result.stderr

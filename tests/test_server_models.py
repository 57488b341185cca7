"""Models the server offers: `model list --server`, and `-m NAME` / `/model NAME` for a model
the server lists but config does not declare (8,192-token window assumed, with a notice)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakeserver import FakeOpenAI


def log_records(home: Path) -> list[dict]:
    path = home / "data" / "chats.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def chat_posts(server: FakeOpenAI) -> list:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


# --- model list --server -----------------------------------------------------------------------


def test_model_list_server_json_says_what_the_catalog_knows(run, server, home):
    server.model_ids = ["llama3.1", "gpt-4o", "mistral"]
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[models."mistral"]\ncontext_window = 32768\n')
    result = run("model", "list", "--server", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows == {
        "gpt-4o": {"name": "gpt-4o", "catalog": "built in", "context_window": 128000},
        "llama3.1": {"name": "llama3.1", "catalog": "not declared", "context_window": None},
        "mistral": {"name": "mistral", "catalog": "declared", "context_window": 32768},
    }
    assert server.gets == ["/v1/models"]


def test_model_list_server_table(run, server):
    server.model_ids = ["llama3.1", "gpt-4o"]
    result = run("model", "list", "--server")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["model", "catalog", "context"]
    assert lines[1].split() == ["gpt-4o", "built", "in", "128,000"]
    assert lines[2].split() == ["llama3.1", "not", "declared", "8,192", "assumed"]


def test_model_list_server_down_is_exit_5(run_offline):
    run_offline.env["OPENAI_API_KEY"] = "sk-test-key"
    run_offline.env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
    run_offline.env["CHATPRO_HOME"] = str(run_offline.home)
    config = run_offline.home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[api]\nmax_retries = 0\n")
    result = run_offline("model", "list", "--server")
    assert result.returncode == 5, result.stderr
    assert "cannot connect" in result.stderr
    assert result.stdout == ""


def test_model_list_server_key_refused_is_exit_4(run, server):
    server.routes.append(
        lambda method, path, headers, body: (
            (401, b'{"error": {"message": "bad key"}}', "application/json")
            if method == "GET"
            else None
        )
    )
    result = run("model", "list", "--server")
    assert result.returncode == 4, result.stderr
    assert "HTTP 401" in result.stderr


def test_model_list_without_server_does_not_ask(run, server):
    result = run("model", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert server.gets == []


# --- -m NAME for a model only the server knows ---------------------------------------------------


def test_ask_with_a_model_the_server_offers(run, server, home):
    server.model_ids = ["gpt-4o", "llama3.1"]
    result = run("ask", "-m", "llama3.1", "--json", "Hello there")
    assert result.returncode == 0, result.stderr
    assert [r.body["model"] for r in chat_posts(server)] == ["llama3.1"]
    assert "llama3.1 is offered by the server but not declared" in result.stderr
    assert "8,192-token context window is assumed" in result.stderr
    assert '[models."llama3.1"] context_window' in result.stderr
    answer = json.loads(result.stdout)
    assert answer["model"] == "llama3.1"
    assert answer["usage"]["cost"] is None  # no price known
    assert answer["warnings"] == []
    users = [r for r in log_records(home) if r["role"] == "user"]
    assert [r["model"] for r in users] == ["llama3.1"]
    # unlimited allowance: asking again and again is never refused
    for _ in range(3):
        again = run("ask", "-m", "llama3.1", "Again")
        assert again.returncode == 0, again.stderr
    assert len(chat_posts(server)) == 4


def test_assumed_window_is_8192_tokens(run, server):
    server.model_ids = ["llama3.1"]
    result = run("ask", "-m", "llama3.1", "word " * 20_000)
    assert result.returncode == 2, result.stderr
    assert "8,192" in result.stderr or "8192" in result.stderr
    assert chat_posts(server) == []


def test_model_unknown_to_both_is_exit_2_and_nothing_sent(run, server):
    server.model_ids = ["gpt-4o", "llama3.1"]
    result = run("ask", "-m", "llama3.2", "Hello")
    assert result.returncode == 2, result.stderr
    assert "unknown model 'llama3.2'" in result.stderr
    assert "hint: did you mean llama3.1? (the server offers llama3.1" in result.stderr
    assert chat_posts(server) == []
    assert server.gets == ["/v1/models"]


def test_model_unknown_and_server_down_is_exit_2(run_offline):
    run_offline.env["OPENAI_API_KEY"] = "sk-test-key"
    run_offline.env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
    result = run_offline("ask", "-m", "llama3.1", "Hello")
    assert result.returncode == 2, result.stderr
    assert "unknown model 'llama3.1'" in result.stderr
    assert "could not be asked" in result.stderr


def test_plain_ask_and_known_model_do_not_list_models(run, server):
    assert run("ask", "Hello").returncode == 0
    assert run("ask", "-m", "fast", "Hello").returncode == 0
    assert run("ask", "-m", "gpt-4.1", "Hello").returncode == 0
    assert server.gets == []
    assert len(chat_posts(server)) == 3


def test_files_need_a_declared_model(run, server, tmp_path):
    server.model_ids = ["llama3.1"]
    doc = tmp_path / "notes.md"
    doc.write_text("# Notes\nSome text.\n")
    result = run("upload", str(doc), "-m", "llama3.1")
    assert result.returncode == 2, result.stderr
    assert "llama3.1 does not take files" in result.stderr
    assert chat_posts(server) == []


# --- chat: /model NAME -----------------------------------------------------------------------


def test_chat_model_command_switches_to_a_server_model(run, server, home):
    server.model_ids = ["gpt-4o", "qwen2.5"]
    result = run("chat", input="First\n/model qwen2.5\nSecond\nThird\n/model nosuch\nFourth\n")
    assert result.returncode == 2, result.stderr  # without a terminal an error ends the chat
    assert [r.body["model"] for r in chat_posts(server)] == ["gpt-4o", "qwen2.5", "qwen2.5"]
    assert "qwen2.5 is offered by the server but not declared" in result.stderr
    assert "now chatting with qwen2.5" in result.stderr
    assert "unknown model 'nosuch'" in result.stderr
    assert server.gets == ["/v1/models", "/v1/models"]  # asked only for the unknown names
    users = [r for r in log_records(home) if r["role"] == "user"]
    assert [r["model"] for r in users] == ["gpt-4o", "qwen2.5", "qwen2.5"]
    assert len({r["chat_id"] for r in users}) == 1


def test_chat_started_with_a_server_model(run, server):
    server.model_ids = ["qwen2.5"]
    result = run("chat", "-m", "qwen2.5", input="Hi\n/model\n")
    assert result.returncode == 0, result.stderr
    assert [r.body["model"] for r in chat_posts(server)] == ["qwen2.5"]
    assert "model: qwen2.5" in result.stderr


def test_continued_chat_keeps_its_server_model(run, server, home):
    server.model_ids = ["gpt-4o", "llama3.1"]
    assert run("ask", "-m", "llama3.1", "First").returncode == 0
    result = run("ask", "-c", "Second")
    assert result.returncode == 0, result.stderr
    assert [r.body["model"] for r in chat_posts(server)] == ["llama3.1", "llama3.1"]
    assert "no longer configured" not in result.stderr
    assert "8,192-token context window is assumed" in result.stderr


def test_continued_chat_whose_model_the_server_dropped_uses_the_default(run, server):
    server.model_ids = ["gpt-4o", "llama3.1"]
    assert run("ask", "-m", "llama3.1", "First").returncode == 0
    server.model_ids = ["gpt-4o"]
    result = run("ask", "-c", "Second")
    assert result.returncode == 0, result.stderr
    assert [r.body["model"] for r in chat_posts(server)] == ["llama3.1", "gpt-4o"]
    assert "this chat's model llama3.1 is no longer configured; using gpt-4o" in result.stderr

"""batch --remote: the Batch API through every state; results charged and logged once, at fetch."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.fakebatch import FakeBatchAPI


@pytest.fixture
def api(server):
    return FakeBatchAPI(server)


def rows(home: Path, n: int = 3) -> Path:
    path = home.parent / "rows.jsonl"
    path.write_text("".join(json.dumps({"name": f"c{i}"}) + "\n" for i in range(n)))
    return path


def used(run) -> int:
    report = json.loads(run("usage", "--json").stdout)
    return next(m["used"] for m in report["models"] if m["model"] == "gpt-4o")


def chat_records(home: Path) -> list[dict]:
    path = home / "data" / "chats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def submit(run, home, *extra: str) -> str:
    result = run("batch", "--remote", "--inputs", str(rows(home)), "Hi {name}", *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_submit_uploads_the_requests_and_keeps_the_state(run, server, api, home):
    batch_id = submit(run, home, "--schema", "greeting")
    batch = api.only()
    assert batch_id == batch["id"] and batch["status"] == "validating"
    requests = api.requests(batch_id)
    assert [r["custom_id"] for r in requests] == ["req-1", "req-2", "req-3"]
    assert {r["method"] for r in requests} == {"POST"}
    assert {r["url"] for r in requests} == {"/v1/chat/completions"}
    assert requests[0]["body"]["messages"][-1] == {"role": "user", "content": "Hi c0"}
    assert requests[0]["body"]["response_format"]["type"] == "json_schema"
    assert server.requests == []  # nothing through the chat endpoint
    state = home / "data" / "batches" / f"{batch_id}.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert json.loads(state.read_text())["reserved_units"] == 3
    assert used(run) == 0  # charged at fetch, not at submit


def test_status_and_fetch_through_validating_in_progress_completed(run, api, home):
    batch_id = submit(run, home)
    out = home.parent / "out.jsonl"
    status = run("batch", "status", "--json")
    assert json.loads(status.stdout)["status"] == "validating"
    early = run("batch", "fetch", batch_id, "-o", str(out))
    assert early.returncode == 75 and "not finished" in early.stderr and not out.exists()
    api.start(batch_id)
    assert run("batch", "fetch", batch_id, "-o", str(out)).returncode == 75
    assert "in_progress" in run("batch", "status", batch_id).stdout
    api.complete(batch_id, {"req-1": "Hello c0", "req-2": "Hello c1", "req-3": "Hello c2"})
    done = run("batch", "fetch", batch_id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in results] == ["Hello c0", "Hello c1", "Hello c2"]
    assert [r["input"]["name"] for r in results] == ["c0", "c1", "c2"]
    assert used(run) == 3
    assistants = [r["content"] for r in chat_records(home) if r["role"] == "assistant"]
    assert sorted(assistants) == ["Hello c0", "Hello c1", "Hello c2"]
    # fetching twice charges nothing more and logs nothing more
    again = run("batch", "fetch", batch_id)
    assert again.returncode == 0 and len(again.stdout.splitlines()) == 3
    assert used(run) == 3
    assert len(chat_records(home)) == 6
    listed = json.loads(run("batch", "list", "--json").stdout)
    assert listed[0]["id"] == batch_id and listed[0]["charged"] == 3


def test_failed_requests_are_reported_per_input(run, api, home):
    batch_id = submit(run, home)
    api.complete(batch_id, {"req-1": "Hello c0", "req-2": 400, "req-3": "Hello c2"})
    result = run("batch", "fetch", batch_id)
    assert result.returncode == 5
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert "HTTP 400" in results[1]["error"] and results[1]["usage"] is None
    assert results[0]["error"] is None and results[2]["error"] is None
    assert used(run) == 2


def test_expired_batch_charges_what_was_done_and_reports_the_rest(run, api, home):
    batch_id = submit(run, home)
    api.start(batch_id)
    api.expire(batch_id, {"req-1": "Hello c0"})
    result = run("batch", "fetch", batch_id)
    assert result.returncode == 5
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert results[0]["text"] == "Hello c0"
    assert all("expired" in r["error"] for r in results[1:])
    assert used(run) == 1


def test_a_failed_batch_names_the_reason_for_every_input(run, api, home):
    batch_id = submit(run, home)
    api.fail(batch_id, "line 1: the model is unknown")
    assert "failed" in run("batch", "status", batch_id).stdout
    result = run("batch", "fetch", batch_id)
    assert result.returncode == 5
    errors = [json.loads(line)["error"] for line in result.stdout.splitlines()]
    assert len(errors) == 3 and all("the model is unknown" in e for e in errors)
    assert used(run) == 0


def test_cancel_then_cancelled(run, api, home):
    batch_id = submit(run, home)
    api.start(batch_id)
    cancelled = run("batch", "cancel", batch_id)
    assert cancelled.returncode == 0 and "cancelling" in cancelled.stdout
    assert run("batch", "fetch", batch_id).returncode == 75
    api.cancelled(batch_id, {"req-2": "Hello c1"})
    result = run("batch", "fetch", batch_id)
    assert result.returncode == 5
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert results[1]["text"] == "Hello c1"
    assert "cancelled" in results[0]["error"]
    assert used(run) == 1


def test_submit_checks_the_allowance_first(run, api, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[models."gpt-4o"]\nmonthly_messages = 2\n')
    refused = run("batch", "--remote", "--inputs", str(rows(home)), "Hi {name}")
    assert refused.returncode == 3 and "only 2 of its 3 inputs fit" in refused.stderr
    assert api.batches == {}
    partial = run("batch", "--remote", "--partial", "--inputs", str(rows(home)), "Hi {name}")
    assert partial.returncode == 0
    assert len(api.requests(partial.stdout.strip())) == 2


def test_unknown_batch_id_is_exit_2(run, api):
    result = run("batch", "fetch", "batch_nope")
    assert result.returncode == 2 and "no batch batch_nope" in result.stderr


def test_submitted_requests_hold_the_allowance_until_fetched(run, server, api, home):
    """A remote batch reserves its cost in the ledger at submit: a concurrent ask cannot spend
    it; at fetch the answers are charged against it and what did not come back is released."""
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[models."gpt-4o"]\nmonthly_messages = 4\n')
    batch_id = submit(run, home)  # three requests, one message each
    assert run("ask", "--no-fallback", "one").returncode == 0  # the fourth message
    refused = run("ask", "--no-fallback", "two")
    assert refused.returncode == 3 and "allowance" in refused.stderr
    api.start(batch_id)
    api.complete(batch_id, {"req-1": "Hello c0", "req-2": "Hello c1"})  # req-3 never came back
    assert run("batch", "fetch", batch_id).returncode == 5
    assert used(run) == 3  # one ask and two answers; req-3's reservation is released
    assert run("ask", "--no-fallback", "three").returncode == 0


def test_batch_answers_cost_half_the_price(run, server, api, home):
    from decimal import Decimal

    from chatpro.money import money_from_json

    batch_id = submit(run, home)
    api.start(batch_id)
    api.complete(batch_id, {"req-1": "Hello c0", "req-2": "Hello c1", "req-3": "Hello c2"})
    assert run("batch", "fetch", batch_id).returncode == 0
    lines = chat_records(home)
    for user in (r for r in lines if r["role"] == "user"):
        answer = next(
            r for r in lines if r["role"] == "assistant" and r["chat_id"] == user["chat_id"]
        )
        prompt, completion = user["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"]
        full = (prompt * Decimal("2.50") + completion * Decimal("10.00")) / 10**6
        assert money_from_json(user["cost"]) == full / 2

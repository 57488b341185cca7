"""The live batch: N requests at a time, one whole result line each, resumable, within the
allowance, every answer charged and logged like an ask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakeserver import Behaviour


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def chat_records(home: Path) -> list[dict]:
    path = home / "data" / "chats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def used(run, model: str = "gpt-4o") -> int:
    report = json.loads(run("usage", "--json").stdout)
    return next(m["used"] for m in report["models"] if m["model"] == model)


def write_rows(path: Path, n: int) -> Path:
    path.write_text(
        "".join(json.dumps({"name": f"client{i}", "city": "Lyon"}) + "\n" for i in range(n))
    )
    return path


def test_rows_fill_the_prompt_and_run_concurrently(run, server, home):
    rows = write_rows(home.parent / "rows.jsonl", 6)
    out = home.parent / "out.jsonl"
    server.default = Behaviour(text="Hello!", delay=0.3)
    result = run(
        "batch", "--inputs", str(rows), "Greet {name} from {city}", "--jobs", "3", "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert len(server.requests) == 6
    assert sorted(r.last_user for r in server.requests) == sorted(
        f"Greet client{i} from Lyon" for i in range(6)
    )
    results = lines(out)
    assert len(results) == 6
    assert {r["input"]["name"] for r in results} == {f"client{i}" for i in range(6)}
    for r in results:
        assert r["error"] is None and r["text"] == "Hello!" and r["model"] == "gpt-4o"
        assert r["usage"]["units"] == 1
    # each result charged and logged like an ask
    assert used(run) == 6
    assistants = [r for r in chat_records(home) if r["role"] == "assistant"]
    assert {r["chat_id"] for r in assistants} == {r["chat_id"] for r in results}


def test_concurrency_is_bounded_by_jobs(run, server, home):
    """With --jobs 2 and answers that take a while, at most 2 requests are in flight."""
    import threading

    rows = write_rows(home.parent / "rows.jsonl", 6)
    active = {"now": 0, "max": 0}
    lock = threading.Lock()
    original = server._next

    def tracking():
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.2)
        with lock:
            active["now"] -= 1
        return original()

    server._next = tracking
    result = run("batch", "--inputs", str(rows), "Hi {name}", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert active["max"] == 2
    assert len([line for line in result.stdout.splitlines() if line]) == 6  # no -o: stdout


def test_rerun_with_the_same_out_skips_what_is_done(run, server, home):
    rows = write_rows(home.parent / "rows.jsonl", 4)
    out = home.parent / "out.jsonl"
    assert run("batch", "--inputs", str(rows), "Hi {name}", "-o", str(out)).returncode == 0
    assert len(server.requests) == 4
    again = run("batch", "--inputs", str(rows), "Hi {name}", "-o", str(out))
    assert again.returncode == 0
    assert len(server.requests) == 4
    assert "done already" in again.stderr
    # one more row: only it is sent
    with rows.open("a") as f:
        f.write(json.dumps({"name": "late", "city": "Nice"}) + "\n")
    assert run("batch", "--inputs", str(rows), "Hi {name}", "-o", str(out)).returncode == 0
    assert len(server.requests) == 5 and server.requests[-1].last_user == "Hi late"
    assert len(lines(out)) == 5


def test_per_input_errors_are_recorded_and_exit_5(run, server, home):
    rows = write_rows(home.parent / "rows.jsonl", 3)
    out = home.parent / "out.jsonl"
    server.fail(400, "bad request for this one")
    result = run("batch", "--inputs", str(rows), "Hi {name}", "--jobs", "1", "-o", str(out))
    assert result.returncode == 5
    assert "1 of 3 inputs failed" in result.stderr
    results = lines(out)
    assert len(results) == 3
    failed = [r for r in results if r["error"]]
    assert len(failed) == 1 and "HTTP 400" in failed[0]["error"] and failed[0]["usage"] is None
    assert used(run) == 2
    # a rerun retries only the failed one
    assert run("batch", "--inputs", str(rows), "Hi {name}", "-o", str(out)).returncode == 0
    assert len(server.requests) == 4
    assert server.requests[-1].last_user == f"Hi {failed[0]['input']['name']}"


def test_a_row_missing_a_field_is_exit_2_before_anything_is_sent(run, server, home):
    rows = home.parent / "rows.csv"
    rows.write_text("name,city\nAda,Paris\nBob,\n")
    result = run("batch", "--inputs", str(rows), "Hi {name} from {town}")
    assert result.returncode == 2
    assert "row 1 has no field 'town'" in result.stderr
    assert server.requests == []


def test_csv_rows_and_an_unreadable_inputs_file(run, server, home):
    rows = home.parent / "rows.csv"
    rows.write_text("name,city\nAda,Paris\nBob,Rome\n")
    result = run("batch", "--inputs", str(rows), "Hi {name} in {city}")
    assert result.returncode == 0, result.stderr
    assert sorted(r.last_user for r in server.requests) == ["Hi Ada in Paris", "Hi Bob in Rome"]
    missing = run("batch", "--inputs", str(home.parent / "nope.csv"), "Hi {name}")
    assert missing.returncode == 2 and "cannot read inputs file" in missing.stderr
    assert len(server.requests) == 2


def test_allowance_refusal_names_how_many_fit_and_partial_runs_them(run, server, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[models."gpt-4o"]\nmonthly_messages = 3\n')
    rows = write_rows(home.parent / "rows.jsonl", 5)
    out = home.parent / "out.jsonl"
    refused = run("batch", "--inputs", str(rows), "Hi {name}", "--no-fallback", "-o", str(out))
    assert refused.returncode == 3
    assert "only 3 of its 5 inputs fit" in refused.stderr
    assert server.requests == [] and not out.exists()
    partial = run(
        "batch", "--inputs", str(rows), "Hi {name}", "--no-fallback", "--partial", "-o", str(out)
    )
    assert partial.returncode == 0, partial.stderr
    assert len(server.requests) == 3 and len(lines(out)) == 3
    assert used(run) == 3


def test_text_rows_fall_back_when_allowed(run, server, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[models."gpt-4o"]\nmonthly_messages = 2\n')
    rows = write_rows(home.parent / "rows.jsonl", 4)
    result = run("batch", "--inputs", str(rows), "Hi {name}", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    models = [r.body["model"] for r in server.requests]
    assert models.count("gpt-4o") == 2 and models.count("gpt-3.5-turbo") == 2


def test_files_with_a_schema_and_a_client(run, server, home):
    docs = home.parent / "docs"
    docs.mkdir()
    for name in ("a", "b"):
        (docs / f"{name}.txt").write_text(f"Brief {name}: budget 100")
    server.default = Behaviour(text='{"budget": 100}')
    out = home.parent / "out.jsonl"
    result = run(
        "batch",
        "-f",
        str(docs / "*.txt"),
        "Budget?",
        "--schema",
        "budget int",
        "--client",
        "acme",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    results = lines(out)
    assert sorted(r["input"] for r in results) == [str(docs / "a.txt"), str(docs / "b.txt")]
    assert all(r["json"] == {"budget": 100} and "text" not in r for r in results)
    assert all(r.body["response_format"]["type"] == "json_schema" for r in server.requests)
    assert all(r["client"] == "acme" for r in chat_records(home))
    # a changed file is a new input
    (docs / "a.txt").write_text("Brief a, revised")
    assert (
        run(
            "batch", "-f", str(docs / "*.txt"), "Budget?", "--schema", "budget int", "-o", str(out)
        ).returncode
        == 0
    )
    assert len(server.requests) == 3


def test_a_schema_violation_is_a_per_input_error(run, server, home):
    rows = write_rows(home.parent / "rows.jsonl", 2)
    server.queue(Behaviour(text='{"budget": "lots"}'), Behaviour(text='{"budget": 5}'))
    out = home.parent / "out.jsonl"
    result = run(
        "batch",
        "--inputs",
        str(rows),
        "{name}",
        "--schema",
        "budget int",
        "--jobs",
        "1",
        "-o",
        str(out),
    )
    assert result.returncode == 5
    bad = [r for r in lines(out) if r["error"]]
    assert (
        len(bad) == 1 and "$.budget" in bad[0]["error"] and bad[0]["text"] == '{"budget": "lots"}'
    )
    assert used(run) == 2


def start_batch(run_process, home, rows, out, *, jobs: int, stderr: int) -> subprocess.Popen[bytes]:
    """`chatpro batch --inputs ROWS "Hi {name}" --jobs JOBS -o OUT` as a real process."""
    args = ["batch", "--inputs", str(rows), "Hi {name}", "--jobs", str(jobs), "-o", str(out)]
    return subprocess.Popen(
        [sys.executable, "-m", "chatpro", *args],
        env=run_process.environment(),
        cwd=home.parent,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def wait_for_lines(out, count: int) -> None:
    """Until OUT holds COUNT result lines (at most 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < count):
        time.sleep(0.05)


def test_kill_9_leaves_whole_lines_and_a_rerun_finishes_the_rest(run_process, server, home):
    rows = write_rows(home.parent / "rows.jsonl", 12)
    out = home.parent / "out.jsonl"
    server.default = Behaviour(text="Hello!", delay=0.3)
    proc = start_batch(run_process, home, rows, out, jobs=2, stderr=subprocess.DEVNULL)
    wait_for_lines(out, 3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with out.open("a") as f:
        f.write('{"id": "row:99:torn", "inp')  # what a write cut by the kill would leave
    first = len(out.read_text().splitlines()) - 1  # whole lines before the torn one
    assert 3 <= first < 12
    server.default = Behaviour(text="Hello!")
    sent_before = len(server.requests)
    result = run_process("batch", "--inputs", str(rows), "Hi {name}", "--jobs", "4", "-o", str(out))
    assert result.returncode == 0, result.stderr
    results = lines(out)  # every line whole again: the torn tail is gone
    assert {r["input"]["name"] for r in results} == {f"client{i}" for i in range(12)}
    assert len(server.requests) - sent_before == 12 - first


def test_ctrl_c_leaves_out_whole_and_the_ledger_exact(run_process, server, home):
    rows = write_rows(home.parent / "rows.jsonl", 20)
    out = home.parent / "out.jsonl"
    server.default = Behaviour(
        text="Hello there, a longer answer in chunks", chunk_size=4, chunk_delay=0.05
    )
    proc = start_batch(run_process, home, rows, out, jobs=3, stderr=subprocess.PIPE)
    wait_for_lines(out, 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    results = lines(out)  # every line valid JSON
    assert 2 <= len(results) < 20
    charged = sum(r["usage"]["units"] for r in results if r["usage"])
    report = json.loads(run_process("usage", "--json").stdout)
    assert next(m["used"] for m in report["models"] if m["model"] == "gpt-4o") == charged

"""Allowances end to end: real chatpro processes, the loopback server, a fixed clock."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakeserver import Behaviour

NOW = "2026-11-25T10:00:00+00:00"


def configure(home: Path, text: str) -> None:
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def usage_of(run, model: str) -> dict:
    data = json.loads(run("usage", "--json", env={"CHATPRO_NOW": NOW}).stdout)
    return next(m for m in data["models"] if m["model"] == model)


def test_thresholds_warn_once_each_on_stderr_and_in_json(run, server, home):
    configure(home, '[models."gpt-4o"]\nmonthly_messages = 4\n[usage]\nwarn_at = [50, 75]\n')
    env = {"CHATPRO_NOW": NOW}
    first = run("ask", "hi", env=env)
    assert first.returncode == 0 and first.stderr == ""
    second = run("ask", "--json", "hi", env=env)
    assert second.returncode == 0
    line = "chatpro: warning: 50% of your monthly gpt-4o allowance is used (2 of 4 messages); it renews on 2026-12-25"
    assert second.stderr.strip() == line
    assert json.loads(second.stdout)["warnings"] == [line.removeprefix("chatpro: warning: ")]
    third = run("-q", "ask", "hi", env=env)  # --quiet never hides usage warnings
    assert "75%" in third.stderr
    fourth = run("ask", "hi", env=env)
    assert "last gpt-4o message until 2026-12-25" in fourth.stderr
    assert third.stdout.strip() and fourth.stdout.strip()


def test_spent_allowance_falls_back_with_a_notice(run, server, home):
    configure(home, '[models."gpt-4o"]\nmonthly_messages = 1\nfallback = "gpt-3.5-turbo"\n')
    env = {"CHATPRO_NOW": NOW}
    assert run("ask", "hi", env=env).returncode == 0
    result = run("ask", "--json", "hi", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == "gpt-3.5-turbo"
    assert data["requested_model"] == "gpt-4o"
    assert data["fallback"] is True
    assert "2026-12-25" in result.stderr
    assert server.requests[-1].body["model"] == "gpt-3.5-turbo"


def test_no_fallback_is_exit_3_and_sends_nothing(run, server, home):
    configure(home, '[models."gpt-4o"]\nmonthly_messages = 1\n')
    env = {"CHATPRO_NOW": NOW}
    assert run("ask", "hi", env=env).returncode == 0
    sent = len(server.requests)
    result = run("ask", "--no-fallback", "hi", env=env)
    assert result.returncode == 3
    assert "2026-12-25" in result.stderr
    assert len(server.requests) == sent
    assert usage_of(run, "gpt-4o")["used"] == 1


def test_uploads_never_fall_back(run, server, home, tmp_path):
    configure(home, '[models."gpt-4o"]\nmonthly_messages = 1\n')
    env = {"CHATPRO_NOW": NOW}
    assert run("ask", "hi", env=env).returncode == 0
    brief = tmp_path / "brief.txt"
    brief.write_text("Deliver the site by Friday.")
    result = run("upload", str(brief), env=env)
    assert result.returncode == 3
    assert "2026-12-25" in result.stderr


def test_usage_check_is_0_then_3(run, server, home):
    configure(home, '[models."gpt-3.5-turbo"]\nmonthly_messages = 1\n')
    env = {"CHATPRO_NOW": NOW}
    check = run("usage", "--check", "fast", env=env)
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")
    assert run("ask", "-m", "fast", "hi", env=env).returncode == 0
    check = run("usage", "--check", "fast", env=env)
    assert (check.returncode, check.stdout, check.stderr) == (3, "", "")
    assert run("usage", "--check", env=env).returncode == 0  # gpt-4o still has allowance


def test_a_failed_request_is_free(run, server, home):
    server.fail(500, "down", times=10)
    env = {"CHATPRO_NOW": NOW}
    assert run("ask", "hi", env=env).returncode == 5
    assert usage_of(run, "gpt-4o")["used"] == 0


def test_a_cut_answer_is_charged(run, server, home):
    server.queue(Behaviour(text="partial answer here", chunk_size=4, cut_after=2))
    env = {"CHATPRO_NOW": NOW}
    assert run("ask", "hi", env=env).returncode == 5
    assert usage_of(run, "gpt-4o")["used"] == 1


def test_a_long_prompt_costs_two(run, server, home):
    env = {"CHATPRO_NOW": NOW}
    prompt = "word " * 5000  # about 5,000 tokens
    result = run("ask", "--json", input=prompt, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["usage"]["units"] == 2
    assert usage_of(run, "gpt-4o")["used"] == 2


def test_a_large_file_costs_its_bytes_and_tokens(run, server, home, tmp_path):
    env = {"CHATPRO_NOW": NOW}
    big = tmp_path / "notes.txt"
    big.write_text(("a" * 1023 + "\n") * 1536)  # 1.5 MiB: 2 for bytes
    dry = run("upload", "--dry-run", "--json", str(big), env=env)
    assert dry.returncode == 0, dry.stderr
    row = json.loads(dry.stdout)["files"][0]
    assert row["bytes"] == 1536 * 1024
    token_units = -(-row["tokens"] // 4000)
    assert row["cost"] == 2 + token_units
    assert usage_of(run, "gpt-4o")["used"] == 0  # a dry run charges nothing
    assert server.requests == []


def test_usage_report_text_and_json(run, server, home):
    env = {"CHATPRO_NOW": NOW}
    run("ask", "hi", env=env)
    data = json.loads(run("usage", "--json", env=env).stdout)
    assert data["cycle_start"] == "2026-11-25"
    assert data["renewal_date"] == "2026-12-25"
    assert data["days_left"] == 30
    g = next(m for m in data["models"] if m["model"] == "gpt-4o")
    assert (g["used"], g["allowance"], g["remaining"]) == (1, 300, 299)
    assert g["prompt_tokens"] > 0 and g["completion_tokens"] > 0
    text = run("usage", env=env).stdout
    assert "2026-12-25" in text and "gpt-4o" in text and "299" in text


def test_renewal_resets_the_count(run, server, home):
    configure(home, '[models."gpt-4o"]\nmonthly_messages = 1\n')
    run("ask", "hi", env={"CHATPRO_NOW": "2027-01-31T12:00:00+00:00"})
    assert run("usage", "--check", env={"CHATPRO_NOW": "2027-02-27T23:59:00+00:00"}).returncode == 3
    assert run("usage", "--check", env={"CHATPRO_NOW": "2027-02-28T00:00:00+00:00"}).returncode == 0


def test_without_an_encoding_counts_are_honest_estimates(run_process, server, home, tmp_path):
    """No tiktoken encoding can be loaded (offline, empty cache): it still works and says so.
    Real processes: in this one, tiktoken may hold an encoding in memory already."""
    run = run_process
    empty = tmp_path / "no-encodings"
    empty.mkdir()
    env = {"CHATPRO_NOW": NOW, "TIKTOKEN_CACHE_DIR": str(empty)}
    server.queue(Behaviour(include_usage=False))  # the server sends no usage: chatpro counts
    result = run("ask", "--json", input="word " * 5000, env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["usage"]["estimated"] is True
    assert data["usage"]["units"] == 2
    # the server's own figures are not estimates, even where chatpro could not count exactly
    result = run("ask", "--json", input="word " * 5000, env=env)
    assert json.loads(result.stdout)["usage"]["estimated"] is False
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n" + "Deliver the site by Friday. " * 100)
    dry = run("upload", "--dry-run", "--json", str(notes), env=env)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["estimated"] is True
    assert report["files"][0]["tokens"] > 0


def test_with_an_encoding_counts_are_exact(run, server, tmp_path, exact_tokens):
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n" + "Deliver the site by Friday. " * 100)
    exact = json.loads(
        run("upload", "--dry-run", "--json", str(notes), env={"CHATPRO_NOW": NOW}).stdout
    )
    assert exact["estimated"] is False


def test_parallel_asks_never_overspend_the_allowance(run_process, server, home):
    """Ten processes at once with three messages left: each reserves before it sends, so exactly
    three are answered and charged; the others are refused (exit 3) without sending."""
    import subprocess
    import sys

    configure(home, '[models."gpt-4o"]\nmonthly_messages = 3\n')
    server.default = Behaviour(delay=0.5)
    env = {**run_process.environment(), "CHATPRO_NOW": NOW}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "chatpro", "ask", "--no-fallback", f"question {n}"],
            env=env,
            cwd=home.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n in range(10)
    ]
    codes = [p.wait(timeout=120) for p in procs]
    for p in procs:
        assert p.stderr is not None
        p.stderr.close()
    assert sorted(codes) == [0, 0, 0] + [3] * 7
    assert len(server.requests) == 3
    assert usage_of(run_process, "gpt-4o")["used"] == 3

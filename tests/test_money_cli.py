"""Money end to end: the monthly budget's warnings and `usage --check`, spend in `usage`
(`--client`, `--by client|model|day`), and `history --client`."""

from __future__ import annotations

import json
from pathlib import Path

NOW = "2026-11-25T10:00:00+00:00"
ENV = {"CHATPRO_NOW": NOW}
# With these prices each answer from the fake server (1 prompt token, 9 completion) costs 10.
PRICED = '[models."gpt-4o"]\ninput_per_mtok = 1000000\noutput_per_mtok = 1000000\n'


def configure(home: Path, text: str) -> None:
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def ask(run, *args: str, env: dict[str, str] | None = None):
    result = run("ask", *args, env={**ENV, **(env or {})})
    assert result.returncode == 0, result.stderr
    return result


def test_budget_warns_once_per_threshold_and_usage_check_is_3_when_spent(run, server, home):
    configure(home, PRICED + "[usage]\nwarn_at = [50, 80]\n[money]\nmonthly_budget = 25\n")
    assert run("usage", "--check", env=ENV).returncode == 0
    first = ask(run, "hi")  # 10 of 25: 40%
    assert first.stderr == ""
    second = ask(run, "--json", "hi")  # 20 of 25: 80% (50% counts as shown with it)
    line = "80% of your monthly budget is spent (20.00 of 25.00 USD); it renews on 2026-12-25"
    assert second.stderr.strip() == "chatpro: warning: " + line
    assert json.loads(second.stdout)["warnings"] == [line]
    assert run("usage", "--check", env=ENV).returncode == 0  # 20 < 25: still left
    third = ask(run, "hi")  # 30 of 25
    assert third.stderr.strip() == (
        "chatpro: warning: your monthly budget is spent (30.00 of 25.00 USD);"
        " it renews on 2026-12-25"
    )
    assert ask(run, "hi").stderr == ""  # once each per cycle
    # messages are left (300 a cycle) but the money is spent
    assert run("usage", "--check", env=ENV).returncode == 3
    # the next cycle starts afresh
    later = {"CHATPRO_NOW": "2026-12-26T10:00:00+00:00"}
    assert run("usage", "--check", env=later).returncode == 0
    assert ask(run, "hi", env=later).stderr == ""
    assert "80% of your monthly budget" in ask(run, "hi", env=later).stderr


def test_old_ledger_records_without_cost_count_nothing(run, server, home):
    configure(home, PRICED + "[money]\nmonthly_budget = 15\n")
    ledger = home / "data" / "usage.jsonl"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_text(
        '{"v":1,"type":"start","anchor":"2026-11-25","ts":"2026-11-25T09:00:00.000+00:00"}\n'
        '{"v":1,"type":"charge","model":"gpt-4o","units":1,"prompt_tokens":5,'
        '"completion_tokens":5,"ts":"2026-11-25T09:00:00.000+00:00","cycle":"2026-11-25"}\n'
    )
    assert ask(run, "hi").stderr == ""  # 10 of 15
    assert "(20.00 of 15.00 USD)" in ask(run, "hi").stderr

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
    configure(home, PRICED + "[usage]\nwarn_at = [80]\n[money]\nmonthly_budget = 15\n")
    ledger = home / "data" / "usage.jsonl"
    ledger.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    ledger.write_text(
        '{"v":1,"type":"start","anchor":"2026-11-25","ts":"2026-11-25T09:00:00.000+00:00"}\n'
        '{"v":1,"type":"charge","model":"gpt-4o","units":1,"prompt_tokens":5,'
        '"completion_tokens":5,"ts":"2026-11-25T09:00:00.000+00:00","cycle":"2026-11-25"}\n'
    )
    ledger.chmod(0o600)
    assert ask(run, "hi").stderr == ""  # 10 of 15
    assert "(20.00 of 15.00 USD)" in ask(run, "hi").stderr


def test_usage_shows_spend_and_the_budget_left(run, server, home):
    configure(home, PRICED + "[money]\nmonthly_budget = 50\n")
    ask(run, "--client", "acme", "hi")
    ask(run, "hi")
    text = run("usage", env=ENV).stdout
    assert "Spent this cycle: 20.00 USD of a 50.00 USD budget (30.00 USD left)" in text
    data = json.loads(run("usage", "--json", env=ENV).stdout)
    assert (data["spend"], data["budget"], data["budget_left"]) == ("20", "50", "30")
    assert next(m for m in data["models"] if m["model"] == "gpt-4o")["cost"] == "20"


def test_usage_by_client_model_and_day(run, server, home):
    configure(home, PRICED)
    ask(run, "--client", "acme", "hi")
    ask(run, "--client", "acme", "hi")
    ask(run, "--client", "globex", "hi")
    ask(run, "hi")
    ask(run, "hi", env={"CHATPRO_NOW": "2026-11-26T10:00:00+00:00"})
    by_client = json.loads(run("usage", "--by", "client", "--json", env=ENV).stdout)
    rows = {r["client"]: (r["requests"], r["messages"], r["cost"]) for r in by_client["rows"]}
    assert rows == {"(none)": (2, 2, "20"), "acme": (2, 2, "20"), "globex": (1, 1, "10")}
    assert by_client["total"]["cost"] == "50" and by_client["total"]["tokens_out"] == 45
    by_day = json.loads(run("usage", "--by", "day", "--json", env=ENV).stdout)
    assert [(r["day"], r["requests"]) for r in by_day["rows"]] == [
        ("2026-11-25", 4),
        ("2026-11-26", 1),
    ]
    table = run("usage", "--by", "client", env=ENV).stdout
    assert "acme" in table and "20.00 USD" in table and "total" in table
    only = json.loads(run("usage", "--client", "acme", "--json", env=ENV).stdout)
    assert [(r["model"], r["requests"], r["cost"]) for r in only["rows"]] == [("gpt-4o", 2, "20")]
    none = run("usage", "--client", "nobody", env=ENV)
    assert none.returncode == 0 and "No charges for nobody" in none.stdout
    assert run("usage", "--client", "bad/name", env=ENV).returncode == 2


def test_history_client_filters_chats(run, server, home):
    acme = json.loads(ask(run, "--json", "--client", "acme", "hi").stdout)["chat_id"]
    ask(run, "--client", "globex", "hi")
    ask(run, "hi")
    for args in (
        ("history", "--client", "acme", "--json"),
        ("history", "list", "--client", "acme", "--json"),
    ):
        listed = json.loads(run(*args, env=ENV).stdout)
        assert [c["chat_id"] for c in listed] == [acme]
    assert len(json.loads(run("history", "--json", env=ENV).stdout)) == 3
    nobody = run("history", "--client", "nobody", env=ENV)
    assert nobody.returncode == 0 and nobody.stdout == "" and "no chats for client" in nobody.stderr
    assert run("history", "--client", "bad/name", env=ENV).returncode == 2

"""`chatpro report` end to end: per client and model from the log, in md, csv and json."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

NOW = "2026-11-25T10:00:00+00:00"
ENV = {"CHATPRO_NOW": NOW}
PRICED = '[models."gpt-4o"]\ninput_per_mtok = 1000000\noutput_per_mtok = 1000000\n'


def configure(home: Path, text: str) -> None:
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def work(run, home: Path) -> None:
    """acme: one chat of two exchanges on the 24th and 25th; globex one; one untagged."""
    configure(home, PRICED)
    day1 = {"CHATPRO_NOW": "2026-11-24T10:00:00+00:00"}
    for args, env in (
        (("--client", "acme", "hi"), day1),
        (("-c", "hi"), ENV),
        (("--client", "globex", "hi"), ENV),
        (("hi",), ENV),
    ):
        assert run("ask", *args, env=env).returncode == 0


def test_report_json_per_client_and_model(run, server, home):
    work(run, home)
    result = run("report", "--format", "json", env=ENV)
    assert result.returncode == 0, result.stderr
    assert "retention" in result.stderr
    data = json.loads(result.stdout)
    rows = {r["client"]: r for r in data["rows"]}
    assert list(rows) == ["acme", "globex", "(none)"]
    acme = rows["acme"]
    assert (acme["model"], acme["chats"], acme["messages"], acme["units"]) == ("gpt-4o", 1, 4, 2)
    assert (acme["tokens_out"], acme["cost"]) == (
        18,
        "30.0",
    )  # the follow-up sends the first exchange again
    assert acme["first_activity"].startswith("2026-11-24T10:00")
    assert acme["last_activity"].startswith("2026-11-25T10:00")
    assert data["total"]["cost"] == "50.0" and data["total"]["chats"] == 3
    assert "retention" in data["note"] and data["currency"] == "USD"


def test_report_csv_opens_in_a_spreadsheet_and_md_has_a_total(run, server, home):
    work(run, home)
    rows = list(csv.DictReader(io.StringIO(run("report", "--format", "csv", env=ENV).stdout)))
    assert [r["client"] for r in rows] == ["acme", "globex", "(none)"]
    assert rows[0]["cost"] == "30.00" and rows[0]["currency"] == "USD"
    assert rows[0]["tokens_out"] == "18" and rows[0]["first_activity"].startswith("2026-11-24")
    md = run("report", env=ENV).stdout
    assert "| Client | Model |" in md and "| acme | gpt-4o | 1 | 4 |" in md
    assert "| **Total** |" in md and "**50.00**" in md and "retention" in md


def test_report_filters_dates_and_client_and_writes_a_file(run, server, home, tmp_path):
    work(run, home)
    since = json.loads(run("report", "--format", "json", "--since", "2026-11-25", env=ENV).stdout)
    assert {r["client"]: r["messages"] for r in since["rows"]} == {
        "acme": 2,
        "globex": 2,
        "(none)": 2,
    }
    until = json.loads(run("report", "--format", "json", "--until", "2026-11-24", env=ENV).stdout)
    assert [r["client"] for r in until["rows"]] == ["acme"]
    only = json.loads(run("report", "--format", "json", "--client", "globex", env=ENV).stdout)
    assert [r["client"] for r in only["rows"]] == ["globex"]
    out = tmp_path / "r.csv"
    result = run("report", "--format", "csv", "-o", str(out), env=ENV)
    assert result.returncode == 0 and result.stdout == ""
    assert out.read_text().startswith("client,model,chats")


def test_report_unknown_client_is_empty_and_bad_dates_are_exit_2(run, server, home, tmp_path):
    work(run, home)
    empty = run("report", "--format", "json", "--client", "nobody", env=ENV)
    assert empty.returncode == 0 and json.loads(empty.stdout)["rows"] == []
    assert "no work for client 'nobody'" in empty.stderr
    out = tmp_path / "never.md"
    for args in (
        ("--since", "2026-13-01"),
        ("--until", "yesterday"),
        ("--since", "2026-11-25", "--until", "2026-11-01"),
    ):
        bad = run("report", *args, "-o", str(out), env=ENV)
        assert bad.returncode == 2 and bad.stderr.startswith("chatpro: error:")
    assert not out.exists()


def test_report_reads_foreign_and_torn_lines(run_offline, home):
    log = home / "data" / "chats.jsonl"
    log.parent.mkdir(parents=True, mode=0o700)
    log.write_text(
        json.dumps(
            {
                "id": "m_1",
                "chat_id": "c_1",
                "ts": "2026-11-25T09:00:00Z",
                "role": "user",
                "model": "gpt-4o",
                "content": "x",
                "client": "acme",
                "cost": 0.5,
                "usage": {"prompt_tokens": 3, "completion_tokens": 0, "units": 1},
            },
            separators=(",", ":"),
        )
        + "\n{not json\n"
    )
    log.chmod(0o600)
    result = run_offline("report", "--format", "json", env=ENV)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(r["client"], r["cost"], r["tokens_in"]) for r in data["rows"]] == [("acme", "0.5", 3)]
    assert "skipped 1 unreadable line" in result.stderr

"""Files into analysis through the CLI: upload, ask -f and piped documents share one path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests import files_support as fs

FIXTURES = Path(__file__).parent / "fixtures" / "files"


def log_records(home: Path) -> list[dict]:
    path = home / "data" / "chats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def documents(tmp_path: Path) -> dict[str, Path]:
    made = {
        "deck.pptx": fs.pptx_bytes(),
        "brief.docx": fs.docx_bytes(
            ["Deliver the landing page"], [["Task", "Due"], ["Design", "1 March"]]
        ),
        "scope.pdf": fs.pdf_bytes(["Scope: three pages", "Budget: 4000 EUR"]),
        "main.py": b"def total(items):\n    return sum(items)\n",
    }
    paths = {}
    for name, data in made.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize(
    "name,needle",
    [
        ("deck.pptx", "Mention the budget risk"),
        ("brief.docx", "Deliver the landing page"),
        ("scope.pdf", "Budget: 4000 EUR"),
        ("main.py", "return sum(items)"),
    ],
)
def test_upload_sends_the_extracted_text(run, server, home, documents, name, needle):
    result = run("upload", str(documents[name]), "-p", "What are the deliverables?")
    assert result.returncode == 0, result.stderr
    sent = server.requests[-1].last_user
    assert needle in sent
    assert "What are the deliverables?" in sent
    assert server.requests[-1].body["model"] == "gpt-4o"


@pytest.mark.parametrize(
    "fixture,needle", [("sample.doc", "Deliverables"), ("sample.pdf", "Deliverables")]
)
def test_libreoffice_documents_are_read(run, server, fixture, needle):
    result = run("upload", str(FIXTURES / fixture))
    assert result.returncode == 0, result.stderr
    assert needle in server.requests[-1].last_user


def test_log_records_attachment_metadata_not_the_text(run, server, home, documents):
    path = documents["brief.docx"]
    assert run("ask", "-f", str(path), "Summarize").returncode == 0
    user = next(r for r in log_records(home) if r["role"] == "user")
    (att,) = user["attachments"]
    assert att["name"] == "brief.docx"
    assert att["mime"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert att["bytes"] == path.stat().st_size
    assert att["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert att["tokens"] > 0
    assert "Deliver the landing page" not in user["content"]
    assert user["content"] == "Summarize"


def test_a_piped_document_is_attached_as_stdin(run, server, home, documents):
    result = run("ask", "Summarize", input=documents["scope.pdf"].read_bytes())
    assert result.returncode == 0, result.stderr
    assert "Budget: 4000 EUR" in server.requests[-1].last_user
    user = next(r for r in log_records(home) if r["role"] == "user")
    assert user["attachments"][0]["name"] == "stdin.pdf"


def test_upload_dash_reads_stdin(run, server, documents):
    result = run("upload", "-", input=documents["deck.pptx"].read_bytes())
    assert result.returncode == 0, result.stderr
    assert "Quarterly plan" in server.requests[-1].last_user


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("brief.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a PDF"),
        ("empty.txt", b"", "empty"),
        ("setup.exe", b"MZ\x90\x00", "unsupported"),
    ],
)
def test_a_refused_file_sends_and_charges_nothing(run, server, home, tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    result = run("upload", str(path))
    assert result.returncode == 2
    assert name in result.stderr and reason in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert server.requests == []
    assert not (home / "data" / "usage.jsonl").exists()


def test_one_bad_file_among_good_ones_stops_everything(run, server, documents, tmp_path):
    bad = tmp_path / "notes.docx"
    bad.write_bytes(documents["deck.pptx"].read_bytes())  # a PowerPoint named .docx
    result = run("upload", str(documents["main.py"]), str(bad))
    assert result.returncode == 2
    assert "notes.docx" in result.stderr
    assert server.requests == []


def test_files_need_a_model_that_takes_them(run, server, documents):
    result = run("upload", "-m", "fast", str(documents["main.py"]))
    assert result.returncode == 2
    assert "gpt-4o" in result.stderr
    assert server.requests == []
    assert run("ask", "-m", "fast", "-f", str(documents["main.py"]), "x").returncode == 2


def test_extract_and_dry_run_send_nothing(run, server, home, documents):
    extract = run("upload", "--extract", str(documents["brief.docx"]))
    assert extract.returncode == 0
    assert "Deliver the landing page" in extract.stdout
    assert "| Design | 1 March |" in extract.stdout
    dry = run(
        "upload", "--dry-run", "--json", str(documents["deck.pptx"]), str(documents["scope.pdf"])
    )
    assert dry.returncode == 0, dry.stderr
    rows = {r["name"]: r for r in json.loads(dry.stdout)["files"]}
    assert rows["deck.pptx"]["slides"] == 2
    assert rows["scope.pdf"]["pages"] == 2
    assert rows["scope.pdf"]["mime"] == "application/pdf"
    assert all(r["tokens"] > 0 and r["cost"] >= 2 for r in rows.values())
    text = run("upload", "--dry-run", str(documents["deck.pptx"]))
    assert "deck.pptx" in text.stdout and "PowerPoint" in text.stdout
    assert server.requests == []
    assert not (home / "data" / "chats.jsonl").exists()
    assert not (home / "data" / "usage.jsonl").exists()


def test_text_too_long_for_the_context_is_cut_with_a_notice(run, server, home, tmp_path):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[models."gpt-4o"]\ncontext_window = 3000\n')
    notes = tmp_path / "notes.txt"
    notes.write_text(" ".join(f"item{i}" for i in range(5000)))
    result = run("upload", str(notes))
    assert result.returncode == 0, result.stderr
    assert "notes.txt" in result.stderr and "sent about" in result.stderr
    sent = server.requests[-1].last_user
    assert "item0 " in sent and "item4999" not in sent


def test_secrets_in_a_file_are_named_by_file(run, server, tmp_path):
    env_file = tmp_path / "config.sh"
    env_file.write_text("export AWS_KEY=AKIAQWERTYUIOPASDFGH\n")
    result = run("upload", str(env_file))
    assert result.returncode == 0
    assert "config.sh" in result.stderr and "warning" in result.stderr
    assert "AKIAQWERTYUIOPASDFGH" not in result.stderr


def test_profile_and_template_reach_the_system_message(run, server, home):
    run("config", "set", "profile.bio", "Backend developer, 8 years, fintech clients.")
    run("config", "set", "profile.skills", "Python, Technical writing")
    result = run("ask", "-t", "proposal", input="Need a Django dev for a payments API")
    assert result.returncode == 0, result.stderr
    system = server.requests[-1].system
    assert "fintech clients" in system and "Technical writing" in system
    assert "proposal" in system.lower()
    assert "Need a Django dev for a payments API" in server.requests[-1].last_user


def test_redact_policy_changes_what_is_sent_and_logged(run, server, home):
    run("config", "set", "privacy.on_secret", "redact")
    result = run("ask", "my card is 4111 1111 1111 1111, book it")
    assert result.returncode == 0
    assert "4111 1111 1111 1111" not in server.requests[-1].last_user
    assert "[REDACTED:card-number]" in server.requests[-1].last_user
    assert "4111 1111 1111 1111" not in (home / "data" / "chats.jsonl").read_text()

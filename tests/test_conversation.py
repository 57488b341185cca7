"""Conversations that tell the truth: continued chats keep their model and files, dry runs price
exactly what is charged, the log counts each figure once, incomplete answers say so."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chatpro.chatlog import ChatLog
from chatpro.clock import FixedClock
from chatpro.config import Settings
from chatpro.conversation import Conversation, Turn
from chatpro.errors import InputError
from chatpro.models import build_catalog
from chatpro.usage import Ledger
from tests.fakeserver import Behaviour
from tests.files_support import pdf_bytes

NOW = "2026-11-25T10:00:00+00:00"


def configure(home: Path, text: str) -> None:
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def records(home: Path) -> list[dict]:
    path = home / "data" / "chats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def ask_json(run, *args: str, **kwargs) -> dict:
    result = run("ask", "--json", *args, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- a continued chat keeps its model -----------------------------------------------------------


def test_ask_c_keeps_the_model_of_the_chat(run, server):
    ask_json(run, "-m", "fast", "Draft a reply")
    follow = ask_json(run, "-c", "Make it shorter")
    assert server.requests[1].body["model"] == "gpt-3.5-turbo"
    assert follow["model"] == "gpt-3.5-turbo"
    # -m still wins over the chat's model
    ask_json(run, "-c", "-m", "powerful", "Now formal")
    assert server.requests[2].body["model"] == "gpt-4o"
    # and from then on the chat is a gpt-4o chat
    ask_json(run, "-c", "And shorter")
    assert server.requests[3].body["model"] == "gpt-4o"


def test_chat_by_id_and_chat_c_keep_the_model(run, server):
    first = ask_json(run, "-m", "fast", "Draft a reply")
    ask_json(run, "--chat", first["chat_id"][:8], "Again")
    assert server.requests[1].body["model"] == "gpt-3.5-turbo"
    result = run("chat", "-c", input="one more\n/new\na new chat\n")
    assert result.returncode == 0, result.stderr
    assert [r.body["model"] for r in server.requests[2:]] == ["gpt-3.5-turbo", "gpt-3.5-turbo"]


def test_a_fallback_answer_does_not_make_the_chat_a_fallback_chat(run, server, home):
    configure(home, '[models."gpt-4o"]\nmonthly_messages = 1\n')
    env = {"CHATPRO_NOW": NOW}
    ask_json(run, "first", env=env)  # spends gpt-4o's only message
    fell = ask_json(run, "-c", "second", env=env)
    assert fell["fallback"] is True and fell["model"] == "gpt-3.5-turbo"
    configure(home, '[models."gpt-4o"]\nmonthly_messages = 10\n')
    again = ask_json(run, "-c", "third", env=env)
    assert again["model"] == "gpt-4o" and again["fallback"] is False


# --- files belong to their chat ------------------------------------------------------------------


def test_a_follow_up_sees_the_uploaded_brief(run, server, home, tmp_path):
    brief = tmp_path / "brief.pdf"
    brief.write_bytes(pdf_bytes(["Deliverable: a PELICAN-7 landing page by March 3."]))
    result = run("upload", str(brief), "-p", "List the deliverables")
    assert result.returncode == 0, result.stderr
    result = run("ask", "-c", "Draft a proposal from it")
    assert result.returncode == 0, result.stderr
    follow_up = server.requests[1].last_user
    assert "PELICAN-7" in follow_up and follow_up.endswith("Draft a proposal from it")
    # the text is kept once, 0600, beside the log; the follow-up line records no attachment
    kept = list((home / "data" / "files").iterdir())
    assert len(kept) == 1 and "PELICAN-7" in kept[0].read_text()
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    users = [r for r in records(home) if r["role"] == "user"]
    assert [a["name"] for a in users[0]["attachments"]] == ["brief.pdf"]
    assert users[1]["attachments"] == []


def test_a_chats_file_text_goes_with_the_chat(run, server, home, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Budget: 4,000 EUR\n")
    chat_id = json.loads(run("upload", "--json", str(notes)).stdout)["chat_id"]
    files = home / "data" / "files"
    assert len(list(files.iterdir())) == 1
    assert run("history", "delete", chat_id, "--yes").returncode == 0
    assert list(files.iterdir()) == []


def test_no_log_keeps_no_file_text(run, server, home, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Secret-ish client notes\n")
    assert run("ask", "--no-log", "-f", str(notes), "summarize").returncode == 0
    assert not (home / "data" / "files").exists() or not list((home / "data" / "files").iterdir())


# --- dry run prices exactly what is charged ------------------------------------------------------


def _document(kind: str, size: int, tmp_path: Path) -> Path:
    words = " ".join(f"clause{i} applies" for i in range(size))
    if kind == "pdf":
        path = tmp_path / f"doc{size}.pdf"
        lines = [words[i : i + 90] for i in range(0, len(words), 90)]
        pages = [" ".join(lines[i : i + 40]) for i in range(0, len(lines), 40)] or [""]
        path.write_bytes(pdf_bytes(pages))
    else:
        path = tmp_path / f"doc{size}.{kind}"
        path.write_text(words)
    return path


@pytest.mark.parametrize("kind", ["txt", "md", "pdf"])
@pytest.mark.parametrize("size", [3, 1700, 1950, 2100, 30000])
def test_dry_run_cost_is_the_charge(run, server, home, tmp_path, kind, size):
    """For many sizes around the 4,000-token steps and past a small window: dry run == charge."""
    configure(home, '[models."gpt-4o"]\ncontext_window = 16000\n')
    doc = _document(kind, size, tmp_path)
    prompt = "List the deliverables and the deadlines"
    dry = run("upload", "--dry-run", "--json", str(doc), "-p", prompt)
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    real = run("upload", "--json", str(doc), "-p", prompt)
    assert real.returncode == 0, real.stderr
    charged = json.loads(real.stdout)["usage"]["units"]
    assert planned["cost"] == charged
    assert planned["files"][0]["cost"] == charged
    assert planned["cut"] == ("too long" in real.stderr)
    assert server.requests[-1].last_user.count("clause") == server.requests[-1].last_user.count(
        "clause"
    )


def test_dry_run_says_when_the_text_will_be_cut(run, server, home, tmp_path):
    configure(home, '[models."gpt-4o"]\ncontext_window = 4000\n')
    doc = _document("txt", 20000, tmp_path)
    dry = run("upload", "--dry-run", str(doc))
    assert dry.returncode == 0, dry.stderr
    assert "too long" in dry.stderr and "sent about" in dry.stderr
    assert dry.stdout.splitlines()[1].rstrip().endswith("yes")
    assert server.requests == []


def test_the_cut_notice_is_the_share_of_the_document_sent(run, server, home, tmp_path):
    configure(home, '[models."gpt-4o"]\ncontext_window = 8000\n')
    doc = _document("txt", 40000, tmp_path)
    result = run("upload", str(doc))
    assert result.returncode == 0, result.stderr
    sent = server.requests[-1].last_user
    kept_words = sent.count("applies")
    share = 100 * kept_words / 40000
    notice = next(line for line in result.stderr.splitlines() if "sent about" in line)
    shown = float(notice.split("sent about ")[1].split("%")[0])
    assert abs(shown - share) < 1.0, (shown, share)


# --- each figure once in the log ------------------------------------------------------------------


def test_summing_the_log_gives_the_charge(run, server, home):
    env = {"CHATPRO_NOW": NOW}
    server.queue(Behaviour(prompt_tokens=5000))
    ask_json(run, "first", env=env)
    ask_json(run, "-c", "second", env=env)
    lines = records(home)
    units = sum(r["usage"]["units"] for r in lines if r.get("usage"))
    prompt = sum(r["usage"]["prompt_tokens"] for r in lines if r.get("usage"))
    completion = sum(r["usage"]["completion_tokens"] for r in lines if r.get("usage"))
    usage = json.loads(run("usage", "--json", env=env).stdout)
    gpt4o = next(m for m in usage["models"] if m["model"] == "gpt-4o")
    assert units == gpt4o["used"] == 2
    assert prompt == gpt4o["tokens_sent"]
    assert completion == gpt4o["tokens_received"]
    answers = [r for r in lines if r["role"] == "assistant"]
    assert all(r["usage"]["units"] == 0 and r["usage"]["prompt_tokens"] == 0 for r in answers)


# --- answers that are not whole ------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_an_answer_cut_at_the_length_limit_says_so(run, server, stream):
    server.queue(Behaviour(text="The first three risks are", stop_reason="length"))
    args = ["ask", "--max-tokens", "5", "risks?"] + ([] if stream else ["--no-stream"])
    result = run(*args)
    assert result.returncode == 0
    assert result.stdout == "The first three risks are\n"
    assert "length" in result.stderr
    server.queue(Behaviour(text="x", stop_reason="length"))
    data = ask_json(run, "again")
    assert data["finish_reason"] == "length"


def test_an_empty_answer_says_so(run, server):
    server.queue(Behaviour(text=""))
    result = run("ask", "hello?")
    assert result.returncode == 0
    assert "empty answer" in result.stderr


def test_a_prompt_larger_than_the_window_is_too_long_not_an_allowance_problem(run, server, home):
    configure(home, '[models."gpt-3.5-turbo"]\ncontext_window = 2000\n')
    result = run("ask", "-m", "fast", input="word " * 8000)
    assert result.returncode == 2
    assert "too long" in result.stderr
    assert server.requests == []


# --- the core without the CLI ----------------------------------------------------------------------


class _NoClient:
    def complete(self, **kwargs):  # pragma: no cover - never reached: prepare sends nothing
        raise AssertionError("prepare must not send")


def _conversation(tmp_path: Path, **kwargs) -> Conversation:
    settings = Settings()
    clock = FixedClock(datetime(2026, 11, 25, 10, tzinfo=timezone.utc))
    return Conversation(
        settings=settings,
        catalog=build_catalog(settings),
        ledger=Ledger(tmp_path / "usage.jsonl", clock=clock),
        log=ChatLog(tmp_path / "chats.jsonl", clock=clock),
        client_factory=_NoClient,
        clock=clock,
        templates_dir=tmp_path / "templates",
        **kwargs,
    )


def test_prepare_has_no_side_effects(tmp_path):
    conversation = _conversation(tmp_path, system="Be brief.")
    prepared = conversation.prepare(Turn("Draft a reply"))
    assert prepared.units == 1 and prepared.new_chat
    assert (
        prepared.messages[0]["role"] == "system" and "Be brief." in prepared.messages[0]["content"]
    )
    assert prepared.messages[-1] == {"role": "user", "content": "Draft a reply"}
    assert os.listdir(tmp_path) == []


def test_the_template_renders_the_first_message_of_each_chat(tmp_path):
    conversation = _conversation(tmp_path, template="summarize")
    first = conversation.prepare(Turn("the text")).messages[-1]["content"]
    assert first != "the text" and "the text" in first


def test_nothing_to_ask_is_bad_input(tmp_path):
    with pytest.raises(InputError):
        _conversation(tmp_path).prepare(Turn("   "))


def test_a_log_that_cannot_be_written_is_found_before_sending(run, server, home):
    (home / "data" / "chats.jsonl").mkdir(parents=True)
    result = run("ask", "hello")
    assert result.returncode != 0
    assert "chats.jsonl" in result.stderr
    assert server.requests == []
    usage = json.loads(run("usage", "--json").stdout)
    assert all(m["used"] == 0 for m in usage["models"])


def test_the_cut_notice_counts_what_extraction_left_out_too(run, server, home, tmp_path):
    """A text longer than extraction keeps (2,000,000 characters) and then cut for the window: the
    share said is of the whole document, not of the part extraction kept."""
    from chatpro.files import MAX_TEXT_CHARS

    configure(home, '[models."gpt-4o"]\ncontext_window = 16000\n')
    words = MAX_TEXT_CHARS // 13 + 40_000  # 13 characters a word: past the extraction cap
    doc = tmp_path / "huge.txt"
    doc.write_text("".join(f"clause{i:06d} " for i in range(words)))
    result = run("upload", str(doc))
    assert result.returncode == 0, result.stderr
    kept = server.requests[-1].last_user.count("clause")
    notice = next(line for line in result.stderr.splitlines() if "sent about" in line)
    shown = float(notice.split("sent about ")[1].split("%")[0])
    assert abs(shown - 100 * kept / words) < 0.1, (shown, 100 * kept / words)


def test_a_capped_text_that_fits_says_only_its_first_part_is_sent(run, server, home, tmp_path):
    from chatpro.files import MAX_TEXT_CHARS

    configure(home, '[models."gpt-4.1"]\ncontext_window = 2000000\n')
    doc = tmp_path / "huge.txt"
    doc.write_text("x" * (MAX_TEXT_CHARS + MAX_TEXT_CHARS // 4))
    result = run("upload", "-m", "gpt-4.1", "--dry-run", str(doc))
    assert result.returncode == 0, result.stderr
    assert "huge.txt: only the first part of its text is sent (about 80% of the document)" in (
        result.stderr
    )

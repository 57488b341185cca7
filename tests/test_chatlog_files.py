"""Files in a chat (kept beside the log, deleted with it), modes, links and the writable check."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from chatpro.chatlog import ChatLog, make_record
from chatpro.clock import FixedClock
from chatpro.errors import StorageError
from tests.chatlog_support import NOW, make_log, rec, write_raw

BRIEF = "Deliverables:\n```\n1. a site\n```\n"
SHA = hashlib.sha256(b"brief.pdf bytes").hexdigest()
OTHER = hashlib.sha256(b"notes.txt bytes").hexdigest()


def with_file(chat_id: str, sha: str, *, age: timedelta = timedelta(0)) -> dict:
    record = rec(chat_id, "Summarise the brief", age=age)
    record["attachments"] = [
        {"name": "brief.pdf", "mime": "application/pdf", "bytes": 15, "sha256": sha, "tokens": 9}
    ]
    return record


def stored(log: ChatLog) -> set[str]:
    return set(os.listdir(log.files.directory)) if os.path.isdir(log.files.directory) else set()


def test_a_file_text_is_kept_once_private_beside_the_log(tmp_path: Path) -> None:
    log, _ = make_log(tmp_path / "data" / "chats.jsonl")
    log.append([with_file("c_000000000001", SHA)], files={SHA: BRIEF})
    path = tmp_path / "data" / "files" / f"{SHA}.txt"
    assert log.file_text(SHA) == BRIEF == path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    inode = path.stat().st_ino
    log.append([with_file("c_000000000002", SHA)], files={SHA: BRIEF})
    assert path.stat().st_ino == inode  # never duplicated, never rewritten
    assert log.file_text(OTHER) is None


def test_texts_go_with_the_last_chat_that_references_them(tmp_path: Path) -> None:
    log, _ = make_log(tmp_path / "chats.jsonl")
    log.append([with_file("c_000000000001", SHA)], files={SHA: BRIEF})
    log.append([with_file("c_000000000002", SHA)], files={SHA: BRIEF})
    log.append([with_file("c_000000000003", OTHER)], files={OTHER: "notes"})
    log.delete(["c_000000000001"])
    assert log.file_text(SHA) == BRIEF  # c_…2 still uses it
    log.delete(["c_000000000002"])
    assert log.file_text(SHA) is None
    assert log.file_text(OTHER) == "notes"
    log.clear()
    assert stored(log) == set()


def test_retention_removes_texts_of_expired_messages(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    log, _ = make_log(path)
    log.store_file_text(SHA, BRIEF)
    write_raw(path, [with_file("c_000000000001", SHA, age=timedelta(days=91))])
    log.store_file_text(OTHER, "orphan: never referenced")
    log.append([rec("c_000000000002", "hello")])  # the daily prune
    assert stored(log) == set()


def test_export_with_files_includes_the_texts(run_offline, home: Path) -> None:
    log = ChatLog(home / "data" / "chats.jsonl", clock=FixedClock(NOW))
    record = with_file("c_aaaa11112222", SHA)
    log.append([record], files={SHA: BRIEF})
    env = {"CHATPRO_NOW": NOW.isoformat()}
    plain = run_offline("history", "export", env=env)
    assert plain.returncode == 0 and "text" not in json.loads(plain.stdout)["attachments"][0]
    full = run_offline("history", "export", "--with-files", env=env)
    assert json.loads(full.stdout)["attachments"][0]["text"] == BRIEF
    as_json = run_offline(
        "history", "export", "c_aaaa", "--with-files", "--format", "json", env=env
    )
    assert json.loads(as_json.stdout)[0]["messages"][0]["attachments"][0]["text"] == BRIEF
    md = run_offline("history", "export", "--with-files", "--format", "md", env=env)
    assert "````text\n" + BRIEF + "\n````" in md.stdout  # a fence longer than the text's own
    assert BRIEF not in run_offline("history", "export", "--format", "md", env=env).stdout


def test_looser_modes_are_set_back_with_a_notice(run_offline, home: Path) -> None:
    path = home / "data" / "chats.jsonl"
    write_raw(path, [rec("c_aaaa11112222", "hi")])
    os.chmod(path, 0o644)
    os.chmod(path.parent, 0o755)
    result = run_offline("history", env={"CHATPRO_NOW": NOW.isoformat()})
    assert result.returncode == 0
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert "0644" in result.stderr and "0600" in result.stderr and "0755" in result.stderr


@pytest.mark.parametrize("action", ["delete", "prune", "clear"])
def test_a_symlinked_log_is_rewritten_at_its_target(tmp_path: Path, action: str) -> None:
    target = tmp_path / "synced" / "chats.jsonl"
    write_raw(
        target,
        [rec("c_000000000001", "old", age=timedelta(days=100)), rec("c_000000000002", "keep")],
    )
    link = tmp_path / "data" / "chats.jsonl"
    link.parent.mkdir()
    link.symlink_to(target)
    log, _ = make_log(link)
    if action == "delete":
        log.delete(["c_000000000001"])
    elif action == "prune":
        assert log.prune() == 1
    else:
        log.clear()
    assert link.is_symlink() and Path(os.readlink(link)) == target
    assert [p.name for p in target.parent.iterdir()] == ["chats.jsonl"]  # no temp left behind
    expected = [] if action == "clear" else ["keep"]
    assert [json.loads(line)["content"] for line in target.read_bytes().splitlines()] == expected


def test_a_symlinked_config_stays_a_link(tmp_path: Path) -> None:
    from chatpro.fsutil import atomic_write_bytes

    target = tmp_path / "dotfiles" / "config.toml"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and target.read_text() == "new"


def test_a_log_that_is_a_directory_fails_the_check_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    path.mkdir()
    log, _ = make_log(path)
    with pytest.raises(StorageError, match="is a directory"):
        log.check_writable()
    fine, _ = make_log(tmp_path / "new" / "chats.jsonl")
    fine.check_writable()  # missing files in a creatable dir are fine


def test_no_text_is_written_without_files(tmp_path: Path) -> None:
    log, _ = make_log(tmp_path / "chats.jsonl")
    log.append([make_record(chat_id="c_000000000001", role="user", model="m", content="x", ts=NOW)])
    assert stored(log) == set()

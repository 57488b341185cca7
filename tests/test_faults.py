"""The cross-cutting sweep: the key never leaks, files keep SPEC's modes, stale locks never block."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SENTINEL_KEY

PIECES = (SENTINEL_KEY, SENTINEL_KEY[3:], SENTINEL_KEY[8:28])


def leaked(text: str) -> bool:
    return any(piece in text for piece in PIECES)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


ERROR_PATHS = [
    ("401", lambda s: s.fail(401, f"Incorrect API key provided: {SENTINEL_KEY}"), ["ask", "hi"], 4),
    ("403", lambda s: s.fail(403, f"key {SENTINEL_KEY} has no access"), ["ask", "hi"], 4),
    ("500", lambda s: s.fail(500, f"boom for {SENTINEL_KEY}", times=5), ["ask", "hi"], 5),
    ("400", lambda s: s.fail(400, f"bad request from {SENTINEL_KEY}"), ["ask", "hi"], 5),
    (
        "quota",
        lambda s: s.fail(429, "quota", code="insufficient_quota"),
        ["ask", "--json", "hi"],
        5,
    ),
    ("chat-401", lambda s: s.fail(401, SENTINEL_KEY), ["chat"], 4),
    ("upload-refused", lambda s: None, ["upload", "/nonexistent/brief.pdf"], 2),
    ("unknown-chat", lambda s: None, ["history", "show", "c_nothing"], 2),
    ("bad-config-key", lambda s: None, ["config", "set", "api.nope", "1"], 2),
    ("insecure", lambda s: None, ["ask", "hi"], 4),
]


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("name,setup,args,code", ERROR_PATHS, ids=[e[0] for e in ERROR_PATHS])
def test_the_key_never_appears_on_any_error_path(run, server, home, name, setup, args, code, debug):
    setup(server)
    env = {"OPENAI_BASE_URL": "http://api.example.com/v1"} if name == "insecure" else {}
    flags = ["--debug"] if debug else []
    result = run(*flags, *args, input="hello\n", env=env)
    assert result.returncode == code, result.stderr
    assert not leaked(result.stdout), result.stdout
    assert not leaked(result.stderr), result.stderr
    for path in files_under(home):
        assert not leaked(path.read_text(errors="replace")), path
    if not debug:
        assert "Traceback" not in result.stderr


def test_debug_env_var_shows_a_traceback_without_the_key(run, server):
    server.fail(401, SENTINEL_KEY)
    result = run("ask", "hi", env={"CHATPRO_DEBUG": "1"})
    assert result.returncode == 4
    assert "Traceback" in result.stderr
    assert not leaked(result.stderr)


def test_every_file_and_directory_has_spec_modes(run, server, home, tmp_path):
    run("key", "set", input="sk-stored-0000111122223333\n")
    run("config", "set", "profile.bio", "Backend developer")
    brief = tmp_path / "brief.md"
    brief.write_text("# Brief\nShip by Friday.")
    assert run("ask", "hi").returncode == 0
    assert run("upload", str(brief)).returncode == 0
    assert run("chat", input="hello\n").returncode == 0
    assert run("history", "export", "-o", str(home / "data" / "export.jsonl")).returncode == 0
    for path in [home / "config", home / "data"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    files = files_under(home)
    assert {p.name for p in files} >= {"config.toml", "credentials", "chats.jsonl", "usage.jsonl"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


LOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_a_lock_left_by_a_killed_process_never_blocks(run, server, home):
    data = home / "data"
    data.mkdir(parents=True)
    holders = []
    for name in ("chats.jsonl.lock", "usage.jsonl.lock"):
        proc = subprocess.Popen(
            [sys.executable, "-c", LOCK_HOLDER, str(data / name)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"locked"
        holders.append(proc)
    for proc in holders:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    result = run("ask", "hi", timeout=30)
    assert result.returncode == 0, result.stderr
    assert (data / "chats.jsonl.lock").exists()  # the stale file is still there, and harmless


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_read_only_config_dir_is_a_clear_error(run_offline, home):
    (home / "config").mkdir(parents=True)
    (home / "config").chmod(0o500)
    try:
        result = run_offline("config", "set", "api.timeout", "30")
    finally:
        (home / "config").chmod(0o700)
    assert result.returncode == 4
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("chatpro: error:")


def test_a_full_disk_during_a_request_loses_nothing(run, server, home):
    """The chat log cannot grow (RLIMIT_FSIZE): a clear error, earlier records intact."""
    assert run("ask", "first").returncode == 0
    log = home / "data" / "chats.jsonl"
    before = log.read_bytes()
    limit = len(before) + 10
    code = (
        "import resource, signal, sys, runpy\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "sys.argv = ['chatpro', 'ask', 'second']\n"
        "runpy.run_module('chatpro', run_name='__main__')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=run.environment(),
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("chatpro: error:") or "chatpro: error:" in proc.stderr
    assert "Traceback" not in proc.stderr
    after = log.read_bytes()
    assert after.startswith(before)
    assert after.endswith(b"\n")
    import json

    for line in after.decode().splitlines():
        json.loads(line)

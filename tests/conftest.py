"""Shared fixtures: an isolated CHATPRO_HOME, the loopback OpenAI server, and a chatpro runner."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeserver import FakeOpenAI

REPO = Path(__file__).resolve().parent.parent
SENTINEL_KEY = "sk-test-SENTINEL0123456789abcdefSECRET"
_CACHE = REPO.parent / "shared" / "tiktoken-cache"
TIKTOKEN_CACHE = str(_CACHE) if _CACHE.is_dir() else os.environ.get("TIKTOKEN_CACHE_DIR", "")


def default_sigint() -> None:
    """preexec_fn for children that must get Ctrl-C: a parent started as a background job
    ignores SIGINT, and an ignored signal stays ignored across exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own CHATPRO_HOME; nothing touches the real user dirs."""
    home = tmp_path / "home"
    monkeypatch.setenv("CHATPRO_HOME", str(home))
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "CHATPRO_MODEL",
        "CHATPRO_DEBUG",
        "CHATPRO_NOW",
    ):
        monkeypatch.delenv(var, raising=False)
    if TIKTOKEN_CACHE:
        monkeypatch.setenv("TIKTOKEN_CACHE_DIR", TIKTOKEN_CACHE)
    return home


@pytest.fixture
def exact_tokens(_isolated_home: Path) -> None:
    """For tests that need tiktoken's exact counts: skip with a reason where no encoding loads."""
    from chatpro.tokens import encoding_available

    if not all(encoding_available(name) for name in ("o200k_base", "cl100k_base")):
        pytest.skip("no tiktoken encoding can be loaded here (set TIKTOKEN_CACHE_DIR)")


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    return _isolated_home


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


class Runner:
    """Runs `python -m chatpro` as a real subprocess (stdin not a TTY) against the test server.

    For signals, concurrency, crashes, start-up imports and terminals. Most tests use the
    in-process `run` (InProcessRunner), which runs the same `main` with the same environment.
    """

    def __init__(self, home: Path, server: FakeOpenAI | None) -> None:
        self.home = home
        self.server = server
        self.env: dict[str, str] = {}

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATPRO_"))}
        env["CHATPRO_HOME"] = str(self.home)
        env["OPENAI_API_KEY"] = SENTINEL_KEY
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        if self.server is not None:
            env["OPENAI_BASE_URL"] = self.server.url
        if TIKTOKEN_CACHE:
            env["TIKTOKEN_CACHE_DIR"] = TIKTOKEN_CACHE
        env.update(self.env)
        env.update(extra or {})
        return {k: v for k, v in env.items() if v is not None}

    def __call__(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "chatpro", *args],
            input=data if data is not None else b"",
            capture_output=True,
            env=self.environment(env),
            timeout=timeout,
            cwd=self.home.parent,
        )
        return subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )


class InProcessRunner(Runner):
    """The same command through `chatpro.cli.main.main` in this process: the environment, the
    working directory and the standard streams are swapped in for the call, and the exit code is
    what `main` returns. No interpreter start-up, no re-import of openai: most of the suite's time.
    """

    def __call__(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        from chatpro.cli.main import main

        data = input.encode() if isinstance(input, str) else (input or b"")
        stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
        stdout, stderr = io.StringIO(), io.StringIO()
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(self.environment(env))
        os.chdir(self.home.parent)
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = main(list(args), stdin=stdin, stdout=stdout, stderr=stderr)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            os.chdir(saved_cwd)
        return subprocess.CompletedProcess(
            ["chatpro", *args], code, stdout.getvalue(), stderr.getvalue()
        )


@pytest.fixture
def run(home: Path, server: FakeOpenAI) -> Runner:
    return InProcessRunner(home, server)


@pytest.fixture
def run_offline(home: Path) -> Runner:
    """A runner with no server (for commands that never talk to the model)."""
    return InProcessRunner(home, None)


@pytest.fixture
def run_process(home: Path, server: FakeOpenAI) -> Runner:
    """A real `python -m chatpro` process against the server."""
    return Runner(home, server)


@pytest.fixture
def run_process_offline(home: Path) -> Runner:
    return Runner(home, None)

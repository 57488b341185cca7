"""Sessions: tests (default), lint, typecheck, bench. Dependency groups come from pyproject.toml."""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.4.15"
nox.options.sessions = ["tests"]
nox.options.reuse_venv = "yes"

PYPROJECT = nox.project.load_toml("pyproject.toml")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (pass pytest arguments after --)."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "test"))
    args = session.posargs or ["-n", "2", "--dist", "loadfile"]
    session.run("pytest", *args)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and format --check."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", "chatpro", "tests", "bench", "scripts", "noxfile.py")
    session.run("ruff", "format", "--check", "chatpro", "tests", "bench", "scripts", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy (strict) on the core."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.run("mypy")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Whole-process benchmarks against baselines measured in the same run; writes docs/performance.md."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "test"))  # document writers
    session.run("python", "bench/run.py", *session.posargs)

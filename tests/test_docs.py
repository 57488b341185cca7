"""The docs can't drift: the reference is regenerated from --help, every command and option is
documented with an example, and the guide names only flags, keys and variables that exist."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import click
import pytest

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("chatpro_gen_docs", REPO / "scripts" / "gen_docs.py")
assert _spec is not None and _spec.loader is not None
gen_docs = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("chatpro_gen_docs", gen_docs)
_spec.loader.exec_module(gen_docs)

DOCS = list(gen_docs.walk())
GUIDE = (REPO / "docs" / "guide.md").read_text(encoding="utf-8")


def _ids(docs: list) -> list[str]:
    return [d.path for d in docs]


def test_every_listed_command_is_implemented():
    missing = gen_docs.missing_commands()
    if missing:
        pytest.skip(f"not implemented yet (left out of the reference): {', '.join(missing)}")


def test_reference_and_completions_are_current():
    stale = gen_docs.stale()
    assert not stale, f"stale: {', '.join(map(str, stale))}; run python scripts/gen_docs.py"


def test_check_mode_lists_stale_files_and_exits_1(tmp_path):
    gen_docs.write(tmp_path)
    assert gen_docs.stale(tmp_path) == []
    (tmp_path / "docs" / "reference.md").write_text("old\n")
    (tmp_path / "completions" / "chatpro.fish").unlink()
    assert set(gen_docs.stale(tmp_path)) == {
        gen_docs.REFERENCE,
        gen_docs.Path("completions/chatpro.fish"),
    }
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout  # the committed tree is current


def test_reference_lists_every_command_in_a_stable_order():
    reference = gen_docs.reference_text()
    assert reference == gen_docs.reference_text()
    headings = re.findall(r"^## (chatpro.*)$", reference, flags=re.M)
    assert headings == _ids(DOCS)
    assert headings[:2] == ["chatpro", "chatpro ask"]
    for path in ("chatpro history show", "chatpro model set", "chatpro config path"):
        assert path in headings


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_command_has_help(doc):
    assert (doc.command.help or "").strip(), f"{doc.path} has no help text"
    assert doc.command.get_short_help_str().strip()


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_option_has_help(doc):
    undocumented = [
        "/".join(p.opts)
        for p in doc.command.params
        if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()
    ]
    assert not undocumented, f"{doc.path}: options without help: {', '.join(undocumented)}"


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_command_shows_an_example(doc):
    text = f"{doc.command.help or ''}\n{doc.command.epilog or ''}"
    examples = [line for line in text.splitlines() if line.strip().startswith("chatpro ")]
    assert examples, f"{doc.path}: add an example line starting with 'chatpro ' to its help"


def _all_options() -> set[str]:
    opts: set[str] = {"--help", "-h"}  # added by Click per context, not in params
    for doc in DOCS:
        for p in doc.command.params:
            opts.update(p.opts)
            opts.update(p.secondary_opts)
    return opts


def test_guide_uses_only_flags_that_exist():
    """Every `--flag` written in the guide is an option of some command (no invented flags)."""
    known = _all_options()
    written = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", GUIDE))
    invented = sorted(written - known)
    assert not invented, f"docs/guide.md names options no command has: {invented}"


def test_guide_covers_every_command():
    for doc in DOCS:
        assert f"`{doc.path}" in GUIDE or f"{doc.path} " in GUIDE, (
            f"guide never mentions {doc.path}"
        )


def test_guide_documents_every_config_key_and_environment_variable():
    from chatpro.config import MODEL_FIELDS, TOP_LEVEL

    for key in TOP_LEVEL:
        section, _, name = key.partition(".")
        assert (name or section) in GUIDE, f"guide lacks config key {key}"
    for field in MODEL_FIELDS:
        assert field in GUIDE, f"guide lacks model field {field}"
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "CHATPRO_HOME",
        "CHATPRO_MODEL",
        "CHATPRO_DEBUG",
        "CHATPRO_NOW",
        "NO_COLOR",
        "TIKTOKEN_CACHE_DIR",
    ):
        assert var in GUIDE, f"guide lacks {var}"


def test_guide_lists_every_supported_file_type():
    from chatpro.files import SUPPORTED

    for ext in SUPPORTED:
        assert f"`{ext}`" in GUIDE, f"guide lacks file type {ext}"

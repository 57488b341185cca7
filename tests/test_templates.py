"""Starter templates: the built-ins, the user's own TOML files, overrides, and broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatpro.errors import ConfigError, ExitCode, InputError
from chatpro.templates import BUILTIN_NAMES, Template, get_template, list_templates

EXPECTED_BUILTINS = ("client-reply", "code-review", "estimate", "proposal", "rewrite", "summarize")


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tdir(tmp_path: Path) -> Path:
    return tmp_path / "config" / "templates"


def test_the_builtins_are_the_six_the_spec_names() -> None:
    assert BUILTIN_NAMES == EXPECTED_BUILTINS


def test_a_missing_templates_dir_lists_the_builtins(tdir: Path) -> None:
    templates = list_templates(tdir)
    assert [t.name for t in templates] == list(EXPECTED_BUILTINS)
    assert all(t.source == "built-in" for t in templates)


@pytest.mark.parametrize("name", EXPECTED_BUILTINS)
def test_each_builtin_renders_the_input_into_its_prompt(tdir: Path, name: str) -> None:
    template = get_template(tdir, name)
    assert template.description and "\n" not in template.description
    assert template.system.strip()
    assert template.prompt.count("{input}") == 1
    rendered = template.render("Need a Django dev to migrate our app to Postgres.")
    assert "Need a Django dev to migrate our app to Postgres." in rendered
    assert "{input}" not in rendered


def test_the_proposal_asks_for_a_concise_specific_proposal() -> None:
    prompt = get_template(Path("/nonexistent"), "proposal").prompt.lower()
    assert "job post" in prompt and "proposal" in prompt
    assert "200 words" in prompt


def test_the_summary_covers_deliverables_deadlines_and_risks() -> None:
    prompt = get_template(Path("/nonexistent"), "summarize").prompt.lower()
    for part in ("deliverables", "deadlines", "risks"):
        assert part in prompt


def test_braces_in_the_users_text_come_through_unchanged(tdir: Path) -> None:
    text = 'def f(d): return {"a": d["b"]}  # {0} {input} {{x}} %s'
    rendered = get_template(tdir, "code-review").render(text)
    assert text in rendered


def test_braces_in_a_user_template_are_left_alone(tdir: Path) -> None:
    write(tdir, "json.toml", 'prompt = "Return JSON like {\\"items\\": []} for: {input}"\n')
    assert get_template(tdir, "json").render("{x}") == 'Return JSON like {"items": []} for: {x}'


def test_every_input_placeholder_is_filled() -> None:
    template = Template("t", "", "", "A: {input}\nB: {input}", "built-in")
    assert template.render("x") == "A: x\nB: x"


def test_a_prompt_without_a_placeholder_gets_the_input_after_a_blank_line(tdir: Path) -> None:
    write(tdir, "tldr.toml", 'prompt = "Give me a three-line TL;DR."\n')
    assert get_template(tdir, "tldr").render("Long text.") == (
        "Give me a three-line TL;DR.\n\nLong text."
    )


def test_a_system_only_template_sends_the_input_as_the_prompt(tdir: Path) -> None:
    write(tdir, "pirate.toml", 'system = "Answer like a pirate."\n')
    template = get_template(tdir, "pirate")
    assert template.system == "Answer like a pirate."
    assert template.render("How do I invoice?") == "How do I invoice?"


def test_a_user_file_overrides_the_builtin_of_the_same_name(tdir: Path) -> None:
    path = write(
        tdir,
        "proposal.toml",
        'description = "My proposal style"\n'
        'system = "You write for Upwork."\n'
        'prompt = """Short proposal for:\n{input}"""\n',
    )
    template = get_template(tdir, "proposal")
    assert template.source == str(path)
    assert template.render("job") == "Short proposal for:\njob"
    listed = {t.name: t for t in list_templates(tdir)}
    assert listed["proposal"].description == "My proposal style"
    assert listed["proposal"].source == str(path)
    assert len(listed) == len(EXPECTED_BUILTINS)


def test_a_new_user_template_is_listed_in_order_and_usable(tdir: Path) -> None:
    path = write(
        tdir,
        "invoice-chaser.toml",
        'description = "Polite reminder for an unpaid invoice"\n'
        'prompt = "Write a polite reminder about this invoice: {input}"\n',
    )
    names = [t.name for t in list_templates(tdir)]
    assert names == sorted([*EXPECTED_BUILTINS, "invoice-chaser"])
    template = get_template(tdir, "invoice-chaser")
    assert template.source == str(path) and template.system == ""
    assert template.render("#42, due May 1") == (
        "Write a polite reminder about this invoice: #42, due May 1"
    )


def test_names_are_looked_up_case_insensitively(tdir: Path) -> None:
    write(tdir, "Weekly.toml", 'prompt = "Weekly update: {input}"\n')
    assert get_template(tdir, "WEEKLY").name == "weekly"
    assert get_template(tdir, "Proposal").name == "proposal"
    assert "weekly" in [t.name for t in list_templates(tdir)]


def test_other_files_in_the_dir_are_not_templates(tdir: Path) -> None:
    write(tdir, "README.md", "my notes")
    write(tdir, ".draft.toml", "not = [valid")
    write(tdir, "proposal.toml~", "not = [valid")
    assert [t.name for t in list_templates(tdir)] == list(EXPECTED_BUILTINS)


def test_malformed_toml_is_a_config_error_naming_the_file(tdir: Path) -> None:
    path = write(tdir, "broken.toml", 'prompt = "unterminated\n')
    with pytest.raises(ConfigError) as caught:
        list_templates(tdir)
    assert caught.value.exit_code == ExitCode.CONFIG == 4
    assert str(path) in caught.value.message
    assert "invalid TOML" in caught.value.message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("prompt = 42\n", "prompt must be a string, not an integer"),
        ('prompt = "x {input}"\nsystem = ["a"]\n', "system must be a string, not an array"),
        ('prompt = "x {input}"\nmodel = "gpt-4o"\n', "unknown key 'model'"),
        ('description = "nothing else"\n', "needs a prompt"),
        ('prompt = "  "\n', "needs a prompt"),
    ],
)
def test_a_bad_template_file_says_what_is_wrong(tdir: Path, text: str, problem: str) -> None:
    path = write(tdir, "bad.toml", text)
    with pytest.raises(ConfigError) as caught:
        get_template(tdir, "bad")
    assert caught.value.message.startswith(f"{path}: ")
    assert problem in caught.value.message


def test_a_file_that_is_not_utf8_is_a_config_error(tdir: Path) -> None:
    tdir.mkdir(parents=True)
    (tdir / "latin.toml").write_bytes(b'prompt = "caf\xe9 {input}"\n')
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        list_templates(tdir)


def test_an_invalid_file_name_is_a_config_error(tdir: Path) -> None:
    write(tdir, "my template.toml", 'prompt = "{input}"\n')
    with pytest.raises(ConfigError, match="not a valid template name"):
        list_templates(tdir)


def test_a_broken_unrelated_file_does_not_stop_using_a_template(tdir: Path) -> None:
    write(tdir, "broken.toml", "prompt = [")
    assert get_template(tdir, "rewrite").name == "rewrite"


def test_an_unknown_name_is_an_input_error_suggesting_close_names(tdir: Path) -> None:
    write(tdir, "invoice-chaser.toml", 'prompt = "{input}"\n')
    with pytest.raises(InputError) as caught:
        get_template(tdir, "propsal")
    error = caught.value
    assert error.exit_code == ExitCode.BAD_INPUT == 2
    assert error.message == "unknown template 'propsal'"
    assert error.hint is not None
    assert error.hint.startswith("did you mean proposal?")
    for name in (*EXPECTED_BUILTINS, "invoice-chaser"):
        assert name in error.hint


def test_an_unknown_name_with_nothing_close_still_lists_the_templates(tdir: Path) -> None:
    with pytest.raises(InputError) as caught:
        get_template(tdir, "zzz")
    assert caught.value.hint is not None
    assert "did you mean" not in caught.value.hint
    assert "summarize" in caught.value.hint

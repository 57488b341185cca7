"""Starter prompts: the built-in templates for freelance work, plus the user's own TOML files.

A user template is ``<config dir>/templates/NAME.toml`` with optional ``description`` and
``system`` and a ``prompt`` where ``{input}`` marks the user's text. A user file named like a
built-in replaces it. A broken file is never skipped silently: it is a ConfigError naming it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatpro.errors import ConfigError, InputError

PLACEHOLDER = "{input}"
BUILTIN_SOURCE = "built-in"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
ALLOWED_KEYS = ("description", "system", "prompt")

if TYPE_CHECKING:
    from chatpro.paths import StrPath


@dataclass(frozen=True)
class Template:
    """A starter prompt. ``source`` is "built-in" or the path of the user's file."""

    name: str
    description: str
    system: str
    prompt: str
    source: str

    def render(self, input_text: str) -> str:
        """The user message: ``input_text`` put where ``{input}`` is, or after the prompt.

        Only the literal ``{input}`` is replaced (never str.format), so braces in the user's text
        or in the template — code, JSON — come through unchanged.
        """
        if PLACEHOLDER in self.prompt:
            return self.prompt.replace(PLACEHOLDER, input_text)
        if not self.prompt:
            return input_text
        if not input_text:
            return self.prompt
        return f"{self.prompt.rstrip()}\n\n{input_text}"

    @property
    def builtin(self) -> bool:
        return self.source == BUILTIN_SOURCE


_FREELANCER = (
    "You are helping an independent freelancer with their client work. Be concrete, plain and "
    "honest; never invent facts, numbers, names or past projects that are not in the material "
    "given."
)

_BUILTINS: tuple[Template, ...] = (
    Template(
        name="proposal",
        description="Write a concise, specific proposal for a job post",
        system=(
            f"{_FREELANCER} You write proposals that win work: short, specific to the client's "
            "post, and focused on the client's problem rather than on the freelancer."
        ),
        prompt=(
            "Write a proposal for the job post below.\n\n"
            "- Open with one or two sentences that show I understood what the client needs, "
            'using the details of their post (no generic greeting, no "I am writing to apply").\n'
            "- Say how I would approach the work in three to five concrete steps, naming the "
            "deliverables.\n"
            "- Mention only the skills and experience that matter for this job.\n"
            "- Answer every question the post asks, in order.\n"
            "- If something important is unclear, ask at most two short questions.\n"
            "- End with a clear next step (a short call, or a first milestone).\n"
            "Keep it under 200 words, in a friendly, professional tone. Do not make up prices, "
            "dates or past clients; leave [brackets] where I must fill something in.\n\n"
            "Job post:\n{input}"
        ),
        source=BUILTIN_SOURCE,
    ),
    Template(
        name="client-reply",
        description="Draft a clear, friendly reply to a client message",
        system=(
            f"{_FREELANCER} You draft replies to clients that are warm, brief and "
            "unambiguous, and that protect the freelancer's time, scope and payment terms."
        ),
        prompt=(
            "Draft my reply to the client message below.\n\n"
            "- Answer each question or request directly, in the order they were raised.\n"
            "- If they ask for something outside the agreed scope, say so politely and offer "
            "options (a change request, a quote, or a later phase).\n"
            "- Confirm any decisions, dates or next steps in one short list at the end.\n"
            "- Where I need to supply a fact (a date, a price, a link), leave a [placeholder] "
            "instead of guessing.\n"
            "Match the client's level of formality; keep it short enough to read on a phone.\n\n"
            "Client message:\n{input}"
        ),
        source=BUILTIN_SOURCE,
    ),
    Template(
        name="summarize",
        description="Summarize a brief or contract: deliverables, deadlines, risks",
        system=(
            f"{_FREELANCER} You read briefs and contracts carefully and report exactly what they "
            "say, quoting the wording where it matters and saying plainly when something is "
            "missing."
        ),
        prompt=(
            "Summarize the document below for me, the freelancer doing the work. Use these "
            "sections:\n\n"
            "1. In one paragraph: what the client wants and why.\n"
            "2. Deliverables: each one, with its acceptance criteria if stated.\n"
            "3. Deadlines and milestones: every date or duration, as written.\n"
            "4. Money: price, payment schedule, expenses, late-payment terms.\n"
            "5. Risks and red flags: vague scope, unlimited revisions, unusual IP, liability, "
            "non-compete or termination clauses, anything one-sided.\n"
            "6. Questions to ask the client before signing or starting.\n\n"
            'Write "not stated" for anything the document does not cover. This is not legal '
            "advice; point out where a lawyer should look.\n\n"
            "Document:\n{input}"
        ),
        source=BUILTIN_SOURCE,
    ),
    Template(
        name="code-review",
        description="Review code for bugs, security, and maintainability",
        system=(
            "You are a senior engineer reviewing code for a freelancer before it goes to a "
            "client. You are specific and practical: you point at lines, explain the impact, and "
            "propose the fix. You do not nitpick style a formatter would handle."
        ),
        prompt=(
            "Review the code below.\n\n"
            "List findings from most to least important, each with: where (function or line), "
            "what is wrong, why it matters, and a concrete fix (a short code snippet when it "
            "helps). Look for:\n"
            "- bugs and unhandled edge cases (empty input, errors, concurrency, time zones);\n"
            "- security problems (injection, secrets in code, unsafe input handling);\n"
            "- performance traps;\n"
            "- readability and maintainability issues a client's next developer would hit;\n"
            "- missing tests for risky paths.\n"
            "Finish with a one-line verdict: ready to ship, ship after fixes, or needs rework.\n\n"
            "Code:\n{input}"
        ),
        source=BUILTIN_SOURCE,
    ),
    Template(
        name="estimate",
        description="Break a project into tasks with a time estimate and assumptions",
        system=(
            f"{_FREELANCER} You estimate software and creative work realistically, including "
            "the work people forget: setup, communication, reviews, testing, deployment and "
            "handover."
        ),
        prompt=(
            "Estimate the work described below.\n\n"
            "- Break it into tasks small enough to estimate (no task over two days).\n"
            "- Give each task a low and a high estimate in hours, in a table with a total row.\n"
            "- Include project management, client communication, testing and revisions as their "
            "own lines.\n"
            "- List the assumptions the estimate depends on, and what is explicitly out of "
            "scope.\n"
            "- Name the biggest risks to the estimate and how to reduce them.\n"
            "Give hours only; I will apply my own rate.\n\n"
            "Project:\n{input}"
        ),
        source=BUILTIN_SOURCE,
    ),
    Template(
        name="rewrite",
        description="Rewrite text to be clearer and more professional",
        system=(
            "You are a careful editor. You make text clearer, shorter and more professional "
            "while keeping the author's meaning, facts and voice."
        ),
        prompt=(
            "Rewrite the text below so it is clear, concise and professional.\n\n"
            "- Keep every fact, number, name and commitment exactly as given.\n"
            "- Cut filler and repetition; prefer short sentences and active voice.\n"
            "- Keep the original language and roughly the original format (email, list, post).\n"
            "Return only the rewritten text, with no commentary.\n\n"
            "Text:\n{input}"
        ),
        source=BUILTIN_SOURCE,
    ),
)

BUILTIN_NAMES: tuple[str, ...] = tuple(sorted(t.name for t in _BUILTINS))
_BUILTIN_BY_NAME = {t.name: t for t in _BUILTINS}


# --- user templates --------------------------------------------------------------------------


def _user_files(where: StrPath) -> dict[str, Path]:
    templates_dir = Path(where)
    """Template name -> file, for every ``*.toml`` in the directory (hidden files aside)."""
    try:
        if not templates_dir.exists():
            return {}
        if not templates_dir.is_dir():
            raise ConfigError(f"{templates_dir}: not a directory (it should hold NAME.toml files)")
        entries = sorted(templates_dir.iterdir())
    except OSError as exc:
        raise ConfigError(f"{templates_dir}: cannot read: {exc.strerror}") from None
    files: dict[str, Path] = {}
    for path in entries:
        if path.suffix.lower() != ".toml" or path.name.startswith("."):
            continue  # editor backups, notes, hidden files: not templates
        name = path.stem.lower()
        if not NAME_PATTERN.fullmatch(name):
            raise ConfigError(
                f"{path}: {path.stem!r} is not a valid template name",
                hint="use lowercase letters, digits, '-' and '_', starting with a letter or digit",
            )
        if name in files:
            raise ConfigError(
                f"{path}: template {name!r} is also defined by {files[name].name}",
                hint="remove or rename one of them",
            )
        files[name] = path
    return files


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def load_template_file(path: Path, name: str | None = None) -> Template:
    """Read and check one user template file; any problem is a ConfigError naming the file."""
    from chatpro.config import read_toml

    doc = read_toml(path)
    if doc is None:
        raise ConfigError(f"{path}: cannot read: no such file")

    unknown = sorted(set(doc) - set(ALLOWED_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {', '.join(repr(k) for k in unknown)}",
            hint=f"a template may have only: {', '.join(ALLOWED_KEYS)}",
        )
    values: dict[str, str] = {}
    for key in ALLOWED_KEYS:
        value = doc.get(key, "")
        if not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string, not {_type_name(value)}")
        values[key] = value
    if not values["prompt"].strip() and not values["system"].strip():
        raise ConfigError(
            f"{path}: needs a prompt (with {PLACEHOLDER} where your text goes) or a system text",
        )
    description = " ".join(values["description"].split())  # one line in listings
    return Template(
        name=name or path.stem.lower(),
        description=description,
        system=values["system"],
        prompt=values["prompt"],
        source=str(path),
    )


# --- the public API --------------------------------------------------------------------------


def list_templates(templates_dir: StrPath) -> list[Template]:
    """Built-ins and user templates, sorted by name; a user file overrides a same-named built-in.

    Every user file is read, so a malformed one raises ConfigError rather than vanishing.
    """
    templates = dict(_BUILTIN_BY_NAME)
    for name, path in _user_files(templates_dir).items():
        templates[name] = load_template_file(path, name)
    return [templates[name] for name in sorted(templates)]


def get_template(templates_dir: StrPath, name: str) -> Template:
    """The template called ``name`` (case-insensitive); unknown names are an InputError (exit 2).

    Only the file for ``name`` is read, so a broken unrelated template does not stop ``-t``.
    """
    wanted = name.strip().lower()
    files = _user_files(templates_dir)
    if wanted in files:
        return load_template_file(files[wanted], wanted)
    if wanted in _BUILTIN_BY_NAME:
        return _BUILTIN_BY_NAME[wanted]
    known = sorted(set(_BUILTIN_BY_NAME) | set(files))
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    hint += f"templates: {', '.join(known)} (see `chatpro templates list`)"
    raise InputError(f"unknown template {name!r}", hint=hint)

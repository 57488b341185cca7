"""The model catalog: built-in models, aliases, and what config adds or changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from chatpro.config import Settings
from chatpro.errors import InputError


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    context_window: int
    takes_files: bool
    encoding: str | None  # tiktoken encoding; None when unknown (token counts are then estimates)
    monthly_messages: int  # 0 = unlimited
    fallback: str | None
    aliases: tuple[str, ...] = ()
    builtin: bool = False


BUILTIN_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="gpt-4o",
        description="powerful: file analysis, longer work",
        context_window=128_000,
        takes_files=True,
        encoding="o200k_base",
        monthly_messages=300,
        fallback="gpt-3.5-turbo",
        builtin=True,
    ),
    ModelInfo(
        name="gpt-3.5-turbo",
        description="fast: quick, common tasks",
        context_window=16_385,
        takes_files=False,
        encoding="cl100k_base",
        monthly_messages=1000,
        fallback=None,
        builtin=True,
    ),
)
BUILTIN_ALIASES = {"powerful": "gpt-4o", "fast": "gpt-3.5-turbo"}
DEFAULT_CONTEXT_WINDOW = 8192


def _guess_encoding(name: str) -> str | None:
    lowered = name.lower()
    if lowered.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")):
        return "o200k_base"
    if lowered.startswith(("gpt-4", "gpt-3.5")):
        return "cl100k_base"
    return None


@dataclass(frozen=True)
class Catalog:
    models: Mapping[str, ModelInfo]
    aliases: Mapping[str, str]
    default_name: str

    def lookup(self, name: str) -> ModelInfo:
        """A model by exact name or alias (KeyError when unknown)."""
        target = self.aliases.get(name, name)
        return self.models[target]

    def resolve(self, name: str) -> ModelInfo:
        """A model by name or alias; unknown names are exit 2 with suggestions."""
        try:
            return self.lookup(name)
        except KeyError:
            pass
        import difflib

        choices = [*self.models, *self.aliases]
        close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}?" if close else None
        known = ", ".join(choices)
        raise InputError(
            f"unknown model {name!r} (known: {known})",
            hint=hint or 'add it to config.toml under [models."NAME"] to use it',
        )

    @property
    def default(self) -> ModelInfo:
        return self.resolve(self.default_name)

    def file_models(self) -> list[str]:
        return [m.name for m in self.models.values() if m.takes_files]


def build_catalog(settings: Settings, default_override: str | None = None) -> Catalog:
    models: dict[str, ModelInfo] = {m.name: m for m in BUILTIN_MODELS}
    for name, fields in settings.models.items():
        base = models.get(name) or ModelInfo(
            name=name,
            description="",
            context_window=DEFAULT_CONTEXT_WINDOW,
            takes_files=False,
            encoding=_guess_encoding(name),
            monthly_messages=0,
            fallback=None,
        )
        changes: dict[str, object] = {}
        for field, value in fields.items():
            key = {"files": "takes_files"}.get(field, field)
            changes[key] = value if not (field == "fallback" and value == "") else None
        models[name] = replace(base, **changes)  # type: ignore[arg-type]
    aliases = {**BUILTIN_ALIASES, **settings.aliases}
    aliases = {a: t for a, t in aliases.items() if a not in models}
    by_target: dict[str, list[str]] = {}
    for alias, target in aliases.items():
        by_target.setdefault(target, []).append(alias)
    models = {n: replace(m, aliases=tuple(by_target.get(n, ()))) for n, m in models.items()}
    return Catalog(
        models=models, aliases=aliases, default_name=default_override or settings.default_model
    )

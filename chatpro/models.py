"""The model catalog: built-in models, aliases, prices, and what config adds or changes."""

# Annotations are evaluated here (no `from __future__ import annotations`): typing.NamedTuple
# compiles each string annotation of its fields, about 1 ms of every start (architecture.md).

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

from chatpro.config import Settings
from chatpro.errors import InputError

# The date the built-in prices were read from the provider's published price list.
PRICES_READ = "2026-11-01"
DEFAULT_CONTEXT_WINDOW = 8192


class ModelInfo(NamedTuple):
    name: str
    description: str
    context_window: int
    takes_files: bool
    encoding: str | None  # tiktoken encoding; None when unknown (token counts are then estimates)
    monthly_messages: int  # 0 = unlimited
    fallback: str | None
    aliases: tuple[str, ...] = ()
    builtin: bool = False
    input_per_mtok: Decimal | None = None  # price per million prompt tokens, in Catalog.currency
    output_per_mtok: Decimal | None = None  # price per million completion tokens
    prices_read: str | None = None  # the date a built-in price was read; None when configured
    assumed_window: bool = False  # offered by the server, not declared: the window is a guess


def _builtin(
    name: str,
    description: str,
    window: int,
    prices: tuple[str, str],
    *,
    files: bool = True,
    encoding: str = "o200k_base",
    monthly: int = 0,
    fallback: str | None = None,
) -> ModelInfo:
    return ModelInfo(
        name=name,
        description=description,
        context_window=window,
        takes_files=files,
        encoding=encoding,
        monthly_messages=monthly,
        fallback=fallback,
        builtin=True,
        input_per_mtok=Decimal(prices[0]),
        output_per_mtok=Decimal(prices[1]),
        prices_read=PRICES_READ,
    )


# Context windows and prices (USD per million tokens, input/output) as the provider publishes them.
BUILTIN_MODELS: tuple[ModelInfo, ...] = (
    _builtin(
        "gpt-4o",
        "powerful: file analysis, longer work",
        128_000,
        ("2.50", "10.00"),
        monthly=300,
        fallback="gpt-3.5-turbo",
    ),
    _builtin(
        "gpt-3.5-turbo",
        "fast: quick, common tasks",
        16_385,
        ("0.50", "1.50"),
        files=False,
        encoding="cl100k_base",
        monthly=1000,
    ),
    _builtin("gpt-4o-mini", "small, cheap GPT-4o", 128_000, ("0.15", "0.60")),
    _builtin("gpt-4.1", "long context, strong at code", 1_047_576, ("2.00", "8.00")),
    _builtin("gpt-4.1-mini", "long context, cheaper", 1_047_576, ("0.40", "1.60")),
    _builtin("gpt-4.1-nano", "long context, cheapest", 1_047_576, ("0.10", "0.40")),
)
BUILTIN_ALIASES = {"powerful": "gpt-4o", "fast": "gpt-3.5-turbo"}


def _guess_encoding(name: str) -> str | None:
    lowered = name.lower()
    if lowered.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")):
        return "o200k_base"
    if lowered.startswith(("gpt-4", "gpt-3.5")):
        return "cl100k_base"
    return None


def _undeclared(name: str) -> ModelInfo:
    return ModelInfo(
        name=name,
        description="",
        context_window=DEFAULT_CONTEXT_WINDOW,
        takes_files=False,
        encoding=_guess_encoding(name),
        monthly_messages=0,
        fallback=None,
    )


def _model_names(settings: Settings) -> set[str]:
    return {m.name for m in BUILTIN_MODELS} | set(settings.models)


def alias_chains(settings: Settings) -> tuple[dict[str, str | None], list[list[str]]]:
    """Each alias's final target, following aliases of aliases (None inside a cycle), and the
    cycles, each as the names in order with the first repeated at the end."""
    models = _model_names(settings)
    aliases = {a: t for a, t in {**BUILTIN_ALIASES, **settings.aliases}.items() if a not in models}
    targets: dict[str, str | None] = {}
    cycles: list[list[str]] = []
    for alias in aliases:
        path = [alias]
        name = aliases[alias]
        while name in aliases and name not in path:
            path.append(name)
            name = aliases[name]
        if name in path:
            cycle = [*path[path.index(name) :], name]
            if not any(set(cycle) == set(c) for c in cycles):
                cycles.append(cycle)
            targets[alias] = None
        else:
            targets[alias] = name
    return targets, cycles


class Catalog(NamedTuple):
    models: Mapping[str, ModelInfo]
    aliases: Mapping[str, str]  # alias → model name (chains already followed)
    default_name: str
    broken_aliases: Mapping[str, str] = MappingProxyType({})  # alias → what it cannot reach
    currency: str = "USD"
    builtins_served: bool = True
    """False for another server (Ollama, vLLM…) with models of its own declared: suggestions
    then name only those, since the built-in OpenAI models are likely not offered there."""

    def lookup(self, name: str) -> ModelInfo:
        """A model by exact name or alias (KeyError when unknown)."""
        target = self.aliases.get(name, name)
        return self.models[target]

    def target_name(self, name: str) -> str:
        """The model NAME means: an alias's final target, else NAME itself (known or not)."""
        return self.aliases.get(name) or self.broken_aliases.get(name) or name

    def resolve(self, name: str) -> ModelInfo:
        """A model by name or alias; unknown names are exit 2 with suggestions."""
        try:
            return self.lookup(name)
        except KeyError:
            pass
        if name in self.broken_aliases:
            target = self.broken_aliases[name]
            what = (
                "is part of an alias cycle" if target == name else f"names unknown model {target!r}"
            )
            raise InputError(
                f"alias {name!r} {what} (aliases.{name} in config.toml)",
                hint=f"fix it with 'chatpro config set aliases.{name} MODEL' or declare the model",
            )
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
        """Models that take files, to suggest (on another server, only the declared ones)."""
        return [
            m.name
            for m in self.models.values()
            if m.takes_files and (self.builtins_served or not m.builtin)
        ]

    def with_server_model(self, name: str) -> ModelInfo:
        """A model the server offers but config does not declare: an 8,192-token window is assumed
        (`assumed_window`, so the caller can say so) until it is declared."""
        target = self.target_name(name)
        if target in self.models:
            return self.models[target]
        return _undeclared(target)._replace(assumed_window=True)


def build_catalog(settings: Settings, default_override: str | None = None) -> Catalog:
    models: dict[str, ModelInfo] = {m.name: m for m in BUILTIN_MODELS}
    for name, fields in settings.models.items():
        base = models.get(name) or _undeclared(name)
        changes: dict[str, object] = {}
        for fname, value in fields.items():
            key = {"files": "takes_files"}.get(fname, fname)
            changes[key] = value if not (fname == "fallback" and value == "") else None
        if "input_per_mtok" in fields or "output_per_mtok" in fields:
            changes["prices_read"] = None  # configured prices: no published date applies
        models[name] = base._replace(**changes)  # type: ignore[arg-type]
    targets, _ = alias_chains(settings)
    aliases = {a: t for a, t in targets.items() if t is not None and t in models}
    broken = {a: (t if t is not None else a) for a, t in targets.items() if t not in models}
    by_target: dict[str, list[str]] = {}
    for alias, target in aliases.items():
        by_target.setdefault(target, []).append(alias)
    models = {n: m._replace(aliases=tuple(by_target.get(n, ()))) for n, m in models.items()}
    return Catalog(
        models=models,
        aliases=aliases,
        default_name=default_override or settings.default_model,
        broken_aliases=broken,
        currency=settings.currency,
    )

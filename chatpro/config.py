"""Settings: load and validate config.toml, show effective values, edit it by dotted key.

The keys themselves are declared once, in chatpro.settings_schema. An invalid file is a ConfigError
(exit 4) naming the file, the key and the problem; chatpro never rewrites a file it could not read.
Unknown keys are warnings. Edits keep the file's comments and layout (tomlkit) and are checked
against everything else (an alias naming an unknown model is exit 2) before anything is written.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): typing.NamedTuple
# compiles each string annotation of its fields, about 1 ms of every start (architecture.md).

import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

from chatpro.errors import ConfigError, InputError
from chatpro.paths import StrPath
from chatpro.settings_schema import (
    BY_KEY,
    DEFAULT_BASE_URL,
    DEFAULT_CURRENCY,
    DEFAULT_WARN_AT,
    LIST,
    MAX_RETENTION_DAYS,
    MODEL_FIELDS,
    PERCENTS,
    SECRET_POLICIES,
    SECTIONS,
    SETTINGS,
    TEXT,
    Checker,
    Invalid,
    Key,
    Settings,
    check_nonempty_str,
    known_keys,
    parse_key,
    type_name,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CURRENCY",
    "DEFAULT_WARN_AT",
    "MAX_RETENTION_DAYS",
    "MODEL_FIELDS",
    "SECRET_POLICIES",
    "TOP_LEVEL",
    "Effective",
    "Key",
    "Problem",
    "Settings",
    "coerce",
    "effective_values",
    "get_value",
    "known_keys",
    "load_settings",
    "parse_key",
    "read_document",
    "reference_problems",
    "set_in_file",
    "set_value",
    "unset_in_file",
    "unset_value",
    "validate",
]

# the checker of every fixed key, by dotted key (a view of settings_schema.SETTINGS)
TOP_LEVEL: dict[str, Checker] = {s.key: s.check for s in SETTINGS}


def _tomllib() -> Any:
    """tomllib, imported when a file is actually read (most commands have no config file)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


def _loads(text: str) -> dict[str, Any]:
    """TOML with exact numbers: 0.15 stays Decimal("0.15") (prices); checkers convert the rest."""
    from decimal import Decimal  # not at import: without a config file nothing needs it

    doc: dict[str, Any] = _tomllib().loads(text, parse_float=Decimal)
    return doc


# --- loading ---------------------------------------------------------------------------------


def _read_text(path: StrPath) -> str | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None


def _parse(text: str, path: StrPath) -> dict[str, Any]:
    tomllib = _tomllib()
    try:
        return _loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def read_document(path: StrPath) -> dict[str, Any]:
    """The raw TOML document, or {} when the file does not exist."""
    return read_toml(path) or {}


def read_toml(path: StrPath) -> dict[str, Any] | None:
    """The TOML file at PATH (config, a template, a .chatpro.toml), None when there is none;
    a file that cannot be read, is not UTF-8 or is not TOML is a ConfigError naming it."""
    text = _read_text(path)
    return None if text is None else _parse(text, path)


def validate(doc: Mapping[str, Any], path: StrPath, *, check_aliases: bool = True) -> Settings:
    """Check every known key; return Settings. Unknown keys become warnings; an alias cycle is
    exit 4 naming it (CHECK_ALIASES off lets an edit repair one)."""
    warnings: list[str] = []
    values: dict[str, Any] = {}
    file_keys: set[str] = set()

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {problem}")

    for name, value in doc.items():
        if name in SECTIONS:
            if not isinstance(value, dict):
                raise fail(name, f"must be a table, not {type_name(value)}")
        elif name not in BY_KEY:
            warnings.append(f"{path}: unknown key {name!r} ignored")

    for s in SETTINGS:
        try:
            raw = get_value(doc, Key(tuple(s.key.split("."))))
        except KeyError:
            continue
        try:
            values[s.attr] = s.check(raw)
        except Invalid as exc:
            raise fail(s.key, str(exc)) from None
        file_keys.add(s.key)
    for section in SECTIONS:
        table = doc.get(section)
        if section not in ("aliases", "models") and isinstance(table, dict):
            for key in table:
                if f"{section}.{key}" not in BY_KEY:
                    warnings.append(f"{path}: unknown key '{section}.{key}' ignored")

    aliases: dict[str, str] = {}
    for alias, target in (doc.get("aliases") or {}).items():
        try:
            aliases[alias] = check_nonempty_str(target)
        except Invalid as exc:
            raise fail(Key(("aliases", alias)).dotted, str(exc)) from None

    models: dict[str, dict[str, Any]] = {}
    for model, table in (doc.get("models") or {}).items():
        key = Key(("models", model)).dotted
        if not isinstance(table, dict):
            raise fail(key, f"must be a table, not {type_name(table)}")
        fields: dict[str, Any] = {}
        for fname, fvalue in table.items():
            if fname not in MODEL_FIELDS:
                warnings.append(f"{path}: unknown key '{key}.{fname}' ignored")
                continue
            try:
                fields[fname] = MODEL_FIELDS[fname].check(fvalue)
            except Invalid as exc:
                raise fail(f"{key}.{fname}", str(exc)) from None
        models[model] = fields

    settings = Settings(
        **values,
        aliases=aliases,
        models=models,
        warnings=tuple(warnings),
        path=path,
        file_keys=frozenset(file_keys),
    )
    if check_aliases and (settings.aliases or "aliases" in doc):
        from chatpro.models import alias_chains

        _, cycles = alias_chains(settings)
        if cycles:
            raise ConfigError(
                f"{path}: aliases: alias cycle: {' → '.join(cycles[0])}",
                hint="point one of them at a model ('chatpro config set aliases.NAME MODEL')",
            )
    return settings


def load_settings(path: StrPath) -> Settings:
    return validate(read_document(path), path)


# --- references between settings ---------------------------------------------------------------


class Problem(NamedTuple):
    """A setting that names something that does not exist (or an alias cycle)."""

    key: str
    message: str
    name: str = ""  # the unknown name
    cycle: bool = False


def reference_problems(settings: Settings) -> list[Problem]:
    """Every alias, default_model and fallback that names no model, and every alias cycle."""
    from chatpro.models import alias_chains, build_catalog

    targets, cycles = alias_chains(settings)
    problems = [
        Problem("aliases", f"alias cycle: {' → '.join(cycle)}", cycle=True) for cycle in cycles
    ]
    models = build_catalog(settings).models

    def check(key: str, name: str, what: str = "") -> None:
        final = targets.get(name, name)
        if final is not None and final not in models:
            problems.append(Problem(key, f"{what}unknown model {final!r}", final))

    for alias, target in settings.aliases.items():
        if alias not in models:
            check(Key(("aliases", alias)).dotted, target, f"alias {alias!r} names ")
    check("default_model", settings.default_model)
    for model, table in settings.models.items():
        if table.get("fallback"):
            check(Key(("models", model, "fallback")).dotted, table["fallback"])
    return problems


# --- effective values --------------------------------------------------------------------------


class Effective(NamedTuple):
    """A setting's value as chatpro uses it, and where it came from: env, file or default."""

    key: Key
    value: Any
    source: str
    env: str | None = None  # the variable, when source is "env"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": _plain(self.value), "source": self.source}
        if self.env:
            data["env"] = self.env
        return data


def _plain(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def effective_values(
    settings: Settings, environ: Mapping[str, str], builtin_aliases: Mapping[str, str]
) -> list[Effective]:
    """Every fixed key (env over file over default), every alias, and the models' file keys."""
    out: list[Effective] = []
    for s in SETTINGS:
        key = Key(tuple(s.key.split(".")))
        env_value = environ.get(s.env, "").strip() if s.env else ""
        if env_value:
            out.append(Effective(key, env_value, "env", s.env))
        else:
            source = "file" if s.key in settings.file_keys else "default"
            out.append(Effective(key, getattr(settings, s.attr), source))
    for alias, target in {**builtin_aliases, **settings.aliases}.items():
        source = "file" if alias in settings.aliases else "default"
        out.append(Effective(Key(("aliases", alias)), target, source))
    for model, table in settings.models.items():
        for fname, value in table.items():
            out.append(Effective(Key(("models", model, fname)), value, "file"))
    return out


# --- command-line values -----------------------------------------------------------------------


def parse_value(raw: str) -> Any:
    """Read a command-line value as TOML when it is one (42, true, [50, 80]), else as a string."""
    tomllib = _tomllib()
    try:
        return _loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def file_value(key: Key, raw: str) -> Any:
    """What `config set KEY RAW` writes into the file (before checking): 30 stays 30."""
    kind = key.kind()
    value = parse_value(raw)
    if kind == TEXT or isinstance(value, dict):
        return raw
    if kind == LIST and isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if kind == PERCENTS and isinstance(value, (str, int)):
        return [parse_value(v.strip()) for v in str(value).split(",") if v.strip()]
    return value


def coerce(key: Key, raw: str) -> Any:
    """The value for KEY from command-line text, checked against the schema (exit 2 if not)."""
    check = key.checker()
    try:
        checked = check(file_value(key, raw))
    except Invalid as exc:
        raise InputError(f"{key.dotted}: {exc}") from None
    return list(checked) if isinstance(checked, tuple) else checked


# --- plain-dict edits (the meaning of an edit; tomlkit then writes it) ----------------------------


def get_value(doc: Mapping[str, Any], key: Key) -> Any:
    node: Any = doc
    for part in key.parts:
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(key.dotted)
        node = node[part]
    return node


def set_value(doc: dict[str, Any], key: Key, value: Any) -> dict[str, Any]:
    node = doc
    for part in key.parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputError(f"{key.dotted}: {part} is not a table in the config file")
        node = child
    node[key.parts[-1]] = value
    return doc


def unset_value(doc: dict[str, Any], key: Key) -> bool:
    chain: list[dict[str, Any]] = [doc]
    for part in key.parts[:-1]:
        child = chain[-1].get(part)
        if not isinstance(child, dict):
            return False
        chain.append(child)
    if key.parts[-1] not in chain[-1]:
        return False
    del chain[-1][key.parts[-1]]
    for parent, part in zip(reversed(chain[:-1]), reversed(key.parts[:-1]), strict=False):
        if not parent[part]:
            del parent[part]
    return True


# --- writing -----------------------------------------------------------------------------------


def set_in_file(path: StrPath, key: Key, raw: str) -> Any:
    """`config set`: check RAW for KEY and against every other setting, then write it keeping the
    file's comments and layout. Returns the value as written."""
    checked = coerce(key, raw)
    # lists are stored as checked (warn_at sorted, without repeats); anything else as typed, so
    # `api.timeout 30` writes 30, not 30.0
    written = checked if isinstance(checked, list) else file_value(key, raw)

    def change(doc: dict[str, Any]) -> None:
        set_value(doc, key, written)

    _edit(path, key, change, raw_number=raw if _is_number(written) else None)
    return written


def unset_in_file(path: StrPath, key: Key) -> bool:
    """`config unset`: remove KEY (its default applies again); False when it was not set."""
    removed: list[bool] = []

    def change(doc: dict[str, Any]) -> None:
        removed.append(unset_value(doc, key))

    _edit(path, key, change)
    return removed[0]


def _is_number(value: Any) -> bool:
    from decimal import Decimal

    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _edit(path: StrPath, key: Key, change: Any, *, raw_number: str | None = None) -> None:
    """Read-modify-write under the lock. The old file must be valid (an unreadable file is never
    rewritten); the new one must be valid and add no broken reference (exit 2)."""
    import copy

    from chatpro.errors import StorageError
    from chatpro.fsutil import atomic_write_bytes, file_lock, lock_path_for

    try:
        with file_lock(lock_path_for(path)):
            text = _read_text(path)
            doc = {} if text is None else _parse(text, path)
            old = validate(doc, path, check_aliases=False)
            new_doc = copy.deepcopy(doc)
            change(new_doc)
            if new_doc == doc:
                return
            try:
                new = validate(new_doc, path, check_aliases=False)
            except ConfigError as exc:
                raise InputError(exc.message.removeprefix(f"{path}: ")) from None
            _refuse_new_problems(old, new)
            out = _render(text or "", new_doc, key, raw_number)
            atomic_write_bytes(path, out.encode("utf-8"))
    except StorageError as exc:
        raise ConfigError(exc.message) from None


def _refuse_new_problems(old: Settings, new: Settings) -> None:
    before = {(p.key, p.message) for p in reference_problems(old)}
    for problem in reference_problems(new):
        if (problem.key, problem.message) in before:
            continue
        hint = None
        if problem.name:
            import difflib

            from chatpro.models import build_catalog

            hint = f"declare it first: chatpro config set models.{problem.name}.context_window N"
            catalog = build_catalog(new)
            close = difflib.get_close_matches(
                problem.name, [*catalog.models, *catalog.aliases], n=3, cutoff=0.5
            )
            if close:
                hint = f"did you mean {' or '.join(close)}?"
        raise InputError(f"{problem.key}: {problem.message}; nothing was written", hint=hint)


def _render(text: str, new_doc: dict[str, Any], key: Key, raw_number: str | None) -> str:
    """NEW_DOC as TOML, written over TEXT with tomlkit so comments and layout stay.

    tomlkit is imported only here, on the editing path. The result is parsed back and must equal
    NEW_DOC; if tomlkit ever produced something else, the file is written plainly instead.
    """
    import tomlkit

    tdoc = tomlkit.parse(text)
    try:
        _apply(tdoc, new_doc, key, raw_number)
        out = tomlkit.dumps(tdoc)
        if _loads(out) == new_doc:
            return out
    except Exception:  # noqa: BLE001 - any tomlkit surprise falls back to a plain rewrite
        pass
    import tomli_w

    return str(tomli_w.dumps(new_doc))


def _apply(tdoc: Any, new_doc: dict[str, Any], key: Key, raw_number: str | None) -> None:
    import tomlkit

    try:
        value = get_value(new_doc, key)
    except KeyError:  # unset: remove the key, then any table it leaves empty
        chain = [tdoc]
        for part in key.parts[:-1]:
            chain.append(chain[-1][part])
        if key.parts[-1] in chain[-1]:
            del chain[-1][key.parts[-1]]
        for parent, part in zip(reversed(chain[:-1]), reversed(key.parts[:-1]), strict=False):
            if len(parent[part]) == 0:
                del parent[part]
        return
    node = tdoc
    for depth, part in enumerate(key.parts[:-1]):
        if part not in node:
            super_table = key.parts[0] == "models" and depth == 0
            node[part] = tomlkit.table(is_super_table=super_table)
        node = node[part]
    if raw_number is not None:
        item = tomlkit.parse(f"v = {raw_number.strip()}\n")["v"]
    else:
        item = tomlkit.item(value)
    node[key.parts[-1]] = item

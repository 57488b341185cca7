"""Settings: load and validate config.toml, edit it by dotted key, save it atomically.

An invalid file is a ConfigError (exit 4) naming the file, the key and the problem; chatpro never
rewrites a file it could not read. Unknown keys are warnings.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatpro.errors import ConfigError, InputError


def _tomllib() -> Any:
    """tomllib, imported when a file is actually read (most commands have no config file)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_WARN_AT = (50, 75, 80, 90, 95)
MAX_RETENTION_DAYS = 90
SECRET_POLICIES = ("warn", "redact", "block")


@dataclass(frozen=True)
class Settings:
    default_model: str = "gpt-4o"
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 60.0
    max_retries: int = 2
    allow_insecure: bool = False
    skills: tuple[str, ...] = ()
    bio: str = ""
    retention_days: int = MAX_RETENTION_DAYS
    warn_at: tuple[int, ...] = DEFAULT_WARN_AT
    on_secret: str = "warn"
    aliases: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


# --- the schema: one checker per known key -------------------------------------------------

Checker = Callable[[Any], Any]


class _Invalid(Exception):
    pass


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, not {_type_name(value)}")
    return value


def _nonempty_str(value: Any) -> str:
    if not _str(value).strip():
        raise _Invalid("must not be empty")
    return str(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {_type_name(value)}")
    return value


def _int_range(low: int, high: int | None) -> Checker:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"must be an integer, not {_type_name(value)}")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise _Invalid(f"must be {bound} (got {value})")
        return value

    return check


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(f"must be a number, not {_type_name(value)}")
    if value <= 0:
        raise _Invalid(f"must be greater than 0 (got {value})")
    return float(value)


def _str_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid("must be a list of strings")
    return tuple(value)


def _percent_list(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _Invalid("must be a list of percentages")
    check = _int_range(1, 100)
    try:
        return tuple(sorted({check(v) for v in value}))
    except _Invalid as exc:
        raise _Invalid(f"every entry {exc}") from None


def _choice(*choices: str) -> Checker:
    def check(value: Any) -> str:
        if value not in choices:
            raise _Invalid(f"must be one of {', '.join(choices)} (got {value!r})")
        return str(value)

    return check


def _base_url(value: Any) -> str:
    url = _nonempty_str(value)
    if not (url.startswith("http://") or url.startswith("https://")):
        raise _Invalid(f"must start with https:// or http:// (got {url!r})")
    return url


TOP_LEVEL: dict[str, Checker] = {
    "default_model": _nonempty_str,
    "api.base_url": _base_url,
    "api.timeout": _positive_number,
    "api.max_retries": _int_range(0, 10),
    "api.allow_insecure": _bool,
    "profile.skills": _str_list,
    "profile.bio": _str,
    "history.retention_days": _int_range(1, MAX_RETENTION_DAYS),
    "usage.warn_at": _percent_list,
    "privacy.on_secret": _choice(*SECRET_POLICIES),
}
MODEL_FIELDS: dict[str, Checker] = {
    "monthly_messages": _int_range(0, None),
    "fallback": _str,
    "context_window": _int_range(1, None),
    "files": _bool,
    "description": _str,
    "encoding": _nonempty_str,
}
SECTIONS = ("api", "profile", "history", "usage", "privacy", "aliases", "models")


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


# --- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A parsed dotted key: `api.timeout`, `aliases.quick`, `models."gpt-3.5-turbo".fallback`."""

    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(_quote(p) if "." in p or " " in p else p for p in self.parts)

    def checker(self) -> Checker:
        if self.parts[0] == "models" and len(self.parts) == 3:
            if self.parts[2] in MODEL_FIELDS:
                return MODEL_FIELDS[self.parts[2]]
        elif self.parts[0] == "aliases" and len(self.parts) == 2:
            return _nonempty_str
        elif ".".join(self.parts) in TOP_LEVEL:
            return TOP_LEVEL[".".join(self.parts)]
        raise InputError(f"unknown config key: {self.dotted}", hint=f"known keys: {known_keys()}")


def _quote(part: str) -> str:
    return f'"{part}"'


def known_keys() -> str:
    return ", ".join([*TOP_LEVEL, "aliases.NAME", *(f"models.NAME.{f}" for f in MODEL_FIELDS)])


def parse_key(text: str) -> Key:
    """Parse a dotted key. Model names may contain dots (gpt-3.5-turbo), quoted or not."""
    text = text.strip()
    parts: list[str] = []
    buf = ""
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    if quoted or not all(parts):
        raise InputError(f"invalid config key: {text!r}")
    if parts[0] == "models" and len(parts) > 3:
        parts = [parts[0], ".".join(parts[1:-1]), parts[-1]]
    elif parts[0] == "aliases" and len(parts) > 2:
        parts = [parts[0], ".".join(parts[1:])]
    return Key(tuple(parts))


# --- loading ---------------------------------------------------------------------------------


def read_document(path: Path) -> dict[str, Any]:
    """The raw TOML document, or {} when the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    tomllib = _tomllib()
    try:
        doc: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
        return doc
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def validate(doc: Mapping[str, Any], path: Path) -> Settings:
    """Check every known key; return Settings. Unknown keys become warnings."""
    warnings: list[str] = []
    values: dict[str, Any] = {}

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {problem}")

    for name, value in doc.items():
        if name == "default_model":
            try:
                values[name] = _nonempty_str(value)
            except _Invalid as exc:
                raise fail(name, str(exc)) from None
        elif name in SECTIONS:
            if not isinstance(value, dict):
                raise fail(name, f"must be a table, not {_type_name(value)}")
        else:
            warnings.append(f"{path}: unknown key {name!r} ignored")

    for dotted, check in TOP_LEVEL.items():
        section, _, key = dotted.partition(".")
        if not key:
            continue
        table = doc.get(section)
        if isinstance(table, dict) and key in table:
            try:
                values[dotted] = check(table[key])
            except _Invalid as exc:
                raise fail(dotted, str(exc)) from None
    for section in ("api", "profile", "history", "usage", "privacy"):
        table = doc.get(section)
        if isinstance(table, dict):
            for key in table:
                if f"{section}.{key}" not in TOP_LEVEL:
                    warnings.append(f"{path}: unknown key '{section}.{key}' ignored")

    aliases: dict[str, str] = {}
    for alias, target in (doc.get("aliases") or {}).items():
        try:
            aliases[alias] = _nonempty_str(target)
        except _Invalid as exc:
            raise fail(Key(("aliases", alias)).dotted, str(exc)) from None

    models: dict[str, dict[str, Any]] = {}
    for model, table in (doc.get("models") or {}).items():
        key = Key(("models", model)).dotted
        if not isinstance(table, dict):
            raise fail(key, f"must be a table, not {_type_name(table)}")
        fields: dict[str, Any] = {}
        for fname, fvalue in table.items():
            if fname not in MODEL_FIELDS:
                warnings.append(f"{path}: unknown key '{key}.{fname}' ignored")
                continue
            try:
                fields[fname] = MODEL_FIELDS[fname](fvalue)
            except _Invalid as exc:
                raise fail(f"{key}.{fname}", str(exc)) from None
        models[model] = fields

    return Settings(
        default_model=values.get("default_model", Settings.default_model),
        base_url=values.get("api.base_url", DEFAULT_BASE_URL),
        timeout=values.get("api.timeout", 60.0),
        max_retries=values.get("api.max_retries", 2),
        allow_insecure=values.get("api.allow_insecure", False),
        skills=values.get("profile.skills", ()),
        bio=values.get("profile.bio", ""),
        retention_days=values.get("history.retention_days", MAX_RETENTION_DAYS),
        warn_at=values.get("usage.warn_at", DEFAULT_WARN_AT),
        on_secret=values.get("privacy.on_secret", "warn"),
        aliases=aliases,
        models=models,
        warnings=tuple(warnings),
    )


def load_settings(path: Path) -> Settings:
    return validate(read_document(path), path)


# --- editing ---------------------------------------------------------------------------------


def parse_value(raw: str) -> Any:
    """Read a command-line value as TOML when it is one (42, true, [50, 80]), else as a string."""
    tomllib = _tomllib()
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def coerce(key: Key, raw: str) -> Any:
    """The value for KEY from command-line text, checked against the schema."""
    check = key.checker()
    value = parse_value(raw)
    if check in (_str, _nonempty_str, _base_url) or isinstance(value, dict):
        value = raw
    elif check is _str_list and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    elif check is _percent_list and isinstance(value, (str, int)):
        value = [parse_value(v.strip()) for v in str(value).split(",") if v.strip()]
    try:
        checked = check(value)
    except _Invalid as exc:
        raise InputError(f"{key.dotted}: {exc}") from None
    return list(checked) if isinstance(checked, tuple) else checked


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


def save_document(path: Path, doc: Mapping[str, Any]) -> None:
    """Validate DOC, then write it atomically (temp file, fsync, rename)."""
    import tomli_w

    from chatpro.errors import StorageError
    from chatpro.fsutil import atomic_write_bytes

    validate(doc, path)
    try:
        atomic_write_bytes(path, tomli_w.dumps(doc).encode("utf-8"))
    except StorageError as exc:
        raise ConfigError(exc.message) from None


def edit_document(path: Path, change: Callable[[dict[str, Any]], Any]) -> Any:
    """Read-modify-write the config file under its lock; an unreadable file is never rewritten."""
    from chatpro.errors import StorageError
    from chatpro.fsutil import file_lock, lock_path_for

    try:
        with file_lock(lock_path_for(path)):
            doc = read_document(path)
            validate(doc, path)  # refuse to rewrite an invalid file
            result = change(doc)
            save_document(path, doc)
            return result
    except StorageError as exc:
        raise ConfigError(exc.message) from None

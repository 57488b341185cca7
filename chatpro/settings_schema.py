"""Every setting declared once: dotted key, type check, default, environment override, one-line doc.

`Settings` is the table: each field that config.toml can set carries its declaration in the field's
metadata. Loading (chatpro.config), `config show/get/set/unset` and the docs all read it from here,
as do the limits other modules share (MAX_RETENTION_DAYS, SECRET_POLICIES).
"""

# Annotations are evaluated here (no `from __future__ import annotations`): typing.NamedTuple
# compiles each string annotation of its fields, about 1 ms of every start (architecture.md).

import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from chatpro.errors import InputError
from chatpro.paths import StrPath

if TYPE_CHECKING:
    from decimal import Decimal

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_WARN_AT = (50, 75, 80, 90, 95)
MAX_RETENTION_DAYS = 90
SECRET_POLICIES = ("warn", "redact", "block")
DEFAULT_CURRENCY = "USD"

Checker = Callable[[Any], Any]


class Invalid(Exception):
    """A value that does not fit its key; the caller adds the file and the key."""


# --- checkers --------------------------------------------------------------------------------


def type_name(value: Any) -> str:
    from decimal import Decimal  # exact numbers are imported where they are checked

    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        Decimal: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def check_str(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, not {type_name(value)}")
    return value


def check_nonempty_str(value: Any) -> str:
    if not check_str(value).strip():
        raise Invalid("must not be empty")
    return str(value)


def check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, not {type_name(value)}")
    return value


def int_range(low: int, high: int | None) -> Checker:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"must be an integer, not {type_name(value)}")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise Invalid(f"must be {bound} (got {value})")
        return value

    return check


def _finite_number(value: Any) -> "Decimal":
    """VALUE as an exact Decimal; refuses booleans, strings, nan and infinities."""
    from decimal import Decimal

    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise Invalid(f"must be a number, not {type_name(value)}")
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite() or not math.isfinite(float(number)):
        raise Invalid(f"must be a finite number (got {value})")
    return number


def check_positive_number(value: Any) -> float:
    number = _finite_number(value)
    if number <= 0:
        raise Invalid(f"must be greater than 0 (got {value})")
    return float(number)


def check_money(value: Any) -> "Decimal":
    """A non-negative amount, kept exact."""
    number = _finite_number(value)
    if number < 0:
        raise Invalid(f"must be a non-negative number (got {value})")
    return number


def check_str_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("must be a list of strings")
    return tuple(value)


def check_percent_list(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise Invalid("must be a list of percentages")
    check = int_range(1, 100)
    try:
        return tuple(sorted({check(v) for v in value}))
    except Invalid as exc:
        raise Invalid(f"every entry {exc}") from None


def choice(*choices: str) -> Checker:
    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid(f"must be one of {', '.join(choices)} (got {value!r})")
        return str(value)

    return check


def check_base_url(value: Any) -> str:
    url = check_nonempty_str(value)
    if not (url.startswith("http://") or url.startswith("https://")):
        raise Invalid(f"must start with https:// or http:// (got {url!r})")
    return url


def check_currency(value: Any) -> str:
    code = check_str(value)
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise Invalid(f"must be a three-letter currency code such as USD or EUR (got {code!r})")
    return code


# --- declarations ----------------------------------------------------------------------------

# How `config set` reads command-line text: "text" is taken as typed, "list" splits "a, b",
# "percents" splits "50, 90" into numbers, "value" is read as TOML (42, true, 2.5) else as text.
TEXT, LIST, PERCENTS, VALUE = "text", "list", "percents", "value"


class Setting(NamedTuple):
    """One config.toml key: where it lives, how it is checked, what it defaults to."""

    key: str  # dotted, as in config.toml: "api.timeout"
    attr: str  # the Settings field
    check: Checker
    default: Any
    doc: str  # type and meaning, one line (the docs table)
    env: str | None = None  # an environment variable that wins over the file
    kind: str = VALUE


def setting(
    key: str, check: Checker, default: Any, doc: str, *, env: str | None = None, kind: str = VALUE
) -> Any:
    """A Settings field declared by its config.toml key (the attr is filled in from the field;
    the class attribute becomes the default once the table is read, below)."""
    return Setting(key, "", check, default, doc, env=env, kind=kind)


class Settings:
    """Every setting, declared once below with `setting(...)`, and what loading learned.

    Immutable, compared by value. A plain class rather than a frozen dataclass: every command
    builds it at start-up, where generating a dataclass's methods costs more than loading.
    """

    default_model: str = setting(
        "default_model",
        check_nonempty_str,
        "gpt-4o",
        "a model name or alias",
        env="CHATPRO_MODEL",
        kind=TEXT,
    )
    base_url: str = setting(
        "api.base_url",
        check_base_url,
        DEFAULT_BASE_URL,
        "`https://…` or `http://…` URL of an OpenAI-compatible server",
        env="OPENAI_BASE_URL",
        kind=TEXT,
    )
    timeout: float = setting("api.timeout", check_positive_number, 60.0, "seconds, > 0")
    max_retries: int = setting("api.max_retries", int_range(0, 10), 2, "integer 0..10")
    allow_insecure: bool = setting(
        "api.allow_insecure", check_bool, False, "boolean: allow http:// to non-loopback hosts"
    )
    skills: tuple[str, ...] = setting(
        "profile.skills",
        check_str_list,
        (),
        'list of strings (`config set` also takes "a, b")',
        kind=LIST,
    )
    bio: str = setting("profile.bio", check_str, "", "string", kind=TEXT)
    retention_days: int = setting(
        "history.retention_days",
        int_range(1, MAX_RETENTION_DAYS),
        MAX_RETENTION_DAYS,
        f"integer 1..{MAX_RETENTION_DAYS}",
    )
    warn_at: tuple[int, ...] = setting(
        "usage.warn_at",
        check_percent_list,
        DEFAULT_WARN_AT,
        "list of percents 1..100",
        kind=PERCENTS,
    )
    on_secret: str = setting(
        "privacy.on_secret",
        choice(*SECRET_POLICIES),
        "warn",
        ", ".join(f"`{p}`" for p in SECRET_POLICIES[:-1]) + f" or `{SECRET_POLICIES[-1]}`",
        kind=TEXT,
    )
    currency: str = setting(
        "money.currency", check_currency, DEFAULT_CURRENCY, "three-letter currency code", kind=TEXT
    )
    monthly_budget: "Decimal | None" = setting(
        "money.monthly_budget", check_money, None, "amount a cycle, ≥ 0 (absent: no budget)"
    )
    # open tables and what loading learned; not settings themselves
    aliases: Mapping[str, str]  # a new empty dict by default
    models: Mapping[str, Mapping[str, Any]]  # a new empty dict by default
    warnings: tuple[str, ...] = ()
    path: StrPath | None = None  # the file these came from
    file_keys: frozenset[str] = frozenset()  # dotted keys the file sets

    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - FIELDS
        if unknown:
            raise TypeError(f"Settings() got unexpected keyword arguments: {sorted(unknown)}")
        for name in FIELDS:
            if name in values:
                value = values[name]
            else:
                value = {} if name in _NEW_DICT else getattr(Settings, name)
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Settings are immutable: cannot assign to {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Settings are immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and all(
            getattr(self, n) == getattr(other, n) for n in FIELDS
        )

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in FIELDS) + ")"


FIELDS: tuple[str, ...] = tuple(Settings.__annotations__)  # every attribute, in declared order
_NEW_DICT = ("aliases", "models")


def _declared() -> tuple[Setting, ...]:
    """The settings in declared order, each with its attribute; the class attribute that held
    the declaration becomes the default."""
    found = []
    for name in FIELDS:
        declared = vars(Settings).get(name)
        if isinstance(declared, Setting):
            found.append(declared._replace(attr=name))
            setattr(Settings, name, declared.default)
    return tuple(found)


SETTINGS: tuple[Setting, ...] = _declared()
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


class ModelField(NamedTuple):
    """A key of a `[models."NAME"]` table."""

    name: str
    check: Checker
    doc: str
    default: str  # as the docs show it
    kind: str = VALUE


MODEL_FIELDS: dict[str, ModelField] = {
    f.name: f
    for f in (
        ModelField(
            "monthly_messages", int_range(0, None), "integer ≥ 0 (0 = unlimited)", "300 / 1000 / 0"
        ),
        ModelField(
            "fallback", check_str, 'model name, "" for none', "`gpt-3.5-turbo` for gpt-4o", TEXT
        ),
        ModelField(
            "context_window",
            int_range(1, None),
            "integer ≥ 1 (tokens)",
            "published for built-ins, else 8,192",
        ),
        ModelField(
            "files",
            check_bool,
            "boolean: whether it takes files",
            "true for built-ins but gpt-3.5-turbo",
        ),
        ModelField("description", check_str, "string", "", TEXT),
        ModelField("encoding", check_nonempty_str, "tiktoken encoding name", "from the name", TEXT),
        ModelField(
            "input_per_mtok",
            check_money,
            "price per million prompt tokens, ≥ 0",
            "published for built-ins",
            VALUE,
        ),
        ModelField(
            "output_per_mtok",
            check_money,
            "price per million completion tokens, ≥ 0",
            "published for built-ins",
            VALUE,
        ),
    )
}
OPEN_TABLES = ("aliases", "models")
SECTIONS: tuple[str, ...] = (
    *dict.fromkeys(s.key.partition(".")[0] for s in SETTINGS if "." in s.key),
    *OPEN_TABLES,
)


# --- keys ------------------------------------------------------------------------------------


def quote_part(part: str) -> str:
    return f'"{part}"' if not re.fullmatch(r"[A-Za-z0-9_-]+", part) else part


class Key(NamedTuple):
    """A parsed dotted key: `api.timeout`, `aliases.quick`, `models."gpt-3.5-turbo".fallback`."""

    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(quote_part(p) for p in self.parts)

    @property
    def plain(self) -> str:
        return ".".join(self.parts)

    @property
    def is_table(self) -> bool:
        return (len(self.parts) == 1 and self.parts[0] in SECTIONS) or (
            len(self.parts) == 2 and self.parts[0] == "models"
        )

    def declaration(self) -> Setting | ModelField | None:
        """What declares this key; None for an alias (any name, a model name as value)."""
        if self.parts[0] == "models" and len(self.parts) == 3 and self.parts[2] in MODEL_FIELDS:
            return MODEL_FIELDS[self.parts[2]]
        if self.parts[0] == "aliases" and len(self.parts) == 2:
            return None
        if self.plain in BY_KEY:
            return BY_KEY[self.plain]
        raise InputError(f"unknown config key: {self.dotted}", hint=f"known keys: {known_keys()}")

    def checker(self) -> Checker:
        found = self.declaration()
        return check_nonempty_str if found is None else found.check

    def kind(self) -> str:
        found = self.declaration()
        return TEXT if found is None else found.kind


def known_keys() -> str:
    return ", ".join([*BY_KEY, "aliases.NAME", *(f"models.NAME.{f}" for f in MODEL_FIELDS)])


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


# --- the docs --------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) if value else "empty"
    if value == "":
        return "empty"
    return f"`{value}`" if isinstance(value, str) else str(value)


def reference_table() -> str:
    """The Markdown table of every key in docs/guide.md (a test keeps the guide equal to it)."""
    rows = ["| key | type | default |", "| --- | --- | --- |"]
    for s in SETTINGS:
        env = f" ({s.env} wins)" if s.env else ""
        rows.append(f"| `{s.key}` | {s.doc}{env} | {_shown(s.default)} |")
    rows.append("| `aliases.NAME` | model name or alias | `fast`, `powerful` |")
    for f in MODEL_FIELDS.values():
        rows.append(f"| `models.NAME.{f.name}` | {f.doc} | {f.default} |")
    return "\n".join(rows) + "\n"

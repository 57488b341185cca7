"""Structured answers: what `--schema` means, how it is asked for, and how an answer is checked.

SCHEMA is a JSON Schema file, inline JSON, or a short form such as
``"name, deadline date, budget int, deliverables list"``. Models that have the server's
structured-output mode get ``response_format`` json_schema (strict when the schema allows it);
others get JSON mode (``json_object``) and the schema in the system text. Either way the answer is
validated here with ``jsonschema`` (imported only when a schema is used): a bad SCHEMA is exit 2
before anything is sent, an answer that does not match is exit 5 naming the first violation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatpro.errors import InputError, ServiceError

STRUCTURED_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-5", "o3", "o4")
"""Models with the structured-output mode (json_schema, strict); every other model gets JSON mode.
chatgpt-4o-latest is not one of them: it starts with "chatgpt", not with a prefix here."""

SHORT_TYPES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
}
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\s+([A-Za-z]+(?:\[[A-Za-z]+\])?))?$")
_LIST = re.compile(r"^list(?:\[([A-Za-z]+)\])?$")


@dataclass(frozen=True)
class Schema:
    """A checked JSON Schema for the answer; MULTI: the answer is {"items": [ITEM, ...]}."""

    name: str
    schema: dict[str, Any]
    multi: bool = False

    @property
    def strict(self) -> bool:
        """Whether the server's strict mode accepts this schema (closed objects, all required)."""
        return _strict_ok(self.schema)

    def response_format(self, model: str) -> dict[str, Any]:
        if supports_structured(model):
            return {
                "type": "json_schema",
                "json_schema": {"name": self.name, "schema": self.schema, "strict": self.strict},
            }
        return {"type": "json_object"}

    def instructions(self) -> str:
        """System text that asks for the JSON (JSON mode needs it; it costs little otherwise)."""
        return (
            "Answer with one JSON object only, no prose and no code fences, that validates "
            "against this JSON Schema:\n" + json.dumps(self.schema, separators=(",", ":"))
        )

    def check_answer(self, text: str) -> Any:
        """The answer's JSON value, or ServiceError (exit 5) naming the first violation."""
        from jsonschema import Draft202012Validator, FormatChecker

        try:
            value = json.loads(_strip_fence(text))
        except ValueError as exc:
            raise ServiceError(f"the answer is not valid JSON: {exc}") from None
        validator = Draft202012Validator(self.schema, format_checker=FormatChecker())
        errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.path])
        if errors:
            first = errors[0]
            where = "$" + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path
            )
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ServiceError(
                f"the answer does not match the schema: at {where}: {first.message}{more}"
            )
        return value


def supports_structured(model: str) -> bool:
    return model.lower().startswith(STRUCTURED_PREFIXES)


def parse_schema(spec: str, *, multi: bool = False) -> Schema:
    """SPEC as a file path, inline JSON or the short form; exit 2 when it is none of them or not
    a valid JSON Schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    text = spec.strip()
    if not text:
        raise InputError("--schema is empty")
    name = "answer"
    path = Path(text).expanduser()
    schema: Any
    if path.is_file():
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"schema file {text} is not valid JSON: {exc}") from None
        name = _name(path.stem)
    elif text.startswith(("{", "[")):
        try:
            schema = json.loads(text)
        except ValueError as exc:
            raise InputError(f"--schema is not valid JSON: {exc}") from None
    else:
        schema = short_form(text)
    if not isinstance(schema, dict):
        raise InputError("--schema must be a JSON Schema object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        raise InputError(
            f"--schema is not a valid JSON Schema: at {where}: {exc.message}"
        ) from None
    if isinstance(schema.get("title"), str) and schema["title"].strip():
        name = _name(schema["title"])
    if multi:
        schema = _closed_object({"items": {"type": "array", "items": schema}})
        name = f"{name}_list"[:64]
    elif schema.get("type") != "object":
        raise InputError(
            '--schema must describe a JSON object ("type": "object")',
            hint="use --schema-multi for a list of them",
        )
    return Schema(name=name, schema=schema, multi=multi)


def short_form(text: str) -> dict[str, Any]:
    """'name, deadline date, budget int, deliverables list' → a closed object, all required."""
    properties: dict[str, Any] = {}
    for part in text.split(","):
        field = " ".join(part.split())
        match = _FIELD.match(field)
        if not match:
            raise InputError(
                f"--schema: cannot read {field!r}: expected a file, JSON, or fields like "
                "'name, deadline date, budget int, deliverables list'"
            )
        key, kind = match.group(1), (match.group(2) or "str").lower()
        if key in properties:
            raise InputError(f"--schema: field {key!r} is given twice")
        properties[key] = _short_type(kind, field)
    return _closed_object(properties)


def _short_type(kind: str, field: str) -> dict[str, Any]:
    listed = _LIST.match(kind)
    if listed:
        item = (listed.group(1) or "str").lower()
        if item not in SHORT_TYPES:
            raise InputError(f"--schema: unknown type {item!r} in {field!r}")
        return {"type": "array", "items": dict(SHORT_TYPES[item])}
    if kind not in SHORT_TYPES:
        known = ", ".join([*SHORT_TYPES, "list", "list[int]"])
        raise InputError(f"--schema: unknown type {kind!r} in {field!r} (known: {known})")
    return dict(SHORT_TYPES[kind])


def _closed_object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _strict_ok(schema: Any) -> bool:
    """Strict mode: every object closed with all its properties required, all the way down."""
    if isinstance(schema, list):
        return all(_strict_ok(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required") or ()) != set(props):
            return False
    return all(_strict_ok(v) for k, v in schema.items() if k not in ("required", "enum", "const"))


def _name(text: str) -> str:
    """The json_schema name: letters, digits, _ and -, at most 64."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:64] or "answer"


def _strip_fence(text: str) -> str:
    """Models in JSON mode sometimes wrap the object in a ```json fence anyway."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped[3:-3]
        if stripped.startswith("json"):
            stripped = stripped[4:]
    return stripped.strip()

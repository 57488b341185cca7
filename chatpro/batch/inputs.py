"""What a batch runs over: files (by path and content) or rows of a JSONL/CSV file.

Every input has a stable id: a file's path and the sha256 of its bytes, or a row's number and
the sha256 of its fields. Rows fill `{field}` placeholders of the prompt; a row that lacks a
field the prompt uses is refused (exit 2) before anything is sent.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatpro.errors import InputError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class BatchInput:
    """One request of a batch. LABEL is the "input" of its result line (the path, or the row)."""

    id: str
    label: Any
    prompt: str
    path: Path | None = None


def file_inputs(patterns: list[str], prompt: str) -> list[BatchInput]:
    """-f FILE... (globs expanded when the name is not a file itself), in the order given."""
    paths: list[Path] = []
    for pattern in patterns:
        path = Path(pattern).expanduser()
        if path.is_file() or not glob.has_magic(pattern):
            paths.append(path)
            continue
        matches = sorted(glob.glob(str(path), recursive=True))
        if not matches:
            raise InputError(f"no file matches {pattern}")
        paths.extend(Path(m) for m in matches if Path(m).is_file())
    inputs: list[BatchInput] = []
    seen: set[str] = set()
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        input_id = f"file:{path}:{hashlib.sha256(data).hexdigest()}"
        if input_id in seen:
            continue
        seen.add(input_id)
        inputs.append(BatchInput(id=input_id, label=str(path), prompt=prompt, path=path))
    return inputs


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a .jsonl (one object a line) or .csv (a header row) file; exit 2 if unreadable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"cannot read inputs file {path}: {reason}") from None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        rows: list[dict[str, Any]] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise InputError(f"{path}, line {number}: not valid JSON") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}, line {number}: expected a JSON object")
            rows.append(row)
        return rows
    if suffix in (".csv", ".tsv"):
        import csv
        import io

        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        if not reader.fieldnames:
            raise InputError(f"inputs file {path} has no header row")
        return [{k: v for k, v in row.items() if k is not None} for row in reader]
    raise InputError(f"inputs file {path}: expected .jsonl or .csv")


def row_inputs(path: Path, prompt: str) -> list[BatchInput]:
    """One input a row, its fields filled into PROMPT; a missing field is exit 2 naming it."""
    fields = PLACEHOLDER.findall(prompt)
    inputs = []
    for number, row in enumerate(read_rows(path), 1):
        missing = [f for f in fields if f not in row]
        if missing:
            raise InputError(
                f"{path}, row {number} has no field {missing[0]!r} (the prompt uses {{{missing[0]}}})"
            )
        canonical = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        inputs.append(
            BatchInput(
                id=f"row:{number}:{digest}",
                label={"row": number, **row},
                prompt=fill(prompt, row, fields),
            )
        )
    return inputs


def fill(prompt: str, row: dict[str, Any], fields: list[str]) -> str:
    """PROMPT with {field} replaced by the row's values; without placeholders, the row follows."""
    if not fields:
        lines = "\n".join(f"{k}: {_text(v)}" for k, v in row.items())
        return f"{prompt.rstrip()}\n\n{lines}" if prompt.strip() else lines
    return PLACEHOLDER.sub(
        lambda m: _text(row[m.group(1)]) if m.group(1) in row else m.group(0), prompt
    )


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)

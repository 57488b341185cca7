"""Jupyter notebooks (.ipynb): the cells in order, each under a heading naming its type, code in
fenced blocks of the notebook's language, and the text outputs a reader saw (cut when long)."""

from __future__ import annotations

import json
from typing import Any

from chatpro.errors import FileRefused
from chatpro.files.common import Extracted, TextBuilder

MAX_OUTPUT_CHARS = 2_000
"""An output (a printed log, a table's text) longer than this is cut: the code is what matters."""


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _fence(body: str, language: str = "") -> list[str]:
    ticks = "```"
    while ticks in body:
        ticks += "`"
    return [ticks + language, *body.rstrip("\n").split("\n"), ticks]


def _outputs(outputs: Any) -> str:
    parts: list[str] = []
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(_text(output.get("text")))
        elif kind in ("execute_result", "display_data", "pyout"):
            data = output.get("data")
            plain = data.get("text/plain") if isinstance(data, dict) else output.get("text")
            parts.append(_text(plain))
        elif kind in ("error", "pyerr"):
            parts.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    text = "\n".join(p.rstrip("\n") for p in parts if p.strip())
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + "\n… (output cut)"
    return text


def extract_ipynb(data: bytes, name: str) -> Extracted:
    from chatpro.files.text import decode_text

    text, _ = decode_text(data, name)
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise FileRefused(f"{name}: corrupt Jupyter notebook (invalid JSON{where})") from None
    if not isinstance(notebook, dict):
        raise FileRefused(f"{name}: not a Jupyter notebook (no cells)")
    cells = notebook.get("cells")
    if cells is None and isinstance(notebook.get("worksheets"), list):  # nbformat 3
        cells = [
            c for ws in notebook["worksheets"] if isinstance(ws, dict) for c in ws.get("cells", [])
        ]
    if not isinstance(cells, list):
        raise FileRefused(f"{name}: not a Jupyter notebook (no cells)")
    meta = notebook.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    language = ""
    for key in ("kernelspec", "language_info"):
        info = meta.get(key)
        if isinstance(info, dict):
            language = str(info.get("language") or info.get("name") or "")
            if language:
                break
    language = "".join(language.split()).lower() or "python"
    builder = TextBuilder()
    for number, cell in enumerate(cells, start=1):
        if builder.full:
            break
        if not isinstance(cell, dict):
            continue
        kind = str(cell.get("cell_type") or "")
        source = _text(cell.get("source", cell.get("input")))
        if kind == "markdown" or kind == "heading":
            builder.line(f"### Markdown cell {number}")
            for line in source.split("\n"):
                builder.line(line)
        elif kind == "code":
            count = cell.get("execution_count", cell.get("prompt_number"))
            label = f" [{count}]" if isinstance(count, int) else ""
            builder.line(f"### Code cell {number}{label}")
            for line in _fence(source, language):
                builder.line(line)
            output = _outputs(cell.get("outputs"))
            if output:
                builder.line("Output:")
                for line in _fence(output, "text"):
                    builder.line(line)
        else:
            builder.line(f"### Raw cell {number}")
            for line in source.split("\n"):
                builder.line(line)
        builder.line("")
    return Extracted(builder.text(), builder.truncated)

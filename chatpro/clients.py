"""Clients: the names work is tagged with, and where a command's client comes from.

Order (SPEC "Clients and money"): `--client NAME`, then CHATPRO_CLIENT, then `client = "NAME"` in the
nearest `.chatpro.toml` in the current directory or a parent; the first that is set wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from chatpro.errors import ConfigError, InputError

ENV_VAR = "CHATPRO_CLIENT"
PROJECT_FILE = ".chatpro.toml"
MAX_NAME = 64
_NAME = re.compile(r"[A-Za-z0-9_. -]{1,64}")


def _problem(name: str) -> str | None:
    if not name.strip():
        return "a client name must not be empty"
    if len(name) > MAX_NAME:
        return f"a client name has at most {MAX_NAME} characters (got {len(name)})"
    if not _NAME.fullmatch(name):
        return "a client name may use only letters, digits, '-', '_', '.' and spaces"
    return None


def check_client_name(name: str, source: str = "") -> str:
    """NAME when it is a valid client name, else exit 2 saying why (SOURCE names where it came
    from, e.g. CHATPRO_CLIENT)."""
    problem = _problem(name)
    if problem:
        where = f"{source}: " if source else ""
        raise InputError(f"{where}invalid client name {name!r}: {problem}")
    return name


def find_project_client(start: Path) -> tuple[str, Path] | None:
    """`client` from the nearest .chatpro.toml at START or above, with the file it came from.

    A file without `client` is passed over (the search goes on upwards). A file that cannot be read
    or parsed, or names an invalid client, is exit 4 naming the file.
    """
    from chatpro.config import read_toml

    directory = start.resolve()
    for candidate in (directory, *directory.parents):
        path = candidate / PROJECT_FILE
        doc = read_toml(path)
        if doc is None or "client" not in doc:
            continue
        name = doc["client"]
        if not isinstance(name, str):
            raise ConfigError(f"{path}: client: must be a string")
        problem = _problem(name)
        if problem:
            raise ConfigError(f"{path}: client: {problem} (got {name!r})")
        return name, path
    return None


def resolve_client(flag: str | None, environ: Mapping[str, str], cwd: Path) -> str | None:
    """The client for this command: --client, CHATPRO_CLIENT, .chatpro.toml; None when untagged."""
    if flag is not None:
        return check_client_name(flag)
    env_value = environ.get(ENV_VAR, "")
    if env_value:
        return check_client_name(env_value, ENV_VAR)
    found = find_project_client(cwd)
    return found[0] if found else None

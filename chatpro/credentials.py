"""The API key: lookup order, the 0600 credentials file, masking.

Lookup order: ``OPENAI_API_KEY`` in the environment, then the credentials file in the config dir.
The file is created with mode 0600 by ``os.open`` (never chmod afterwards) in a 0700 dir.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from chatpro.errors import ConfigError, InputError, StorageError

if TYPE_CHECKING:
    from chatpro.paths import StrPath

ENV_VAR = "OPENAI_API_KEY"
KEY_FILE_MODE = 0o600

Warn = Callable[[str], None]


class ApiKey:
    """A key and where it came from: "env" or "file". (A plain class: render imports this module
    for `scrub` at every start.)"""

    __slots__ = ("source", "value")

    def __init__(self, value: str, source: str) -> None:
        self.value = value
        self.source = source

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and (other.value, other.source) == (
            self.value,
            self.source,
        )

    def __hash__(self) -> int:
        return hash((self.value, self.source))

    def __repr__(self) -> str:  # never show the key, even in a debugger or traceback locals
        return f"ApiKey(value={mask(self.value)!r}, source={self.source!r})"


def mask(key: str) -> str:
    """`sk-…a1b2`: enough to recognise a key, never enough to use it."""
    key = key.strip()
    prefix = "sk-" if key.startswith("sk-") else ""
    tail = key[-4:] if len(key) >= 12 else ""
    return f"{prefix}…{tail}"


def tighten_mode(path: StrPath, warn: Warn | None = None) -> None:
    """A credentials file others can read (say 0644, copied in by hand) is set back to 0600,
    with a notice through WARN."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if current & 0o077:
        try:
            os.chmod(path, KEY_FILE_MODE)
        except OSError as exc:
            if warn:
                warn(
                    f"{path} is readable by others (mode {current:04o}) and cannot be set to 0600: {exc.strerror}"
                )
            return
        if warn:
            warn(f"{path} was readable by others (mode {current:04o}); set it to 0600")


def read_key_file(path: StrPath, warn: Warn | None = None) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read the credentials file: {exc.__class__.__name__}"
        ) from None
    tighten_mode(path, warn)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return None


def find_key(environ: Mapping[str, str], path: StrPath, warn: Warn | None = None) -> ApiKey | None:
    env_value = environ.get(ENV_VAR, "").strip()
    if env_value:
        return ApiKey(env_value, "env")
    stored = read_key_file(path, warn)
    return ApiKey(stored, "file") if stored else None


def require_key(environ: Mapping[str, str], path: StrPath, warn: Warn | None = None) -> ApiKey:
    key = find_key(environ, path, warn)
    if key is None:
        raise ConfigError(
            "no API key: set OPENAI_API_KEY or run 'chatpro key set'",
        )
    return key


def validate_key_text(text: str) -> str:
    key = text.strip()
    if not key:
        raise InputError("no key given: nothing was stored")
    if any(ch.isspace() for ch in key) or not key.isprintable():
        raise InputError(
            "that does not look like an API key (it contains spaces or control characters)"
        )
    return key


def store_key(path: StrPath, key: str) -> None:
    """Write the key atomically into a file created 0600."""
    from chatpro.fsutil import atomic_write_bytes

    try:
        atomic_write_bytes(path, (key + "\n").encode("utf-8"), mode=0o600)
    except StorageError as exc:
        raise ConfigError(exc.message) from None


def remove_key(path: StrPath) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(f"{path}: cannot remove: {exc.strerror}") from None


def scrub(text: str, secrets: list[str]) -> str:
    """Remove every known secret (and anything shaped like an OpenAI key) from TEXT."""
    import re

    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, mask(secret))
    return re.sub(r"sk-[A-Za-z0-9_\-*]{6,}", lambda m: mask(m.group(0)), text)

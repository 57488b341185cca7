"""The only module that decides where files live.

Order: ``CHATPRO_HOME=DIR`` puts everything under DIR (``DIR/config`` and ``DIR/data``);
otherwise the user config and user data dirs for the app name ``chatpro``: on Linux and the
other Unixes the XDG base directories (``$XDG_CONFIG_HOME`` or ``~/.config``, ``$XDG_DATA_HOME``
or ``~/.local/share``), as platformdirs gives them; platformdirs itself on macOS, Windows and
Android.

Paths are plain strings, joined with ``os.path``: the storage layer (config, credentials, ledger,
chat log) uses ``os`` calls, so that a table command starts without importing pathlib (about
3 ms) or platformdirs (about 8 ms with pathlib). Functions that take a path accept ``StrPath``,
so a ``pathlib.Path`` works too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TypeAlias

StrPath: TypeAlias = str | os.PathLike[str]  # what the storage layer takes as a path

APP_NAME = "chatpro"
DIR_MODE = 0o700
FILE_MODE = 0o600

join = os.path.join


class Paths:
    """The config dir and the data dir; every file's place follows from them."""

    __slots__ = ("config_dir", "data_dir")

    def __init__(self, config_dir: StrPath, data_dir: StrPath) -> None:
        self.config_dir = os.fspath(config_dir)
        self.data_dir = os.fspath(data_dir)

    def __repr__(self) -> str:
        return f"Paths(config_dir={self.config_dir!r}, data_dir={self.data_dir!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Paths) and (other.config_dir, other.data_dir) == (
            self.config_dir,
            self.data_dir,
        )

    def __hash__(self) -> int:
        return hash((self.config_dir, self.data_dir))

    @property
    def config_file(self) -> str:
        return join(self.config_dir, "config.toml")

    @property
    def credentials_file(self) -> str:
        return join(self.config_dir, "credentials")

    @property
    def templates_dir(self) -> str:
        return join(self.config_dir, "templates")

    @property
    def chats_file(self) -> str:
        return join(self.data_dir, "chats.jsonl")

    @property
    def ledger_file(self) -> str:
        return join(self.data_dir, "usage.jsonl")

    @property
    def files_dir(self) -> str:
        """Extracted texts of files attached to logged chats, by sha256 (beside the log)."""
        return join(self.data_dir, "files")

    @property
    def input_history_file(self) -> str:
        return join(self.data_dir, "input_history")

    def as_dict(self) -> dict[str, str]:
        return {
            "config_dir": self.config_dir,
            "data_dir": self.data_dir,
            "config": self.config_file,
            "credentials": self.credentials_file,
            "templates": self.templates_dir,
            "chats": self.chats_file,
            "ledger": self.ledger_file,
            "files": self.files_dir,
            "input_history": self.input_history_file,
        }


def resolve_paths(environ: Mapping[str, str], platform: str = sys.platform) -> Paths:
    home = environ.get("CHATPRO_HOME", "").strip()
    if home:
        root = os.path.expanduser(home)
        return Paths(config_dir=join(root, "config"), data_dir=join(root, "data"))
    if _is_xdg_platform(environ, platform):
        return Paths(
            config_dir=join(_xdg_home(environ, "XDG_CONFIG_HOME", "~/.config"), APP_NAME),
            data_dir=join(_xdg_home(environ, "XDG_DATA_HOME", "~/.local/share"), APP_NAME),
        )
    import platformdirs

    return Paths(
        config_dir=platformdirs.user_config_dir(APP_NAME, appauthor=False),
        data_dir=platformdirs.user_data_dir(APP_NAME, appauthor=False),
    )


def _is_xdg_platform(environ: Mapping[str, str], platform: str) -> bool:
    """Linux and the BSDs, where platformdirs follows the XDG spec; not macOS, Windows, or an
    Android app (platformdirs looks up an Android app's own folders)."""
    if platform in ("win32", "cygwin", "darwin", "ios", "android", "emscripten", "wasi"):
        return False
    android = environ.get("ANDROID_DATA") == "/data" and environ.get("ANDROID_ROOT") == "/system"
    return not android and not hasattr(sys, "getandroidapilevel")


def _xdg_home(environ: Mapping[str, str], variable: str, default: str) -> str:
    """The XDG base directory: VARIABLE when it is an absolute path (the spec ignores relative
    ones), else DEFAULT under the home directory."""
    value = environ.get(variable, "")
    return value if os.path.isabs(value) else os.path.expanduser(default)


def ensure_dir(path: StrPath) -> str:
    """Create PATH (and parents) with mode 0700 if missing; return it."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        missing = []
        directory = path
        while directory and not os.path.exists(directory):
            missing.append(directory)
            parent = os.path.dirname(directory.rstrip(os.sep) or directory)
            if parent == directory:
                break
            directory = parent
        for directory in reversed(missing):  # every directory we create is 0700, not just the leaf
            try:
                os.mkdir(directory, DIR_MODE)
            except FileExistsError:
                pass
            except OSError as exc:
                from chatpro.errors import StorageError

                raise StorageError(f"cannot create {directory}: {exc.strerror}") from None
    return path

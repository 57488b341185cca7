"""The only module that decides where files live.

Order: ``CHATPRO_HOME=DIR`` puts everything under DIR (``DIR/config`` and ``DIR/data``);
otherwise platformdirs' user config and user data dirs for the app name ``chatpro``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

APP_NAME = "chatpro"
DIR_MODE = 0o700
FILE_MODE = 0o600


class Paths:
    """The config dir and the data dir; every file's place follows from them."""

    __slots__ = ("config_dir", "data_dir")

    def __init__(self, config_dir: Path, data_dir: Path) -> None:
        self.config_dir = config_dir
        self.data_dir = data_dir

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
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def credentials_file(self) -> Path:
        return self.config_dir / "credentials"

    @property
    def templates_dir(self) -> Path:
        return self.config_dir / "templates"

    @property
    def chats_file(self) -> Path:
        return self.data_dir / "chats.jsonl"

    @property
    def ledger_file(self) -> Path:
        return self.data_dir / "usage.jsonl"

    @property
    def files_dir(self) -> Path:
        """Extracted texts of files attached to logged chats, by sha256 (beside the log)."""
        return self.data_dir / "files"

    @property
    def input_history_file(self) -> Path:
        return self.data_dir / "input_history"

    def as_dict(self) -> dict[str, str]:
        return {
            "config_dir": str(self.config_dir),
            "data_dir": str(self.data_dir),
            "config": str(self.config_file),
            "credentials": str(self.credentials_file),
            "templates": str(self.templates_dir),
            "chats": str(self.chats_file),
            "ledger": str(self.ledger_file),
            "files": str(self.files_dir),
            "input_history": str(self.input_history_file),
        }


def resolve_paths(environ: Mapping[str, str]) -> Paths:
    home = environ.get("CHATPRO_HOME", "").strip()
    if home:
        root = Path(home).expanduser()
        return Paths(config_dir=root / "config", data_dir=root / "data")
    import platformdirs

    return Paths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
    )


def ensure_dir(path: Path) -> Path:
    """Create PATH (and parents) with mode 0700 if missing; return it."""
    if not path.is_dir():
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for directory in reversed(missing):  # every directory we create is 0700, not just the leaf
            try:
                directory.mkdir(mode=DIR_MODE)
            except FileExistsError:
                pass
            except OSError as exc:
                from chatpro.errors import StorageError

                raise StorageError(f"cannot create {directory}: {exc.strerror}") from None
    return path

"""Where files live: CHATPRO_HOME, else the XDG base directories (as platformdirs gives them on
Linux), else platformdirs itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from chatpro.paths import Paths, ensure_dir, resolve_paths


def test_chatpro_home_puts_everything_under_it(tmp_path: Path) -> None:
    paths = resolve_paths({"CHATPRO_HOME": str(tmp_path), "XDG_CONFIG_HOME": "/elsewhere"})
    assert paths == Paths(tmp_path / "config", tmp_path / "data")
    assert paths.chats_file == str(tmp_path / "data" / "chats.jsonl")
    assert paths.config_file == str(tmp_path / "config" / "config.toml")


def test_chatpro_home_expands_the_home_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    assert resolve_paths({"CHATPRO_HOME": "~/work"}).data_dir == "/home/someone/work/data"


@pytest.mark.parametrize(
    "xdg",
    [
        {},
        {"XDG_CONFIG_HOME": "/tmp/xdg-config", "XDG_DATA_HOME": "/tmp/xdg-data"},
        {"XDG_CONFIG_HOME": "", "XDG_DATA_HOME": ""},
        {"XDG_CONFIG_HOME": "/tmp/only-config"},
    ],
    ids=["unset", "set", "empty", "one"],
)
def test_linux_dirs_are_the_ones_platformdirs_gives(
    xdg: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CHATPRO_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var, value in xdg.items():
        monkeypatch.setenv(var, value)
    paths = resolve_paths(os.environ, "linux")
    if sys.platform.startswith("linux"):  # platformdirs answers for the platform it runs on
        assert paths.config_dir == platformdirs.user_config_dir("chatpro", appauthor=False)
        assert paths.data_dir == platformdirs.user_data_dir("chatpro", appauthor=False)
    config_home = xdg.get("XDG_CONFIG_HOME") or str(tmp_path / ".config")
    assert paths.config_dir == os.path.join(config_home, "chatpro")


def test_a_relative_xdg_dir_is_ignored_as_the_spec_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    paths = resolve_paths({"XDG_CONFIG_HOME": "relative/config", "XDG_DATA_HOME": "data"}, "linux")
    assert paths.config_dir == str(tmp_path / ".config" / "chatpro")
    assert paths.data_dir == str(tmp_path / ".local" / "share" / "chatpro")


@pytest.mark.parametrize(
    ("platform", "environ", "uses_platformdirs"),
    [
        ("linux", {}, False),
        ("freebsd14", {}, False),
        ("darwin", {}, True),
        ("win32", {}, True),
        ("linux", {"ANDROID_DATA": "/data", "ANDROID_ROOT": "/system"}, True),
    ],
)
def test_platformdirs_is_asked_only_off_xdg_platforms(
    platform: str, environ: dict[str, str], uses_platformdirs: bool
) -> None:
    code = (
        "import sys\nfrom chatpro.paths import resolve_paths\n"
        f"resolve_paths({environ!r}, {platform!r})\n"
        "print('platformdirs' in sys.modules, 'pathlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(uses_platformdirs), str(uses_platformdirs)]


def test_commands_use_the_xdg_dirs_without_chatpro_home(run_process, tmp_path: Path) -> None:
    config, data = tmp_path / "xdg-config", tmp_path / "xdg-data"
    env = {"CHATPRO_HOME": None, "XDG_CONFIG_HOME": str(config), "XDG_DATA_HOME": str(data)}
    asked = run_process("ask", "hello", env=env)  # type: ignore[arg-type]
    assert asked.returncode == 0, asked.stderr
    assert (data / "chatpro" / "chats.jsonl").is_file()
    assert (data / "chatpro" / "usage.jsonl").is_file()
    shown = run_process("config", "path", "--json", env=env)  # type: ignore[arg-type]
    assert json.loads(shown.stdout)["config"] == str(config / "chatpro" / "config.toml")


def test_ensure_dir_creates_every_missing_parent_private(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c"
    assert ensure_dir(target) == str(target)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert directory.stat().st_mode & 0o777 == 0o700
    assert ensure_dir(str(target) + "/") == str(target) + "/"  # already there: left alone


def test_ensure_dir_makes_relative_paths_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ensure_dir("x/y")
    assert (tmp_path / "x" / "y").is_dir()

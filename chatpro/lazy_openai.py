"""Import the openai SDK without running every `openai.types` package initialiser up front.

`import openai` builds several hundred pydantic models for the whole API surface (responses,
realtime, evals, …) before the first request; a chat completion needs a few dozen. The SDK's
type packages only re-export their submodules, so while openai is imported, a meta-path finder
gives each such package a module whose attributes load their submodule on first use. The SDK's
own code and models are untouched: only *when* a type module is imported changes. A package
whose initialiser does anything but re-export is imported normally, and any failure falls back
to a plain `import openai`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import re
import sys
import types
from collections.abc import Sequence
from typing import Any

_PREFIX = "openai.types"
_IMPORT = re.compile(r"^from \.([\w.]+) import (\([^)]*\)|[^\n]+)", re.MULTILINE)


def reexports(init_source: str) -> dict[str, tuple[str, str]] | None:
    """NAME -> (submodule, attribute) for an initialiser that only re-exports; else None."""
    body = re.sub(r"#[^\n]*", "", init_source).replace("from __future__ import annotations", "")
    if _IMPORT.sub("", body).strip():
        return None
    names: dict[str, tuple[str, str]] = {}
    for match in _IMPORT.finditer(body):
        for item in match.group(2).strip("()").split(","):
            original, _, alias = item.strip().partition(" as ")
            if original:
                names[(alias or original).strip()] = (match.group(1), original.strip())
    return names


class _LazyPackage(importlib.abc.Loader):
    def __init__(self, exports: dict[str, tuple[str, str]]) -> None:
        self.exports = exports

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        exports, package = self.exports, module.__name__

        def __getattr__(name: str) -> Any:
            if name in exports:
                submodule, original = exports[name]
                value = getattr(importlib.import_module(f"{package}.{submodule}"), original)
                setattr(module, name, value)
                return value
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError:
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

        module.__getattr__ = __getattr__  # type: ignore[method-assign]


class _LazyTypesFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _PREFIX and not fullname.startswith(_PREFIX + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.submodule_search_locations or not spec.origin:
            return spec
        try:
            with open(spec.origin, encoding="utf-8") as fh:
                exports = reexports(fh.read())
        except OSError:
            return spec
        if exports is None:
            return spec
        lazy = importlib.machinery.ModuleSpec(
            fullname, _LazyPackage(exports), origin=spec.origin, is_package=True
        )
        lazy.submodule_search_locations = spec.submodule_search_locations
        lazy.has_location = True
        return lazy


def import_openai() -> Any:
    """The openai module, imported with lazy type packages when that works."""
    if "openai" in sys.modules:
        return sys.modules["openai"]
    finder = _LazyTypesFinder()
    sys.meta_path.insert(0, finder)
    try:
        import openai

        return openai
    except Exception:  # noqa: BLE001 - any surprise: forget the partial import, do it plainly
        for name in [m for m in sys.modules if m == "openai" or m.startswith("openai.")]:
            del sys.modules[name]
    finally:
        sys.meta_path.remove(finder)
    import openai

    return openai

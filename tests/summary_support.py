"""What the summary tests share: reading a copy of a file with no summary beside it."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from chatpro import summary


@contextlib.contextmanager
def unsummarised_copy(path: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of PATH under TMP_PATH, read while no summary may be written: the reference
    answers the summarised reads must equal. Checks on the way out that none was written."""
    copy = tmp_path / "reference" / path.name
    shutil.rmtree(copy.parent, ignore_errors=True)
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    old = summary.MIN_BYTES
    summary.MIN_BYTES = 1 << 62
    try:
        yield copy
    finally:
        summary.MIN_BYTES = old
    assert not Path(summary.path_for(copy)).exists()

"""Reservations: the cost of requests in flight, so concurrent processes never overspend.

A small JSON file beside the ledger (``usage.jsonl.reservations``), read and rewritten atomically
only under the ledger's exclusive lock: ``{"v": 1, "reservations": [{"id", "model", "units",
"expires"}]}``. A reservation counts as used until the charge that commits it, its release, or its
``expires`` time by chatpro's clock (a killed process's reservation lapses; file mtimes are never
consulted). The file is scratch state: an unreadable one counts as empty, with the same effect as
its reservations having expired.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): typing.NamedTuple
# compiles each string annotation of its fields, about 1 ms of every start (architecture.md).

import os
from datetime import datetime
from typing import NamedTuple

from chatpro.fsutil import atomic_write_bytes
from chatpro.paths import StrPath
from chatpro.usage.journal import valid_figure

VERSION = 1


class Held(NamedTuple):
    id: str
    model: str
    units: int
    expires: datetime


def path_for(ledger: StrPath) -> str:
    return os.fspath(ledger) + ".reservations"


def load(path: StrPath, now: datetime) -> tuple[list[Held], bool]:
    """(live reservations, whether the file holds anything else: expired or unreadable entries)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return [], False
    except OSError:
        return [], True
    import json  # not at import: no reservations file is the common case

    try:
        doc = json.loads(data)
        entries = doc["reservations"]
        if not isinstance(entries, list):
            raise TypeError
    except (ValueError, TypeError, KeyError, RecursionError):
        return [], True
    live: list[Held] = []
    stale = False
    for entry in entries:
        held = _held(entry)
        if held is None or held.expires <= now:
            stale = True
        else:
            live.append(held)
    return live, stale


def _held(entry: object) -> Held | None:
    if not isinstance(entry, dict):
        return None
    ident, model, units, expires = (entry.get(k) for k in ("id", "model", "units", "expires"))
    if not (isinstance(ident, str) and isinstance(model, str) and valid_figure(units)):
        return None
    try:
        when = datetime.fromisoformat(expires) if isinstance(expires, str) else None
    except ValueError:
        return None
    if when is None or when.tzinfo is None:
        return None
    assert isinstance(units, int)
    return Held(ident, model, units, when)


def save(path: StrPath, held: list[Held]) -> None:
    doc = {
        "v": VERSION,
        "reservations": [
            {
                "id": h.id,
                "model": h.model,
                "units": h.units,
                "expires": h.expires.isoformat(timespec="milliseconds"),
            }
            for h in held
        ],
    }
    # Not fsynced: a reservation only means something while its process (or its remote batch)
    # is alive; after a machine restart losing one errs towards letting a request through.
    import json

    atomic_write_bytes(path, (json.dumps(doc) + "\n").encode(), durable=False)


def units_by_model(held: list[Held]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for h in held:
        totals[h.model] = totals.get(h.model, 0) + h.units
    return totals

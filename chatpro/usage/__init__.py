"""The monthly allowance: cost, cycles, thresholds and the fallback decision.

The ledger (``usage.jsonl`` in the data dir) is separate from the chat log, so deleting chats
refunds nothing; see ``journal`` for its format and why it is append-only.

The names are loaded when first used (PEP 562): the pure rules (``usage.rules``, which fitting
needs on every request) do not pull in the ledger's file handling at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatpro.lazy import lazy_exports

if TYPE_CHECKING:
    from chatpro.usage.ledger import Ledger, ModelLike, ModelUsage, Plan, UsageReport
    from chatpro.usage.rules import MIB, TOKENS_PER_UNIT, cost_units, cycle_bounds

# public name -> the module that defines it
_WHERE = {
    "Ledger": "ledger",
    "ModelLike": "ledger",
    "ModelUsage": "ledger",
    "Plan": "ledger",
    "UsageReport": "ledger",
    "MIB": "rules",
    "TOKENS_PER_UNIT": "rules",
    "cost_units": "rules",
    "cycle_bounds": "rules",
}

__all__ = [
    "MIB",
    "TOKENS_PER_UNIT",
    "Ledger",
    "ModelLike",
    "ModelUsage",
    "Plan",
    "UsageReport",
    "cost_units",
    "cycle_bounds",
]


__getattr__ = lazy_exports(__name__, _WHERE)

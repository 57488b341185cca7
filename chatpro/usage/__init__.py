"""The monthly allowance: cost, cycles, thresholds and the fallback decision.

The ledger (``usage.jsonl`` in the data dir) is separate from the chat log, so deleting chats
refunds nothing; see ``journal`` for its format and why it is append-only.
"""

from __future__ import annotations

from chatpro.usage.ledger import Ledger, ModelLike, ModelUsage, Plan, UsageReport
from chatpro.usage.rules import MIB, TOKENS_PER_UNIT, cost_units, cycle_bounds

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

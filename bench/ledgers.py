"""Generate a large allowance ledger (usage.jsonl) in the writer's exact format, for the bench.

One start record, then COUNT charges spread over the current cycle (a tenth in the previous one),
tagged with a handful of clients (some untagged), with exact decimal costs as the writer stores
them, and the threshold warnings a real ledger would hold.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

CLIENTS = ["acme", "globex", "initech", "umbrella", "Stark Industries", None]
MODELS = {
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
}


def generate(path: Path, count: int, now: datetime, *, seed: int = 7) -> Path:
    rng = random.Random(seed)
    from chatpro.usage.rules import cycle_bounds

    anchor = (now - timedelta(days=40)).date()
    cycle_start = cycle_bounds(anchor, now.date())[0]  # the cycle that `now` is in
    previous = anchor
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with open(path, "w", encoding="utf-8") as fh:
        start = {
            "v": 1,
            "type": "start",
            "anchor": anchor.isoformat(),
            "ts": f"{anchor}T09:00:00.000+00:00",
        }
        fh.write(dumps(start) + "\n")
        lines = []
        for n in range(count):
            old = n < count // 10
            cycle = previous if old else cycle_start
            day = cycle + timedelta(days=(n % 10))
            model = "gpt-4o" if n % 3 else "gpt-4o-mini"
            prompt, completion = rng.randint(10, 6000), rng.randint(5, 1500)
            price_in, price_out = MODELS[model]
            record: dict[str, object] = {
                "v": 1,
                "type": "charge",
                "model": model,
                "units": 1 + prompt // 4000,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "ts": f"{day}T{n % 24:02d}:{n % 60:02d}:00.000+00:00",
                "cycle": cycle.isoformat(),
            }
            client = CLIENTS[n % len(CLIENTS)]
            if client is not None:
                record["client"] = client
            record["cost"] = str((prompt * price_in + completion * price_out) / 1_000_000)
            lines.append(dumps(record))
            if len(lines) >= 10_000:
                fh.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            fh.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path

"""Generate large chat logs in SPEC's chats.jsonl format for the history benchmarks.

Chats of 2 to 20 messages (user/assistant turns), spread over the 85 days before NOW, with the
oldest tenth of the messages past the 90-day retention (so `history prune` has real work). One
word in about a thousand messages is RARE_WORD, so `history search RARE_WORD` finds a few hundred.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

NOW = datetime.fromisoformat("2026-11-25T12:00:00+00:00")
RARE_WORD = "zanzibar"
WORDS = [
    "please",
    "draft",
    "a",
    "reply",
    "to",
    "the",
    "client",
    "about",
    "the",
    "invoice",
    "deadline",
    "milestone",
    "scope",
    "budget",
    "contract",
    "payment",
    "design",
    "revision",
    "meeting",
    "proposal",
    "estimate",
    "risk",
    "schedule",
    "handover",
    "testing",
    "launch",
    "python",
    "api",
    "report",
    "summary",
]


def generate(
    path: Path,
    messages: int,
    *,
    seed: int = 42,
    expired_share: float = 0.1,
    clients: tuple[str | None, ...] = (),
) -> Path:
    """Write MESSAGES records to PATH (mode 0600), oldest first, and return PATH. With CLIENTS,
    each chat is tagged with one of them in turn (None: untagged) and user lines carry a cost."""
    rng = random.Random(seed)
    expired = int(messages * expired_share)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = 0
    chat_no = 0
    with open(path, "w", encoding="utf-8", opener=lambda p, f: _open_0600(p, f)) as fh:
        while written < messages:
            chat_no += 1
            size = min(rng.randrange(2, 21, 2), messages - written)
            if written < expired:  # 120..91 days old: past retention
                start = NOW - timedelta(days=120) + timedelta(days=29 * written / max(1, expired))
            else:
                share = (written - expired) / max(1, messages - expired)
                start = NOW - timedelta(days=85) + timedelta(days=85 * share)
            chat_id = f"c_{chat_no:08x}{rng.getrandbits(32):08x}"
            lines = []
            for turn in range(size):
                role = "user" if turn % 2 == 0 else "assistant"
                words = [rng.choice(WORDS) for _ in range(rng.randint(12, 45))]
                if rng.random() < 0.001:
                    words[rng.randrange(len(words))] = RARE_WORD
                ts = start + timedelta(seconds=30 * turn)
                record = {
                    "v": 1,
                    "id": f"m_{written + turn:012x}",
                    "chat_id": chat_id,
                    "ts": ts.isoformat(timespec="milliseconds"),
                    "role": role,
                    "model": "gpt-4o",
                    "content": " ".join(words).capitalize() + ".",
                    "attachments": [],
                    "usage": {
                        "prompt_tokens": 0 if role == "user" else 120,
                        "completion_tokens": 0 if role == "user" else 80,
                        "units": 0 if role == "user" else 1,
                    },
                }
                if clients:
                    client = clients[chat_no % len(clients)]
                    if client is not None:
                        record["client"] = client
                    if role == "user":
                        record["cost"] = round(rng.randint(10, 6000) * 2.5e-6, 7)
                lines.append(json.dumps(record, ensure_ascii=False))
            fh.write("\n".join(lines) + "\n")
            written += size
    return path


def _open_0600(path: str, flags: int) -> int:
    import os

    return os.open(path, flags, 0o600)


if __name__ == "__main__":
    import sys

    out = generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")

"""The fast readers behind `report` and `usage --by` give exactly what a plain json.loads of
every line gives, on logs mixing our own lines with foreign key orders and hostile lines."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from chatpro.chatlog.blocks import Skipped
from chatpro.chatlog.records import Window, dump_line, load_record, make_record, parse_ts
from chatpro.chatlog.totals import client_model_totals
from chatpro.money import money_from_json

NOW = datetime.fromisoformat("2026-11-25T12:00:00+00:00")
CLIENTS = ["acme", "globex", "Stark Industries", None]
MODELS = ["gpt-4o", "gpt-4o-mini"]
HOSTILE = [
    b"{not json",
    b'{"v": 1, "id": "m_1", "chat_id": "c_1", "ts": "2026-11-20T10:00:00.000+00:00", "role":'
    b' "user", "model": "gpt-4o", "content": "x", "client": "evil", "attachments": [],'
    b' "usage": null}',  # a client before usage: json sees it, so must we
    b'{"v": 1, "id": "m_2", "chat_id": "c_2", "ts": "2026-11-20T10:00:00.000+00:00", "role":'
    b' "user", "model": "gpt-4o", "content": "x", "attachments": [], "usage": null,'
    b' "cost": 1e400}',
    b'{"v": 1, "id": "m_3", "chat_id": "c_3", "ts": "2026-11-20T10:00:00.000+00:00", "role":'
    b' "user", "model": "gpt-4o", "content": "x", "attachments": [], "usage": {"prompt_tokens":'
    b' 100000000000000000000, "completion_tokens": 0, "units": 0}}',
    b'{"v": 1, "id": "m_4", "chat_id": "c_4", "ts": "2026-11-20T10:00:00.000+00:00", "role":'
    b' "user", "model": "gpt-4o", "content": "x", "attachments": [], "usage": null,'
    b' "client": "acme", "cost": -1}',
    b'{"v": 1, "id": "m_5", "chat_id": "c_5", "ts": "2026-11-20T10:00:00.000+00:00", "role":'
    b' "user", "model": "gpt-4o", "content": "a\\\\", "attachments": [], "usage": null,'
    b' "client": "acme", "cost": 0.5, "client": "globex"}',  # a duplicate key: the last counts
    b'{"v": 1, "id": "m_6", "chat_id": "c_6", "ts": "2026-11-20T10:00:00.000+00:00", "role":'
    b' "user", "model": "gpt-4o", "content": "\xff\xfe", "attachments": [], "usage": null}',
    b"[" * 5000,
    b'{"id": 5}',
    b"",
]


def _log(path: Path, rng: random.Random) -> None:
    lines = []
    for n in range(3000):
        chat = f"c_{rng.randrange(300):04x}"
        days = rng.choice([1, 2, 5, 30, 89, 90, 91, 120])
        ts = NOW - timedelta(days=days, minutes=rng.randrange(0, 600) - 300)
        if rng.random() < 0.1:
            ts = ts.astimezone(datetime.fromisoformat("2026-01-01T00:00:00-05:00").tzinfo)
        record = make_record(
            chat_id=chat,
            role=rng.choice(["user", "assistant"]),
            model=rng.choice(MODELS),
            content=rng.choice(['say "hi"\nthere', "C:\\", "plain", "é ✓"]),
            ts=ts,
            attachments=rng.choice(
                [[], [{"name": "a.txt", "mime": "text/plain", "bytes": 3, "tokens": 1}]]
            ),
            usage=rng.choice(
                [None, {"prompt_tokens": n, "completion_tokens": n % 7, "units": n % 3}]
            ),
            interrupted=rng.random() < 0.05,
            client=rng.choice(CLIENTS),
        )
        if rng.random() < 0.5:
            record["cost"] = rng.choice([0.0125, 2.5e-06, 3, 0.1 + 0.2])
        if rng.random() < 0.02:
            record["title"] = "files"
        line = dump_line(record)
        mixed = n % 1000 < 150  # foreign and hostile lines in some blocks; the rest ours only
        if mixed and rng.random() < 0.2:  # a foreign writer: other key order and separators
            line = (
                json.dumps(dict(reversed(list(record.items()))), separators=(",", ":")) + "\n"
            ).encode()
        lines.append(line)
        if mixed and rng.random() < 0.05:
            lines.append(rng.choice(HOSTILE) + b"\n")
        elif rng.random() < 0.002:  # lines that look like ours, in blocks that are otherwise
            lines.append(rng.choice(HOSTILE[1:7]) + b"\n")
    path.write_bytes(b"".join(lines) + HOSTILE[1][:60])  # and a torn tail


def _reference(path: Path, window: Window, since: str, until: str, client: str | None):
    groups: dict = defaultdict(
        lambda: {"chats": set(), "n": 0, "p": 0, "c": 0, "u": 0, "cost": Decimal(0), "ts": []}
    )
    skipped = 0
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
        record = load_record(line)
        if record is None:
            skipped += 1
            continue
        if not window.keeps_any(record["ts"]):
            continue
        ts = parse_ts(record["ts"]).isoformat(timespec="milliseconds")
        who = record.get("client") if isinstance(record.get("client"), str) else ""
        if not since <= ts[:10] <= until or (client is not None and who != client):
            continue
        g = groups[(who, record.get("model", ""))]
        g["chats"].add(record["chat_id"])
        g["n"] += 1
        usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
        for key, short in (("prompt_tokens", "p"), ("completion_tokens", "c"), ("units", "u")):
            value = usage.get(key)
            g[short] += value if type(value) is int and value >= 0 else 0
        cost = record.get("cost")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0:
            g["cost"] += money_from_json(float(repr(cost))) or 0
        g["ts"].append(ts)
    chats = set().union(*(g["chats"] for g in groups.values())) if groups else set()
    rows = {
        k: (len(g["chats"]), g["n"], g["p"], g["c"], g["u"], g["cost"], min(g["ts"]), max(g["ts"]))
        for k, g in groups.items()
    }
    return rows, len(chats), skipped


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("since", "until", "client"),
    [("", "\uffff", None), ("2026-11-20", "2026-11-24", None), ("", "\uffff", "acme")],
)
def test_report_totals_match_a_plain_json_reading(tmp_path, seed, since, until, client):
    path = tmp_path / "chats.jsonl"
    _log(path, random.Random(seed))
    window = Window(NOW, 90)
    warnings: list[str] = []
    got = client_model_totals(
        path,
        window,
        Skipped(path, warnings.append),
        since=since.encode(),
        until=until.encode("utf-8") if until != "\uffff" else b"\xff",
        client=client,
    )
    rows, chats, skipped = _reference(path, window, since, until, client)
    assert {
        k: (
            g.chats,
            g.messages,
            g.prompt_tokens,
            g.completion_tokens,
            g.units,
            g.cost(),
            g.first.decode(),
            g.last.decode(),
        )
        for k, g in got.items()
    } == rows
    assert got.chats == chats
    assert rows and skipped  # the log really mixes shapes
    assert warnings == [f"skipped {skipped} unreadable lines in {path}"]  # with the torn tail

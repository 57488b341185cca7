"""10,000+ random lines at the log and ledger readers: no unexpected exception, no valid record lost.

A seeded generator (reproducible, a few seconds): random bytes, random JSON shapes, deep nesting,
huge numbers, surrogates, records of ours with one field damaged.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from chatpro.chatlog import dump_line, make_record
from chatpro.errors import StorageError
from chatpro.usage.journal import parse
from tests.chatlog_support import NOW, make_log

LINES = 10_000
START = b'{"v":1,"type":"start","anchor":"2026-11-01","ts":"x"}\n'


def _json_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return rng.choice([0, -1, 1.5, 10**30, float("inf"), float("nan"), True, None])
    if kind == 1:
        return "".join(
            chr(rng.choice([0, 10, 34, 92, 0xD800, 0xDFFF, 0xFFFF, 233, 65])) for _ in range(5)
        )
    if kind == 2:
        return rng.choice(["c_aaaa", "m_x", "2026-11-25T19:20:00.123+01:00", "user", ""])
    if kind in (3, 4):
        return rng.randrange(-(10**6), 10**6)
    if kind in (5, 6):
        return [_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["v", "id", "chat_id", "ts", "role", "model", "content", "attachments", "usage", "type"]
    return {rng.choice(keys): _json_value(rng, depth + 1) for _ in range(rng.randrange(8))}


def _hostile_line(rng: random.Random) -> bytes:
    kind = rng.randrange(8)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))).replace(b"\n", b"")
    if kind == 1:
        return json.dumps(_json_value(rng)).encode()
    if kind == 2:
        n = rng.randrange(500, 3000)
        return rng.choice([b"[", b'{"a":']) * n + rng.choice([b"", b"]" * n])
    if kind == 3:
        return b'{"v": 1, "n": ' + rng.choice([b"1e400", b"-1e999", b"9" * 500, b"NaN"]) + b"}"
    if kind == 4:
        return (
            b'{"content": "' + rng.choice([b"\\ud800", b"\\udfff x", b"\xff\xfe", b"\x00"]) + b'"}'
        )
    line = dump_line(
        make_record(chat_id="c_" + "f" * 12, role="user", model="m", content="x", ts=NOW)
    ).rstrip(b"\n")
    cut = rng.randrange(1, len(line))
    if kind == 5:
        return line[:cut]  # torn
    if kind == 6:
        return line[:cut] + bytes([rng.randrange(256)]).replace(b"\n", b"") + line[cut + 1 :]
    return line.replace(
        b'"content": "x"', b'"content": "\\ud83d"'
    )  # a valid record, lone surrogate


def test_log_readers_survive_random_lines_and_lose_no_valid_record(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    path = tmp_path / "chats.jsonl"
    valid: list[bytes] = []
    parts: list[bytes] = []
    for i in range(LINES):
        if i % 10 == 0:
            record = make_record(
                chat_id=f"c_{i:012x}", role="user", model="gpt-4o", content=f"valid {i}", ts=NOW
            )
            valid.append(record["id"].encode())
            parts.append(dump_line(record))
        parts.append(_hostile_line(rng) + b"\n")
    path.write_bytes(b"".join(parts))
    path.chmod(0o600)
    log, _ = make_log(path)
    ids = {r["id"].encode() for r in log.iter_records()}
    assert set(valid) <= ids
    chats = {c.chat_id for c in log.chats()}
    assert {f"c_{i:012x}" for i in range(0, LINES, 10)} <= chats
    assert len(log.chats(limit=5)) == 5
    assert len(log.search("valid", limit=None)) >= len(valid)
    assert log.messages("c_000000000000")[0]["content"] == "valid 0"
    for record in log.iter_records():
        json.dumps(record, ensure_ascii=False).encode("utf-8")  # printable: no lone surrogates
    log.prune()
    assert set(valid) <= {r["id"].encode() for r in log.iter_records()}


def test_ledger_reader_gives_only_the_corrupt_ledger_error(tmp_path: Path) -> None:
    rng = random.Random(4)
    path = tmp_path / "usage.jsonl"
    good = (
        b'{"v":1,"type":"charge","model":"gpt-4o","units":2,"prompt_tokens":1,'
        b'"completion_tokens":1,"ts":"x","cycle":"2026-11-01"}\n'
    )
    corrupt = 0
    for _ in range(LINES):
        line = _hostile_line(rng)
        try:
            state = parse(path, START + good + line + b"\n" + good, NOW.date())
        except StorageError as exc:
            assert "corrupt at line 3" in exc.message
            corrupt += 1
        else:
            assert state.used("gpt-4o") == 4  # a line that passed is a real record or blank
    assert corrupt > LINES // 2

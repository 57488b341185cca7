"""Batch figures: 200 inputs at --jobs 8 against a server answering in 200 ms (ratio to the
ideal 200 x 0.2 / 8 s), resuming a finished batch of 10,000 inputs (no request; target <= 1 s),
and chatpro's own time per input (a fast server, --jobs 1, start-up subtracted).

    python bench/bench_batch.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from chatpro.batch.inputs import row_inputs  # noqa: E402
from tests.fakeserver import Behaviour, FakeOpenAI  # noqa: E402


def chatpro(home: Path, server: FakeOpenAI, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATPRO_"))}
    env.update(
        CHATPRO_HOME=str(home),
        OPENAI_API_KEY="sk-bench-0123456789abcdef",
        OPENAI_BASE_URL=server.url,
        PYTHONPATH=str(REPO),
    )
    cache = REPO.parent / "shared" / "tiktoken-cache"
    if cache.is_dir():
        env["TIKTOKEN_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "chatpro", *args], env=env, capture_output=True, text=True
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"chatpro {' '.join(args)} failed: {proc.stderr}")
    return took


def rows(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"name": f"client {i}"}) + "\n" for i in range(n)))
    return path


def main() -> None:
    server = FakeOpenAI().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            big = '[models."gpt-4o"]\nmonthly_messages = 0\n'  # unlimited: the bench is not about the allowance

            def home(name: str) -> Path:
                h = root / name
                (h / "config").mkdir(parents=True)
                (h / "config" / "config.toml").write_text(big)
                return h

            # 1. 200 inputs, --jobs 8, 200 ms answers
            server.default = Behaviour(text="Hello!", delay=0.2)
            took = chatpro(
                home("a"),
                server,
                "batch",
                "--inputs",
                str(rows(root / "r200.jsonl", 200)),
                "Greet {name}",
                "--jobs",
                "8",
                "-o",
                str(root / "a.jsonl"),
            )
            ideal = 200 * 0.2 / 8
            print(
                f"200 inputs, --jobs 8, 200 ms server: {took:.2f} s, ideal {ideal:.2f} s, ratio {took / ideal:.2f}"
            )

            # 2. resuming a finished batch of 10,000
            r10k = rows(root / "r10k.jsonl", 10_000)
            out = root / "b.jsonl"
            with out.open("w") as f:
                for item in row_inputs(r10k, "Greet {name}"):
                    f.write(
                        json.dumps(
                            {
                                "id": item.id,
                                "input": item.label,
                                "chat_id": "x",
                                "model": "gpt-4o",
                                "text": "Hello!",
                                "usage": None,
                                "error": None,
                            }
                        )
                        + "\n"
                    )
            before = len(server.requests)
            took = chatpro(
                home("b"), server, "batch", "--inputs", str(r10k), "Greet {name}", "-o", str(out)
            )
            print(
                f"resume a finished 10,000-input batch: {took:.2f} s, {len(server.requests) - before} requests"
            )

            # 3. chatpro's own time per input: fast server, one at a time, start-up subtracted
            server.default = Behaviour(text="Hello!")
            one = chatpro(
                home("c"),
                server,
                "batch",
                "--inputs",
                str(rows(root / "r1.jsonl", 1)),
                "Greet {name}",
                "--jobs",
                "1",
                "-o",
                str(root / "c.jsonl"),
            )
            n = 200
            many = chatpro(
                home("d"),
                server,
                "batch",
                "--inputs",
                str(rows(root / "rn.jsonl", n)),
                "Greet {name}",
                "--jobs",
                "1",
                "-o",
                str(root / "d.jsonl"),
            )
            print(
                f"per input (client + charge + log + line, fast local server): {(many - one) / (n - 1) * 1000:.1f} ms"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()

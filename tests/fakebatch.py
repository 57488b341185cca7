"""The Batch API on the loopback server: /v1/files and /v1/batches, driven by the test.

A batch is created `validating`; the test moves it (`start`, `complete`, `fail`, `expire`,
`cancelled`) and says what each request got. Output and error files are JSON lines as the real
API writes them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakeserver import FakeOpenAI

JSON = "application/json"


class FakeBatchAPI:
    def __init__(self, server: FakeOpenAI) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        server.routes.append(self.handle)

    # --- what the test does -------------------------------------------------------------------

    def only(self) -> dict[str, Any]:
        assert len(self.batches) == 1
        return next(iter(self.batches.values()))

    def requests(self, batch_id: str) -> list[dict[str, Any]]:
        """The request lines of the batch's input file."""
        data = self.files[self.batches[batch_id]["input_file_id"]]["data"]
        return [json.loads(line) for line in data.decode().splitlines()]

    def start(self, batch_id: str) -> None:
        self.batches[batch_id]["status"] = "in_progress"

    def complete(
        self, batch_id: str, answers: dict[str, str | int], *, status: str = "completed"
    ) -> None:
        """ANSWERS: custom_id -> the answer's text, or an HTTP status for a failed request.
        Requests not in ANSWERS go to the error file as expired (`expire`); a cancelled batch
        leaves them out."""
        batch = self.batches[batch_id]
        out, err = [], []
        for request in self.requests(batch_id):
            cid = request["custom_id"]
            answer = answers.get(cid)
            if isinstance(answer, str):
                out.append(_answer_line(cid, request["body"], answer))
            elif isinstance(answer, int):
                err.append(
                    {
                        "id": f"batch_req_{cid}",
                        "custom_id": cid,
                        "response": {
                            "status_code": answer,
                            "request_id": "r",
                            "body": {"error": {"message": "invalid request", "type": "invalid"}},
                        },
                        "error": None,
                    }
                )
            elif status != "cancelled":  # a cancelled batch lists only what it did
                err.append(
                    {
                        "id": f"batch_req_{cid}",
                        "custom_id": cid,
                        "response": None,
                        "error": {"code": "batch_expired", "message": "not done in time"},
                    }
                )
        batch["output_file_id"] = self._store(out) if out else None
        batch["error_file_id"] = self._store(err) if err else None
        batch["request_counts"] = {
            "total": len(out) + len(err),
            "completed": len(out),
            "failed": len(err),
        }
        batch["status"] = status

    def expire(self, batch_id: str, answers: dict[str, str | int]) -> None:
        self.complete(batch_id, answers, status="expired")

    def cancelled(self, batch_id: str, answers: dict[str, str | int]) -> None:
        self.complete(batch_id, answers, status="cancelled")

    def fail(self, batch_id: str, message: str) -> None:
        batch = self.batches[batch_id]
        batch["status"] = "failed"
        batch["errors"] = {
            "object": "list",
            "data": [{"code": "invalid_request", "message": message, "line": 1, "param": None}],
        }

    # --- the endpoints ------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, bytes, str] | None:
        path = path.split("?")[0]
        with self._lock:
            if method == "POST" and path == "/v1/files":
                return self._upload(headers, raw)
            if m := re.fullmatch(r"/v1/files/([\w-]+)/content", path):
                file = self.files.get(m.group(1))
                return (200, file["data"], "application/jsonl") if file else _missing()
            if method == "POST" and path == "/v1/batches":
                return self._create(json.loads(raw))
            if method == "GET" and path == "/v1/batches":
                data = list(self.batches.values())
                return (
                    200,
                    json.dumps({"object": "list", "data": data, "has_more": False}).encode(),
                    JSON,
                )
            if m := re.fullmatch(r"/v1/batches/([\w-]+)(/cancel)?", path):
                batch = self.batches.get(m.group(1))
                if batch is None:
                    return _missing()
                if m.group(2) and method == "POST":
                    batch["status"] = "cancelling"
                return 200, json.dumps(batch).encode(), JSON
        return None

    def _upload(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, str]:
        message = BytesParser(policy=HTTP).parsebytes(
            f"content-type: {headers['content-type']}\r\n\r\n".encode() + raw
        )
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = part.get_payload(decode=True) or b""
        assert fields["purpose"] == b"batch"
        file_id = self._store_bytes(fields["file"], purpose="batch")
        return 200, json.dumps(self._file_object(file_id)).encode(), JSON

    def _create(self, body: dict[str, Any]) -> tuple[int, bytes, str]:
        assert body["endpoint"] == "/v1/chat/completions"
        assert body["completion_window"] == "24h"
        if body["input_file_id"] not in self.files:
            return _missing()
        batch_id = f"batch_{len(self.batches) + 1:04d}"
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": body["input_file_id"],
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        return 200, json.dumps(self.batches[batch_id]).encode(), JSON

    def _store(self, lines: list[dict[str, Any]]) -> str:
        return self._store_bytes(
            "".join(json.dumps(line) + "\n" for line in lines).encode(), purpose="batch_output"
        )

    def _store_bytes(self, data: bytes, *, purpose: str) -> str:
        file_id = f"file-{len(self.files) + 1:04d}"
        self.files[file_id] = {"data": data, "purpose": purpose}
        return file_id

    def _file_object(self, file_id: str) -> dict[str, Any]:
        file = self.files[file_id]
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(file["data"]),
            "created_at": int(time.time()),
            "filename": "batch.jsonl",
            "purpose": file["purpose"],
            "status": "processed",
        }


def _answer_line(cid: str, body: dict[str, Any], text: str) -> dict[str, Any]:
    prompt_tokens = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4 + 1
    return {
        "id": f"batch_req_{cid}",
        "custom_id": cid,
        "response": {
            "status_code": 200,
            "request_id": "r",
            "body": {
                "id": "chatcmpl-b",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": max(1, len(text) // 4),
                    "total_tokens": prompt_tokens + max(1, len(text) // 4),
                },
            },
        },
        "error": None,
    }


def _missing() -> tuple[int, bytes, str]:
    body = {"error": {"message": "No such object", "type": "invalid_request_error"}}
    return 404, json.dumps(body).encode(), JSON

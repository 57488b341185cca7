"""Token counting with tiktoken, and an honest estimate where no encoding can be loaded.

tiktoken downloads its encodings on first use; here (and on many offline machines) that is
impossible, so a missing encoding is never fatal: counts become estimates and say so.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

DOWNLOAD_DEADLINE_SECONDS = 1.0
"""How long a run may wait for tiktoken to download an encoding that is not cached: a network
that hangs (a proxy that never answers) must not stall every command. Pre-fill the cache offline
by copying the encoding files into TIKTOKEN_CACHE_DIR (see docs/guide.md)."""
_ENCODING_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


@dataclass(frozen=True)
class Tokenizer:
    """Counts and cuts text for one encoding; `estimated` is True when tiktoken is unavailable."""

    encoding_name: str | None
    _encoding: Any = None

    @property
    def estimated(self) -> bool:
        return self._encoding is None

    def count(self, text: str) -> int:
        if not text:
            return 0
        if self._encoding is None:
            return estimate_tokens(text)
        return len(self._encoding.encode(text, disallowed_special=()))

    def truncate(self, text: str, max_tokens: int) -> tuple[str, int]:
        """TEXT cut to at most MAX_TOKENS at a token boundary; returns (text, tokens kept)."""
        if max_tokens <= 0:
            return "", 0
        if self._encoding is None:
            if estimate_tokens(text) <= max_tokens:
                return text, estimate_tokens(text)
            low, high = 0, len(text)
            while low < high:  # longest prefix whose estimate fits
                mid = (low + high + 1) // 2
                if estimate_tokens(text[:mid]) <= max_tokens:
                    low = mid
                else:
                    high = mid - 1
            return text[:low], estimate_tokens(text[:low])
        tokens = self._encoding.encode(text, disallowed_special=())
        if len(tokens) <= max_tokens:
            return text, len(tokens)
        kept = tokens[:max_tokens]
        data = self._encoding.decode_bytes(kept)
        # a token boundary can split a UTF-8 sequence: drop the incomplete tail
        for cut in range(0, 4):
            try:
                return data[: len(data) - cut].decode("utf-8"), len(kept)
            except UnicodeDecodeError:
                continue
        return data.decode("utf-8", errors="ignore"), len(kept)


def estimate_tokens(text: str) -> int:
    """About 4 ASCII characters a token, and a token for each other character (rounded up)."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128) if not text.isascii() else len(text)
    other = len(text) - ascii_chars
    return -(-ascii_chars // 4) + other


def _cache_dir() -> str:
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return os.environ[var]
    import tempfile

    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _is_cached(name: str) -> bool:
    url = _ENCODING_URLS.get(name)
    if url is None:
        return False
    cache_dir = _cache_dir()
    if not cache_dir:
        return False
    import hashlib

    return os.path.exists(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest()))


def _load(name: str) -> Any:
    import tiktoken

    return tiktoken.get_encoding(name)


def _load_with_deadline(name: str) -> Any:
    """tiktoken's download has no timeout; give it a few seconds in a daemon thread."""
    import threading

    result: list[Any] = []

    def work() -> None:
        try:
            result.append(_load(name))
        except Exception:  # noqa: BLE001 - any failure means "no encoding here"
            pass

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(DOWNLOAD_DEADLINE_SECONDS)
    return result[0] if result else None


def encoding_available(encoding_name: str | None) -> bool:
    """Whether an exact count is possible without loading anything from the network."""
    return (
        bool(encoding_name)
        and not os.environ.get("CHATPRO_NO_TIKTOKEN")
        and _is_cached(encoding_name or "")
    )


def get_tokenizer(encoding_name: str | None) -> Tokenizer:
    """The tokenizer for ENCODING_NAME; an estimating one when no encoding can be loaded."""
    disabled = bool(os.environ.get("CHATPRO_NO_TIKTOKEN"))
    return _tokenizer(encoding_name, _cache_dir(), disabled)


@functools.cache
def _tokenizer(encoding_name: str | None, cache_dir: str, disabled: bool) -> Tokenizer:
    if not encoding_name or disabled:
        return Tokenizer(encoding_name)
    if not _is_cached(encoding_name):
        return Tokenizer(encoding_name, _load_with_deadline(encoding_name))
    try:
        return Tokenizer(encoding_name, _load(encoding_name))
    except Exception:  # noqa: BLE001 - a corrupt cache file: fall back to the estimate
        return Tokenizer(encoding_name)

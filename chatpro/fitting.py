"""Fitting a request into a model's context window: pure arithmetic on texts and token counts.

The window holds the system text, the new prompt, the chat's files and as much of the earlier
chat as still fits, with room kept for the answer. Files come before old messages (a follow-up
about an uploaded brief needs the brief more than the oldest small talk); when the files alone
do not fit, each is cut at a token boundary, the smallest keeping most. A prompt that does not
fit even alone is too long (exit 2), not an allowance problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from chatpro.errors import InputError
from chatpro.tokens import Tokenizer, estimate_tokens
from chatpro.usage.rules import TOKENS_PER_UNIT

ANSWER_RESERVE_MAX = 4096
"""Tokens kept free for the answer when --max-tokens is not given (at most a quarter of the window)."""

Message = dict[str, str]


class FileText(NamedTuple):
    """A file's text as it goes into the prompt, and how much of the whole document it is."""

    name: str
    text: str
    coverage: float = 1.0
    """The share of the whole document that TEXT is (below 1 when extraction was capped)."""


class Cut(NamedTuple):
    """One file cut to fit: tokens kept of the text we had, and the share of the document sent."""

    name: str
    kept_tokens: int
    total_tokens: int
    share_sent: float

    def notice(self, model: str) -> str:
        percent = 100 * self.share_sent
        shown = f"{percent:.1f}" if percent < 10 else f"{percent:.0f}"
        return (
            f"{self.name} is too long for {model}'s context window: sent about {shown}% of the "
            f"document ({self.kept_tokens:,} tokens)"
        )


class Fitted(NamedTuple):
    """The messages to send and what they amount to."""

    messages: list[Message]
    tokens: int
    file_tokens: list[int]
    estimated: bool
    cuts: list[Cut]
    dropped_messages: int

    @property
    def cut(self) -> bool:
        return bool(self.cuts)


def compose_user_content(prompt: str, files: Sequence[FileText]) -> str:
    """The user message as sent: each file's text in a fenced block, then the prompt."""
    blocks = [f"--- file: {f.name} ---\n{f.text}\n--- end of {f.name} ---" for f in files]
    return "\n\n".join([*blocks, prompt] if prompt else blocks)


def overhead(messages: int) -> int:
    """Tokens the chat format adds per message (OpenAI's documented ~3, plus 3 for the reply)."""
    return 3 * messages + 3


def answer_reserve(window: int, max_tokens: int | None) -> int:
    return max_tokens if max_tokens is not None else min(ANSWER_RESERVE_MAX, window // 4)


def fit(
    *,
    model_name: str,
    window: int,
    tokenizer: Callable[[], Tokenizer],
    exact_available: bool,
    system_text: str,
    context: Sequence[Message],
    prompt: str,
    files: Sequence[FileText],
    max_tokens: int | None,
) -> Fitted:
    """Messages that fit WINDOW: files cut at a token boundary, the oldest context dropped.

    TOKENIZER is called only when counting matters: a request that certainly costs one unit and
    fits is priced from an upper bound, so a short ask never waits for an encoding to load.
    """
    reserve = answer_reserve(window, max_tokens)
    budget = window - reserve
    texts = [system_text, prompt, *(f.text for f in files), *(m["content"] for m in context)]
    fixed_overhead = overhead(2 + len(files))
    upper_bound = sum(len(t.encode("utf-8")) for t in texts) + overhead(
        2 + len(files) + len(context)
    )
    if upper_bound <= min(TOKENS_PER_UNIT, budget):
        # A token is at least one byte: this fits and costs one unit for certain.
        tokens = sum(estimate_tokens(t) for t in texts) + overhead(2 + len(files) + len(context))
        return Fitted(
            _messages(system_text, context, compose_user_content(prompt, files)),
            min(tokens, upper_bound),
            [estimate_tokens(f.text) for f in files],
            not exact_available,
            [],
            0,
        )

    tok = tokenizer()
    fixed = tok.count(system_text) + tok.count(prompt) + fixed_overhead
    if fixed > budget:
        room = f"{budget:,} tokens" if budget > 0 else "no room"
        raise InputError(
            f"the prompt is too long for {model_name}: {fixed:,} tokens, and the context window "
            f"of {window:,} leaves {room} after {reserve:,} kept for the answer",
            hint="shorten it, attach the text as a file (-f) so it can be cut, or use a model "
            "with a larger window",
        )
    file_tokens = [tok.count(f.text) for f in files]
    cuts: list[Cut] = []
    kept_files = list(files)
    if sum(file_tokens) > budget - fixed:
        kept_files, file_tokens, cuts = _cut_files(tok, files, file_tokens, budget - fixed)
    used = fixed + sum(file_tokens)

    kept: list[Message] = []
    for message in reversed(context):  # newest first; drop the oldest that do not fit
        n = tok.count(message["content"]) + overhead(1)
        if used + n > budget:
            break
        kept.append(message)
        used += n
    kept.reverse()
    messages = _messages(system_text, kept, compose_user_content(prompt, kept_files))
    return Fitted(messages, used, file_tokens, tok.estimated, cuts, len(context) - len(kept))


def _messages(system_text: str, context: Sequence[Message], user_content: str) -> list[Message]:
    system = [{"role": "system", "content": system_text}] if system_text else []
    return [*system, *context, {"role": "user", "content": user_content}]


def _cut_files(
    tok: Tokenizer, files: Sequence[FileText], counts: list[int], room: int
) -> tuple[list[FileText], list[int], list[Cut]]:
    """Share ROOM among the files, smallest first, cutting each at a token boundary."""
    order = sorted(range(len(files)), key=lambda i: counts[i])
    new_counts = list(counts)
    new_files = list(files)
    cuts = []
    remaining = room
    for pos, i in enumerate(order):
        share = remaining // (len(order) - pos)
        if counts[i] <= share:
            remaining -= counts[i]
            continue
        f = files[i]
        text, kept = tok.truncate(f.text, share)
        new_files[i] = FileText(f.name, text, f.coverage)
        new_counts[i] = kept
        remaining -= kept
        chars = len(f.text)
        share_sent = (len(text) / chars if chars else 0.0) * f.coverage
        cuts.append(Cut(f.name, kept, counts[i], share_sent))
    return new_files, new_counts, cuts

"""The sensitive-material guard: find likely secrets in text before it leaves the machine.

Each detector is a precompiled regex with no nested quantifiers (so a 2 MB upload scans in
milliseconds, never catastrophically), plus a small Python check on each candidate that keeps false
positives on ordinary code and prose low. Nothing here prints; the CLI shows ``GuardResult.lines``.
"""

from __future__ import annotations

import bisect
import re
import string
from collections.abc import Callable, Sequence
from typing import NamedTuple

from chatpro.errors import ConfigError, InputError

KINDS: tuple[str, ...] = (
    "openai-key",
    "aws-key",
    "github-token",
    "slack-token",
    "private-key",
    "password",
    "card-number",
    "ssn",
)
POLICIES: tuple[str, ...] = ("warn", "redact", "block")

# kind -> (short label, label with its article)
_LABELS: dict[str, tuple[str, str]] = {
    "openai-key": ("OpenAI API key", "an OpenAI API key"),
    "aws-key": ("AWS access key", "an AWS access key"),
    "github-token": ("GitHub token", "a GitHub token"),
    "slack-token": ("Slack token", "a Slack token"),
    "private-key": ("private key", "a private key block"),
    "password": ("password", "a password or secret in an assignment"),
    "card-number": ("card number", "a card number"),
    "ssn": ("social security number", "a US social security number"),
}
_PRIORITY = {kind: rank for rank, kind in enumerate(KINDS)}


class Finding(NamedTuple):
    """One likely secret: its kind and where it sits in the scanned text (``text[start:end]``)."""

    kind: str
    start: int
    end: int


class GuardResult(NamedTuple):
    """What to send (maybe redacted), what was found, and the stderr lines the CLI should show."""

    text: str
    findings: list[Finding]
    lines: list[str]


# --- provider tokens -------------------------------------------------------------------------

# Each pattern starts with a literal so the regex engine can skip ahead quickly; the character
# before a match (which a leading lookbehind would check, at the cost of that speed-up) is checked
# in Python instead.
_OPENAI = re.compile(r"sk-[A-Za-z0-9_-]{20,}")
_AWS = re.compile(r"A[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])")
_GITHUB = re.compile(
    r"g(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])"
)
_SLACK = re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,250}")
_SEGMENT = re.compile(r"[A-Za-z0-9]{16,}")
_WORDISH = frozenset(string.ascii_letters + string.digits + "_-")


def _looks_random(segment: str) -> bool:
    return any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment)


def _openai_ok(token: str) -> bool:
    # Real keys carry long random runs; "sk-learn-compatible-estimators" does not.
    return any(_looks_random(m.group()) for m in _SEGMENT.finditer(token, 3))


def _slack_ok(token: str) -> bool:
    return sum(c.isdigit() for c in token) >= 6


def _aws_ok(token: str) -> bool:
    return not token.endswith("EXAMPLE")  # AWS's documentation placeholder


_TOKEN_DETECTORS: tuple[tuple[str, re.Pattern[str], Callable[[str], bool] | None], ...] = (
    ("openai-key", _OPENAI, _openai_ok),
    ("aws-key", _AWS, _aws_ok),
    ("github-token", _GITHUB, None),
    ("slack-token", _SLACK, _slack_ok),
)


def _tokens(text: str) -> list[Finding]:
    found: list[Finding] = []
    for kind, pattern, accept in _TOKEN_DETECTORS:
        for match in pattern.finditer(text):
            start = match.start()
            if start and text[start - 1] in _WORDISH:
                continue  # inside a longer word, e.g. "task-…" or "XAKIA…"
            if accept is None or accept(match.group()):
                found.append(Finding(kind, start, match.end()))
    return found


# --- private key blocks ----------------------------------------------------------------------

_PEM_LABEL = r"((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)"
_PEM_BEGIN = re.compile(rf"-----BEGIN {_PEM_LABEL}-----")
_PEM_END = re.compile(rf"-----END {_PEM_LABEL}-----")
_NEWLINE = r"(?:\r?\n|\\r\\n|\\n)"  # real line breaks, or "\n" inside a JSON string
# A block whose END line is missing (pasted in part) still covers its base64 lines, up to the
# first blank or ordinary line; an encrypted key's headers may be followed by one blank line.
_PEM_BODY = re.compile(
    rf"{_NEWLINE}?(?:[A-Za-z0-9+/=]+{_NEWLINE}|(?:Proc-Type|DEK-Info|Comment):[^\r\n]*{_NEWLINE}{{1,2}})*"
    r"[A-Za-z0-9+/=]*"
)


def _private_keys(text: str) -> list[Finding]:
    if "PRIVATE KEY" not in text:
        return []
    ends: dict[str, list[int]] = {}
    for end in _PEM_END.finditer(text):
        ends.setdefault(end.group(1), []).append(end.end())
    found: list[Finding] = []
    pos = 0
    while True:
        begin = _PEM_BEGIN.search(text, pos)
        if begin is None:
            return found
        closing = ends.get(begin.group(1), [])
        index = bisect.bisect_right(closing, begin.end())
        next_begin = _PEM_BEGIN.search(text, begin.end())
        limit = next_begin.start() if next_begin else len(text)
        if index < len(closing) and closing[index] <= limit:
            stop = closing[index]
        else:
            body = _PEM_BODY.match(text, begin.end())
            stop = body.end() if body else begin.end()
            while stop > begin.end() and text[stop - 1] in "\r\n":
                stop -= 1  # keep the line break that ends the block
            while text.endswith("\\n", begin.end(), stop) or text.endswith(
                "\\r", begin.end(), stop
            ):
                stop -= 2
        found.append(Finding("private-key", begin.start(), stop))
        pos = stop


# --- password-style assignments --------------------------------------------------------------

# Only the secret's name is searched for (never a leading identifier run, which could backtrack);
# the value after the operator is judged in Python.
_ASSIGN = re.compile(
    r"(?P<word>pass(?:word|wd|phrase)|pwd|secret(?:[_-]?key)?|api[_-]?key|access[_-]?key|token)"
    r"(?![A-Za-z0-9_])"
    r"(?:[\"']\]|[\"'])?"
    r"[ \t]*(?P<op>:=|=>|=(?!=)|:(?!:))[ \t]*",
)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_QUOTED = re.compile(
    r"(?:[rRbBuU]|[fF][rR]?|[rR][fF])?(?P<q>[\"'`])(?P<v>[^\"'`\r\n]{0,400})(?P=q)"
)
_BARE = re.compile(r"[^\s\"'`,;&)(\]\[}{<>]{1,200}")
_ANNOTATION = re.compile(
    r"[A-Za-z_][\w.]*(?:\[[\w., |]*\])?(?:[ \t]*\|[ \t]*[A-Za-z_][\w.]*)*[ \t]*=(?!=)[ \t]*"
)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:(?:\.|::|->)[A-Za-z_]\w*)+")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_TRIVIAL_WORDS = frozenset(
    {
        "none", "null", "nil", "undefined", "true", "false", "empty", "string", "str",
        "password", "passwd", "secret", "token", "redacted", "hidden", "masked", "changeme",
        "placeholder", "example", "dummy", "required", "optional",
    }
)  # fmt: skip
_PLACEHOLDER_HINTS = (
    "your",
    "example",
    "placeholder",
    "xxxx",
    "****",
    "redacted",
    "<",
    "...",
)
_PLACEHOLDER_STARTS = ("$", "%", "{", "<", "!", "&", "*", "@", "#", "[REDACTED")
_MIN_SECRET_LENGTH = 6
# Values of token/secret/key names must look machine-made: "blanks" or a regex is not a token.
_CREDENTIAL = re.compile(r"[A-Za-z0-9_+/=.:~-]{8,}")


def _credential_like(value: str) -> bool:
    return bool(_CREDENTIAL.fullmatch(value)) and (len(value) >= 20 or _has_digit(value))


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def _key_start(text: str, start: int) -> int:
    """Where the whole identifier the matched secret word ends (``DB_PASSWORD``) starts."""
    i = start
    floor = max(0, start - 64)
    while i > floor and text[i - 1] in _KEY_CHARS:
        i -= 1
    return i


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    if len(value) < _MIN_SECRET_LENGTH or lowered in _TRIVIAL_WORDS:
        return True
    if len(set(value)) == 1 or not any(c.isalnum() for c in value):
        return True
    hinted = any(hint in lowered for hint in _PLACEHOLDER_HINTS)
    return hinted or value.startswith(_PLACEHOLDER_STARTS)


def _assignment_value(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The span of a non-trivial literal value assigned to a secret-looking name, if any."""
    word_start = match.start()
    key_start = _key_start(text, word_start)
    if text[key_start : match.end("word")] in ("PWD", "OLDPWD"):
        return None  # the shell's working directory, not a password
    word = match.group("word")  # lowercased
    machine_made = not (word.startswith("pass") or word == "pwd")
    pos = match.end()
    if match.group("op") == ":":
        annotated = _ANNOTATION.match(text, pos)  # Python/TS type hint: `password: str = "x"`
        if annotated:
            pos = annotated.end()

    quoted = _QUOTED.match(text, pos)
    if quoted:
        value = quoted.group("v")
        prefix = text[pos : quoted.start("q")]
        if "f" in prefix.lower() and "{" in value:
            return None  # an f-string built from other variables
        if any(c.isspace() for c in value) or _placeholder(value):
            return None  # a label or sentence ("Enter your password"), or a placeholder
        if _ENV_NAME.fullmatch(value):
            return None  # the name of an environment variable, not its value
        if machine_made and not _credential_like(value):
            return None
        return quoted.start("v"), quoted.end("v")

    bare = _BARE.match(text, pos)
    if not bare:
        return None
    value = bare.group()
    after = text[bare.end() : bare.end() + 1]
    if after in ("(", "["):
        return None  # a call or a lookup: getpass(), os.environ["X"], request.headers["x"]
    if _DOTTED.fullmatch(value) or value.isdigit() or _placeholder(value):
        return None
    if machine_made and not _credential_like(value):
        return None
    if _IDENTIFIER.fullmatch(value):
        # A bare word is usually another variable (`password = new_password`) or a type
        # (`token: str`) — except on a line of its own in an env file (`DB_PASSWORD=hunter`) or
        # YAML (`password: hunter2`, which must hold a digit to tell it from a type name).
        line_start = text.rfind("\n", 0, key_start) + 1
        head = text[line_start:key_start].strip()
        whole_line = after in ("", "\n", "\r")
        op = match.group("op")
        tight = not any(c in " \t" for c in text[word_start : match.end()])
        env_style = head in ("", "export") and op == "=" and tight
        yaml_style = head in ("", "-") and op == ":" and _has_digit(value)
        in_url = key_start > 0 and text[key_start - 1] in "?&" and op == "="
        if not in_url and not (whole_line and (env_style or yaml_style)):
            return None
    return bare.start(), bare.end()


def _passwords(text: str) -> list[Finding]:
    found: list[Finding] = []
    # The names are matched in an ASCII-lowercased copy (same length, same offsets), which is
    # several times faster than a case-insensitive regex.
    folded = text.lower()
    if len(folded) != len(text):  # a rare letter ("İ") lowercases to two characters
        folded = text.translate(_ASCII_LOWER)
    covered = 0
    for match in _ASSIGN.finditer(folded):
        if match.start() < covered:
            continue  # inside a value already found
        span = _assignment_value(text, match)
        if span is not None:
            found.append(Finding("password", *span))
            covered = span[1]
    return found


# --- card numbers and social security numbers ------------------------------------------------

_CARD = re.compile(
    r"(?<![0-9A-Za-z_])(?<![0-9][ .,-])(?:[0-9][ -]?){12,18}[0-9](?![0-9A-Za-z_])(?![ .,-][0-9])"
)
_SSN = re.compile(
    r"(?<![\w-])(?!000|666|9[0-9]{2})[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}(?![\w-])"
)


# Card networks' numbers start with 2-6 (Mastercard 2/5, Amex and Diners 3, Visa 4, Discover 6).
_ISSUER_DIGITS = frozenset("23456")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = ord(char) - 48
        if index % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _card_grouping_ok(candidate: str) -> bool:
    """Ungrouped, or grouped the way cards are printed (4-4-4-4, 4-6-5 …), one separator kind."""
    separators = {c for c in candidate if c in " -"}
    if not separators:
        return True
    if len(separators) > 1:
        return False
    groups = [len(g) for g in candidate.split(separators.pop())]
    if groups in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4


def _cards(text: str) -> list[Finding]:
    found: list[Finding] = []
    for match in _CARD.finditer(text):
        candidate = match.group()
        digits = candidate.replace(" ", "").replace("-", "")
        if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
            continue
        if candidate == digits and digits[0] not in _ISSUER_DIGITS:
            continue  # a bare digit run (timestamp, order number) that no card network issues
        if _card_grouping_ok(candidate) and _luhn_ok(digits):
            found.append(Finding("card-number", match.start(), match.end()))
    return found


def _ssns(text: str) -> list[Finding]:
    return [Finding("ssn", m.start(), m.end()) for m in _SSN.finditer(text)]


# --- the public API --------------------------------------------------------------------------


def scan(text: str) -> list[Finding]:
    """Every likely secret in ``text``, sorted by position and never overlapping.

    Where two detectors claim overlapping text, the one starting first wins; on a tie, the longer
    span, then the more specific kind (an ``sk-`` key assigned to ``api_key`` is an OpenAI key).
    """
    candidates = _tokens(text)
    candidates += _private_keys(text)
    candidates += _passwords(text)
    candidates += _cards(text)
    candidates += _ssns(text)
    candidates.sort(key=lambda f: (f.start, f.start - f.end, _PRIORITY[f.kind]))
    result: list[Finding] = []
    for finding in candidates:
        if result and finding.start < result[-1].end:
            continue
        result.append(finding)
    return result


def redact(text: str, findings: Sequence[Finding] | None = None) -> str:
    """``text`` with each finding replaced by ``[REDACTED:kind]``."""
    if findings is None:
        findings = scan(text)
    parts: list[str] = []
    pos = 0
    for finding in sorted(findings, key=lambda f: f.start):
        if finding.start < pos:
            continue
        parts.append(text[pos : finding.start])
        parts.append(f"[REDACTED:{finding.kind}]")
        pos = finding.end
    parts.append(text[pos:])
    return "".join(parts)


def _counts(findings: Sequence[Finding]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.kind] = counts.get(finding.kind, 0) + 1
    return sorted(counts.items(), key=lambda item: _PRIORITY.get(item[0], len(KINDS)))


def _label(kind: str, *, article: bool) -> str:
    short, long = _LABELS.get(kind, (kind, f"a {kind}"))
    return long if article else short


def describe(
    findings: Sequence[Finding], source: str, *, action: str = "it will be sent as is"
) -> list[str]:
    """One line per kind found, naming the kind and the count — never the secret itself."""
    lines = []
    for kind, count in _counts(findings):
        matches = "1 match" if count == 1 else f"{count} matches"
        lines.append(f"{source} may contain {_label(kind, article=True)} ({matches}); {action}")
    return lines


def guard(text: str, *, policy: str, source: str) -> GuardResult:
    """Apply ``privacy.on_secret`` to ``text`` before it is sent or logged.

    warn: the text unchanged plus notice lines; redact: the redacted text plus lines; block: an
    InputError (exit 2) so nothing is sent.
    """
    if policy not in POLICIES:
        raise ConfigError(
            f"privacy.on_secret must be one of {', '.join(POLICIES)}, not {policy!r}",
        )
    findings = scan(text)
    if not findings:
        return GuardResult(text=text, findings=[], lines=[])
    if policy == "block":
        kinds = ", ".join(_label(kind, article=False) for kind, _ in _counts(findings))
        raise InputError(
            f"{source} contains a likely secret ({kinds}); not sent",
            hint='privacy.on_secret = "block"; remove it, or set privacy.on_secret to warn or redact',
        )
    if policy == "redact":
        return GuardResult(
            text=redact(text, findings),
            findings=findings,
            lines=describe(findings, source, action="it was redacted"),
        )
    return GuardResult(text=text, findings=findings, lines=describe(findings, source))

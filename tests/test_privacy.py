"""The secret guard: what it catches, what it leaves alone, and what each policy does."""

from __future__ import annotations

import itertools
import json

import pytest

from chatpro.errors import ExitCode, InputError
from chatpro.privacy import KINDS, Finding, describe, guard, redact, scan

# Fake secrets of the right shape (none is real).
OPENAI_KEY = "sk-" + "a1B2c3D4e5F6g7H8i9J0" * 2 + "xYz1"
OPENAI_PROJECT_KEY = (
    "sk-proj-" + "Q7fLm2Xk9PzR4tWv8YbN3cJh6GdS1aEu" + "_T3BlbkFJ" + "-k2Lm9Np4Qr7St1Uv"
)
AWS_KEY = "AKIAZ7QW3ERTY5UIOP2A"
AWS_SESSION_KEY = "ASIAZ7QW3ERTY5UIOP2B"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_11ABCDEFG0abcdefghijkl_" + "Zy9" * 19 + "Qq"
SLACK_TOKEN = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi5ZGhqDKhG8S1pRWU1Jj3K\n"
    "q0yT8xN1XWZKvT5uG0dw==\n"
    "-----END RSA PRIVATE KEY-----"
)
CARD = "4111 1111 1111 1111"
SSN = "078-05-1120"


def kinds(text: str) -> list[str]:
    return [finding.kind for finding in scan(text)]


def found_text(text: str) -> list[str]:
    return [text[f.start : f.end] for f in scan(text)]


POSITIVES = [
    # (text, kind, the exact secret that must be covered)
    (f"here is my key {OPENAI_KEY} thanks", "openai-key", OPENAI_KEY),
    (f"OPENAI_API_KEY={OPENAI_PROJECT_KEY}", "openai-key", OPENAI_PROJECT_KEY),
    (f'client = OpenAI(api_key="{OPENAI_KEY}")', "openai-key", OPENAI_KEY),
    (f"aws_access_key_id = {AWS_KEY}", "aws-key", AWS_KEY),
    (f"temporary creds {AWS_SESSION_KEY}.", "aws-key", AWS_SESSION_KEY),
    (f"git clone https://{GITHUB_TOKEN}@github.com/me/repo", "github-token", GITHUB_TOKEN),
    (f"GH_TOKEN {GITHUB_PAT}", "github-token", GITHUB_PAT),
    (f"slack bot token: {SLACK_TOKEN}", "slack-token", SLACK_TOKEN),
    (f"my server key:\n{PEM}\nplease check it", "private-key", PEM),
    ('password = "hunter2!"', "password", "hunter2!"),
    ("DB_PASSWORD=correcthorse", "password", "correcthorse"),
    ("export API_KEY=abc123def456", "password", "abc123def456"),
    ('    password: str = "Tr0ub4dor&3"', "password", "Tr0ub4dor&3"),
    ('{"client_secret": "9f8e7d6c5b4a3f2e"}', "password", "9f8e7d6c5b4a3f2e"),
    ("SECRET_KEY: 'x8Kq2mZpL0vW'", "password", "x8Kq2mZpL0vW"),
    ("db:\n  user: app\n  password: hunter22\n", "password", "hunter22"),
    (
        "const accessToken = 'eyJhbGciOiJIUzI1NiJ9.e30.abc123';",
        "password",
        "eyJhbGciOiJIUzI1NiJ9.e30.abc123",
    ),
    ("callback https://x.example/cb?token=abc123XYZ789&state=1", "password", "abc123XYZ789"),
    (f"card: {CARD}, exp 12/27", "card-number", CARD),
    ("pay with 4111-1111-1111-1111 please", "card-number", "4111-1111-1111-1111"),
    ("mastercard 5555555555554444", "card-number", "5555555555554444"),
    ("amex 3782 822463 10005 on file", "card-number", "3782 822463 10005"),
    ("amex 378282246310005", "card-number", "378282246310005"),
    (f"my SSN is {SSN}.", "ssn", SSN),
]


@pytest.mark.parametrize(("text", "kind", "secret"), POSITIVES)
def test_each_kind_of_secret_is_found(text: str, kind: str, secret: str) -> None:
    findings = scan(text)
    assert [f.kind for f in findings] == [kind]
    assert text[findings[0].start : findings[0].end] == secret


def test_every_kind_is_covered_by_the_table() -> None:
    assert {kind for _, kind, _ in POSITIVES} == set(KINDS)


NEGATIVES = [
    "password = getpass()",
    "password = getpass.getpass('Password: ')",
    'token = request.headers["x"]',
    "token = request.headers.get('Authorization')",
    "password = None",
    'password = ""',
    'password = "***"',
    "password = '********'",
    'password = os.environ["DB_PASSWORD"]',
    "api_key = os.getenv('OPENAI_API_KEY')",
    'secret = getenv("SECRET")',
    "password = self.password",
    "password = new_password",
    "if password == 'x':\n    login()",
    "password: string;",
    "class User(BaseModel):\n    password: SecretStr\n    token: str\n",
    "const token = await getToken();",
    "const password = process.env.DB_PASSWORD;",
    'headers = {"Authorization": f"Bearer {token}"}',
    'api_key = f"{prefix}{rest}"',
    'password = "<your password here>"',
    'api_key = "YOUR_API_KEY"',
    'label = {"password": "Enter your password"}',
    '<input type="password" name="password">',
    "max_tokens = 4096",
    "token: 5",
    "PWD=/home/me/project",
    'password = "[REDACTED:password]"',
    "We use sk-learn and scikit-learn for the models.",
    "pip install sk-learn-compatible-estimators-v2",
    "Call me on +1 (555) 123-4567 or 555-123-4567.",
    "Deadlines: 2024-01-15 and 2024-02-20, meeting 2024-03-01T10:00:00Z.",
    "request id 550e8400-e29b-41d4-a716-446655440000",
    "fixed in commit 3f9a1c2b4d5e6f708192a3b4c5d6e7f8091a2b3c",
    "order #10002345 shipped, invoice INV-2024-000123",
    "tracking 4111111111111112",  # 16 digits, fails Luhn
    "0000000000000000 and 4444 4444 4444 4444",  # all-same-digit runs
    "released v1.2.3, then 1.22.0-rc1 and 2.0.0.post1",
    "not SSNs: 000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000 123456789",
    "pi is 3.14159265358979323846",
    "AKIAIOSFODNN7EXAMPLE is the key AWS uses in its documentation",
    "The task-abcdefghijklmnopqrstuvwxyz0123456789 id is opaque",
    "Please send me the password for the staging server tomorrow.",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_and_code_are_left_alone(text: str) -> None:
    assert scan(text) == []


def test_a_card_number_inside_a_longer_digit_run_is_not_a_card() -> None:
    assert scan("ref 94111111111111111") == []
    assert scan("ref 4111 1111 1111 1111 2222") == []


def test_findings_are_sorted_and_never_overlap() -> None:
    text = f'api_key = "{OPENAI_KEY}"\n{SSN} then {CARD}\n{PEM}\npassword = "s3cr3t-pw"'
    findings = scan(text)
    assert [f.kind for f in findings] == [
        "openai-key",
        "ssn",
        "card-number",
        "private-key",
        "password",
    ]
    for before, after in itertools.pairwise(findings):
        assert before.end <= after.start


def test_a_private_key_without_its_end_line_is_still_covered() -> None:
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAABG5vbmU=\n\nThanks!"
    assert redact(text) == "[REDACTED:private-key]\n\nThanks!"


def test_a_private_key_inside_a_json_string_is_covered() -> None:
    text = (
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIB\\n-----END PRIVATE KEY-----\\n"}'
    )
    assert redact(text) == '{"private_key": "[REDACTED:private-key]\\n"}'


def test_redact_replaces_each_secret_with_its_kind() -> None:
    text = f'key {OPENAI_KEY}, card {CARD}, ssn {SSN}\npassword = "hunter2!"'
    assert redact(text) == (
        "key [REDACTED:openai-key], card [REDACTED:card-number], ssn [REDACTED:ssn]\n"
        'password = "[REDACTED:password]"'
    )


def test_redacted_text_scans_clean() -> None:
    text = "\n".join(secret for _, _, secret in POSITIVES) + '\npassword = "hunter2!"'
    assert scan(text)
    assert scan(redact(text)) == []


def test_redact_uses_the_findings_it_is_given() -> None:
    assert redact("abc def", [Finding("password", 4, 7)]) == "abc [REDACTED:password]"
    assert redact("nothing here") == "nothing here"


def test_describe_gives_one_line_per_kind_with_counts() -> None:
    text = f"{CARD} and 5555555555554444 and {SSN}"
    lines = describe(scan(text), "brief.pdf")
    assert lines == [
        "brief.pdf may contain a card number (2 matches); it will be sent as is",
        "brief.pdf may contain a US social security number (1 match); it will be sent as is",
    ]


@pytest.mark.parametrize(("text", "kind", "secret"), POSITIVES)
def test_describe_never_echoes_the_secret(text: str, kind: str, secret: str) -> None:
    for line in describe(scan(text), "the prompt"):
        assert secret not in line


def test_warn_sends_the_text_unchanged_with_a_notice() -> None:
    text = f"charge {CARD} today"
    result = guard(text, policy="warn", source="the prompt")
    assert result.text == text
    assert [f.kind for f in result.findings] == ["card-number"]
    assert result.lines == ["the prompt may contain a card number (1 match); it will be sent as is"]


def test_redact_policy_sends_redacted_text() -> None:
    result = guard(f"charge {CARD} today", policy="redact", source="the prompt")
    assert result.text == "charge [REDACTED:card-number] today"
    assert result.lines == ["the prompt may contain a card number (1 match); it was redacted"]
    assert CARD not in " ".join(result.lines)


def test_block_policy_raises_an_input_error_with_exit_code_2() -> None:
    with pytest.raises(InputError) as caught:
        guard(f"charge {CARD} today", policy="block", source="the prompt")
    error = caught.value
    assert error.exit_code == ExitCode.BAD_INPUT == 2
    assert error.message == "the prompt contains a likely secret (card number); not sent"
    assert error.hint is not None and "privacy.on_secret" in error.hint
    assert CARD not in error.message + error.hint


def test_block_names_every_kind_found_and_never_the_secret() -> None:
    text = f"{OPENAI_KEY} {SSN}"
    with pytest.raises(InputError) as caught:
        guard(text, policy="block", source="notes.txt")
    message = caught.value.message
    assert message == (
        "notes.txt contains a likely secret (OpenAI API key, social security number); not sent"
    )
    assert OPENAI_KEY not in message and SSN not in message


@pytest.mark.parametrize("policy", ["warn", "redact", "block"])
def test_clean_text_passes_every_policy_untouched(policy: str) -> None:
    result = guard("Write a proposal for a Django migration.", policy=policy, source="the prompt")
    assert result.text == "Write a proposal for a Django migration."
    assert result.findings == [] and result.lines == []


def test_a_large_text_is_scanned_whole() -> None:
    # Not a timing assertion (that belongs in a benchmark): a 2 MB mix of code, prose and digits
    # with one secret at the very end is scanned without error and the secret is found.
    chunk = (
        "def handler(request):\n    token = request.headers['x']\n    return 42\n"
        "Meeting on 2024-01-15, call 555-123-4567, order 4111111111111112.\n"
        "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=\n"
    )
    text = chunk * (2_000_000 // len(chunk)) + f"\nkey {OPENAI_KEY}\n"
    assert kinds(text) == ["openai-key"]


def test_a_bare_millisecond_timestamp_that_passes_luhn_is_not_a_card():
    from chatpro.privacy import scan

    stamp = next(str(n) for n in range(1732567200000, 1732567200100) if _luhn(str(n)))
    assert scan(f"created_at = {stamp}") == []
    assert [f.kind for f in scan("card 4111111111111111")] == ["card-number"]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


# --- everything that is sent is scanned (end to end) ------------------------------------------


def _block(home) -> None:
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[privacy]\non_secret = "block"\n')


def test_block_scans_the_system_text(run, server, home):
    _block(home)
    result = run("ask", "-s", f"Use key {AWS_KEY} when asked", "hello")
    assert result.returncode == 2 and "system text" in result.stderr
    assert AWS_KEY not in result.stderr
    assert server.requests == []


def test_block_scans_the_profile(run, server, home):
    _block(home)
    cfg = home / "config" / "config.toml"
    cfg.write_text(cfg.read_text() + f'[profile]\nbio = "My AWS key is {AWS_KEY}"\n')
    result = run("ask", "hello")
    assert result.returncode == 2 and "profile" in result.stderr
    assert server.requests == []


def test_block_scans_a_templates_system_text(run, server, home):
    _block(home)
    templates = home / "config" / "templates"
    templates.mkdir(parents=True)
    (templates / "leaky.toml").write_text(
        f'system = "Deploy with {AWS_KEY}"\nprompt = "Help with {{input}}"\n'
    )
    result = run("ask", "-t", "leaky", "the release")
    assert result.returncode == 2 and "system text" in result.stderr
    assert server.requests == []


def test_block_scans_file_names(run, server, home, tmp_path):
    _block(home)
    named = tmp_path / f"notes {AWS_KEY}.txt"
    named.write_text("harmless\n")
    result = run("ask", "-f", str(named), "summarize")
    assert result.returncode == 2 and "file name" in result.stderr
    assert server.requests == []


def test_redact_covers_the_system_text_too(run, server, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[privacy]\non_secret = "redact"\n')
    assert run("ask", "-s", f"key {AWS_KEY}", "hello").returncode == 0
    assert AWS_KEY not in json.dumps(server.requests[0].body)

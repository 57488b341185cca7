"""The error hierarchy. Each class carries the exit code SPEC.md gives it; the CLI maps them in one place."""

from __future__ import annotations


class ExitCode:
    OK = 0
    INTERNAL = 1
    BAD_INPUT = 2
    ALLOWANCE = 3
    CONFIG = 4
    SERVICE = 5
    NOT_READY = 75
    INTERRUPTED = 130


EXIT_CODES: tuple[tuple[int, str], ...] = (
    (ExitCode.OK, "success"),
    (ExitCode.INTERNAL, "unexpected internal error (a bug): run with --debug for details"),
    (
        ExitCode.BAD_INPUT,
        "bad usage or input: options, unknown model or chat id, refused file, empty prompt",
    ),
    (ExitCode.ALLOWANCE, "allowance (or budget) used up for this cycle and no fallback applies"),
    (
        ExitCode.CONFIG,
        "key or configuration: no key, key refused (401/403), invalid config, insecure base URL",
    ),
    (
        ExitCode.SERVICE,
        "service or network: refused, timeout, 429/5xx after retries, cut stream, invalid reply",
    ),
    (ExitCode.NOT_READY, "batch fetch: the batch is not finished yet (try again later)"),
    (ExitCode.INTERRUPTED, "interrupted (Ctrl-C or SIGTERM)"),
)
"""Every exit code and what it means: `chatpro help exit-codes` and --help read this."""


class ChatproError(Exception):
    """An error the user should see as one line (plus an optional hint)."""

    exit_code: int = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(ChatproError):
    """Bad usage or bad input: options, unknown model or chat id, refused file, empty prompt."""

    exit_code = ExitCode.BAD_INPUT


class FileRefused(InputError):
    """A file that cannot be attached: the message names the file and the reason."""


class AllowanceError(ChatproError):
    """The allowance for this cycle is used up and no fallback applies."""

    exit_code = ExitCode.ALLOWANCE


class ConfigError(ChatproError):
    """Invalid configuration, missing key, insecure base URL."""

    exit_code = ExitCode.CONFIG


class AuthError(ConfigError):
    """The server refused the key (HTTP 401/403)."""


class ServiceError(ChatproError):
    """The service or the network failed: refused, timeout, 429/5xx, cut stream, bad JSON."""

    exit_code = ExitCode.SERVICE


class NotReady(ChatproError):
    """`batch fetch`: the batch is not finished yet; try again later (EX_TEMPFAIL, for cron)."""

    exit_code = ExitCode.NOT_READY


class StorageError(ChatproError):
    """A file chatpro keeps could not be read or written (corrupt ledger, full disk, read-only dir)."""

    exit_code = ExitCode.INTERNAL


class Cancelled(ChatproError):
    """The user said no to a question (delete this?): nothing was done, and that is not an error."""

    exit_code = ExitCode.OK


class Interrupted(ChatproError):
    """Ctrl-C or SIGTERM. PARTIAL_KEPT: an answer had begun and was charged and logged."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(
        self, message: str = "interrupted", hint: str | None = None, *, partial_kept: bool = False
    ) -> None:
        super().__init__(message, hint)
        self.partial_kept = partial_kept

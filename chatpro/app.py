"""The CLI's composition root: environment, paths, clock, streams, and the parts built from them.

Commands get their core objects from here already assembled (`app.conversation(...)`,
`app.chatlog()`, `app.ledger()`); the core objects themselves are handed their parts and never
see the App.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from chatpro.clock import Clock, clock_from_env
from chatpro.render import Output

if TYPE_CHECKING:
    from chatpro.chatlog import ChatLog
    from chatpro.client import ChatClient
    from chatpro.config import Settings
    from chatpro.conversation import Conversation
    from chatpro.models import Catalog, ModelInfo
    from chatpro.paths import Paths
    from chatpro.usage import Ledger


class App:
    """The process's context. A plain class, not a dataclass, and its paths resolved on first
    use: `chatpro --help` builds one and needs neither (nor pathlib)."""

    def __init__(
        self,
        environ: Mapping[str, str],
        clock: Clock,
        out: Output,
        stdin: IO[str],
        stdin_is_tty: bool = False,
        debug: bool = False,
    ) -> None:
        self.environ = environ
        self.clock = clock
        self.out = out
        self.stdin = stdin
        self.stdin_is_tty = stdin_is_tty
        self.debug = debug
        self._cache: dict[str, Any] = {}

    @functools.cached_property
    def paths(self) -> Paths:
        from chatpro.paths import resolve_paths

        return resolve_paths(self.environ)

    @classmethod
    def from_environment(
        cls,
        *,
        quiet: bool = False,
        debug: bool = False,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> App:
        env = os.environ if environ is None else environ
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        stderr = stderr or sys.stderr
        out = Output(
            stdout,
            stderr,
            quiet=quiet,
            stdout_is_tty=_isatty(stdout),
            stderr_is_tty=_isatty(stderr),
            color=not env.get("NO_COLOR") and env.get("TERM") != "dumb",
        )
        return cls(
            environ=env,
            clock=clock or clock_from_env(env),
            out=out,
            stdin=stdin,
            stdin_is_tty=_isatty(stdin),
            debug=debug,
        )

    # --- settings and models -----------------------------------------------------------------

    @functools.cached_property
    def settings(self) -> Settings:
        from chatpro.config import load_settings  # not for --help

        settings = load_settings(self.paths.config_file)
        for message in settings.warnings:
            self.out.warning(message)
        return settings

    @functools.cached_property
    def catalog(self) -> Catalog:
        from chatpro.models import build_catalog

        override = self.environ.get("CHATPRO_MODEL", "").strip() or None
        catalog = build_catalog(self.settings, override)
        return catalog._replace(builtins_served=self._builtins_served(catalog))

    def _builtins_served(self, catalog: Catalog) -> bool:
        """Whether the built-in (OpenAI) models are likely offered: on OpenAI itself, or where
        the config declares no models of its own (a proxy in front of OpenAI). A config that
        declares its own models for another server (Ollama, vLLM) means they are what it has."""
        if all(m.builtin for m in catalog.models.values()):
            return True  # no models of its own: decided without parsing the URL (start-up time)
        from urllib.parse import urlsplit

        url = self.environ.get("OPENAI_BASE_URL", "").strip() or self.settings.base_url
        return (urlsplit(url).hostname or "").lower() in ("api.openai.com", "")

    # --- stores and the client ---------------------------------------------------------------

    def chatlog(self) -> ChatLog:
        from chatpro.chatlog import ChatLog

        if "chatlog" not in self._cache:
            self._cache["chatlog"] = ChatLog(
                self.paths.chats_file,
                clock=self.clock,
                retention_days=self.settings.retention_days,
                warn=self.out.warning,
            )
        return self._cache["chatlog"]  # type: ignore[no-any-return]

    def ledger(self) -> Ledger:
        from chatpro.usage import Ledger

        if "ledger" not in self._cache:
            self._cache["ledger"] = Ledger(
                self.paths.ledger_file,
                clock=self.clock,
                warn=self.out.warning,
                budget=self.settings.monthly_budget,
                currency=self.settings.currency,
            )
        return self._cache["ledger"]  # type: ignore[no-any-return]

    def base_url(self) -> str:
        from chatpro.client import validate_base_url

        env_url = self.environ.get("OPENAI_BASE_URL", "").strip()
        url, source = (
            (env_url, "OPENAI_BASE_URL") if env_url else (self.settings.base_url, "api.base_url")
        )
        return validate_base_url(url, allow_insecure=self.settings.allow_insecure, source=source)

    def client(self) -> ChatClient:
        """The chat client; checks the base URL and the key (exit 4) before anything is sent."""
        from chatpro.client import ChatClient, ClientConfig
        from chatpro.credentials import require_key

        if "client" not in self._cache:
            base_url = self.base_url()
            key = require_key(self.environ, self.paths.credentials_file, warn=self.out.warning)
            self.out.secrets.append(key.value)
            self._cache["client"] = ChatClient(
                ClientConfig(
                    api_key=key.value,
                    base_url=base_url,
                    timeout=self.settings.timeout,
                    max_retries=self.settings.max_retries,
                )
            )
        return self._cache["client"]  # type: ignore[no-any-return]

    def conversation(
        self,
        *,
        model: str | None = None,
        system: str | None = None,
        template: str | None = None,
        client: str | None = None,
        switch: str = "-m",
        model_info: ModelInfo | None = None,
    ) -> Conversation:
        """A Conversation wired to this process's settings, stores, client and clock."""
        from chatpro.conversation import Conversation

        return Conversation(
            settings=self.settings,
            catalog=self.catalog,
            ledger=self.ledger(),
            log=self.chatlog(),
            client_factory=self.client,
            clock=self.clock,
            templates_dir=self.paths.templates_dir,
            model=model,
            system=system,
            template=template,
            client=client,
            switch=switch,
            model_info=model_info,
        )

    def known_secrets(self) -> list[str]:
        """Secrets to scrub from anything printed (the key from env and file), best effort."""
        from chatpro.credentials import ENV_VAR, read_key_file

        secrets = list(self.out.secrets)
        if self.environ.get(ENV_VAR):
            secrets.append(self.environ[ENV_VAR].strip())
        try:
            stored = read_key_file(self.paths.credentials_file)
        except Exception:  # noqa: BLE001 - scrubbing must never fail
            stored = None
        if stored:
            secrets.append(stored)
        return secrets


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False

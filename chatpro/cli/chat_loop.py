"""The chat loop behind `chatpro chat`: a front end on one Conversation, with slash commands.

The command hands in the App, the Conversation and a ``read_line`` callable, so the loop is the
same on a terminal and over a pipe.

Decisions (documented in `chatpro chat --help` too):

* stdout carries only the answers, each followed by one blank line. Everything the REPL itself
  says (help, /model, /usage, /history, notices) goes to stderr, so `chatpro chat > out.txt` and
  pipes keep just the answers. The prompt goes through readline to the terminal when stdout is
  one; when stdout is redirected the prompt is written to stderr instead (no line editing then).
* Every message of a session is logged under one chat id: the first message creates the chat (or
  continues the one `-c`/`--chat` named), later ones continue it; `/new` starts another. The
  Conversation decides what each message carries (system text, template, files of the chat).
* On a terminal, a turn's error of exit 2, 3 or 5 prints one line and the chat goes on; Ctrl-C
  stops an answer (the partial answer is charged and logged, marked interrupted); auth/config (4) and
  internal errors end the chat with their code. Without a terminal any error ends the run with
  its exit code, so scripts see failures.
* A line ending in a backslash continues on the next line, in both modes.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from chatpro.errors import ChatproError, ExitCode, InputError, Interrupted
from chatpro.paths import FILE_MODE, ensure_dir
from chatpro.render import format_table

if TYPE_CHECKING:
    from chatpro.app import App
    from chatpro.conversation import Conversation
    from chatpro.files import Attachment
    from chatpro.paths import StrPath

CONTINUATION_PROMPT = "...> "
INPUT_HISTORY_LENGTH = 1000  # lines kept in the input history file
HISTORY_LIST_LIMIT = 10  # chats shown by /history
# errors a turn may hit on a terminal without ending the chat
RECOVERABLE = frozenset({ExitCode.BAD_INPUT, ExitCode.ALLOWANCE, ExitCode.SERVICE})

ReadLine = Callable[[str], str]  # returns a line without its newline; EOFError at the end


class _Reported(Exception):
    """A turn's recoverable error that the session has already shown."""


COMMANDS: dict[str, str] = {
    "/help": "show this help",
    "/model [NAME]": "show the model, or switch to NAME (a name or alias: powerful, fast)",
    "/file PATH": "attach a file to your next message (same types and limits as upload)",
    "/client [NAME]": "show the client this chat is tagged with, or tag it with NAME",
    "/retry": "send your last message again",
    "/save FILE": "write the last answer to FILE",
    "/usage": "show this cycle's allowance per model",
    "/new": "start a new chat",
    "/history": f"list the {HISTORY_LIST_LIMIT} most recent chats",
    "/exit": "leave the chat (also /quit, Ctrl-D)",
}
COMMAND_NAMES = (
    "/help",
    "/model",
    "/file",
    "/client",
    "/retry",
    "/save",
    "/usage",
    "/new",
    "/history",
    "/exit",
    "/quit",
)
PATH_COMMANDS = ("/file", "/save")  # their argument completes as a path


class ChatSession:
    """One chat session: the Conversation, and files waiting for the next message."""

    def __init__(self, app: App, conversation: Conversation, *, interactive: bool) -> None:
        self.app = app
        self.conversation = conversation
        self.interactive = interactive
        self.pending: list[Attachment] = []
        self.stop_requested = False  # set by a SIGTERM/SIGHUP handler: end instead of going on
        self.last_message: str | None = None  # for /retry
        self.last_answer: str | None = None  # for /save

    def start(self) -> None:
        if self.interactive:
            chat_id = self.conversation.chat_id
            where = f"continuing chat {chat_id}" if chat_id else "new chat"
            self.app.out.notice(
                f"{where} with {self.model_name()} ({self._allowance_left()}); "
                "/help for commands, /exit or Ctrl-D to leave"
            )

    def _allowance_left(self) -> str:
        """What is left of the chat model's allowance, and who answers when it is used up."""
        info = self.conversation.model_info
        ledger = self.conversation.ledger
        usage = ledger.status([info]).models[0]
        if not usage.allowance or usage.remaining is None:
            return "unlimited allowance"
        if usage.remaining > 0:
            return f"{usage.remaining} of {usage.allowance} messages left this cycle"
        renews = ledger.renewal_date().isoformat()
        if info.fallback:
            return f"allowance used up until {renews}: {info.fallback} answers instead"
        return f"allowance used up until {renews}"

    def model_name(self) -> str:
        return self.conversation.model_info.name

    def prompt(self) -> str:
        return f"{self.model_name()}> "

    # --- one line of input --------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Act on one (joined) input line; False when the chat should end."""
        text = line.strip()
        if not text:
            return True
        try:
            if text.startswith("/") and not text.startswith("//"):
                return self._command(text)
            self._ask(text[1:] if text.startswith("//") else text)
        except (KeyboardInterrupt, Interrupted) as exc:
            self._interrupted(exc)
        except _Reported:
            pass
        except ChatproError as exc:
            if not self.interactive or exc.exit_code not in RECOVERABLE:
                raise
            self.app.out.error(exc.message, exc.hint)
        return True

    def _interrupted(self, exc: BaseException) -> None:
        """Ctrl-C during a turn: back to the prompt on a terminal; otherwise the run ends (130)."""
        if self.stop_requested or not self.interactive:
            raise exc
        if isinstance(exc, Interrupted) and exc.partial_kept:
            self.app.out.notice("answer stopped; the partial answer is kept in the chat")
        else:
            self.app.out.notice("stopped; nothing was charged or logged")

    # --- messages -----------------------------------------------------------------------------

    def _ask(self, text: str) -> None:
        from chatpro.cli.common import run_turn
        from chatpro.conversation import Turn

        turn = Turn(prompt=text, attachments=list(self.pending))
        self.last_message = text
        before = len(self.conversation.context)
        try:
            answer = run_turn(self.app, self.conversation, turn, as_json=False)
        except ChatproError as exc:
            if len(self.conversation.context) > before:  # a partial answer went into the chat
                self.pending = []
                self.last_answer = self.conversation.context[-1]["content"]
            elif (
                self.interactive
                and exc.exit_code in RECOVERABLE
                and not isinstance(exc, Interrupted)
            ):
                self.app.out.error(exc.message, exc.hint)
                self.app.out.notice("your message was not sent: /retry sends it again")
                raise _Reported() from None
            raise
        self.pending = []
        self.last_answer = answer.text
        self.app.out.line()

    # --- slash commands -----------------------------------------------------------------------

    def _command(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        name = name.lower()
        arg = arg.strip()
        if name in ("/exit", "/quit"):
            return False
        handlers: dict[str, Callable[[str], None]] = {
            "/help": self._help,
            "/model": self._model,
            "/file": self._file,
            "/client": self._client,
            "/retry": self._retry,
            "/save": self._save,
            "/usage": self._usage,
            "/new": self._new,
            "/history": self._history,
        }
        handler = handlers.get(name)
        if handler is None:
            raise InputError(
                f"unknown command {name} (try /help)",
                hint="start a message with // to send text that begins with /",
            )
        handler(arg)
        return True

    def _say(self, text: str) -> None:
        """What the REPL itself says: stderr, never hidden by --quiet (the user asked for it)."""
        for row in text.splitlines() or [""]:
            self.app.out.raw_err(row)

    def _help(self, arg: str) -> None:
        width = max(len(c) for c in COMMANDS)
        rows = [f"  {cmd.ljust(width)}  {what}" for cmd, what in COMMANDS.items()]
        self._say(
            "Commands:\n"
            + "\n".join(rows)
            + "\nEnd a line with \\ to continue on the next one. Start a message with // to send"
            " text beginning with /.\nCtrl-C stops an answer (the partial answer is kept) or"
            " clears the line."
        )

    def _model(self, arg: str) -> None:
        if not arg:
            info = self.conversation.model_info
            files = "takes files" if info.takes_files else "no files"
            self._say(f"model: {info.name} ({info.description or 'no description'}; {files})")
            return
        from chatpro.cli.common import resolve_model

        info = self.conversation.set_model(resolve_model(self.app, arg))
        self.app.out.notice(f"now chatting with {info.name}")

    def _file(self, arg: str) -> None:
        if not arg:
            if self.pending:
                self._say(
                    "attached for the next message: " + ", ".join(a.name for a in self.pending)
                )
                return
            raise InputError("usage: /file PATH")
        from chatpro.files import load_path

        attachment = load_path(Path(_one_path(arg)).expanduser())
        self.pending.append(attachment)
        info = self.conversation.model_info
        self.app.out.notice(
            f"attached {attachment.name} ({attachment.label}, {attachment.size:,} bytes) "
            "to your next message"
        )
        if not info.takes_files:
            takers = self.app.catalog.file_models()
            self.app.out.warning(
                f"{info.name} does not take files; switch with /model "
                + (takers[0] if takers else "NAME")
            )

    def _client(self, arg: str) -> None:
        from chatpro.clients import check_client_name

        if not arg:
            client = self.conversation.client
            self._say(f"client: {client}" if client else "no client: this chat is not tagged")
            return
        self.conversation.client = check_client_name(arg)
        self.app.out.notice(f"messages from now on are tagged with client {arg!r}")

    def _retry(self, arg: str) -> None:
        if self.last_message is None:
            raise InputError("nothing to retry yet: send a message first")
        self._ask(self.last_message)

    def _save(self, arg: str) -> None:
        if not arg:
            raise InputError("usage: /save FILE")
        if self.last_answer is None:
            raise InputError("no answer to save yet")
        path = Path(_one_path(arg)).expanduser()
        text = self.last_answer if self.last_answer.endswith("\n") else self.last_answer + "\n"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.app.out.notice(f"saved the last answer to {path} ({len(text):,} characters)")

    def _usage(self, arg: str) -> None:
        from chatpro.cli.views import cycle_line, usage_table
        from chatpro.usage.spend import spend

        ledger = self.conversation.ledger
        report = ledger.status(list(self.conversation.catalog.models.values()))
        spent = spend(ledger.path, self.app.clock.now().date(), by="model")
        costs = {row.key: row.cost for row in spent.rows}
        table = usage_table(report, costs, self.conversation.catalog.currency)
        self._say(cycle_line(report))
        self._say(format_table(*table, terminal=self.app.out.stderr_is_tty))

    def _new(self, arg: str) -> None:
        self.conversation.new()
        self.pending = []
        self.app.out.notice("started a new chat")

    def _history(self, arg: str) -> None:
        from chatpro.cli.views import chat_table

        chats = self.conversation.log.chats(limit=HISTORY_LIST_LIMIT)
        if not chats:
            self._say("no chats yet")
            return
        table = chat_table(chats, current=self.conversation.chat_id or "")
        self._say(format_table(*table, terminal=self.app.out.stderr_is_tty))


def _one_path(arg: str) -> str:
    """One path from a command's argument: as typed, or quoted when it has spaces."""
    try:
        parts = shlex.split(arg) if arg[0] in "'\"" else [arg]
    except ValueError as exc:
        raise InputError(f"cannot read the path: {exc}") from None
    if len(parts) != 1:
        raise InputError("give one path (quote a path with spaces)")
    return parts[0]


# --- the loop -------------------------------------------------------------------------------


def run_chat(session: ChatSession, read_line: ReadLine, *, echo: Callable[[str], None]) -> None:
    """Read lines until EOF or /exit. ECHO writes to where the prompt is (a newline after ^C/^D)."""
    buffer: list[str] = []
    while True:
        try:
            line = read_line(CONTINUATION_PROMPT if buffer else session.prompt())
        except EOFError:
            if session.interactive:
                echo("\n")
            if buffer:  # the text a trailing backslash held back is still a message
                session.handle("\n".join(buffer))
            return
        except KeyboardInterrupt:
            if session.stop_requested or not session.interactive:
                raise
            echo("\n")  # Ctrl-C at the prompt: drop the line (and any continued lines)
            buffer = []
            continue
        if line.endswith("\\"):
            buffer.append(line[:-1])
            continue
        text = "\n".join([*buffer, line])
        buffer = []
        if not session.handle(text):
            return


def stream_reader(stream: IO[str]) -> ReadLine:
    """Lines from a pipe or file, one message each; no prompt (stdout is for answers)."""

    def read_line(prompt: str) -> str:
        line = stream.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    return read_line


@contextmanager
def terminal_reader(
    stdin: IO[str], stdout: IO[str], stdout_is_tty: bool, stderr: IO[str], history_file: StrPath
) -> Iterator[tuple[ReadLine, Callable[[str], None]]]:
    """A line reader for a terminal and where to echo: readline with history when stdout is the
    terminal too; otherwise the prompt goes to stderr so redirected stdout holds only answers."""
    if not stdout_is_tty:

        def plain(prompt: str) -> str:
            stderr.write(prompt)
            stderr.flush()
            line = stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\r\n")

        def echo_err(text: str) -> None:
            stderr.write(text)
            stderr.flush()

        yield plain, echo_err
        return

    readline = _load_readline(history_file)

    def echo_out(text: str) -> None:
        stdout.write(text)
        stdout.flush()

    try:
        # input() uses readline when stdin and stdout are terminals
        yield (_ticking_input if readline is not None else input), echo_out
    finally:
        if readline is not None:
            _save_history(readline, history_file)


TICK_SECONDS = 0.2


def _ticking_input(prompt: str) -> str:
    """input() through readline, with Ctrl-C that always works.

    CPython's readline loop turns a signal into KeyboardInterrupt only when it interrupts the
    loop's select(); a Ctrl-C that lands while readline is busy with the keys typed just before
    it is noticed only at the next key. A no-op timer signal every TICK_SECONDS interrupts the
    select, so a pending Ctrl-C (or SIGTERM) is acted on within that time.
    """
    import signal

    if not hasattr(signal, "setitimer"):  # pragma: no cover - not on POSIX
        return input(prompt)
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: None)
    signal.setitimer(signal.ITIMER_REAL, TICK_SECONDS, TICK_SECONDS)
    try:
        return input(prompt)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load_readline(history_file: StrPath) -> Any:
    """Import readline (line editing), read the input history, complete slash commands."""
    try:
        import readline
    except ImportError:  # no readline on this platform: plain input still works
        return None
    try:
        ensure_dir(os.path.dirname(history_file))
        fd = os.open(history_file, os.O_RDWR | os.O_CREAT, FILE_MODE)
        os.close(fd)
        readline.read_history_file(str(history_file))
    except OSError:
        pass  # a history that cannot be read is not worth stopping the chat for
    readline.set_history_length(INPUT_HISTORY_LENGTH)
    readline.set_completer(_complete)
    readline.set_completer_delims(" \t\n")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    return readline


def _save_history(readline: Any, history_file: StrPath) -> None:
    try:
        readline.write_history_file(str(history_file))
        os.chmod(history_file, FILE_MODE)
    except OSError:
        pass  # losing the input history must not turn a good exit into an error


def _complete(text: str, state: int) -> str | None:
    """Slash commands at the start of the line; paths after /file and /save."""
    import readline

    line = readline.get_line_buffer()
    command, space, _ = line.lstrip().partition(" ")
    if space and command.lower() in PATH_COMMANDS:
        matches = _path_matches(text)
    elif text.startswith("/") and not space:
        matches = [name + " " for name in COMMAND_NAMES if name.startswith(text)]
    else:
        return None
    return matches[state] if state < len(matches) else None


def _path_matches(text: str) -> list[str]:
    import glob

    expanded = os.path.expanduser(text)
    matches = []
    for found in sorted(glob.glob(glob.escape(expanded) + "*"))[:200]:
        shown = text + found[len(expanded) :]
        matches.append(shown + ("/" if os.path.isdir(found) else ""))
    return matches

"""`chatpro chat`: an interactive chat on a terminal, or one message per stdin line from a script."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from chatpro.cli.common import (
    chat_options,
    client_option,
    get_app,
    model_option,
    open_conversation,
    raw_option,
    template_option,
)


@click.command(
    epilog="""\b
Examples:
  chatpro chat
  chatpro chat -m fast -s "Answer in one paragraph."
  chatpro chat -c                      # go on with the most recent chat
  printf 'Draft a reply\\nMake it shorter\\n' | chatpro chat > answers.txt

\b
In the chat:
  /help  /model [NAME]  /file PATH  /client [NAME]  /retry  /save FILE
  /usage  /new  /history  /exit (or /quit, Ctrl-D)
  A file attached with /file belongs to the chat: every later message sees it.
  End a line with \\ to continue on the next one. Ctrl-C stops an answer (the partial
  answer is kept in the log) or clears the line. Tab completes commands and paths.
"""
)
@model_option
@click.option("-s", "--system", metavar="TEXT", help="A system prompt for the chat.")
@template_option
@chat_options
@client_option
@raw_option
@click.pass_context
def chat(
    ctx: click.Context,
    model: str | None,
    system: str | None,
    template: str | None,
    continue_latest: bool,
    chat_id: str | None,
    client: str | None,
    raw: bool,
) -> None:
    """Chat interactively (or line by line from stdin).

    Every message of the session is logged under one chat id. -s and the template's system text
    start the chat; -t renders the first message of each chat (also after /new) through the
    template.

    Without a terminal each non-empty stdin line is one message (slash commands work), each
    answer is printed followed by a blank line, and any error ends the run with its exit code.
    Answers go to stdout; notices and command output go to stderr (so does the prompt when
    stdout is redirected).
    """
    from chatpro.cli.chat_loop import ChatSession, run_chat, stream_reader, terminal_reader

    app = get_app(ctx)
    app.out.raw = raw
    conversation = open_conversation(
        app,
        model=model,
        system=system,
        template=template,
        continue_latest=continue_latest,
        chat_id=chat_id,
        client=client,
        switch="/model",
    )
    session = ChatSession(app, conversation, interactive=app.stdin_is_tty)
    session.start()

    def stop(signum: int, frame: Any) -> None:
        """SIGTERM/SIGHUP end the chat like Ctrl-C ends `ask` (partial answer kept), never resume."""
        session.stop_requested = True
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in _stop_signals()}
    try:
        if app.stdin_is_tty:
            with terminal_reader(
                app.stdin,
                app.out.stdout,
                app.out.stdout_is_tty,
                app.out.stderr,
                app.paths.input_history_file,
            ) as (read_line, echo):
                run_chat(session, read_line, echo=echo)
        else:
            run_chat(session, stream_reader(app.stdin), echo=lambda text: None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_signals() -> list[signal.Signals]:
    names = ["SIGTERM"] if sys.platform == "win32" else ["SIGTERM", "SIGHUP"]
    return [getattr(signal, name) for name in names]

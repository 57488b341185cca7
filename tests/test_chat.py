"""`chatpro chat` end to end: line by line over a pipe, and the REPL on a real pseudo-terminal."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakeserver import Behaviour
from tests.files_support import pdf_bytes

TIMEOUT = 30.0  # seconds a pattern may take to appear (generous: loaded CI machines)
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX terminals only")


def log_records(home: Path) -> list[dict]:
    path = home / "data" / "chats.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def chat_ids(home: Path) -> list[str]:
    seen: list[str] = []
    for record in log_records(home):
        if record["chat_id"] not in seen:
            seen.append(record["chat_id"])
    return seen


# --- without a terminal: one message per stdin line ------------------------------------------


def test_two_lines_are_two_answers_in_one_chat(run, server, home):
    server.queue(Behaviour(text="First answer."), Behaviour(text="Second answer."))
    result = run("chat", input="Draft a reply\n\nMake it shorter\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "First answer.\n\nSecond answer.\n\n"
    assert result.stderr == ""
    assert len(server.requests) == 2
    second = server.requests[1].messages
    assert second == [
        {"role": "user", "content": "Draft a reply"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "Make it shorter"},
    ]
    assert len(chat_ids(home)) == 1
    roles = [r["role"] for r in log_records(home)]
    assert roles == ["user", "assistant", "user", "assistant"]


def test_model_command_switches_the_model_for_later_messages(run, server):
    result = run("chat", input="one\n/model fast\ntwo\n/model\n")
    assert result.returncode == 0, result.stderr
    assert [r.body["model"] for r in server.requests] == ["gpt-4o", "gpt-3.5-turbo"]
    assert "gpt-3.5-turbo" in result.stderr
    assert result.stdout.count("\n\n") == 2  # only the two answers, nothing else on stdout


def test_unknown_model_in_the_command_is_exit_2_without_a_terminal(run, server):
    result = run("chat", input="/model nosuch\nhello\n")
    assert result.returncode == 2
    assert "chatpro: error: unknown model 'nosuch'" in result.stderr
    assert server.requests == []


def test_new_starts_another_chat_without_the_old_context(run, server, home):
    result = run("chat", input="one\n/new\ntwo\nthree\n")
    assert result.returncode == 0, result.stderr
    ids = chat_ids(home)
    assert len(ids) == 2
    assert server.requests[1].messages == [{"role": "user", "content": "two"}]
    assert [m["content"] for m in server.requests[2].messages if m["role"] == "user"] == [
        "two",
        "three",
    ]
    assert [r["chat_id"] for r in log_records(home)] == [ids[0]] * 2 + [ids[1]] * 4


def test_a_file_attached_with_file_belongs_to_the_chat(run, server, home, tmp_path):
    """/file attaches to the next message; from then on the file is part of the chat and every
    later message carries its text again (SPEC "Files in a chat"), logged once."""
    notes = tmp_path / "notes.txt"
    notes.write_text("Kickoff moved to ZEBRA-42 Thursday.\n", encoding="utf-8")
    result = run("chat", input=f"/file {notes}\nWhen is the kickoff?\nWho moved it?\n")
    assert result.returncode == 0, result.stderr
    assert "ZEBRA-42" in server.requests[0].last_user
    assert "When is the kickoff?" in server.requests[0].last_user
    assert "ZEBRA-42" in server.requests[1].last_user
    assert server.requests[1].last_user.endswith("Who moved it?")
    users = [r for r in log_records(home) if r["role"] == "user"]
    assert [a["name"] for a in users[0]["attachments"]] == ["notes.txt"]
    assert users[1]["attachments"] == []
    assert "notes.txt" in result.stderr


def test_a_refused_file_is_exit_2_and_sends_nothing_without_a_terminal(run, server, tmp_path):
    result = run("chat", input=f"/file {tmp_path / 'missing.pdf'}\nsummarize\n")
    assert result.returncode == 2
    assert result.stderr.startswith("chatpro: error: missing.pdf")
    assert server.requests == []


def test_help_goes_to_stderr_and_sends_nothing(run, server):
    result = run("chat", input="/help\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    for command in ("/model", "/file", "/usage", "/new", "/history", "/exit"):
        assert command in result.stderr
    assert server.requests == []


def test_usage_and_history_commands(run, server):
    result = run("chat", input="hello there\n/usage\n/history\n")
    assert result.returncode == 0, result.stderr
    # the same table as `chatpro usage`, on stderr: model, used, allowance, remaining
    usage_row = next(line for line in result.stderr.splitlines() if line.startswith("gpt-4o "))
    assert usage_row.split()[:4] == ["gpt-4o", "1", "300", "299"]
    assert "renews " in result.stderr
    history_line = [line for line in result.stderr.splitlines() if line.startswith("*  c_")]
    assert len(history_line) == 1 and "hello there" in history_line[0]
    assert result.stdout.count("\n\n") == 1  # only the answer on stdout


def test_exit_stops_reading(run, server):
    result = run("chat", input="one\n/exit\ntwo\n")
    assert result.returncode == 0, result.stderr
    assert len(server.requests) == 1


def test_unknown_command_is_exit_2_and_double_slash_sends_a_slash(run, server):
    result = run("chat", input="//etc/hosts: what is it?\n/nosuch\nnever sent\n")
    assert result.returncode == 2
    assert "chatpro: error: unknown command /nosuch" in result.stderr
    assert [r.last_user for r in server.requests] == ["/etc/hosts: what is it?"]


def test_backslash_continues_a_line_even_at_the_end_of_input(run, server):
    result = run("chat", input="first line\\\nsecond line\nthird\\\nfourth")
    assert result.returncode == 0, result.stderr
    assert [r.last_user for r in server.requests] == [
        "first line\nsecond line",
        "third\nfourth",
    ]


def test_a_turn_error_ends_the_run_with_its_code_without_a_terminal(run, server, home):
    server.queue(Behaviour(text="Fine."), Behaviour(status=404, error_body={"error": {}}))
    result = run("chat", input="one\ntwo\nthree\n")
    assert result.returncode == 5
    assert result.stdout == "Fine.\n\n"
    assert result.stderr.count("chatpro: error:") == 1
    assert len(server.requests) == 2


def test_continue_latest_and_chat_id(run, server, home):
    assert run("ask", "Remember BLUEBIRD").returncode == 0
    first = chat_ids(home)[0]
    result = run("chat", "-c", input="What did I ask you to remember?\n")
    assert result.returncode == 0, result.stderr
    assert "Remember BLUEBIRD" in json.dumps(server.requests[-1].messages)
    result = run("chat", "--chat", first[:6], input="And again?\n")
    assert result.returncode == 0, result.stderr
    assert chat_ids(home) == [first]
    assert len(log_records(home)) == 6


def test_unknown_chat_id_is_exit_2_before_anything(run, server):
    result = run("chat", "--chat", "c_nosuch", input="hi\n")
    assert result.returncode == 2
    assert server.requests == []
    both = run("chat", "-c", "--chat", "c_x", input="hi\n")
    assert both.returncode == 2


def test_system_prompt_starts_the_chat_and_is_sent_once(run, server, home):
    result = run("chat", "-s", "Answer like a pirate.", input="one\ntwo\n")
    assert result.returncode == 0, result.stderr
    for request in server.requests:
        assert request.system.count("Answer like a pirate.") == 1
    system_records = [r for r in log_records(home) if r["role"] == "system"]
    assert [r["content"] for r in system_records] == ["Answer like a pirate."]


def test_template_renders_the_first_message_of_each_chat(run, server):
    result = run("chat", "-t", "summarize", input="the notes\nshorter\n/new\nother notes\n")
    assert result.returncode == 0, result.stderr
    first, second, third = (r.last_user for r in server.requests)
    assert first != "the notes" and "the notes" in first
    assert second == "shorter"
    assert third != "other notes" and "other notes" in third
    assert server.requests[1].system.count(server.requests[0].system.split("\n\n")[-1]) == 1


def test_unknown_template_or_model_is_exit_2_before_anything(run, server):
    assert run("chat", "-t", "nosuch", input="hi\n").returncode == 2
    assert run("chat", "-m", "nosuch", input="hi\n").returncode == 2
    assert server.requests == []


HEAVY = ("openai", "tiktoken", "pypdf", "pptx")


def test_the_chat_starts_without_heavy_imports(run):
    """Slash commands before the first message never load the client, tokenizer or file code."""
    code = (
        "import sys, runpy\n"
        "sys.argv = ['chatpro', 'chat']\n"
        "try:\n    runpy.run_module('chatpro', run_name='__main__')\n"
        "except SystemExit as exc:\n    print('exit', exc.code, file=sys.stderr)\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}"
        " or m.startswith('chatpro.files'))\n"
        "print(heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input="/help\n/model fast\n/usage\n/history\n/new\n",
        capture_output=True,
        text=True,
        env=run.environment(),
        timeout=60,
    )
    lines = proc.stderr.strip().splitlines()
    assert lines[-2:] == ["exit 0", "[]"], proc.stderr


# --- on a terminal: a real pseudo-terminal -------------------------------------------------

# Make the terminal the child's controlling terminal so ^C reaches it as SIGINT, then run chatpro.
# SIGINT is reset first: under a parent that ignores it (a background job) so would chatpro.
SPAWN = (
    "import fcntl, os, signal, sys, termios\n"
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'chatpro', *sys.argv[1:]])\n"
)


class Terminal:
    """chatpro on a pseudo-terminal; read_until waits for text (no fixed sleeps)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, stdout=None) -> None:
        import fcntl
        import termios

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 250, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SPAWN, *args],
            stdin=slave,
            stdout=slave if stdout is None else stdout,
            stderr=slave,
            env={**env, "TERM": "xterm"},
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.output = b""
        self.pos = 0

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            raise EOFError
        self.output += data
        return True

    def text(self) -> str:
        return ANSI.sub(b"", self.output).decode("utf-8", "replace")

    def read_until(self, pattern: str, timeout: float = TIMEOUT) -> str:
        """Wait for PATTERN after what earlier calls matched; return the text up to its end."""
        deadline = time.monotonic() + timeout
        while True:
            clean = self.text()
            found = clean.find(pattern, self.pos)
            if found >= 0:
                start, self.pos = self.pos, found + len(pattern)
                return clean[start : self.pos]
            try:
                if not self._read(deadline) and time.monotonic() >= deadline:
                    raise AssertionError(f"{pattern!r} did not appear; got:\n{clean[self.pos :]}")
            except EOFError:
                raise AssertionError(
                    f"chatpro ended before {pattern!r}; got:\n{clean[self.pos :]}"
                ) from None

    def send(self, data: str | bytes) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def wait(self, timeout: float = TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                self._read(min(deadline, time.monotonic() + 0.2))
            except EOFError:
                break
        code = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        # what the child wrote just before it exited is still in the terminal: read it all
        with contextlib.suppress(EOFError):
            while self._read(time.monotonic() + 0.2):
                pass
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal(run, home):
    opened: list[Terminal] = []

    def start(*args: str, stdout=None) -> Terminal:
        term = Terminal(["chat", *args], run.environment(), home.parent, stdout=stdout)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def test_terminal_streams_answers_and_runs_commands(terminal, server, home):
    server.queue(Behaviour(text="A streamed answer in pieces.", chunk_size=4))
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("/model fast\r")
    term.read_until("now chatting with gpt-3.5-turbo")
    term.read_until("gpt-3.5-turbo> ")
    term.send("Hello there\r")
    term.read_until("A streamed answer in pieces.")
    term.read_until("gpt-3.5-turbo> ")
    term.send("/help\r")
    term.read_until("/history")
    term.read_until("gpt-3.5-turbo> ")
    term.send("/usage\r")
    term.read_until("gpt-3.5-turbo")
    term.read_until("1000")
    term.read_until("gpt-3.5-turbo> ")
    term.send(b"\x04")  # Ctrl-D
    assert term.wait() == 0
    assert [r.body["model"] for r in server.requests] == ["gpt-3.5-turbo"]
    assert server.requests[0].last_user == "Hello there"
    history = home / "data" / "input_history"
    assert history.stat().st_mode & 0o777 == 0o600
    assert "Hello there" in history.read_text("utf-8", "replace")


def test_ctrl_c_mid_answer_keeps_the_partial_and_the_chat_goes_on(terminal, server, home):
    long_text = "".join(f"word{n} " for n in range(200))
    server.queue(
        Behaviour(text=long_text, chunk_size=6, chunk_delay=0.05),
        Behaviour(text="Carrying on."),
    )
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("Tell me a long story\r")
    term.read_until("word3 ")
    term.send(b"\x03")  # Ctrl-C
    term.read_until("partial answer is kept")
    term.read_until("gpt-4o> ")
    term.send("Go on\r")
    term.read_until("Carrying on.")
    term.read_until("gpt-4o> ")
    term.send("/exit\r")
    assert term.wait() == 0

    records = log_records(home)
    assert len(chat_ids(home)) == 1
    assert [r["role"] for r in records] == ["user", "assistant", "user", "assistant"]
    partial = records[1]
    assert partial.get("interrupted") is True
    assert partial["content"] and long_text.startswith(partial["content"])
    assert partial["content"] != long_text
    assert records[3].get("interrupted", False) is False
    context = server.requests[1].messages
    assert context[1] == {"role": "assistant", "content": partial["content"]}


def test_ctrl_c_at_the_prompt_clears_the_line(terminal, server):
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("never sent")
    term.read_until("never sent")
    term.send(b"\x03")
    term.read_until("gpt-4o> ")
    term.send("Sent instead\r")
    term.read_until("Here is a draft reply")
    term.read_until("gpt-4o> ")
    term.send(b"\x04")
    assert term.wait() == 0
    assert [r.last_user for r in server.requests] == ["Sent instead"]


def test_backslash_continues_on_the_next_line(terminal, server):
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("Dear client,\\\r")
    term.read_until("...> ")
    term.send("the invoice is attached.\r")
    term.read_until("Here is a draft reply")
    term.read_until("gpt-4o> ")
    term.send("/quit\r")
    assert term.wait() == 0
    assert [r.last_user for r in server.requests] == ["Dear client,\nthe invoice is attached."]


def test_turn_errors_keep_the_chat_alive_on_a_terminal(terminal, server, tmp_path):
    server.queue(Behaviour(status=404, error_body={"error": {"message": "no such model"}}))
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("First try\r")
    term.read_until("chatpro: error:")
    term.read_until("gpt-4o> ")
    term.send(f"/file {tmp_path / 'missing.pdf'}\r")
    term.read_until("chatpro: error: missing.pdf")
    term.read_until("gpt-4o> ")
    term.send("/model nosuch\r")
    term.read_until("chatpro: error: unknown model")
    term.read_until("gpt-4o> ")
    term.send("Second try\r")
    term.read_until("Here is a draft reply")
    term.read_until("gpt-4o> ")
    term.send(b"\x04")
    assert term.wait() == 0


def test_a_refused_key_ends_the_chat_with_exit_4(terminal, server):
    server.fail(401, "bad key")
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("hello\r")
    term.read_until("chatpro: error: the server refused the API key")
    assert term.wait() == 4


def test_redirected_stdout_gets_only_answers_and_the_prompt_goes_to_stderr(
    terminal, server, tmp_path
):
    server.queue(Behaviour(text="Only this."))
    out_path = tmp_path / "out.txt"
    with open(out_path, "wb") as out:
        term = terminal(stdout=out)
        term.read_until("gpt-4o> ")
        term.send("Question\r")
        term.read_until("gpt-4o> ")
        term.send(b"\x04")
        assert term.wait() == 0
    assert out_path.read_text("utf-8") == "Only this.\n\n"


def test_sigterm_ends_the_chat_instead_of_going_on(terminal, server, home):
    server.queue(Behaviour(text="".join(f"w{n} " for n in range(300)), chunk_delay=0.05))
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("Long one\r")
    term.read_until("w2 ")
    term.proc.send_signal(signal.SIGTERM)
    assert term.wait() == 130
    records = log_records(home)
    assert records[-1]["role"] == "assistant" and records[-1].get("interrupted") is True


# --- feedback and commands added for new users ---------------------------------------------


def test_retry_resends_the_last_message_and_save_writes_the_last_answer(run, server, tmp_path):
    server.queue(Behaviour(text="First draft."), Behaviour(text="Second draft."))
    target = tmp_path / "answer.md"
    result = run("chat", input=f"Draft a reply\n/retry\n/save {target}\n")
    assert result.returncode == 0, result.stderr
    assert [r.last_user for r in server.requests] == ["Draft a reply", "Draft a reply"]
    assert target.read_text() == "Second draft.\n"
    assert "saved the last answer" in result.stderr


def test_retry_and_save_with_nothing_yet_are_exit_2(run, server, tmp_path):
    assert run("chat", input="/retry\n").returncode == 2
    assert run("chat", input=f"/save {tmp_path / 'x.md'}\n").returncode == 2
    assert server.requests == []
    assert not (tmp_path / "x.md").exists()


def test_hints_inside_chat_name_chat_commands(run, server, tmp_path):
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(pdf_bytes(["Kickoff on Monday."]))
    result = run("chat", "-m", "fast", input=f"/file {notes}\nsummarize\n")
    assert result.returncode == 2
    assert "/model gpt-4o" in result.stderr
    assert "-m gpt-4o" not in result.stderr


def test_the_banner_and_prompt_show_the_model_and_what_is_left(terminal, server, home):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[models."gpt-4o"]\nmonthly_messages = 10\n')
    term = terminal()
    term.read_until("new chat with gpt-4o (10 of 10 messages left this cycle)")
    term.read_until("gpt-4o> ")
    term.send(b"\x04")
    assert term.wait() == 0


def test_the_banner_says_when_replies_will_fall_back(terminal, server, home, run):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[models."gpt-4o"]\nmonthly_messages = 1\n')
    assert run("ask", "spend it").returncode == 0
    term = terminal()
    term.read_until("allowance used up until")
    term.read_until("gpt-3.5-turbo answers instead")
    term.read_until("gpt-4o> ")
    term.send(b"\x04")
    assert term.wait() == 0


def test_a_spinner_shows_until_the_first_token(terminal, server):
    server.queue(Behaviour(text="Finally here.", delay=1.0))
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("Slow question\r")
    term.read_until("is thinking")
    term.read_until("Finally here.")
    term.read_until("gpt-4o> ")
    term.send(b"\x04")
    assert term.wait() == 0


def test_a_failed_message_can_be_sent_again_with_retry(terminal, server, tmp_path):
    server.queue(Behaviour(status=503), Behaviour(status=503), Behaviour(status=503))
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("Please keep this text\r")
    term.read_until("chatpro: error:")
    term.read_until("/retry sends it again")
    term.read_until("gpt-4o> ")
    term.send("/retry\r")
    term.read_until("Here is a draft reply")
    term.read_until("gpt-4o> ")
    term.send(b"\x04")
    assert term.wait() == 0
    assert server.requests[-1].last_user == "Please keep this text"


def test_tab_completes_commands_and_paths_after_file(terminal, server, home):
    folder = home.parent / "briefs"
    folder.mkdir()
    (folder / "kickoff-notes.txt").write_text("Kickoff on Monday.\n")
    term = terminal()
    term.read_until("gpt-4o> ")
    term.send("/fi\t")
    term.read_until("/file ")
    term.send("briefs/kick\t")
    term.read_until("kickoff-notes.txt")
    term.send("\r")
    term.read_until("attached kickoff-notes.txt")
    term.read_until("gpt-4o> ")
    term.send(b"\x04")
    assert term.wait() == 0


def test_on_another_server_hints_do_not_suggest_openai_models(run, server, home, tmp_path):
    """The loopback server stands for Ollama or vLLM here: gpt-4o is not a model it has."""
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(pdf_bytes(["Kickoff on Monday."]))
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('default_model = "llama3.1"\n[models."llama3.1"]\ncontext_window = 8192\n')
    result = run("chat", input=f"/file {notes}\nsummarize\n")
    assert result.returncode == 2
    assert "gpt-4o" not in result.stderr and "files = true" in result.stderr
    cfg.write_text(cfg.read_text() + '[models."llava"]\nfiles = true\n')
    result = run("chat", input=f"/file {notes}\nsummarize\n")
    assert "/model llava" in result.stderr and "gpt-4o" not in result.stderr

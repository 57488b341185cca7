"""The terminal filter: escape sequences and control characters never reach a terminal."""

from __future__ import annotations

import io
import os
import random
import select
import subprocess
import sys
import time

import pytest

from chatpro.render import Output, TerminalFilter, strip_controls, terminal_safe
from tests.fakeserver import Behaviour

ESC = "\x1b"
SEQUENCES = [
    f"{ESC}]52;c;aGVsbG8gY2xpcGJvYXJk\x07",  # OSC 52: write the clipboard (BEL)
    f"{ESC}]52;c;aGk={ESC}\\",  # OSC 52 ended by ST
    f"{ESC}]0;pwned title\x07",  # window title
    f"{ESC}]8;;https://evil.example/{ESC}\\",  # OSC 8 hyperlink opener
    f"{ESC}[2J",
    f"{ESC}[H",
    f"{ESC}[31;1m",
    f"{ESC}[?1049h",
    f"{ESC}[6n",  # cursor position report: makes the terminal type
    f"{ESC}P1$r0m{ESC}\\",  # DCS
    f"{ESC}_apc payload{ESC}\\",
    f"{ESC}^pm payload{ESC}\\",
    f"{ESC}Xsos payload{ESC}\\",
    f"{ESC}(B",
    f"{ESC}#8",
    f"{ESC}7",
    f"{ESC}c",  # full reset
    "\x9b2J",  # C1 CSI
    "\x9d0;title\x9c",  # C1 OSC ... ST
    "\x90dcs\x9c",
    "\r",
    "\x08",
    "\x07",
    "\x00",
    "\x7f",
    "\x85",
]


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_each_sequence_is_removed_whole(sequence):
    assert terminal_safe(f"before{sequence}after") == "beforeafter"


def test_newline_tab_and_unicode_are_kept():
    text = "line one\n\tindented — ünïcödé 🎉\nend"
    assert terminal_safe(text) == text


def test_sequences_split_across_chunks_are_removed():
    text = "a" + "b".join(SEQUENCES) + "z"
    expected = terminal_safe(text)
    assert ESC not in expected
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(text)), 12))
        pieces = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        f = TerminalFilter()
        assert "".join(f.feed(p) for p in pieces) + f.flush() == expected


def test_osc_8_link_keeps_its_visible_text():
    link = f"{ESC}]8;;https://evil.example/{ESC}\\click me{ESC}]8;;{ESC}\\"
    assert terminal_safe(link) == "click me"


def test_random_text_never_keeps_a_control_character():
    rng = random.Random(11)
    alphabet = "ab[];\\P_^X0123456789\x1b\x07\x9b\x9c\x9d\x90\n\t\r\x00"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        safe = terminal_safe(text)
        assert not any(ord(c) < 32 and c not in "\n\t" for c in safe)
        assert not any(0x7F <= ord(c) <= 0x9F for c in safe)


def test_strip_controls_is_one_line():
    assert strip_controls(f"a\nb{ESC}[2J\r\n  c") == "a b c"


def output(*, tty: bool, raw: bool = False) -> tuple[Output, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    o = Output(out, err, stdout_is_tty=tty, stderr_is_tty=tty)
    o.raw = raw
    return o, out, err


def test_output_filters_answers_on_a_terminal_only():
    answer = f"hi{ESC}]52;c;aGk=\x07 there{ESC}[2J\n"
    o, out, _ = output(tty=True)
    for piece in (answer[:5], answer[5:]):
        o.write(piece)
    assert out.getvalue() == "hi there\n"
    o, out, _ = output(tty=False)
    o.write(answer)
    assert out.getvalue() == answer  # piped: byte for byte
    o, out, _ = output(tty=True, raw=True)
    o.write(answer)
    assert out.getvalue() == answer


def test_output_filters_stderr_messages_on_a_terminal():
    o, _, err = output(tty=True)
    o.error(f"file {ESC}]0;x\x07name.pdf: refused", hint=f"see {ESC}[31mthis")
    o.warning(f"w{ESC}[2J")
    assert ESC not in err.getvalue()
    assert "file name.pdf: refused" in err.getvalue()


# --- a real pseudo-terminal ----------------------------------------------------------------------


def read_all(master: int, proc: subprocess.Popen[bytes]) -> bytes:
    data = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    return data


def test_answer_escape_sequences_do_not_reach_a_real_terminal(run, server):
    answer = f"Hello {ESC}]52;c;cGF3bmVk\x07{ESC}[2J{ESC}]0;owned\x07world"
    server.queue(Behaviour(text=answer, chunk_size=5))
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatpro", "-q", "ask", "hi"],  # -q: no spinner of chatpro's own
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**run.environment(), "TERM": "xterm", "NO_COLOR": "1"},
        cwd=run.home.parent,
    )
    os.close(slave)
    try:
        data = read_all(master, proc)
        assert proc.wait(timeout=30) == 0
    finally:
        os.close(master)
    assert b"Hello world" in data
    assert b"\x1b" not in data
    assert b"cGF3bmVk" not in data  # the clipboard payload is gone too

"""Issue 19, point 5: at a terminal, step mode takes one key without Enter and says what it did."""

from __future__ import annotations

import io
import os
import signal
import termios

from robots.jobs.replay.stepper import PROMPT, Stepper


class Operator(io.StringIO):
    """The screen the operator reads: at each prompt, the next key is typed (no Enter)."""

    def __init__(self, master: int, keys: list[bytes]) -> None:
        super().__init__()
        self.master, self.keys = master, keys

    def write(self, text: str) -> int:
        written = super().write(text)
        if text == PROMPT and self.keys:
            os.write(self.master, self.keys.pop(0))
        return written


def waited_for_enter(*_: object) -> None:
    raise AssertionError("step mode waited for Enter after a single key")


def ask_at_terminal(*keys: bytes) -> tuple[str, str]:
    master, slave = os.openpty()
    previous = signal.signal(signal.SIGALRM, waited_for_enter)
    signal.alarm(20)  # a watchdog, not a timing: a key answered is read at once
    try:
        with os.fdopen(slave, "r", encoding="utf-8", closefd=True) as terminal:
            before = termios.tcgetattr(slave)
            out = Operator(master, list(keys))
            decision = Stepper(answers=terminal, out=out)._ask()
            assert termios.tcgetattr(slave) == before, "the terminal is given back as it was"
            return decision, out.getvalue()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.close(master)


def test_s_alone_skips_and_says_so():
    decision, said = ask_at_terminal(b"s")
    assert decision == "skip"
    assert said == PROMPT + "s — étape passée\n"


def test_unknown_keys_are_named_without_their_escape_codes_then_enter_runs():
    decision, said = ask_at_terminal(b"\x1b[A", b"x", b"\r")
    assert decision == "run"
    assert "réponse « [a » inconnue" in said and "réponse « x » inconnue" in said
    assert "\x1b" not in said, "an arrow key does not move the operator's cursor"


def test_q_stops():
    assert ask_at_terminal(b"q") == ("quit", PROMPT + "q — arrêt demandé\n")

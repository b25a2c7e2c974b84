"""Step mode: before each step, outline its target, say what it looks for and wait for the operator.

Enter runs the step, `s` skips it (« étape passée »), `q` stops the run (RunStopped, exit 1); at a
terminal one key is enough, without Enter. Before each step: its label, the screen by its title and
what is sought on it (`step_words`); while a table is searched, each page turned (« page suivante du
tableau (2/3) ») and the row found; after a step that read something, the value read (masked when
secret). Grouping steps (`call`, `if`, `repeat`) are not asked about: their title is printed as a
heading. Without a visible browser nobody sees the outline: step mode says so once. It is a
StepObserver, so it works for any flow and for the nightly job.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from playwright.sync_api import Locator

from robots.engine.steps.context import Decision, StepContext
from robots.jobs.replay.step_words import row_cells, row_summary, sought, values_read
from robots.language.model import Step

if TYPE_CHECKING:
    from robots.language.catalogue import ElementHandle

_OUTLINE_ON = """e => {
  if (e.scrollIntoViewIfNeeded) e.scrollIntoViewIfNeeded();
  e.dataset.chorusStep = e.style.outline;
  e.style.outline = '4px solid #e4003a';
}"""
_OUTLINE_OFF = "e => { e.style.outline = e.dataset.chorusStep || ''; delete e.dataset.chorusStep; }"
PROMPT = "  Entrée : exécuter · s : passer · q : arrêter > "
GROUPING = {"call", "if", "repeat"}
HEADLESS = "mode pas à pas sans navigateur visible : ajoutez --headed pour voir la surbrillance"
ANSWERS: dict[str, Decision] = {
    "": "run", "o": "run", "oui": "run", "y": "run", "s": "skip", "skip": "skip", "passer": "skip",
    "q": "quit", "quit": "quit", "quitter": "quit", "\x04": "quit",
}  # fmt: skip
SAID = {"skip": "étape passée", "quit": "arrêt demandé"}


class Stepper:
    """A StepObserver asking, before every step, whether to run it."""

    def __init__(self, answers: TextIO | None = None, out: TextIO | None = None) -> None:
        self.answers = answers or sys.stdin
        self.out = out or sys.stdout
        self.count = 0
        self.warned = False

    def before_step(self, ctx: StepContext, step: Step, target: Locator | None) -> Decision:
        self._warn_headless(ctx)
        if step.command in GROUPING:
            self._say(f"— {step.title()}\n")
            return "run"
        self.count += 1
        self._say(f"[étape {self.count}] {step.title()}\n")
        for line in sought(ctx, step, target is not None):
            self._say(f"  {line}\n")
        _outline(target, _OUTLINE_ON)
        try:
            return self._ask()
        finally:
            _outline(target, _OUTLINE_OFF)

    def after_step(self, ctx: StepContext, step: Step, error: BaseException | None) -> None:
        if error is None:
            for line in values_read(ctx, step):
                self._say(f"  {line}\n")

    # ------------------------------------------------------------ inside pick_row (robots.engine.observe)

    def on_next_page(self, ctx: StepContext, step: Step, table: ElementHandle, page_number: int) -> None:
        name = table.element.description or table.name
        total = _pages_of(ctx, table)
        of = f"{page_number + 1}/{total}" if total else f"page {page_number + 1}"
        self._say(f"  « {name} », page {page_number} : la ligne n'y est pas — page suivante du tableau ({of})\n")

    def on_row_found(
        self, ctx: StepContext, step: Step, table: ElementHandle, row: Locator, cells: dict[str, str], page: int
    ) -> None:
        self._say(f"  ligne trouvée, page {page} du tableau : {row_summary(step, cells) or row_cells(cells)}\n")

    # ------------------------------------------------------------ the operator

    def _ask(self) -> Decision:
        at_terminal = _is_terminal(self.answers)
        while True:
            if at_terminal:
                typed = read_key(self.answers, lambda: self._say(PROMPT))
            else:
                self._say(PROMPT)
                typed = self.answers.readline()
            if not typed:  # stdin closed: nobody is there to answer
                self._say("\n")
                return "quit"
            answer = typed.strip().lower()
            decision = ANSWERS.get(answer)
            shown = "".join(ch for ch in answer if ch.isprintable()) or "touche spéciale"  # an arrow: no escape
            if at_terminal:
                self._say((shown if answer else "") + (f" — {SAID[decision]}" if decision in SAID else "") + "\n")
            elif decision in SAID:
                self._say(f"  {SAID[decision]}\n")
            if decision:
                return decision
            self._say(f"  réponse « {shown} » inconnue\n")

    def _warn_headless(self, ctx: StepContext) -> None:
        if self.warned:
            return
        self.warned = True
        agent = ""
        with contextlib.suppress(Exception):  # the page may be navigating: no warning rather than a failure
            agent = str(ctx.page.evaluate("navigator.userAgent"))
        if "Headless" in agent:
            self._say(f"⚠ {HEADLESS}\n")

    def _say(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and sys.platform != "win32"
    except (AttributeError, ValueError):
        return False


def read_key(stream: TextIO, prompt: Callable[[], None]) -> str | None:
    """One key from the terminal, without waiting for Enter (its echo off); None when the input is closed.
    The prompt is printed once the terminal takes single keys, so a key typed at once is not lost."""
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # Ctrl-C still interrupts; what was typed already is kept
        prompt()
        data = os.read(fd, 8)  # an arrow key sends several bytes: read them together
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    if not data:
        return None
    text = data.decode("utf-8", errors="ignore")
    return "\n" if text in ("\r", "\n", "\r\n") else text


# The page count a table's pager prints near it (« Page 1 / 3 », « page 1 sur 3 »), if any.
_PAGES_JS = """e => {
  for (let b = e.parentElement, n = 0; b && n < 5; b = b.parentElement, n++) {
    const m = /page\\s+\\d+\\s*(?:\\/|sur)\\s*(\\d+)/i.exec(b.innerText || '');
    if (m) return parseInt(m[1], 10);
  }
  return null;
}"""


def _pages_of(ctx: StepContext, table: ElementHandle) -> int | None:
    from robots.engine import locate

    with contextlib.suppress(Exception):  # the count is a help: without it, the page's number alone
        found = locate.first_matching(ctx.page, table.element.find)
        return found[1].evaluate(_PAGES_JS) if found else None
    return None


def _outline(target: Locator | None, script: str) -> None:
    if target is None:
        return
    with contextlib.suppress(Exception):  # the page may navigate: the outline is only a help
        target.evaluate(script)

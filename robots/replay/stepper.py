"""Step mode: before each step, outline its target, print its label and wait for the operator.

Enter runs the step, `s` skips it, `q` stops the run (RunStopped, exit 1). Grouping steps (`call`,
`if`, `repeat`) are not asked about: their title is printed as a heading and their steps are asked.
It is a StepObserver, so it works for any flow and for the nightly job (which accepts a list of
observers).
"""

from __future__ import annotations

import contextlib
import sys
from typing import TextIO

from playwright.sync_api import Locator

from robots.flow_model import Step
from robots.runner import Decision, StepContext, target_ref

_OUTLINE_ON = """e => {
  if (e.scrollIntoViewIfNeeded) e.scrollIntoViewIfNeeded();
  e.dataset.chorusStep = e.style.outline;
  e.style.outline = '4px solid #e4003a';
}"""
_OUTLINE_OFF = "e => { e.style.outline = e.dataset.chorusStep || ''; delete e.dataset.chorusStep; }"
PROMPT = "  Entrée : exécuter · s : passer · q : arrêter > "
GROUPING = {"call", "if", "repeat"}


class Stepper:
    """A StepObserver asking, before every step, whether to run it."""

    def __init__(self, answers: TextIO | None = None, out: TextIO | None = None) -> None:
        self.answers = answers or sys.stdin
        self.out = out or sys.stdout
        self.count = 0

    def before_step(self, ctx: StepContext, step: Step, target: Locator | None) -> Decision:
        if step.command in GROUPING:
            self._say(f"— {step.title()}\n")
            return "run"
        self.count += 1
        where = _where(ctx, step, target)
        self._say(f"[étape {self.count}] {step.title()}{where}\n")
        _outline(target, _OUTLINE_ON)
        try:
            return self._ask()
        finally:
            _outline(target, _OUTLINE_OFF)

    def after_step(self, ctx: StepContext, step: Step, error: BaseException | None) -> None:
        return None

    def _ask(self) -> Decision:
        while True:
            self._say(PROMPT)
            line = self.answers.readline()
            if not line:  # stdin closed: nobody is there to answer
                return "quit"
            answer = line.strip().lower()
            if answer in ("", "o", "oui", "y"):
                return "run"
            if answer in ("s", "skip", "passer"):
                return "skip"
            if answer in ("q", "quit", "quitter"):
                return "quit"
            self._say(f"  réponse « {answer} » inconnue\n")

    def _say(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


def _where(ctx: StepContext, step: Step, target: Locator | None) -> str:
    ref = target_ref(step)
    handle = ctx.catalogue.element(ref) if ref else None
    if handle is None:
        return ""
    found = "" if target is not None else " (introuvable pour l'instant)"
    return f" — écran « {handle.screen.title} », élément {handle.ref}{found}"


def _outline(target: Locator | None, script: str) -> None:
    if target is None:
        return
    with contextlib.suppress(Exception):  # the page may navigate: the outline is only a help
        target.evaluate(script)

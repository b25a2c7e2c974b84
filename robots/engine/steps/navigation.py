"""goto, expect_screen, which_screen."""

from __future__ import annotations

from robots.engine.steps.context import StepContext
from robots.errors import StepFailed
from robots.language.model import ExpectScreen, GoTo, WhichScreen


def goto(ctx: StepContext, step: GoTo) -> None:
    response = ctx.page.goto(ctx.text(step.goto), wait_until="load", timeout=ctx.timeout_s * 1000)
    if response is not None and response.status >= 500:
        raise StepFailed(f"le portail a répondu HTTP {response.status} ({response.status_text})")


def expect_screen(ctx: StepContext, step: ExpectScreen) -> None:
    ctx.expect_screen(step.expect_screen)


def which_screen(ctx: StepContext, step: WhichScreen) -> None:
    ctx.scope[step.which_screen.into] = ctx.expect_any_screen(step.which_screen.among)

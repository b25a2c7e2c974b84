"""goto, expect_screen."""

from __future__ import annotations

from robots.flow_model import ExpectScreen, GoTo
from robots.runner import StepContext


def goto(ctx: StepContext, step: GoTo) -> None:
    ctx.page.goto(ctx.text(step.goto), wait_until="load", timeout=ctx.timeout_s * 1000)


def expect_screen(ctx: StepContext, step: ExpectScreen) -> None:
    ctx.expect_screen(step.expect_screen)

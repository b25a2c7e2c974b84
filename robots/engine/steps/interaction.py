"""fill, click."""

from __future__ import annotations

from robots.engine import locate
from robots.engine.steps.context import StepContext
from robots.language.model import Click, Fill


def fill(ctx: StepContext, step: Fill) -> None:
    _, field = ctx.locate(step.fill.element)
    field.fill(ctx.text(step.fill.value), timeout=ctx.timeout_s * 1000)


_OPENS_A_TAB = "e => (e.closest('a, form') || {}).target === '_blank'"


def click(ctx: StepContext, step: Click) -> None:
    _, target = ctx.locate(step.click)
    if locate.evaluate_now(target, _OPENS_A_TAB, ctx.timeout_s):
        # The DGFiP portal may open Chorus Pro in a new tab: the robot follows it, as a person would.
        with ctx.page.context.expect_page(timeout=ctx.timeout_s * 1000) as new_tab:
            target.click(timeout=ctx.timeout_s * 1000)
        ctx.switch_to(new_tab.value)
    else:
        target.click(timeout=ctx.timeout_s * 1000)
    # A click that submits a form starts a full page load: let it finish before the next step looks.
    ctx.page.wait_for_load_state("load", timeout=ctx.timeout_s * 1000)

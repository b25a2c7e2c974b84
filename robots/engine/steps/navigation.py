"""goto, expect_screen, which_screen, remember_address, reopen."""

from __future__ import annotations

from loguru import logger
from playwright.sync_api import Response

from robots.engine.steps.context import StepContext
from robots.errors import StepFailed
from robots.language.model import ExpectScreen, GoTo, RememberAddress, Reopen, WhichScreen


def goto(ctx: StepContext, step: GoTo) -> None:
    _answered(ctx.page.goto(ctx.text(step.goto), wait_until="load", timeout=ctx.timeout_s * 1000))


def _answered(response: Response | None) -> None:
    if response is not None and response.status >= 500:
        raise StepFailed(f"le portail a répondu HTTP {response.status} ({response.status_text})")


def remember_address(ctx: StepContext, step: RememberAddress) -> None:
    ctx.runner.addresses[ctx.text(step.remember_address)] = ctx.page.url


def reopen(ctx: StepContext, step: Reopen) -> None:
    name = ctx.text(step.reopen)
    address = ctx.runner.addresses.get(name)
    if address is None:
        logger.debug("  aucune adresse notée sous « {} » : les étapes suivantes y mènent", name)
        return
    ctx.page_changed()
    _answered(ctx.open_address(address))


def expect_screen(ctx: StepContext, step: ExpectScreen) -> None:
    ctx.expect_screen(step.expect_screen)


def which_screen(ctx: StepContext, step: WhichScreen) -> None:
    ctx.scope[step.which_screen.into] = ctx.expect_any_screen(step.which_screen.among)

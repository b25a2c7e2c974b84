"""What happens inside a step, for the observers that want it (recordings draw pick_row's paging).

A step implementation calls these; an observer that defines the matching method is told, the
others are not bothered. Observers are the runner's (`Runner.observers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loguru import logger

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from robots.engine.steps.context import StepContext
    from robots.language.catalogue import ElementHandle
    from robots.language.model import Step


def next_page(ctx: StepContext, step: Step, table: ElementHandle, page_number: int) -> None:
    """The row is not on page `page_number`: the step is about to turn to the next page."""
    _tell(ctx, "on_next_page", step, table, page_number)


def row_found(
    ctx: StepContext, step: Step, table: ElementHandle, row: Locator, cells: dict[str, str], page: int
) -> None:
    """The row is on the page shown (page `page` of the table), before the step acts on it."""
    _tell(ctx, "on_row_found", step, table, row, cells, page)


def _tell(ctx: StepContext, method: str, *args: Any) -> None:
    for observer in getattr(ctx.runner, "observers", []):
        hook = getattr(observer, method, None)
        if hook is None:
            continue
        try:
            hook(ctx, *args)
        except Exception as exc:  # noqa: BLE001 - watching a step never breaks it
            logger.debug("{} : {}", method, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

"""Paged tables: pick_row (find the row whose columns hold values, paging as needed), read_table."""

from __future__ import annotations

import time

from playwright.sync_api import Locator

from robots import locate
from robots.catalogue import ElementHandle
from robots.errors import StepFailed
from robots.flow_model import PickRow, ReadTable
from robots.runner import StepContext

MAX_PAGES = 500


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def headers_of(table: Locator) -> list[str]:
    cells = table.locator("thead th")
    if not cells.count():
        cells = table.locator("tr").first.locator("th")
    return [" ".join(t.split()) for t in cells.all_inner_texts()]


def rows_of(table: Locator, headers: list[str]) -> list[tuple[Locator, dict[str, str]]]:
    rows = []
    body_rows = table.locator("tbody tr")
    for index in range(body_rows.count()):
        row = body_rows.nth(index)
        cells = [" ".join(t.split()) for t in row.locator("td").all_inner_texts()]
        if len(cells) >= len(headers) and headers:
            rows.append((row, dict(zip(headers, cells, strict=False))))
    return rows


def column_of(headers: list[str], wanted: str, handle: ElementHandle) -> str:
    for header in headers:
        if _normalise(header) == _normalise(wanted):
            return header
    raise StepFailed(f"colonne « {wanted} » absente du tableau « {handle.ref} » (colonnes : {', '.join(headers)})")


def next_page(ctx: StepContext, handle: ElementHandle, table: Locator) -> bool:
    """Goes to the table's next page; False on the last page."""
    found = locate.first_matching(ctx.page, handle.element.next_page)
    if found is None or not found[1].is_enabled():
        return False
    before = table.locator("tbody").inner_text()
    found[1].click(timeout=ctx.timeout_s * 1000)
    deadline = time.monotonic() + ctx.timeout_s
    while time.monotonic() < deadline:
        try:
            ctx.page.wait_for_load_state("load")
            if locate.is_shown(ctx.page, handle.screen) and table.locator("tbody").inner_text() != before:
                return True
        except Exception:  # noqa: BLE001 - the page is being replaced
            pass
        time.sleep(locate.POLL_SECONDS)
    raise StepFailed(f"la page suivante du tableau « {handle.ref} » ne s'est pas affichée")


def pick_row(ctx: StepContext, step: PickRow) -> None:
    args = step.pick_row
    handle, table = ctx.locate(args.table)
    headers = headers_of(table)
    wanted = {column_of(headers, column, handle): ctx.text(value) for column, value in args.where.items()}
    page_number = 0
    for page_number in range(1, MAX_PAGES + 1):  # noqa: B007 - reported below
        for row, cells in rows_of(table, headers):
            if all(_normalise(cells[c]) == _normalise(v) for c, v in wanted.items()):
                if args.into:
                    ctx.scope[args.into] = cells
                if args.click:
                    _click_row_action(ctx, handle, row, args.click)
                return
        if not next_page(ctx, handle, table):
            break
    criteria = ", ".join(f"{c} = « {v} »" for c, v in wanted.items())
    raise StepFailed(
        f"aucune ligne où {criteria} dans « {handle.element.description or handle.ref} » "
        f"({page_number} page(s) parcourue(s))"
    )


def _click_row_action(ctx: StepContext, handle: ElementHandle, row: Locator, action: str) -> None:
    fallbacks = handle.element.row_actions.get(action)
    if not fallbacks:
        raise StepFailed(f"action « {action} » inconnue pour le tableau « {handle.ref} »")
    for spec in fallbacks:
        button = locate.build(row, spec)  # type: ignore[arg-type]
        if button.count():
            button.click(timeout=ctx.timeout_s * 1000)
            ctx.page.wait_for_load_state("load")
            return
    raise StepFailed(f"action « {action} » introuvable sur la ligne du tableau « {handle.ref} »")


def read_table(ctx: StepContext, step: ReadTable) -> None:
    handle, table = ctx.locate(step.read_table.element)
    headers = headers_of(table)
    lines: list[dict[str, str]] = []
    for _ in range(MAX_PAGES):
        lines.extend(cells for _, cells in rows_of(table, headers))
        if not step.read_table.all_pages or not next_page(ctx, handle, table):
            break
    ctx.scope[step.read_table.into] = lines

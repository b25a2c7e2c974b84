"""Paged tables: pick_row (find the row whose columns hold values, paging as needed), read_table."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from robots.engine import locate, observe, ride_through
from robots.engine.steps.context import KeptPage, StepContext
from robots.errors import NOT_IN_TABLE, PORTAL_UNAVAILABLE, StepFailed
from robots.language.catalogue import ElementHandle
from robots.language.model import PickRow, ReadTable
from robots.store.crash_points import crash_point
from robots.support.parsers import PARSERS, ParseError

MAX_PAGES = 500


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


# One evaluation reads a whole page of a table: its headers, and the text of every cell of every row.
_READ_PAGE_JS = """
table => {
  const clean = e => (e.innerText || '').split(/\\s+/).filter(Boolean).join(' ');
  let headers = [...table.querySelectorAll('thead th')];
  if (!headers.length) headers = [...(table.querySelector('tr')?.querySelectorAll('th') ?? [])];
  const rows = [...table.querySelectorAll('tbody tr')].map(row => [...row.querySelectorAll('td')].map(clean));
  return {headers: headers.map(clean), rows};
}
"""


@dataclass
class TablePage:
    headers: list[str]
    cells: list[list[str]]  # every body row, in order (`tbody tr`, as `row()` counts them)

    @classmethod
    def read(cls, table: Locator) -> TablePage:
        found = locate.evaluate_now(table, _READ_PAGE_JS)
        return cls(found["headers"], found["rows"])

    def rows(self) -> list[tuple[int, dict[str, str]]]:
        """(index, column → text) for each row with as many cells as headers."""
        if not self.headers:
            return []
        return [
            (index, dict(zip(self.headers, cells, strict=False)))
            for index, cells in enumerate(self.cells)
            if len(cells) >= len(self.headers)
        ]


def row(table: Locator, index: int) -> Locator:
    return table.locator("tbody tr").nth(index)


def column_of(headers: list[str], wanted: str, handle: ElementHandle) -> str:
    for header in headers:
        if _normalise(header) == _normalise(wanted):
            return header
    raise StepFailed(f"colonne « {wanted} » absente du tableau « {handle.ref} » (colonnes : {', '.join(headers)})")


def next_page(ctx: StepContext, handle: ElementHandle, table: Locator, page: Page | None = None) -> bool:
    """Goes to the table's next page (in `page`, the step's page by default); False on the last page."""
    page = page or ctx.page
    found = locate.first_matching(page, handle.element.next_page)
    if found is None or not found[1].is_enabled():
        return False
    _turn(ctx, handle, table, page, found[1], "suivante")
    return True


def _turn(ctx: StepContext, handle: ElementHandle, table: Locator, page: Page, button: Locator, which: str) -> None:
    """Clicks a button of the table's pager and waits for the rows to change. A page of the table that meets a
    fault of the portal (5xx, « erreur technique », no answer) is asked for again, not the whole table from its
    first page: a table of twenty pages read under 10 % of failing pages would never be read whole."""
    body = table.locator("tbody")
    before = body.inner_text()
    button.click(timeout=ctx.timeout_s * 1000)
    ctx.page_changed()
    fault = _until_shown(ctx, page, partial(_turned, ctx, handle, page, body, before), f"page {which} du tableau")
    if fault is not None:
        raise StepFailed(f"la page {which} du tableau « {handle.ref} » ne s'est pas affichée ({fault.detail})",
                         kind=fault.kind if fault.transient else None)  # fmt: skip


def _until_shown(ctx: StepContext, page: Page, shown: Callable[[], bool], what: str) -> ride_through.Fault | None:
    """Waits for `shown()`; a page that meets a fault of the portal is reloaded, within the retry policy. None once
    shown, else the fault that stopped it."""
    policy: ride_through.RetryPolicy = ctx.runner.retry
    for done in itertools.count():
        if shown():
            return None
        fault = ride_through.diagnose_page(page, ctx.catalogue)
        if not (fault.transient and fault.kind == PORTAL_UNAVAILABLE) or done >= policy.attempts:
            return fault
        delay = policy.delay(done)
        logger.warning("  {} : {} ; demandée à nouveau dans {:.1f} s ({}/{})", what, fault.detail, delay, done + 1,
                       policy.attempts)  # fmt: skip
        page.wait_for_timeout(delay * 1000)  # Playwright's wait: the other workers go on meanwhile
        with contextlib.suppress(PlaywrightError):  # a reload that fails is diagnosed at the next look
            page.reload(wait_until="load", timeout=ctx.timeout_s * 1000)
        ctx.page_changed()
    raise AssertionError("unreachable")


def _turned(ctx: StepContext, handle: ElementHandle, page: Page, body: Locator, before: str) -> bool:
    if ride_through.answered_with_failure(page):
        return False  # a page without the table: Playwright's `not_to_have_text` would wait its whole timeout
    try:
        # Server-side paging replaces the page, script paging the rows: either way the rows change.
        expect(body).not_to_have_text(before, timeout=ctx.timeout_s * 1000)
        page.wait_for_load_state("load", timeout=ctx.timeout_s * 1000)
    except (AssertionError, PlaywrightError):
        return False
    return locate.wait_for_screen(page, handle.screen, ctx.timeout_s, ctx.catalogue.error_screens(),
                                  partial(ride_through.answered_with_failure, page))  # fmt: skip


@dataclass
class Found:
    page: Page
    table: Locator
    index: int
    cells: dict[str, str]
    pages_seen: int


@dataclass
class Pages:
    seen: int


def find_row(
    ctx: StepContext, handle: ElementHandle, page: Page, where: dict[str, str], step: PickRow | None = None
) -> Found | Pages:
    """The first row whose columns hold `where`, from the table's current page on; else the pages seen.
    `step`: its observers (recordings) see each page turned and the row found."""
    table = ctx.locate(handle.ref)[1] if page is ctx.page else _table_in(ctx, handle, page)
    wanted: dict[str, str] | None = None
    for seen in range(1, MAX_PAGES + 1):
        shown = TablePage.read(table)
        if wanted is None:
            wanted = {column_of(shown.headers, c, handle): v for c, v in where.items()}
        for index, cells in shown.rows():
            if all(_normalise(cells[c]) == _normalise(v) for c, v in wanted.items()):
                if step is not None:
                    observe.row_found(ctx, step, handle, row(table, index), cells, seen)
                return Found(page, table, index, cells, seen)
        if step is not None:
            observe.next_page(ctx, step, handle, seen)
        if not next_page(ctx, handle, table, page):
            return Pages(seen)
    return Pages(MAX_PAGES)


def _table_in(ctx: StepContext, handle: ElementHandle, page: Page) -> Locator:
    """The table in `page`, checked there: its screen shown, the table visible."""
    found = locate.first_matching(page, handle.element.find) if locate.is_shown(page, handle.screen) else None
    if found is None:
        raise StepFailed(f"tableau « {handle.ref} » absent de la page gardée")
    return found[1]


def pick_row(ctx: StepContext, step: PickRow) -> None:
    """Finds the row, then clicks its action. With the runner's `table_tabs`, the address of the table's page where
    the row was found is kept and the row's link is followed, as a person opens each structure of a page of « Mes
    structures » in a tab of their own: the next lookup starts from that page (reopened), not from the first."""
    args = step.pick_row
    handle = ctx.handle(args.table)
    where = {column: ctx.text(value) for column, value in args.where.items()}
    found: Found | Pages | KeptPage | None = None
    if args.if_several is not None and not all(where.values()):
        found = _only_row(ctx, handle, where, args.if_several)
    kept = ctx.runner.kept_pages.get(handle.ref)
    if found is None and args.click and kept is not None and kept.row == (where, args.click):
        found = kept  # the row just followed, asked for again (the reset after the reading): its link, no table
    if found is None and args.click:
        found = _from_kept_page(ctx, handle, where, step)
    if found is None:
        found = find_row(ctx, handle, ctx.page, where, step)
    if isinstance(found, Pages):
        criteria = ", ".join(f"{c} = « {v} »" for c, v in where.items())
        raise StepFailed(
            f"aucune ligne où {criteria} dans « {handle.element.description or handle.ref} » "
            f"({found.seen} page(s) parcourue(s))",
            kind=NOT_IN_TABLE,
        )
    if args.into:
        ctx.scope[args.into] = _parsed(found.cells, args.parse, handle)
    crash_point("in-mes-structures")
    if isinstance(found, KeptPage):
        _follow(ctx, handle, found)
    elif args.click:
        _click_row_action(ctx, handle, found, (where, args.click))


def _only_row(ctx: StepContext, handle: ElementHandle, where: dict[str, str], if_several: str) -> Found | None:
    """`where` with an empty value: the only row holding the other values (on the table's page shown); several
    stop the flow with `if_several`, ${choices} listing the rows' values of the empty columns."""
    table = ctx.locate(handle.ref)[1]
    shown = TablePage.read(table)
    wanted = {column_of(shown.headers, c, handle): v for c, v in where.items()}
    rows = [(i, cells) for i, cells in shown.rows()
            if all(_normalise(cells[c]) == _normalise(v) for c, v in wanted.items() if v)]  # fmt: skip
    if len(rows) == 1:
        index, cells = rows[0]
        return Found(ctx.page, table, index, cells, 1)
    if not rows:
        return None
    empty = [c for c, v in wanted.items() if not v]
    ctx.scope["choices"] = ", ".join(" ".join(cells[c] for c in empty) for _, cells in rows)
    raise StepFailed(ctx.text(if_several))


def _parsed(cells: dict[str, str], parse: dict[str, str], handle: ElementHandle) -> dict[str, str]:
    """The row's cells, those `parse` names read by their parser (a date as ISO 8601…)."""
    parsed = dict(cells)
    for wanted, parser in parse.items():
        column = next((c for c in cells if _normalise(c) == _normalise(wanted)), None)
        if column is None:
            columns = ", ".join(cells)
            raise StepFailed(f"colonne « {wanted} » absente du tableau « {handle.ref} » (colonnes : {columns})")
        try:
            parsed[column] = PARSERS[parser](cells[column])
        except ParseError as exc:
            raise StepFailed(f"« {handle.ref} », colonne « {column} » : {exc}") from None
    return parsed


def _from_kept_page(
    ctx: StepContext, handle: ElementHandle, where: dict[str, str], step: PickRow
) -> Found | Pages | None:
    """The row searched from the table's kept page on (reopened in the work tab), then from its first page (the
    pager's ⏮). Pages: the whole table was searched in vain; None: no page kept. A kept page that meets a fault of
    the portal is asked for again; still failing, the step fails with the portal's fault."""
    kept = ctx.runner.kept_pages.get(handle.ref)
    if kept is None:
        return None
    with contextlib.suppress(PlaywrightError):  # a page that fails is asked for again just below
        ctx.open_address(kept.address)
    ctx.page_changed()
    page = ctx.page
    fault = _until_shown(ctx, page, partial(_kept_page_shown, page, handle), "page gardée du tableau")
    if fault is not None:
        ctx.runner.kept_pages.pop(handle.ref, None)  # the next structure opens the table as the flow says
        raise StepFailed(f"la page gardée de « {handle.ref} » ne s'est pas affichée ({fault.detail})",
                         kind=fault.kind if fault.transient else None)  # fmt: skip
    found = find_row(ctx, handle, page, where, step)
    if isinstance(found, Pages):
        found = _from_first_page(ctx, handle, page, where, step)
    if not isinstance(found, Found):
        ctx.runner.kept_pages.pop(handle.ref, None)
    return found


def _kept_page_shown(page: Page, handle: ElementHandle) -> bool:
    return not ride_through.answered_with_failure(page) and locate.is_shown(page, handle.screen)


def _from_first_page(
    ctx: StepContext, handle: ElementHandle, kept: Page, where: dict[str, str], step: PickRow
) -> Found | Pages | None:
    button = locate.first_matching(kept, handle.element.first_page) if handle.element.first_page else None
    if button is None:
        return None
    if not button[1].is_enabled():  # already the first page: the whole table was searched
        return Pages(1)
    logger.info("  « {} » : retour à la première page", handle.element.description or handle.ref)
    _turn(ctx, handle, _table_in(ctx, handle, kept), kept, button[1], "première")
    return find_row(ctx, handle, kept, where, step)


# The address a row's action leads to, when it is a plain link (what « open in a new tab » would open).
_LINK_ADDRESSES = """
els => els.map(e => { const a = e.closest('a[href]');
                      return a && !/^\\s*(#|javascript:)/i.test(a.getAttribute('href')) ? a.href : null; })
"""


def _click_row_action(
    ctx: StepContext, handle: ElementHandle, found: Found, sought: tuple[dict[str, str], str]
) -> None:
    action = sought[1]
    fallbacks = handle.element.row_actions.get(action)
    if not fallbacks:
        raise StepFailed(
            f"action « {action} » inconnue pour le tableau « {handle.ref} »{ctx.catalogue.file_of(handle.screen.name)}"
        )
    line = row(found.table, found.index)
    for spec in fallbacks:
        button = locate.build(line, spec)  # type: ignore[arg-type]
        addresses = button.evaluate_all(_LINK_ADDRESSES)  # one round trip: is it there, where does it lead
        if not addresses:
            continue
        address = addresses[0] if ctx.runner.table_tabs else None
        if address:
            _follow(ctx, handle, KeptPage(ctx.page.url, sought, found.cells, address))
            return
        button.click(timeout=ctx.timeout_s * 1000)
        ctx.page_changed()
        ctx.page.wait_for_load_state("load", timeout=ctx.timeout_s * 1000)
        return
    raise StepFailed(
        f"action « {action} » introuvable sur la ligne du tableau « {handle.ref} »"
        f"{ctx.catalogue.file_of(handle.screen.name)}"
    )


def _follow(ctx: StepContext, handle: ElementHandle, kept: KeptPage) -> None:
    """The row's link, followed in the work tab; the table's page it leaves is kept, by its address."""
    response = ctx.open_address(kept.link, referer=kept.address)
    ctx.runner.kept_pages[handle.ref] = kept
    ctx.page_changed()
    if response is not None and response.status >= 500:
        raise StepFailed(f"le portail a répondu HTTP {response.status} ({response.status_text})")


def read_table(ctx: StepContext, step: ReadTable) -> None:
    handle, table = ctx.locate(step.read_table.element)
    lines: list[dict[str, str]] = []
    for _ in range(MAX_PAGES):
        lines.extend(cells for _, cells in TablePage.read(table).rows())
        if not step.read_table.all_pages or not next_page(ctx, handle, table):
            break
    ctx.scope[step.read_table.into] = lines

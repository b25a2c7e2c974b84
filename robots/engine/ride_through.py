"""Riding through a flaky portal, step by step: what went wrong, and whether the step may simply be run again.

When a step fails, the page says why (`diagnose`): a 5xx answer, the portal's « erreur technique » page, a
timeout or a network error are faults of the portal (`portal_unavailable`); a login screen where a portal
screen was expected is an expired session (`session_expired`); anything else is a screen the catalogue does
not recognise. A step whose command is repeatable (`Step.repeatable`: navigation, reads, waits — never a click,
which may submit a reset) is run again after a fault, with backoff, once the page is restored: its last
navigation loaded again if it was a GET (a POST is never sent again), a `goto` made again. Past the retries,
or for a step that is not repeatable, the failure carries its kind: the nightly job then logs in again or
re-reads the structure before deciding anything (robots/jobs/renewal/resume.py).
"""

from __future__ import annotations

import random
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from robots.engine import locate
from robots.errors import PORTAL_REFUSED, PORTAL_UNAVAILABLE, SCREEN_NOT_RECOGNISED, SESSION_EXPIRED, StepFailed
from robots.language import model as m

# Screens that mean « logged out »: seen where a portal screen was expected, the session has ended.
LOGIN_SCREENS = ("dgfip_authentification", "chorus_connexion", "services_connexion", "services_authentification")
TECHNICAL_ERROR_SCREEN = "erreur_technique"
_FAILURES = (StepFailed, PlaywrightError, TimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """How a repeatable step is run again after a fault: `attempts` more times, waiting `backoff_s`, then twice
    as long each time (at most `max_backoff_s`), with jitter so that workers do not knock together."""

    attempts: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 20.0

    @classmethod
    def of(cls, settings: Any) -> RetryPolicy:
        return cls(settings.retry_attempts, settings.retry_backoff_s, max(settings.retry_backoff_s, cls.max_backoff_s))

    def delay(self, done: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2**done) * random.uniform(0.5, 1.0)


@dataclass
class Navigation:
    """The last navigation of a tab's main frame: how it was asked for, how the portal answered."""

    method: str = "GET"
    via_form: bool = False  # a POST led here, through a redirect (POST, 303, GET)
    url: str = ""
    status: int | None = None
    failed: str | None = None


_NAVIGATIONS: weakref.WeakKeyDictionary[Page, Navigation] = weakref.WeakKeyDictionary()


def track(page: Page) -> None:
    """Remembers the tab's main-frame navigations (method, status, network failure) for `diagnose`."""
    if page in _NAVIGATIONS:
        return
    navigation = _NAVIGATIONS[page] = Navigation()

    def main_frame(request: Any) -> bool:
        try:
            return bool(request.is_navigation_request() and request.frame == page.main_frame)
        except PlaywrightError:
            return False

    def on_request(request: Any) -> None:
        if main_frame(request):
            navigation.method, navigation.url = request.method, request.url
            navigation.via_form = _method_of(request) != "GET"
            navigation.status = navigation.failed = None

    def on_response(response: Any) -> None:
        if main_frame(response.request):
            navigation.status = response.status

    def on_failed(request: Any) -> None:
        if main_frame(request):
            navigation.failed = request.failure or "échec réseau"

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("requestfailed", on_failed)


def _method_of(request: Any) -> str:
    """POST when the page came from a form, even through a redirect (POST, 303, GET): a step that led there
    may have changed the portal, so neither the page nor the step is done again."""
    methods = []
    while request is not None:
        methods.append(request.method)
        request = request.redirected_from
    return next((method for method in methods if method != "GET"), "GET")


def navigation(page: Page) -> Navigation | None:
    return _NAVIGATIONS.get(page)


def answered_with_failure(page: Page) -> bool:
    """The tab's last navigation failed or was answered with a 5xx: the screen a step waits for will not come.
    Waits end on it at once instead of at their timeout (15 s a failing page, under faults)."""
    nav = navigation(page)
    return nav is not None and (nav.failed is not None or (nav.status is not None and nav.status >= 500))


@dataclass(frozen=True)
class Fault:
    kind: str
    detail: str
    transient: bool  # worth trying again


def diagnose(ctx: Any, exc: BaseException) -> Fault:
    """What the page shows after a failed step: a fault of the portal, an expired session, or a screen not known."""
    return diagnose_page(ctx.page, ctx.catalogue, str(exc))


def diagnose_page(page: Page, catalogue: Any, text: str = "") -> Fault:
    """What `page` shows (any tab), `text` being what failed."""
    nav = navigation(page) or Navigation()
    if nav.failed or "net::ERR_" in text:
        return Fault(PORTAL_UNAVAILABLE, f"réseau : {nav.failed or _first_line(text)}", True)
    status = nav.status if nav.status is not None else _status_in(text)  # a tab opened by the step: its words
    if status is not None and status >= 500:
        return Fault(PORTAL_UNAVAILABLE, f"le portail a répondu HTTP {status}", True)
    login = _login_screen(page, catalogue)  # before the error screens: a login page may show an alert too
    if login is not None:
        return Fault(SESSION_EXPIRED, f"la session a pris fin (écran « {login.title} »)", True)
    shown = _identify(page, catalogue)
    if shown is not None and shown.name == TECHNICAL_ERROR_SCREEN:
        return Fault(PORTAL_UNAVAILABLE, "page « erreur technique » du portail", True)
    if shown is not None and shown.kind == "error":
        return Fault(PORTAL_REFUSED, "le portail affiche une erreur", False)
    # A timeout is the portal's fault while its page has not come; on a page that came (another screen, or
    # one the catalogue does not know) waiting again would only wait as long again.
    if not _loaded(page, nav):
        return Fault(PORTAL_UNAVAILABLE, "délai dépassé : la page n'est pas venue", True)
    return Fault(SCREEN_NOT_RECOGNISED, "", False)


def attempt(ctx: Any, step: m.Step, action: Callable[[], None]) -> None:
    """Runs a step; after a fault of the portal, runs it again (repeatable steps only), else names the failure."""
    policy: RetryPolicy = getattr(ctx.runner, "retry", None) or RetryPolicy()
    done = 0
    start = _Start(ctx.page.url, _form_or_get(navigation(ctx.page) or Navigation()))
    while True:
        try:
            action()
            return
        except _FAILURES as exc:
            if isinstance(exc, StepFailed) and exc.kind:
                raise  # named already (a flow's `fail`, a step inside a sub-flow)
            fault = diagnose(ctx, exc)
            again = fault.transient and fault.kind == PORTAL_UNAVAILABLE and step.repeatable
            if not again or done >= policy.attempts:
                raise _named(exc, fault) from None
            delay = policy.delay(done)
            done += 1
            logger.warning("  {} : l'étape est reprise dans {:.1f} s ({}/{})", fault.detail, delay, done,
                           policy.attempts)  # fmt: skip
            if not _restore(ctx, step, delay, start):
                raise _named(exc, fault) from None


# Steps that turn a table's pages: run again from the page they started on (the table's first page).
_TURNS_PAGES = (m.ReadTable, m.PickRow)


@dataclass(frozen=True)
class _Start:
    """The page a step started on: where it starts again (a table read again from its first page)."""

    url: str
    method: str


def _restore(ctx: Any, step: m.Step, delay_s: float, start: _Start) -> bool:
    """The page the step started on, loaded again — only if it came from a GET (never a form sent twice, nor a
    page reached from one); False when that cannot be."""
    page: Page = ctx.page
    if not isinstance(step, _TURNS_PAGES):  # the page the step waited on or read: the current one
        start = _Start(page.url, (navigation(page) or Navigation()).method)
    if not isinstance(step, m.GoTo) and (start.method != "GET" or not start.url.startswith("http")):
        logger.warning("  la page vient d'un envoi de formulaire ({}) : il n'est jamais renvoyé", start.method)
        return False
    page.wait_for_timeout(delay_s * 1000)  # Playwright's wait: the other workers go on meanwhile
    ctx.page_changed()
    if isinstance(step, m.GoTo):
        return True
    try:
        if page.url == start.url:
            page.reload(wait_until="load", timeout=ctx.timeout_s * 1000)
        else:
            page.goto(start.url, wait_until="load", timeout=ctx.timeout_s * 1000)
    except PlaywrightError as exc:
        logger.warning("  rechargement en échec : {}", _first_line(str(exc)))  # the step fails again, is diagnosed
    return True


def _form_or_get(nav: Navigation) -> str:
    return "POST" if nav.via_form else nav.method


def _status_in(text: str) -> int | None:
    found = re.search(r"HTTP (\d{3})", text)
    return int(found.group(1)) if found else None


def _named(exc: BaseException, fault: Fault) -> StepFailed:
    reason = exc.reason if isinstance(exc, StepFailed) else _first_line(str(exc))
    if fault.detail and fault.detail not in reason:
        reason = f"{reason} ({fault.detail})"
    screenshot = exc.screenshot if isinstance(exc, StepFailed) else None
    exit_code = exc.exit_code if isinstance(exc, StepFailed) else 1
    return StepFailed(reason, screenshot=screenshot, exit_code=exit_code, kind=fault.kind)


def _login_screen(page: Page, catalogue: Any) -> Any:
    for name in LOGIN_SCREENS:
        screen = catalogue.screen(name)
        try:
            if screen is not None and locate.is_shown(page, screen):
                return screen
        except Exception:  # noqa: BLE001 - a page that went away
            return None
    return None


def _identify(page: Page, catalogue: Any) -> Any:
    try:
        return locate.identify(page, catalogue)
    except Exception:  # noqa: BLE001 - a page that went away: nothing known
        return None


def _loaded(page: Page, nav: Navigation) -> bool:
    if nav.status is None and nav.url:
        return False
    try:
        return bool(page.evaluate("document.readyState") == "complete")
    except PlaywrightError:
        return False


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text

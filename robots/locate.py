"""Turns catalogue locators into Playwright locators, and tells which screen is shown."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator as PwLocator
from playwright.sync_api import Page

from robots.catalogue import Catalogue, Element, Locator, Screen

# Blocks a `within` heading can title: Bootstrap panels, dialogs, sections, fieldsets, forms.
_BLOCK_XPATH = (
    "xpath=ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' panel ') "
    "or contains(concat(' ', normalize-space(@class), ' '), ' card ') or @role='dialog' "
    "or @role='region' or self::section or self::fieldset or self::dialog or self::form][1]"
)
POLL_SECONDS = 0.1


def _text(value: str, exact: bool) -> str | re.Pattern[str]:
    return value if exact else re.compile(re.escape(value), re.IGNORECASE)


def build(page: Page, spec: Locator) -> PwLocator:
    scope: Page | PwLocator = page
    if spec.within:
        heading = page.get_by_role("heading", name=_text(spec.within, False))
        scope = heading.first.locator(_BLOCK_XPATH)
    if spec.role:
        name = _text(spec.name, spec.exact) if spec.name else None
        found = scope.get_by_role(spec.role, name=name, exact=spec.exact if spec.name else None)  # type: ignore[arg-type]
    elif spec.label:
        found = scope.get_by_label(_text(spec.label, spec.exact))
    elif spec.text:
        found = scope.get_by_text(_text(spec.text, spec.exact))
    elif spec.placeholder:
        found = scope.get_by_placeholder(_text(spec.placeholder, spec.exact))
    elif spec.title:
        found = scope.get_by_title(_text(spec.title, spec.exact))
    elif spec.block:
        found = scope.get_by_role("heading", name=_text(spec.block, spec.exact)).first.locator(_BLOCK_XPATH)
    else:
        found = scope.locator(str(spec.css))
    return found.nth(spec.nth) if spec.nth is not None else found.first


def first_matching(page: Page, fallbacks: list[Locator]) -> tuple[int, PwLocator] | None:
    """The first fallback that finds a visible element now, with its index."""
    for index, spec in enumerate(fallbacks):
        locator = build(page, spec)
        try:
            if locator.count() and locator.is_visible():
                return index, locator
        except Exception:  # noqa: BLE001 - a detached frame during navigation: try again later
            continue
    return None


def wait_matching(page: Page, fallbacks: list[Locator], timeout_s: float) -> tuple[int, PwLocator] | None:
    deadline = time.monotonic() + timeout_s
    while True:
        found = first_matching(page, fallbacks)
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(POLL_SECONDS)


def resolve(page: Page, element: Element, timeout_s: float) -> PwLocator | None:
    found = wait_matching(page, element.find, timeout_s)
    return found[1] if found else None


def is_shown(page: Page, screen: Screen) -> bool:
    return all(first_matching(page, [spec]) for spec in screen.recognise)


def identify(page: Page, catalogue: Catalogue) -> Screen | None:
    """The screen shown now: a dialog wins over the page under it, a page over the frame around it."""
    rank = {"error": 0, "dialog": 1, "page": 2, "frame": 3}
    shown = [s for s in catalogue.screens.values() if is_shown(page, s)]
    shown.sort(key=lambda s: rank[s.kind])
    return shown[0] if shown else None


def wait_for_screen(page: Page, screen: Screen, timeout_s: float, errors: list[Screen] = ()) -> bool:  # type: ignore[assignment]
    """True once `screen` is shown; False after the timeout or as soon as an error screen shows."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if is_shown(page, screen):
                return True
            if any(is_shown(page, error) for error in errors):
                return False
        except Exception:  # noqa: BLE001 - the page navigated while we looked
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)

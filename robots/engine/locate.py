"""Turns catalogue locators into Playwright locators, and tells which screen is shown."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator as PwLocator
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from robots.language.catalogue import Catalogue, Element, Locator, Screen

# Blocks a `within` heading can title: Bootstrap panels, dialogs, sections, fieldsets, forms.
_BLOCK_XPATH = (
    "xpath=ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' panel ') "
    "or contains(concat(' ', normalize-space(@class), ' '), ' card ') or @role='dialog' "
    "or @role='region' or self::section or self::fieldset or self::dialog or self::form][1]"
)
REVEAL_WAIT_MS = 3000  # a collapsed panel opening
REVEAL_LOOK_S = 0.5  # how often hidden fallbacks are looked at again
# Playwright looks for an element at 0, 20, 70, 170, 270 ms, then every 500 ms when the wait may last more than
# 2.5 s (every 100 ms up to 2.5 s, every 50 ms up to 0.5 s): a suggestion list that came at 310 ms was seen at
# 770. Waits are cut in slices of this length, where Playwright looks every 50 ms; between two slices a wait
# also looks whether the portal answered with a failure (`gave_up`).
WAIT_SLICE_S = 0.25
GaveUp = Callable[[], bool]


# What titles a block on the real portals: headings, but also Bootstrap panel titles that are plain <div>s,
# legends, dialog titles (review, Appendix A E1).
_TITLES = "h1, h2, h3, h4, h5, h6, [role=heading], .panel-title, .panel-heading, legend, .modal-title, .card-title"
_ACCENTS = {
    "a": "aàâäáAÀÂÄÁ", "e": "eéèêëEÉÈÊË", "i": "iîïíIÎÏÍ", "o": "oôöóOÔÖÓ", "u": "uùûüúUÙÛÜÚ", "c": "cçCÇ",
    "y": "yÿYŸ", "n": "nñNÑ",
}  # fmt: skip
_APOSTROPHES = "'’`"


def loose(value: str, exact: bool = False) -> re.Pattern[str]:
    """A label as the portals may print it: any case, accents or not, any spacing, any apostrophe."""
    parts = []
    for char in value.strip():
        folded = char.lower()
        base = next((k for k, variants in _ACCENTS.items() if folded in variants.lower()), None)
        if base:
            parts.append(f"[{_ACCENTS[base]}]")
        elif char.isspace():
            if not parts or parts[-1] != r"\s*":
                parts.append(r"\s*")
        elif char in _APOSTROPHES:
            parts.append(f"[{_APOSTROPHES}]")
        else:
            parts.append(re.escape(char))
    body = "".join(parts)
    # Exact: the whole text, but for the « * » that marks a mandatory field.
    return re.compile(rf"^\s*{body}\s*\*?\s*$" if exact else body, re.IGNORECASE)


def _text(value: str, exact: bool) -> re.Pattern[str]:
    return loose(value, exact)


def titled_block(page: Page | PwLocator, title: str, exact: bool = False) -> PwLocator:
    """The block (panel, dialog, section, form) a title names, whether the title is a heading or not."""
    titles = page.locator(_TITLES).filter(has_text=_text(title, exact))
    return titles.first.locator(_BLOCK_XPATH)


# The form control next to a <label> tied to none (no `for`, no ids): the radio button or check box just before
# it, else the first field of the label's container (a form group).
_CONTROL_BESIDE = (
    "xpath=preceding-sibling::input[@type='radio' or @type='checkbox'][1] | ..//*[self::select or self::textarea"
    " or (self::input and not(@type='hidden' or @type='radio' or @type='checkbox'))]"
)


def _labelled(scope: Page | PwLocator, label: re.Pattern[str]) -> PwLocator:
    """The field a label names: tied to it (`for`, wrapping, aria), else the first control beside it."""
    loose_labels = scope.locator("label:not([for]):not(:has(input, select, textarea))")
    beside = loose_labels.filter(has_text=label).locator(_CONTROL_BESIDE)
    return scope.get_by_label(label).or_(beside)


def build(page: Page, spec: Locator, include_hidden: bool = False) -> PwLocator:
    scope: Page | PwLocator = page
    if spec.within:
        scope = titled_block(page, spec.within)
    if spec.role:
        name = _text(spec.name, spec.exact) if spec.name else None
        found = scope.get_by_role(spec.role, name=name, include_hidden=include_hidden or None)  # type: ignore[arg-type]
    elif spec.label:
        found = _labelled(scope, _text(spec.label, spec.exact))
    elif spec.text:
        found = scope.get_by_text(_text(spec.text, spec.exact))
    elif spec.placeholder:
        found = scope.get_by_placeholder(_text(spec.placeholder, spec.exact))
    elif spec.title:
        found = scope.get_by_title(_text(spec.title, spec.exact))
    elif spec.block:
        found = titled_block(scope, spec.block, spec.exact)
    else:
        found = scope.locator(str(spec.css))
    return found.nth(spec.nth) if spec.nth is not None else found.first


def first_matching(page: Page, fallbacks: list[Locator], reveal: bool = False) -> tuple[int, PwLocator] | None:
    """The first fallback that finds a visible element now, with its index. `reveal`: an element inside a
    collapsed panel is shown first, as a person opens the panel before reading it."""
    for index, spec in enumerate(fallbacks):
        locator = build(page, spec)
        try:
            if locator.is_visible():
                return index, locator
            # Hidden in a collapsed panel: roles are looked for among hidden elements too, then shown.
            hidden = build(page, spec, include_hidden=True) if spec.role else locator
            if reveal and hidden.count() and _reveal(page, hidden):
                return index, build(page, spec)
        except Exception:  # noqa: BLE001 - a detached frame during navigation: try again later
            continue
    return None


def any_visible(page: Page, fallbacks: list[Locator]) -> PwLocator:
    """One locator for all the fallbacks (`Locator.or_`), matching a visible element of any of them."""
    return _shown(_union(page, fallbacks))


def wait_visible(locator: PwLocator, timeout_s: float) -> bool:
    """Whether `locator` shows within `timeout_s`, looked at every 50 ms (`WAIT_SLICE_S`)."""
    return _wait_visible(locator, time.monotonic() + timeout_s)


def _wait_visible(locator: PwLocator, deadline: float, gave_up: GaveUp | None = None) -> bool:
    """Playwright's own waiting (it survives navigations); False at the deadline, or as soon as `gave_up` says
    the page will not come (looked at between two slices of WAIT_SLICE_S)."""
    while True:
        until = min(deadline, time.monotonic() + WAIT_SLICE_S)
        remaining_ms = (until - time.monotonic()) * 1000
        try:
            locator.wait_for(state="visible", timeout=max(remaining_ms, 1))
            return True
        except PlaywrightTimeout:
            if until >= deadline or (gave_up and gave_up()):
                return False
        except PlaywrightError:  # the page was replaced while Playwright looked: look again
            if time.monotonic() >= deadline:
                return False


_COLLAPSED = """e => {
  const panel = e.closest('.collapse:not(.in):not(.show), details:not([open])');
  if (!panel) return null;
  if (panel.tagName === 'DETAILS') { panel.open = true; return ''; }
  return panel.id || null;
}"""


def _reveal(page: Page, locator: PwLocator) -> bool:
    """Opens the collapsed panel holding a hidden element (its toggle: data-target, href, aria-controls)."""
    panel = locator.evaluate(_COLLAPSED)
    if panel is None:
        return False
    if panel:
        toggle = page.locator(f'[data-target="#{panel}"], [href="#{panel}"], [aria-controls="{panel}"]').first
        if not toggle.count():
            return False
        toggle.click()
    try:
        locator.wait_for(state="visible", timeout=REVEAL_WAIT_MS)
    except Exception:  # noqa: BLE001 - still hidden: not what we look for
        return False
    return True


def wait_matching(
    page: Page, fallbacks: list[Locator], timeout_s: float, reveal: bool = False
) -> tuple[int, PwLocator] | None:
    """Waits until one fallback shows; returns the first in catalogue order that does, with its index."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = first_matching(page, fallbacks, reveal)
        if found or time.monotonic() >= deadline:
            return found
        # Playwright's own wait for any fallback (a hidden one needs a look of ours: wait less).
        until = min(deadline, time.monotonic() + REVEAL_LOOK_S) if reveal else deadline
        if not _wait_visible(any_visible(page, fallbacks), until) and not reveal:
            return found
    return None


def resolve(page: Page, element: Element, timeout_s: float) -> PwLocator | None:
    found = wait_matching(page, element.find, timeout_s, reveal=True)
    return found[1] if found else None


def is_shown(page: Page, screen: Screen) -> bool:
    """One look per sign: its alternatives as one locator (`or_`), a single round trip each."""
    return all(_visible(any_visible(page, alternatives)) for alternatives in screen.signs)


def shows(page: Page, fallbacks: list[Locator]) -> bool:
    """Whether an element is visible now (a collapsed panel holding it is opened, as `first_matching`).
    Absent — the usual answer of a check such as « compte bloqué ? » — costs one round trip."""
    present = _union(page, fallbacks, include_hidden=True)
    try:
        if not present.count():
            return False
        if _visible(_shown(_union(page, fallbacks))):
            return True
    except PlaywrightError:  # the page was replaced meanwhile: look fallback by fallback
        pass
    return first_matching(page, fallbacks, reveal=True) is not None


def evaluate_now(locator: PwLocator, expression: str, timeout_s: float = 15) -> object:
    """`expression` (a function of the element) on the element `locator` finds, in one round trip
    (`Locator.evaluate` takes three: a handle, the evaluation, the handle's disposal). An element not
    there yet is waited for as `Locator.evaluate` does."""
    wrapped = f"els => {{ const f = ({expression.strip()}); return els.length ? [f(els[0])] : null; }}"
    found = locator.evaluate_all(wrapped)
    if found:
        return found[0]
    return locator.evaluate(expression, timeout=timeout_s * 1000)


def identify(page: Page, catalogue: Catalogue, among: Sequence[str] = ()) -> Screen | None:
    """The screen shown now: a dialog wins over the page under it, a page over the frame around it. `among`: the
    screens a caller already saw shown (a runner's `checked`), ranked without looking again; none: every screen."""
    rank = {"error": 0, "dialog": 1, "page": 2, "frame": 3}
    known = [catalogue.screens[name] for name in among if name in catalogue.screens]
    shown = known or [s for s in catalogue.screens.values() if is_shown(page, s)]
    shown.sort(key=lambda s: rank[s.kind])
    return shown[0] if shown else None


def _union(page: Page, alternatives: Sequence[Locator], include_hidden: bool = False) -> PwLocator:
    """One locator for several (`Locator.or_`), not yet filtered."""
    union = build(page, alternatives[0], include_hidden)
    for spec in alternatives[1:]:
        union = union.or_(build(page, spec, include_hidden))
    return union


def _shown(locator: PwLocator) -> PwLocator:
    return locator.filter(visible=True).first


def wait_for_any_screen(
    page: Page,
    screens: Sequence[Screen],
    timeout_s: float,
    errors: Sequence[Screen] = (),
    gave_up: GaveUp | None = None,
) -> Screen | None:
    """The first of `screens` shown; None after the timeout or as soon as an error screen shows.

    Waits natively on the union of each screen's first sign, then checks each screen whole.
    """
    if len(screens) == 1:
        return screens[0] if wait_for_screen(page, screens[0], timeout_s, errors, gave_up) else None
    deadline = time.monotonic() + timeout_s
    union = _union(page, [spec for screen in [*screens, *errors] for spec in screen.signs[0]])
    while _wait_visible(_shown(union), deadline, gave_up):
        shown = next((screen for screen in screens if is_shown(page, screen)), None)
        if shown or any(is_shown(page, error) for error in errors):
            return shown
        page.wait_for_timeout(50)  # a first sign shows, the rest of its screen not yet
    return None


def wait_for_screen(
    page: Page, screen: Screen, timeout_s: float, errors: Sequence[Screen] = (), gave_up: GaveUp | None = None
) -> bool:
    """True once `screen` is shown; False after the timeout, as soon as an error screen shows, or as soon as
    `gave_up()` (the portal answered with a failure: no screen will come).

    Each sign (its alternatives together) is waited on natively, with (`or_`) the first sign of each
    error screen, so that an error page ends the wait at once.
    """
    deadline = time.monotonic() + timeout_s
    error_signs = [spec for error in errors for spec in error.signs[0]]
    for alternatives in screen.signs:
        wanted = _union(page, alternatives)
        if _visible(_shown(wanted)):
            continue  # the page is there already (the step before waited for its load): one look
        watched = _union(page, [*alternatives, *error_signs])
        if not _wait_visible(_shown(watched), deadline, gave_up):
            return False
        if not errors or _visible(_shown(wanted)):
            continue
        if any(is_shown(page, error) for error in errors):
            return False
        if not _wait_visible(_shown(wanted), deadline, gave_up):  # part of an error screen only: wait for ours alone
            return False
    return True


def _visible(locator: PwLocator) -> bool:
    try:
        return locator.is_visible()
    except PlaywrightError:
        return False

"""read (one value, parsed), read_block (a whole block of a screen into a mapping)."""

from __future__ import annotations

import re

from loguru import logger
from playwright.sync_api import Locator

from robots.engine import locate
from robots.engine.ride_through import LOGIN_SCREENS
from robots.engine.steps.context import StepContext
from robots.errors import StepFailed
from robots.language.catalogue import Element, Screen
from robots.language.model import Read, ReadBlock
from robots.store.crash_points import crash_point
from robots.store.password_read import looks_like_password, password_in_text
from robots.store.sealed import HOW_TO
from robots.support.parsers import PARSERS, ParseError

# What `input_value()` gives for a form control, what `inner_text()` gives for anything else.
_SHOWN_TEXT = "e => ['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName) ? e.value : e.innerText"

# Reads label → value pairs of a block: labelled form controls, then "Libellé : valeur" lines.
_READ_BLOCK_JS = """
block => {
  const pairs = {};
  const clean = t => (t || '').replace(/\\s+/g, ' ').replace(/\\s*[*:]\\s*$/, '').replace(/\\s*\\*$/, '').trim();
  for (const label of block.querySelectorAll('label')) {
    const control = label.control;
    if (!control) continue;
    let value;
    if (control.type === 'checkbox' || control.type === 'radio') value = control.checked;
    else if (control.tagName === 'SELECT') value = control.selectedOptions[0]?.textContent.trim() ?? '';
    else value = control.value;
    pairs[clean(label.textContent)] = value;
  }
  for (const el of block.querySelectorAll('span, dt, th[scope=row], strong')) {
    const text = el.textContent.trim();
    const next = el.nextElementSibling;
    if (text.endsWith(':') && next && !next.querySelector('input, select, textarea')) {
      pairs[clean(text)] = next.textContent.replace(/\\s+/g, ' ').trim();
    }
  }
  return pairs;
}
"""


# The words a page sets apart inside a sentence (« …avec le mot de passe <strong>X</strong> »).
_EMPHASISED_JS = (
    "e => Array.from(e.querySelectorAll('strong, b, code, pre, kbd, samp, mark, em')).map(x => x.textContent.trim())"
)


def emphasised_password(locator: Locator) -> str | None:
    """The one password-shaped word the element sets apart, whole: a password may end with « . » or « , », or
    start with « ( », which a sentence's punctuation would otherwise take from it."""
    shaped = [t for t in locate.evaluate_now(locator, _EMPHASISED_JS) or [] if looks_like_password(t, set_apart=True)]
    return shaped[0] if len(set(shaped)) == 1 else None


def read_value(locator: Locator, element: Element) -> str:
    """The text an element shows (or holds, for a form control), cut by the catalogue's `extract`; for a
    password, the word the sentence sets apart first."""
    if element.read_from == "parent":
        locator = locator.locator("xpath=..")
    if element.sensitive:
        found = emphasised_password(locator)
        if found is not None:
            return found
    raw = str(locate.evaluate_now(locator, _SHOWN_TEXT))  # one round trip, not a tag's then a text's
    if element.extract:
        match = re.search(element.extract, raw)
        if not match:
            raise StepFailed(f"texte inattendu : le format « {element.extract} » ne correspond pas")
        raw = match.group(1)
    return raw.strip()


def read(ctx: StepContext, step: Read) -> None:
    if step.read.seal:  # the read of a generated password: « Confirmer » was clicked
        crash_point("after-reset-confirmed")
    handle = ctx.handle(step.read.element)
    sensitive = handle.element.sensitive or step.read.secret
    try:
        raw = read_value(ctx.locate(step.read.element)[1], handle.element)
        if sensitive and (handle.element.extract or " " in raw) and not looks_like_password(raw, set_apart=True):
            raise StepFailed(f"le texte lu par « {handle.ref} » n'a pas la forme d'un mot de passe")
    except StepFailed as exc:
        if not sensitive:
            raise
        raw = _password_from_page(ctx, step, exc)
    if sensitive:
        ctx.remember_secret(raw)
    try:
        value = PARSERS[step.read.parse](raw)
    except ParseError as exc:
        raise StepFailed(f"lecture de « {handle.ref} » : {exc}") from None
    ctx.scope[step.read.into] = value


def read_block(ctx: StepContext, step: ReadBlock) -> None:
    _, block = ctx.locate(step.read_block.element)
    ctx.scope[step.read_block.into] = block.evaluate(_READ_BLOCK_JS)


def _password_from_page(ctx: StepContext, step: Read, failure: StepFailed) -> str:
    """The catalogue could not read a password: the token of the sentence around it; failing that, the
    page's text is sealed (`seal`) and the structure stops with a message saying where the password is."""
    try:
        text = ctx.page.locator("body").inner_text(timeout=ctx.timeout_s * 1000)
    except Exception:  # noqa: BLE001 - the page is gone: nothing to read or seal
        raise failure from None
    found = password_in_text(text)
    if found:
        ctx.remember_secret(found)
        logger.warning("  « {} » : {} ; mot de passe lu dans la phrase qui l'entoure", step.read.element, failure)
        return found
    if (
        not step.read.seal
        or not text.strip()
        or _browser_error_page(ctx)
        or any(locate.is_shown(ctx.page, s) for s in _no_password_screens(ctx))
    ):
        # An empty page, the browser's own error page (the portal never answered), an error page or a login
        # screen (the session ended) holds no password: nothing to seal; the journal says a reset was requested.
        raise failure
    key = ctx.text(step.read.seal)
    where = ctx.sink.seal(key, text)
    raise StepFailed(
        f"le mot de passe généré n'a pas pu être lu ({failure.reason}) ; le texte de la page, qui le contient, "
        f"est scellé dans {where}. La structure {key} ne sera pas réinitialisée à nouveau avant qu'une personne "
        f"l'ait relevé : {HOW_TO.format(key=key)}"
    )


def _browser_error_page(ctx: StepContext) -> bool:
    return ctx.page.url.startswith(("chrome-error://", "about:"))


def _no_password_screens(ctx: StepContext) -> list[Screen]:
    logins = [screen for name in LOGIN_SCREENS if (screen := ctx.catalogue.screen(name))]
    return [*ctx.catalogue.error_screens(), *logins]

"""What the recording asks the page: the block around an element, where a badge fits, an element's box,
the screen shown, a row's action button and what the sensitive elements show (to scrub it)."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext
from playwright.sync_api import Locator as PwLocator

from robots.engine import locate
from robots.engine.runner import target_ref
from robots.engine.steps.context import StepContext
from robots.language import model as m
from robots.language.catalogue import Catalogue, ElementHandle, Screen
from robots.language.model import Step

# The block a person recognises around an element (its dialog, panel, fieldset), when it fits the window:
# the procedure's picture is cropped to show it whole.
BLOCK_AROUND = """e => {
  const blocks = '.modal-content, [role=dialog], dialog, .panel, .card, fieldset, section, form';
  for (let b = e.parentElement; b && b !== document.body; b = b.parentElement) {
    if (!b.matches(blocks)) continue;
    const r = b.getBoundingClientRect();
    if (r.width < innerWidth * 0.98 && r.height < innerHeight * 0.8 && r.width > 0)
      return {x: Math.round(r.x), y: Math.round(r.y), width: Math.round(r.width), height: Math.round(r.height)};
  }
  return null;
}"""


# Where the numbered badge can go without covering text: the first side of the element whose spot
# shows no text, no field and no button (the page is asked what lies there).
FREE_SIDE = """e => {
  const r = e.getBoundingClientRect(), gap = 18;
  const spots = {right: [r.right + gap, r.top + r.height / 2], left: [r.left - gap, r.top + r.height / 2],
                 above: [r.left + 10, r.top - gap], below: [r.left + 10, r.bottom + gap]};
  const busy = ([x, y]) => {
    if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) return true;
    const o = document.elementFromPoint(x, y);
    if (!o || o === e || e.contains(o)) return true;
    if (o.matches('input, button, select, textarea, a, label, img')) return true;
    return [...o.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  };
  return Object.keys(spots).find(side => !busy(spots[side])) || 'right';
}"""


def row_action(table: ElementHandle, row: PwLocator, step: Step) -> PwLocator | None:
    action = getattr(step.args, "click", None)
    for spec in table.element.row_actions.get(action or "", []):
        button = locate.build(row, spec)  # type: ignore[arg-type]
        if safely(button.count):
            return button
    return None


def sensitive_texts(context: BrowserContext, catalogue: Catalogue) -> list[str]:
    """What the catalogue's sensitive elements show on the pages now open (the value `extract` cuts)."""
    texts: list[str] = []
    for page in context.pages:
        for handle in catalogue.sensitive_elements():
            for spec in handle.element.find:
                text = safely(lambda page=page, spec=spec: _text_of(locate.build(page, spec))) or ""
                found = re.search(handle.element.extract, text) if handle.element.extract else None
                texts += [t.strip() for t in (found.group(1) if found else None, text) if t and len(t.strip()) >= 4]
    return texts


def _text_of(locator: PwLocator) -> str:
    return locator.inner_text(timeout=1000) if locator.count() else ""


def known_screen(ctx: StepContext, step: Step) -> Screen | None:
    """The screen a step names, when the runner has just checked it is shown (a frame is no screen)."""
    if isinstance(step, m.ExpectScreen):
        return ctx.catalogue.screen(step.expect_screen)
    ref = target_ref(step)
    handle = ctx.catalogue.element(ref) if ref else None
    return handle.screen if handle and handle.screen.kind != "frame" else None


def element_box(target: PwLocator) -> dict[str, float] | None:
    box = target.bounding_box(timeout=2000)
    return {k: round(v, 1) for k, v in box.items()} if box else None


def safely(action):  # type: ignore[no-untyped-def]
    try:
        return action()
    except Exception:  # noqa: BLE001 - the page may be navigating
        return None

"""Keeping secrets off the pixels: sensitive elements are blurred before the page paints them.

An init script (run in every page of the context, before the portal's own scripts) marks the
catalogue's sensitive elements with `data-chorus-secret`, again on every DOM change (a
MutationObserver delivers before the next paint), and a style rule blurs marked elements and
password inputs. Videos and the trace's screencast therefore never show them; screenshots also
mask them (`mask_locators`).
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Locator as PwLocator

from robots.engine.runner import sensitive_locators
from robots.engine.steps.context import StepContext
from robots.language.catalogue import Catalogue, Element, Locator

SECRET_ATTR = "data-chorus-secret"
# Login fields too (autocomplete=username): a refused login shows the login typed, on a new page.
HIDDEN = f"[{SECRET_ATTR}], input[type=password], input[autocomplete=username]"

_SCRIPT = """
((specs, attr) => {
  const norm = t => (t || '').replace(/\\s+/g, ' ').trim();
  const same = (text, spec) => spec.exact ? norm(text) === spec.value : norm(text).toLowerCase().includes(spec.low);
  const deepest = found => found.filter(e => !found.some(o => o !== e && e.contains(o)));
  const unseen = ['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT'];
  const blocks = 'section, fieldset, form, dialog, [role=dialog], [role=region], .panel, .card';
  function matches(spec) {
    const all = [...document.querySelectorAll('body *')].filter(e => !unseen.includes(e.tagName));
    switch (spec.kind) {
      case 'css': try { return [...document.querySelectorAll(spec.value)]; } catch (e) { return []; }
      case 'text': return deepest(all.filter(e => same(e.textContent, spec)));
      case 'label': return [...document.querySelectorAll('label')].filter(l => same(l.textContent, spec))
        .map(l => l.control).concat(all.filter(e => same(e.getAttribute('aria-label'), spec))).filter(Boolean);
      case 'placeholder': return all.filter(e => same(e.getAttribute('placeholder'), spec));
      case 'title': return all.filter(e => same(e.getAttribute('title'), spec));
      case 'block': return [...document.querySelectorAll('h1,h2,h3,h4,h5,h6,legend,[role=heading]')]
        .filter(h => same(h.textContent, spec)).map(h => h.closest(blocks)).filter(Boolean);
      default: return deepest(all.filter(e => same(e.getAttribute('aria-label') || e.textContent, spec)));
    }
  }
  function mark() {
    if (!document.documentElement) return;
    if (!document.getElementById('chorus-robot-privacy')) {
      const style = document.createElement('style');
      style.id = 'chorus-robot-privacy';
      // Only a filter: anything changing the text itself (-webkit-text-security) changes innerText too.
      const hidden = `[${attr}], input[type=password], input[autocomplete=username]`;
      style.textContent = `${hidden} { filter: blur(12px) !important; }`;
      document.documentElement.appendChild(style);
    }
    for (const spec of specs) {
      for (const e of matches(spec)) {
        const target = spec.parent && e.parentElement ? e.parentElement : e;
        if (!target.hasAttribute(attr)) target.setAttribute(attr, '');
      }
    }
  }
  new MutationObserver(mark).observe(document, {childList: true, subtree: true, characterData: true});
  mark();
})(%s, %s);
"""


def _spec(locator: Locator, parent: bool) -> dict[str, Any]:
    if locator.css:
        kind, value = "css", locator.css
    elif locator.role:
        kind, value = "role", locator.name or ""
    else:
        kind = next(k for k in ("label", "text", "placeholder", "title", "block") if getattr(locator, k))
        value = getattr(locator, kind)
    return {"kind": kind, "value": value, "low": value.lower(), "exact": locator.exact, "parent": parent}


def init_script(catalogue: Catalogue) -> str:
    """The page script that marks every sensitive element of the catalogue, whatever the screen."""
    specs = [
        _spec(spec, handle.element.read_from == "parent")
        for handle in catalogue.sensitive_elements()
        for spec in handle.element.find
    ]
    return _SCRIPT % (json.dumps(specs, ensure_ascii=False), json.dumps(SECRET_ATTR))


def secret_field_script(element: Element) -> str | None:
    """For the pages that follow: the field a secret was typed in stays blurred (a refused login page
    shows the login again). Only its CSS fallbacks: a label such as « Identifiant » names other fields too."""
    specs = [_spec(spec, False) for spec in element.find if spec.css]
    return _SCRIPT % (json.dumps(specs, ensure_ascii=False), json.dumps(SECRET_ATTR)) if specs else None


def mark_secret(target: PwLocator) -> None:
    """Marks a field about to receive a secret (a portal login or password): blurred from now on."""
    target.evaluate(f"e => e.setAttribute('{SECRET_ATTR}', '')")


def mask_locators(ctx: StepContext) -> list[PwLocator]:
    """What a screenshot masks: the catalogue's sensitive elements, marked fields, password inputs."""
    return [*sensitive_locators(ctx), ctx.page.locator(HIDDEN)]

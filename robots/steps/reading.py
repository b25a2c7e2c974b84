"""read (one value, parsed), read_block (a whole block of a screen into a mapping)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator

from robots.catalogue import Element
from robots.errors import StepFailed
from robots.flow_model import Read, ReadBlock
from robots.parsers import PARSERS, ParseError
from robots.runner import StepContext

_CONTROL_TAGS = ("input", "textarea", "select")

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


def read_value(locator: Locator, element: Element) -> str:
    """The text an element shows (or holds, for a form control), cut by the catalogue's `extract`."""
    if element.read_from == "parent":
        locator = locator.locator("xpath=..")
    tag = locator.evaluate("e => e.tagName.toLowerCase()")
    raw = locator.input_value() if tag in _CONTROL_TAGS else locator.inner_text()
    if element.extract:
        match = re.search(element.extract, raw)
        if not match:
            raise StepFailed(f"texte inattendu : le format « {element.extract} » ne correspond pas")
        raw = match.group(1)
    return raw.strip()


def read(ctx: StepContext, step: Read) -> None:
    handle, locator = ctx.locate(step.read.element)
    raw = read_value(locator, handle.element)
    if handle.element.sensitive or step.read.secret:
        ctx.remember_secret(raw)
    try:
        value = PARSERS[step.read.parse](raw)
    except ParseError as exc:
        raise StepFailed(f"lecture de « {handle.ref} » : {exc}") from None
    ctx.scope[step.read.into] = value


def read_block(ctx: StepContext, step: ReadBlock) -> None:
    _, block = ctx.locate(step.read_block.element)
    ctx.scope[step.read_block.into] = block.evaluate(_READ_BLOCK_JS)

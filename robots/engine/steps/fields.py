"""read_fields (several fields into one mapping), write_fields (set the fields a mapping names).

A field is any catalogue element: a text box gives its text, a check box or radio button true/false,
a list the label of its chosen option, anything else its text (cut by the catalogue's `extract`).
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator

from robots.engine import locate
from robots.engine.steps.context import StepContext
from robots.engine.steps.reading import read_value
from robots.errors import BadInput, StepFailed
from robots.language.catalogue import ElementHandle
from robots.language.model import ReadFields, WriteFields
from robots.language.variables import UnknownVariable, lookup

_KIND_JS = "e => e.tagName === 'INPUT' ? (e.type || 'text').toLowerCase() : e.tagName.toLowerCase()"
_OPTIONS_JS = "e => Array.from(e.options).map(o => [o.value, o.textContent.trim()])"


def _kind(locator: Locator) -> str:
    kind = locate.evaluate_now(locator, _KIND_JS)
    if kind in ("checkbox", "radio", "select", "textarea"):
        return kind
    return "text" if kind in ("text", "email", "tel", "number", "search", "url", "") else "other"


_VALUE_JS = """
e => {
  if (e.tagName === 'INPUT' && (e.type === 'checkbox' || e.type === 'radio')) return {value: e.checked};
  if (e.tagName === 'SELECT') return {value: e.selectedOptions[0] ? e.selectedOptions[0].textContent.trim() : ''};
  if (e.tagName === 'TEXTAREA' || e.tagName === 'INPUT') return {value: e.value.trim()};
  return null;
}
"""


def field_value(handle: ElementHandle, locator: Locator) -> Any:
    found = locate.evaluate_now(locator, _VALUE_JS)
    return found["value"] if found is not None else read_value(locator, handle.element)


def read_fields(ctx: StepContext, step: ReadFields) -> None:
    handles = {key: ctx.handle(ref) for key, ref in step.read_fields.fields.items()}
    for screen in dict.fromkeys(h.screen.name for h in handles.values()):
        ctx.expect_screen(screen)  # once per screen, not once per field
    values: dict[str, Any] = {}
    for key, handle in handles.items():
        locator = locate.resolve(ctx.page, handle.element, ctx.timeout_s)
        if locator is None:
            raise StepFailed(
                f"champ « {handle.ref} » introuvable sur l'écran « {handle.screen.title} »"
                f"{ctx.catalogue.file_of(handle.screen.name)}"
            )
        values[key] = field_value(handle, locator)
    ctx.scope[step.read_fields.into] = values


def _option(locator: Locator, wanted: str, ref: str) -> str:
    options = locate.evaluate_now(locator, _OPTIONS_JS)
    for value, label in options:
        if wanted.casefold() in (label.casefold(), value.casefold()):
            return value
    shown = ", ".join(f"« {label} »" for _, label in options)
    raise StepFailed(f"« {wanted} » n'est pas un choix de la liste « {ref} » (choix : {shown})")


def _other_radio(radio: Locator) -> Locator:
    name = radio.get_attribute("name") or ""
    value = radio.get_attribute("value") or ""
    others = radio.page.locator(f'input[type=radio][name="{name}"]:not([value="{value}"])')
    if others.count() != 1:
        raise StepFailed(f"le bouton radio « {name} » n'a pas d'autre choix unique")
    return others.first


def set_field(ctx: StepContext, ref: str, value: Any) -> None:
    _, locator = ctx.locate(ref)
    timeout = ctx.timeout_s * 1000
    kind = _kind(locator)
    if kind == "checkbox":
        locator.set_checked(bool(value), timeout=timeout)
    elif kind == "radio":
        # A pair of radio buttons (« Structure Privée » / « Structure Publique »): false chooses the other one.
        target = locator if value else _other_radio(locator)
        target.check(timeout=timeout)
    elif kind == "select":
        locator.select_option(value=_option(locator, str(value), ref), timeout=timeout)
    elif kind in ("text", "textarea"):
        locator.fill("" if value is None else str(value), timeout=timeout)
    else:
        raise StepFailed(f"« {ref} » n'est pas un champ modifiable")


def write_fields(ctx: StepContext, step: WriteFields) -> None:
    args = step.write_fields
    try:
        values = lookup(ctx.scope, args.values)
    except UnknownVariable:
        values = None
    if not isinstance(values, dict):
        raise BadInput(f"{ctx.flow_file}: write_fields: « {args.values} » is not a mapping")
    unknown = sorted(set(values) - set(args.fields))
    if unknown:
        raise BadInput(f"{ctx.flow_file}: write_fields: no field for « {', '.join(unknown)} »")
    for key, ref in args.fields.items():  # in the screen's order, not the mapping's
        if key in values:
            set_field(ctx, ref, values[key])

"""select, check: the lists and checkboxes of a form.

`select` chooses an option by its text, whatever the portal made of the list: a drop-down (<select>), a group
of radio buttons (the element is the group: a fieldset, a radiogroup), or a type-ahead chooser (an element of
role combobox: the text is typed, then the suggestion that holds it is clicked). The text matches whatever its
case, accents or spacing; the option that says exactly the text wins, else the only one that holds it.
"""

from __future__ import annotations

from playwright.sync_api import Locator

from robots.engine import locate
from robots.engine.steps.context import StepContext
from robots.errors import BadInput, StepFailed
from robots.language.model import Check, Select

TRUE = {"true", "oui", "yes", "1"}
FALSE = {"false", "non", "no", "0", ""}
_KIND_JS = """
e => e.tagName === 'SELECT' ? 'select'
   : (e.getAttribute('role') === 'combobox' || (e.tagName === 'INPUT' && e.list)) ? 'combobox'
   : e.tagName === 'INPUT' && e.type === 'radio' ? 'radio' : 'group'
"""
_OPTIONS_JS = "e => Array.from(e.options).filter(o => o.value !== '').map(o => [o.value, o.textContent.trim()])"
_RADIO_LABEL_JS = "e => ((e.labels && e.labels[0]) ? e.labels[0].textContent : (e.value || '')).trim()"


def _best(choices: list[str], wanted: str, ref: str) -> int:
    """The index of the choice saying exactly `wanted`, else of the only one holding it."""
    exact = [i for i, label in enumerate(choices) if locate.loose(wanted, exact=True).search(label)]
    if len(exact) == 1:
        return exact[0]
    holding = [i for i, label in enumerate(choices) if locate.loose(wanted).search(label)]
    if len(holding) == 1:
        return holding[0]
    shown = ", ".join(f"« {label} »" for label in choices) or "aucun"
    why = "plusieurs choix de" if holding else "pas un choix de"
    raise StepFailed(f"« {wanted} » : {why} la liste « {ref} » (choix : {shown})")


def select(ctx: StepContext, step: Select) -> None:
    ref, wanted = step.select.element, ctx.text(step.select.value).strip()
    _, field = ctx.locate(ref)
    timeout = ctx.timeout_s * 1000
    kind = locate.evaluate_now(field, _KIND_JS, ctx.timeout_s)
    if kind == "select":
        options = locate.evaluate_now(field, _OPTIONS_JS, ctx.timeout_s)
        value = options[_best([label for _, label in options], wanted, ref)][0]
        field.select_option(value=value, timeout=timeout)
    elif kind == "combobox":
        _suggestion(ctx, field, wanted, ref)
    else:
        radios = field if kind == "radio" else field.get_by_role("radio")
        labels = [str(locate.evaluate_now(radios.nth(i), _RADIO_LABEL_JS)) for i in range(radios.count())]
        radios.nth(_best(labels, wanted, ref)).check(timeout=timeout)


def _suggestion(ctx: StepContext, box: Locator, wanted: str, ref: str) -> None:
    """A type-ahead chooser: type the text, wait for the suggestions, click the one that holds it."""
    timeout = ctx.timeout_s * 1000
    box.fill(wanted, timeout=timeout)
    holding = ctx.page.get_by_role("option", name=locate.loose(wanted)).filter(visible=True)
    if not locate.wait_visible(holding.first, ctx.timeout_s):
        shown = ", ".join(f"« {t.strip()} »" for t in ctx.page.get_by_role("option").all_inner_texts()) or "aucune"
        raise StepFailed(f"« {wanted} » : aucune suggestion de « {ref} » ne le contient (suggestions : {shown})")
    labels = holding.all_inner_texts()
    holding.nth(_best(labels, wanted, ref)).click(timeout=timeout)
    ctx.page.wait_for_load_state("load", timeout=timeout)


def check(ctx: StepContext, step: Check) -> None:
    wanted = step.check.checked
    if isinstance(wanted, str):
        value = ctx.text(wanted).strip().casefold()
        if value not in TRUE | FALSE:
            raise BadInput(f"{ctx.flow_file}: check « {step.check.element} »: « {value} » is neither true nor false")
        wanted = value in TRUE
    _, box = ctx.locate(step.check.element)
    box.set_checked(wanted, timeout=ctx.timeout_s * 1000)

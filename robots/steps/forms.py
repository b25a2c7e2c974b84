"""select, check: the lists and checkboxes of a form."""

from __future__ import annotations

from robots.errors import BadInput
from robots.flow_model import Check, Select
from robots.runner import StepContext

TRUE = {"true", "oui", "yes", "1"}
FALSE = {"false", "non", "no", "0", ""}


def select(ctx: StepContext, step: Select) -> None:
    _, field = ctx.locate(step.select.element)
    field.select_option(label=ctx.text(step.select.value), timeout=ctx.timeout_s * 1000)


def check(ctx: StepContext, step: Check) -> None:
    wanted = step.check.checked
    if isinstance(wanted, str):
        value = ctx.text(wanted).strip().casefold()
        if value not in TRUE | FALSE:
            raise BadInput(f"{ctx.flow_file}: check « {step.check.element} »: « {value} » is neither true nor false")
        wanted = value in TRUE
    _, box = ctx.locate(step.check.element)
    box.set_checked(wanted, timeout=ctx.timeout_s * 1000)

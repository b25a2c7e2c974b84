"""set, if, repeat, call, fail, log — and the conditions they test."""

from __future__ import annotations

import re

from loguru import logger

from robots.engine import locate
from robots.engine.steps.context import StepContext
from robots.errors import EXIT_FORBIDDEN_CHARACTERS, FORBIDDEN_CHARACTERS, PORTAL_REFUSED, BadInput, StepFailed
from robots.language.conditions import (
    AllCondition,
    AnyCondition,
    KeptCondition,
    NotCondition,
    ScreenCondition,
    VarCondition,
    VisibleCondition,
)
from robots.language.files import load_flow
from robots.language.layers import sub_flow
from robots.language.model import Call, Fail, ForEach, If, Log, Repeat, SetVars
from robots.language.variables import UnknownVariable, lookup


def holds(ctx: StepContext, condition: object) -> bool:
    match condition:
        case VarCondition():
            return _var_holds(ctx, condition)
        case VisibleCondition(visible=ref):
            return locate.shows(ctx.page, ctx.handle(ref).element.find)
        case ScreenCondition(screen=name):
            screen = ctx.catalogue.screen(name)
            if screen is None:
                raise BadInput(f"{ctx.flow_file}: unknown screen « {name} »")
            return locate.is_shown(ctx.page, screen)
        case KeptCondition(kept=ref):
            return ctx.handle(ref).ref in ctx.runner.kept_pages
        case NotCondition(not_=inner):
            return not holds(ctx, inner)
        case AllCondition(all=inner):
            return all(holds(ctx, c) for c in inner)
        case AnyCondition(any=inner):
            return any(holds(ctx, c) for c in inner)
    raise TypeError(f"unknown condition {condition!r}")


def _var_holds(ctx: StepContext, condition: VarCondition) -> bool:
    try:
        value = lookup(ctx.scope, condition.var)
    except UnknownVariable:
        value = None
    if condition.is_set is not None and (value is not None) != condition.is_set:
        return False
    if condition.empty is not None and (value in (None, "") or value == [] or value == {}) != condition.empty:
        return False
    text = "" if value is None else str(value)
    if condition.equals is not None and text != ctx.text(condition.equals):
        return False
    if condition.contains_any is not None and not any(c in text for c in ctx.text(condition.contains_any)):
        return False
    return condition.matches is None or re.search(condition.matches, text) is not None


def set_variables(ctx: StepContext, step: SetVars) -> None:
    for name, template in step.set.items():
        ctx.scope[name] = ctx.text(template)


def if_(ctx: StepContext, step: If) -> None:
    branch = step.if_.then if holds(ctx, step.if_.when) else step.if_.else_
    ctx.run_steps(branch)


def repeat(ctx: StepContext, step: Repeat) -> None:
    args = step.repeat
    try:
        bound = int(ctx.text(str(args.max_attempts)))
    except ValueError:
        raise BadInput(f"{ctx.flow_file}: max_attempts must be a number, got « {args.max_attempts} »") from None
    for attempt in range(1, bound + 1):
        ctx.scope["attempt"] = attempt
        logger.info("  tentative {}/{}", attempt, bound)
        ctx.run_steps(args.steps)
        if holds(ctx, args.until):
            return
    if args.on_exhausted:
        exit_code = args.on_exhausted.exit_code
        kind = FORBIDDEN_CHARACTERS if exit_code == EXIT_FORBIDDEN_CHARACTERS else PORTAL_REFUSED
        raise StepFailed(ctx.text(args.on_exhausted.message), exit_code=exit_code, kind=kind)


def for_each(ctx: StepContext, step: ForEach) -> None:
    try:
        items = lookup(ctx.scope, step.for_each.items)
    except UnknownVariable:
        items = None
    if not isinstance(items, list):
        raise BadInput(f"{ctx.flow_file}: for_each: « {step.for_each.items} » is not a list")
    for item in items:
        ctx.scope[step.for_each.as_] = item
        ctx.run_steps(step.for_each.steps)


def call(ctx: StepContext, step: Call) -> None:
    path = sub_flow(ctx.flow_file, step.call.flow)
    flow = load_flow(path)
    for name, template in step.call.with_.items():
        ctx.scope[name] = ctx.text(template)
    for name, spec in flow.inputs.items():
        if name not in ctx.scope and spec.default is not None:
            ctx.scope[name] = spec.default
    caller_file, caller_secrets = ctx.flow_file, ctx.secrets
    ctx.flow_file, ctx.secrets = path, ctx.secrets.with_defaults(flow.secrets)
    try:
        ctx.run_steps(flow.steps)
    finally:
        ctx.flow_file, ctx.secrets = caller_file, caller_secrets


def fail(ctx: StepContext, step: Fail) -> None:
    forbidden = step.fail.exit_code == EXIT_FORBIDDEN_CHARACTERS
    kind = step.fail.kind or (FORBIDDEN_CHARACTERS if forbidden else PORTAL_REFUSED)
    raise StepFailed(ctx.text(step.fail.message), exit_code=step.fail.exit_code, kind=kind)


def log(ctx: StepContext, step: Log) -> None:
    logger.info("  {}", ctx.text(step.log))

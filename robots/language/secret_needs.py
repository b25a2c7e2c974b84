"""The secrets a run will ask for, known before any browser starts: a missing one is said at once (exit 2).

The flow tree is walked as the runner would walk it, taking the branch of an `if` on an input whose value is
already known (`entry`: dgfip or chorus); where the portal decides (which generation answers), what every branch
needs. What only some screens ask (a second-factor code) and a loop's body are resolved when reached, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from robots.language.conditions import VarCondition
from robots.language.files import load_flow
from robots.language.layers import sub_flow
from robots.language.model import Call, Flow, ForEach, If, Repeat, Step

SECRET_REFERENCE = re.compile(r"\$\{secret\.([a-z_][a-z0-9_]*)\}")
TEMPLATE = "${"


def needed_secrets(flow: Flow, flow_file: Path, known: Mapping[str, str]) -> Iterator[tuple[str, str | None]]:
    """(secret name, its environment variable) for each secret the run will certainly use; None: undeclared."""
    yield from _in_steps(flow.steps, flow_file, dict(known), {n: s.env for n, s in flow.secrets.items()})


def _in_steps(
    steps: list[Step], flow_file: Path, known: dict[str, str], env_names: dict[str, str]
) -> Iterator[tuple[str, str | None]]:
    for step in steps:
        if isinstance(step, If):
            branch = _known_branch(step, known)
            if branch is not None:
                yield from _in_steps(branch, flow_file, known, env_names)
            else:  # decided by the portal (which generation, which screen): what both branches need
                then = dict(_in_steps(step.if_.then, flow_file, dict(known), env_names))
                otherwise = dict(_in_steps(step.if_.else_, flow_file, dict(known), env_names))
                yield from ((name, env) for name, env in then.items() if name in otherwise)
        elif isinstance(step, Call):
            yield from _in_call(step, flow_file, known, env_names)
        elif not isinstance(step, Repeat | ForEach):
            text = step.model_dump_json(by_alias=True)
            for name in dict.fromkeys(SECRET_REFERENCE.findall(text)):
                yield name, env_names.get(name)


def _known_branch(step: If, known: Mapping[str, str]) -> list[Step] | None:
    when = step.if_.when
    if not isinstance(when, VarCondition) or when.equals is None or TEMPLATE in when.equals:
        return None
    if when.var not in known or when.matches or when.contains_any or when.is_set is not None:
        return None
    return step.if_.then if known[when.var] == when.equals else step.if_.else_


def _in_call(
    step: Call, flow_file: Path, known: dict[str, str], env_names: dict[str, str]
) -> Iterator[tuple[str, str | None]]:
    path = sub_flow(flow_file, step.call.flow)
    flow = load_flow(path)
    scope = dict(known)
    for name, template in step.call.with_.items():
        if TEMPLATE in template:
            scope.pop(name, None)  # known only at run time
        else:
            scope[name] = template
    for name, spec in flow.inputs.items():
        if name not in scope and spec.default is not None:
            scope[name] = spec.default
    names = {**{n: s.env for n, s in flow.secrets.items()}, **env_names}  # the caller's names win, as at run time
    yield from _in_steps(flow.steps, path, scope, names)

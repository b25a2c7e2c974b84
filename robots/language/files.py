"""Reading flow files: YAML with lines, then the flow models."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ValidationError

from robots.errors import BadInput, Problem
from robots.language.layers import effective_flow, sub_flow
from robots.language.model import Call, Flow
from robots.support.yamlfile import load_yaml, problems_from


def parse_flow(path: Path) -> tuple[Flow | None, object, list[Problem]]:
    """The flow, its raw YAML (with lines), and the problems of its structure."""
    try:
        raw = load_yaml(path)
    except BadInput as exc:
        return None, None, exc.problems or [Problem(path, None, str(exc))]
    if not isinstance(raw, dict):
        return None, raw, [Problem(path, getattr(raw, "line", None), "a flow is a mapping with `name` and `steps`")]
    try:
        return Flow.model_validate(raw), raw, []
    except ValidationError as exc:
        return None, raw, problems_from(exc, raw, path)


@lru_cache(maxsize=64)
def _load(path: Path, mtime: float) -> Flow:
    flow, _, problems = parse_flow(path)
    if flow is None:
        raise BadInput(f"flow {path} invalide", problems)
    return flow


def load_flow(path: Path) -> Flow:
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise BadInput(f"{path} : fichier de flow introuvable") from None
    return _load(path.resolve(), mtime)


def secret_variables(path: Path) -> set[str]:
    """The environment variables named under `secrets:` by the flow at `path` and by every sub-flow it calls
    (known before a browser starts: robots/secrets.py keeps them from every child process)."""
    names: set[str] = set()
    seen: set[Path] = set()
    waiting = [effective_flow(path).resolve()]
    while waiting:
        current = waiting.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            flow = load_flow(current)
        except BadInput:
            continue  # validation tells what is wrong with it
        names.update(spec.env for spec in flow.secrets.values())
        waiting += [sub_flow(current, call.call.flow) for call in calls_in(flow)]
    return names


def calls_in(node: object) -> Iterator[Call]:
    """Every `call` step of a flow, wherever it stands (inside an `if`, a `repeat`, a `for_each`)."""
    if isinstance(node, Call):
        yield node
    if isinstance(node, BaseModel):
        children: Iterable[object] = node.__dict__.values()
    elif isinstance(node, dict):
        children = node.values()
    else:
        children = node if isinstance(node, list | tuple) else ()
    for child in children:
        yield from calls_in(child)

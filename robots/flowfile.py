"""Reading flow files: YAML with lines, then the flow models."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from robots.errors import BadInput, Problem
from robots.flow_model import Flow
from robots.yamlfile import load_yaml, problems_from


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

"""Variables of a run and `${name}` interpolation in flow texts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

REFERENCE = re.compile(r"\$\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)\}")


class UnknownVariable(KeyError):
    pass


def references(template: str) -> Iterator[str]:
    """Every variable a text refers to, e.g. 'env.dgfip_url', 'structure', 'secret.dgfip_password'."""
    yield from REFERENCE.findall(template)


def lookup(scope: dict[str, Any], dotted: str) -> Any:
    value: Any = scope
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise UnknownVariable(dotted)
    return value


def interpolate(template: str, scope: dict[str, Any], secret: Callable[[str], str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("secret."):
            return secret(name.removeprefix("secret."))
        value = lookup(scope, name)
        return "" if value is None else str(value)

    return REFERENCE.sub(replace, template)

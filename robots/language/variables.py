"""Variables of a run and `${name}` interpolation in flow texts.

A row read from a table (`pick_row … into: ligne`) is a mapping of the table's column headers; a
flow reads a column by its header written as a name: lowercase, accents dropped, anything else than
letters and digits as `_` — « Raison sociale » is `${ligne.raison_sociale}`, « Date de création »
is `${ligne.date_de_creation}` (`column_key`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

REFERENCE = re.compile(r"\$\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)\}")
ANY_REFERENCE = re.compile(r"\$\{([^}]*)\}")


class UnknownVariable(KeyError):
    pass


def references(template: str) -> Iterator[str]:
    """Every variable a text refers to, e.g. 'env.dgfip_url', 'structure', 'secret.dgfip_password'."""
    yield from REFERENCE.findall(template)


UNCLOSED = re.compile(r"\$\{[^}]*$")


def malformed(template: str) -> list[str]:
    """The `${…}` of a text that are no reference (a header with spaces, capitals), and a `${` never closed
    (`${structure`, sent as written at run time): shown as written."""
    found = [f"${{{inner}}}" for inner in ANY_REFERENCE.findall(template) if not REFERENCE.fullmatch(f"${{{inner}}}")]
    unclosed = UNCLOSED.search(ANY_REFERENCE.sub("", template))
    return found + ([unclosed.group(0)] if unclosed else [])


def column_key(header: str) -> str:
    """« Raison sociale » → raison_sociale: how a flow names a column of a row."""
    ascii_text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")


def lookup(scope: dict[str, Any], dotted: str) -> Any:
    value: Any = scope
    for part in dotted.split("."):
        if not isinstance(value, dict):
            raise UnknownVariable(dotted)
        if part in value:
            value = value[part]
            continue
        by_header = [k for k in value if isinstance(k, str) and column_key(k) == part]
        if not by_header:
            raise UnknownVariable(dotted)
        value = value[by_header[0]]
    return value


def interpolate(template: str, scope: dict[str, Any], secret: Callable[[str], str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("secret."):
            return secret(name.removeprefix("secret."))
        value = lookup(scope, name)
        return "" if value is None else str(value)

    return REFERENCE.sub(replace, template)

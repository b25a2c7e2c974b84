"""YAML loading that remembers on which line every mapping, key and list item stands.

Errors in flows, catalogues and rosters must name the file and line; pydantic reports a location
as a path of keys and indexes, which `line_of` turns back into a line of the source file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from robots.errors import BadInput, Problem


class LineDict(dict):
    line: int = 0
    key_lines: dict[Any, int]


class LineList(list):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.MarkedYAMLError(problem=f"clé en double « {key} »", problem_mark=key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


# The same loader on libyaml's parser, when PyYAML has it: eight times less CPU for a run's 70 files
# (flows, catalogue); a file it refuses is parsed again by the pure-Python one, whose messages we give.
_FastLineLoader: type = getattr(yaml, "CSafeLoader", _LineLoader)
if _FastLineLoader is not _LineLoader:
    _FastLineLoader = type("_FastLineLoader", (_FastLineLoader,), {})

for _loader in {_LineLoader, _FastLineLoader}:
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file, raising BadInput with file and line on a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path} : fichier introuvable") from None
    except IsADirectoryError:
        raise BadInput(f"{path} : c'est un dossier, un fichier YAML est attendu") from None
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from None
    except OSError as exc:
        raise BadInput(f"{path} : illisible ({exc.strerror})") from None
    try:
        return yaml.load(text, Loader=_FastLineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError:
        pass  # told below, in the pure-Python parser's words
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        # The context mark is where the broken construct starts; the problem mark is often the end of file.
        mark = exc.context_mark or exc.problem_mark
        line = mark.line + 1 if mark else None
        context = f"{exc.context}: " if exc.context else ""
        problem_line = f" (ligne {exc.problem_mark.line + 1})" if exc.problem_mark and exc.context_mark else ""
        message = f"syntaxe YAML : {context}{exc.problem}{problem_line}"
        raise BadInput("YAML mal formé", [Problem(path, line, message)]) from None
    except yaml.YAMLError as exc:
        raise BadInput("YAML mal formé", [Problem(path, None, f"syntaxe YAML : {exc}")]) from None


def not_utf8(path: Path, error: UnicodeDecodeError, consequence: str = "") -> BadInput:
    """A file that is not UTF-8, said with the byte and its line (YAML files, `.env`)."""
    line = error.object[: error.start].count(b"\n") + 1
    return BadInput(f"{path} : le fichier n'est pas en UTF-8 (octet 0x{error.object[error.start]:02x} ligne {line}) ; "
                    f"enregistrez-le en UTF-8{consequence}")  # fmt: skip


def line_of(data: Any, location: tuple[Any, ...]) -> int | None:
    """The line of the deepest node of `data` that `location` (keys and indexes) reaches."""
    line = getattr(data, "line", None)
    node = data
    for part in location:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


# pydantic's messages for the usual mistakes, in French (the others keep pydantic's words).
PYDANTIC_FR = {
    "bool_parsing": "un booléen attendu (true ou false)",
    "bool_type": "un booléen attendu (true ou false)",
    "int_parsing": "un nombre entier attendu",
    "int_type": "un nombre entier attendu",
    "float_parsing": "un nombre attendu",
    "float_type": "un nombre attendu",
    "string_type": "un texte attendu",
    "list_type": "une liste attendue",
    "dict_type": "un dictionnaire attendu (clé: valeur)",
    "model_type": "un dictionnaire attendu (clé: valeur)",
    "literal_error": "« {input} » : valeur invalide (au choix : {expected})",
    "string_pattern_mismatch": "ne correspond pas au motif {pattern}",
    "too_short": "trop court (au moins {min_length})",
    "greater_than_equal": "doit valoir au moins {ge}",
    "greater_than": "doit être plus grand que {gt}",
}


def problems_from(error: Any, data: Any, path: Path) -> list[Problem]:
    """pydantic's ValidationError as problems located at file and line."""
    problems = []
    for item in error.errors():
        location = _without_union_tags(item["loc"])
        where = ".".join(str(p) for p in location)
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = f"clé inconnue « {location[-1]} »"
        elif item["type"] == "missing":
            message = f"« {location[-1]} » manquant"
        elif item["type"] in PYDANTIC_FR:
            message = PYDANTIC_FR[item["type"]].format(input=item.get("input"), **(item.get("ctx") or {}))
        elif item["type"] == "value_error":
            message = str(message).removeprefix("Value error, ")
        elif item["type"] == "unknown_step" and isinstance(item.get("input"), dict):
            keys = ", ".join(str(k) for k in item["input"] if k != "label") or "aucune"
            message = f"commande d'étape inconnue « {keys} » : {message}"
        problems.append(Problem(path, line_of(data, location), f"{where} : {message}" if where else message))
    return problems


def _without_union_tags(location: tuple[Any, ...]) -> tuple[Any, ...]:
    # A tagged union adds its tag to the location: ('steps', 2, 'fill', 'fill', 'value').
    parts = list(location)
    cleaned: list[Any] = []
    i = 0
    while i < len(parts):
        cleaned.append(parts[i])
        if isinstance(parts[i], int) and i + 2 < len(parts) and parts[i + 1] == parts[i + 2]:
            i += 2
            continue
        i += 1
    return tuple(cleaned)

"""Flow tooling: validate, schema, screens.

`validate` reports every problem of every flow and of the catalogue, each with file and line: the
YAML, the structure (the flow models), screens, elements, row actions, variables, secrets,
sub-flows, and the `# yaml-language-server: $schema=…` line that gives editors completion.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from robots.config import load_config, packaged
from robots.errors import EXIT_BAD_INPUT, EXIT_OK, Problem
from robots.language.catalogue import load_layered, own_catalogue
from robots.language.layers import flow_place, merged_flows, shown
from robots.language.model import Flow
from robots.language.validation import validate_flow

SCHEMA_FILE = packaged("schema", "flow.schema.json")
SCHEMA_LINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=(\S+)\s*$")


def flow_files(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml")))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(path, None, "fichier ou dossier introuvable"))
    return files, problems


def schema_reference(path: Path) -> str:
    """The `$schema` a flow at `path` names: the committed schema, relative to the flow's folder."""
    return Path(os.path.relpath(SCHEMA_FILE.resolve(), path.resolve().parent)).as_posix()


def check_schema_line(path: Path) -> list[Problem]:
    """A flow starts with `# yaml-language-server: $schema=<relative path of schema/flow.schema.json>`."""
    expected = schema_reference(path)
    wanted = f"la première ligne doit être `# yaml-language-server: $schema={expected}` (complétion dans l'éditeur)"
    try:
        first = path.read_text(encoding="utf-8").split("\n", 1)[0].strip()
    except (OSError, UnicodeDecodeError):
        return []  # the YAML check reports unreadable files
    match = SCHEMA_LINE.match(first)
    if not match:
        return [Problem(path, 1, wanted)]
    named = (path.parent / match.group(1)).resolve()
    if named != SCHEMA_FILE.resolve() and not _same_schema(named):
        return [Problem(path, 1, f"$schema={match.group(1)} n'est pas schema/flow.schema.json : {wanted}")]
    return []


def _same_schema(named: Path) -> bool:
    """A working directory's copy of the schema (chorus-robot init writes DIR/schema/flow.schema.json, so that a
    packaged flow copied into DIR/flows/ keeps its first line)."""
    try:
        return named.name == SCHEMA_FILE.name and json.loads(named.read_text(encoding="utf-8")) == flow_schema()
    except (OSError, ValueError):
        return False


def check_schema_file() -> list[Problem]:
    """The committed schema is the one the models generate (`chorus-robot schema` rewrites it)."""
    try:
        committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [Problem(SCHEMA_FILE, None, "absent : lancez `chorus-robot schema`")]
    except json.JSONDecodeError as exc:
        return [Problem(SCHEMA_FILE, exc.lineno, f"JSON invalide ({exc.msg}) : lancez `chorus-robot schema`")]
    if committed != flow_schema():
        return [Problem(SCHEMA_FILE, None, "pas à jour avec les modèles des flows : lancez `chorus-robot schema`")]
    return []


SHIPPED_FLOWS = packaged("flows")


def validate(paths: list[Path], catalogue_folder: Path | None = None, warnings: str = "own") -> int:
    """Prints every problem (file:line: message); exit 2 if there is any. `warnings`: « own » for the flows the
    author wrote (not those shipped with the robot), « all », or « none ». No paths: the merged set, every
    packaged flow or the working directory's flow that replaces it, and the directory's own flows."""
    paths = paths or merged_flows().files
    problems, flows, screens = collect_problems(paths, catalogue_folder)
    for line in override_lines(catalogue_folder):
        print(line)
    for problem in problems:
        print(problem)
    shown = [] if warnings == "none" else unlabelled(paths)
    if warnings == "own":
        shown = [w for w in shown if not Path(w.file).resolve().is_relative_to(SHIPPED_FLOWS.resolve())]
    for warning in shown:
        print(f"attention : {warning}")
    if problems:
        print(f"{len(problems)} problème(s)")
        return EXIT_BAD_INPUT
    print(f"OK : {flows} flow(s), {screens} écran(s)")
    return EXIT_OK


def unlabelled(paths: list[Path]) -> list[Problem]:
    """Steps without a label: a warning, the flow still runs."""
    from robots.language.validation import unlabelled_steps

    return [w for path in flow_files(paths)[0] for w in unlabelled_steps(path)]


def collect_problems(paths: list[Path], catalogue_folder: Path | None = None) -> tuple[list[Problem], int, int]:
    """All problems of the catalogue and of the flows; the numbers of flows and screens checked."""
    layered = load_layered(_own_screens(catalogue_folder))
    problems = list(layered.problems)
    # Flows are checked against the screens that loaded: a broken screen file is reported once, above.
    catalogue = layered.catalogue()
    problems += check_schema_file()
    files, missing = flow_files(paths)
    problems += missing
    for path in files:
        problems += check_schema_line(path)
        problems += validate_flow(path, catalogue, known=None)
    return list(dict.fromkeys(problems)), len(files), len(layered.screens)


def _own_screens(catalogue_folder: Path | None) -> Path | None:
    """--catalogue DIR, else the configuration's (the working directory's selectors/)."""
    return catalogue_folder if catalogue_folder is not None else own_catalogue(load_config())


def override_lines(catalogue_folder: Path | None = None) -> list[str]:
    """What the working directory replaces in the package, one line each (validate prints them first)."""
    layered = load_layered(_own_screens(catalogue_folder))
    lines = [f"surcharge : écran « {name} » ← {shown(path)}" for name, path in sorted(layered.overrides.items())]
    own_flows = merged_flows().overrides
    lines += [f"surcharge : flow {flow_place(shipped)} ← {shown(own)}" for own, shipped in own_flows.items()]
    return lines


def flow_schema() -> dict:
    schema = Flow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "chorus-robot flow"
    return schema


def write_schema(output: Path | None) -> int:
    text = json.dumps(flow_schema(), indent=2, ensure_ascii=False) + "\n"
    if output == Path("-"):
        print(text, end="")
        return EXIT_OK
    target = output or SCHEMA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"écrit : {target}")
    return EXIT_OK


def list_screens() -> int:
    layered = load_layered(own_catalogue(load_config()))
    for screen, path in layered.screens:
        mark = f"  [surcharge : {shown(path)}]" if screen.name in layered.overrides else ""
        print(f"{screen.name}  « {screen.title} »  ({screen.portal}, {screen.kind}) — {path.name}{mark}")
        for name, element in screen.elements.items():
            flag = "  [sensible]" if element.sensitive else ""
            print(f"    {screen.name}.{name}  {element.kind}: {element.find[0].describe()}{flag}")
    for problem in layered.problems:
        print(problem)
    return EXIT_BAD_INPUT if layered.problems else EXIT_OK


def register(commands: argparse._SubParsersAction) -> None:
    validate_parser = commands.add_parser("validate", help="vérifier les flows et le catalogue de sélecteurs")
    validate_parser.add_argument(
        "paths", nargs="*", default=[],
        help="fichiers ou dossiers de flows (défaut : les flows livrés, chacun remplacé par celui de même chemin dans "
        "flows/ du dossier courant, et les flows propres de ce dossier)",
    )  # fmt: skip
    validate_parser.add_argument(
        "--catalogue", metavar="DIR",
        help="écrans qui remplacent ceux du catalogue livré (défaut : settings.catalogue, le dossier selectors/ du "
        "dossier courant)",
    )  # fmt: skip
    validate_parser.add_argument(
        "--all-warnings", action="store_true",
        help="les avertissements (étape sans label) des flows livrés avec le robot aussi ; par défaut, ceux de vos "
        "flows seulement (-q : aucun)",
    )  # fmt: skip
    validate_parser.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="écrire le JSON Schema des flows")
    schema.add_argument(
        "--output", help="fichier à écrire (défaut : schema/flow.schema.json ; - pour la sortie standard)"
    )
    schema.set_defaults(handler=_schema)

    screens = commands.add_parser("screens", help="lister les écrans et éléments du catalogue")
    screens.set_defaults(handler=lambda args: list_screens())


def _validate(args: argparse.Namespace) -> int:
    return validate(
        [Path(p) for p in args.paths], Path(args.catalogue) if args.catalogue else None,
        warnings="none" if args.quiet else "all" if args.all_warnings else "own",
    )  # fmt: skip


def _schema(args: argparse.Namespace) -> int:
    from robots.cli import parametrage

    if not args.output:
        print(f"wrote {parametrage.write_schema()}")
    return write_schema(Path(args.output) if args.output else None)

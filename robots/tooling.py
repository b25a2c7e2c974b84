"""Flow tooling: validate, schema, screens."""

from __future__ import annotations

import json
from pathlib import Path

from robots.catalogue import load_screens
from robots.config import PROJECT_ROOT, load_config
from robots.errors import EXIT_BAD_INPUT, EXIT_OK
from robots.flow_model import Flow
from robots.validation import validate_flow

SCHEMA_FILE = PROJECT_ROOT / "schema" / "flow.schema.json"


def flow_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    return files


def validate(paths: list[Path]) -> int:
    config = load_config()
    folder = config.resolve(config.settings.catalogue)
    screens, problems = load_screens(folder)
    if not problems:
        from robots.catalogue import Catalogue

        catalogue = Catalogue({s.name: s for s, _ in screens}, folder)
        files = flow_files(paths)
        for path in files:
            problems.extend(validate_flow(path, catalogue, known=None))
    problems = list(dict.fromkeys(problems))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)")
        return EXIT_BAD_INPUT
    print(f"OK: {len(files)} flow(s), {len(screens)} screen(s)")
    return EXIT_OK


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
    print(f"wrote {target}")
    return EXIT_OK


def list_screens() -> int:
    config = load_config()
    screens, problems = load_screens(config.resolve(config.settings.catalogue))
    for screen, path in screens:
        print(f"{screen.name}  « {screen.title} »  ({screen.portal}, {screen.kind}) — {path.name}")
        for name, element in screen.elements.items():
            flag = "  [sensible]" if element.sensitive else ""
            print(f"    {screen.name}.{name}  {element.kind}: {element.find[0].describe()}{flag}")
    for problem in problems:
        print(problem)
    return EXIT_BAD_INPUT if problems else EXIT_OK

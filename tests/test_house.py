"""The house's rules that a test can hold: dependencies run one way — no import circle between the modules of
robots/ or of the mock portal (an import inside a function counts; one under TYPE_CHECKING does not)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT).with_suffix("").parts).removesuffix(".__init__")


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {c for c in candidates if c in known and c != name}
    return found


def circles(roots: tuple[str, ...]) -> list[list[str]]:
    files = {module_name(p): p for root in roots for p in (PROJECT / root).rglob("*.py")}
    graph = {name: imports_of(path, name, set(files)) for name, path in files.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_in_the_robot():
    assert circles(("robots",)) == []


def test_no_import_circle_in_the_mock_portal():
    assert circles(("fixtures",)) == []


# Each room of robots/ and what it may import: its own floor and the floors below (cli → jobs → engine, store,
# browser, integrations → language → config, secrets, logs → support → errors).
FLOORS = {"cli": 6, "jobs": 5, "engine": 4, "store": 4, "browser": 4, "integrations": 4, "language": 3,
          "config": 2, "secrets": 2, "logs": 2, "support": 1, "errors": 0}  # fmt: skip
MAX_LINES = 450


def room_of(name: str) -> str:
    return name.split(".")[1] if name.count(".") else name


def test_dependencies_run_one_way():
    files = {module_name(p): p for p in (PROJECT / "robots").rglob("*.py")}
    upward = [
        f"{name} → {other}"
        for name, path in files.items()
        for other in imports_of(path, name, set(files))
        if room_of(name) in FLOORS and FLOORS.get(room_of(other), 0) > FLOORS[room_of(name)]
    ]
    assert upward == []
    assert set(map(room_of, files)) - {"robots"} <= set(FLOORS), "a new room: give it its floor here"


def test_a_newcomer_reads_the_top_level_in_one_look():
    top = sorted(p.name for p in (PROJECT / "robots").glob("*.py"))
    assert len(top) <= 10, top
    long = {
        str(p.relative_to(PROJECT)): n
        for root in ("robots", "fixtures")
        for p in (PROJECT / root).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_error_a_user_can_meet_is_declared_in_robots_errors():
    # Two exceptions stay where they are raised: turned into a BadInput at the file and line before anyone sees them.
    internal = {"ParseError", "UnknownVariable"}
    elsewhere = [
        f"{path.relative_to(PROJECT)}: {node.name}"
        for path in (PROJECT / "robots").rglob("*.py")
        if path.name != "errors.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name not in internal
        and any(ast.unparse(base).endswith(("Error", "Exception", "Failed", "BadInput")) for base in node.bases)
    ]  # fmt: skip
    assert elsewhere == []


def test_the_mock_portal_is_loaded_only_by_the_commands_that_serve_it():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from robots.cli.main import main; main(['screens', '-q']);"
         "print(sorted({m.split('.')[0] for m in sys.modules} & {'fixtures', 'flask', 'werkzeug'}))"],
        cwd=PROJECT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert loaded.stdout.strip().splitlines()[-1] == "[]"

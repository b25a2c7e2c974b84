"""Issue 4, flow tooling: `validate` names file and line of every problem; the schema cannot drift."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from robots.cli.flow_tools import SCHEMA_FILE, collect_problems, flow_schema, schema_reference, validate
from tests.conftest import PROJECT, robot
from tests.test_flow_secrets import SECRET_LEAKS

BROKEN = PROJECT / "tests" / "broken_flows"

# file → (line, what the message must say): one way of breaking a flow per file.
EXPECTED = {
    "unknown_step.yaml": (6, "commande d'étape inconnue « tap »"),
    "unknown_screen.yaml": (4, "écran inconnu « dgfip_accueil_v2 »"),
    "unknown_element.yaml": (6, "élément inconnu « valider » sur l'écran « dgfip_authentification »"),
    "undefined_variable.yaml": (9, "variable inconnue « raison_sociale »"),
    "undeclared_secret.yaml": (8, "secret inconnu « dgfip_password » (déclarez-le sous `secrets:`)"),
    "missing_subflow.yaml": (6, "sous-flow « common/logout.yaml » introuvable"),
    "yaml_syntax.yaml": (7, "syntaxe YAML"),
    "missing_field.yaml": (7, "steps.1.fill.value : « value » manquant"),
    "wrong_type.yaml": (10, "steps.1.read_table.all_pages : un booléen attendu"),
    "unknown_row_action.yaml": (8, "n'a pas d'action de ligne « supprimer »"),
    "missing_schema_line.yaml": (1, "$schema=../../schema/flow.schema.json"),
    **SECRET_LEAKS,
}
LINE = re.compile(r"^(?P<file>[^:]+\.yaml):(?P<line>\d+): (?P<message>.+)$")


def problems_by_file(output: str) -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for line in output.splitlines():
        match = LINE.match(line)
        if match:
            found.setdefault(Path(match["file"]).name, []).append((int(match["line"]), match["message"]))
    return found


def test_each_broken_flow_gets_one_precise_message_at_its_line():
    done = robot("validate", str(BROKEN.relative_to(PROJECT)))

    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    found = problems_by_file(done.stdout)
    for name, (line, message) in EXPECTED.items():
        assert name in found, f"{name}: no problem reported\n{done.stdout}"
        assert len(found[name]) == 1, found[name]
        assert found[name][0][0] == line, f"{name}: {found[name]}"
        assert message in found[name][0][1], f"{name}: {found[name]}"
    assert f"{len(EXPECTED) + 3} problème(s)" in done.stdout


def test_all_problems_of_a_flow_are_reported_not_only_the_first(capsys: pytest.CaptureFixture[str]):
    assert validate([BROKEN / "several_problems.yaml"]) == 2

    found = problems_by_file(capsys.readouterr().out)["several_problems.yaml"]
    assert [line for line, _ in found] == [4, 6, 8]
    assert "écran inconnu « accueil »" in found[0][1]
    assert "élément inconnu « mes_structures » sur l'écran « chorus_connecte »" in found[1][1]
    assert "variable inconnue « structure »" in found[2][1]


def test_the_project_flows_are_valid(capsys: pytest.CaptureFixture[str]):
    assert validate([PROJECT / "flows"]) == 0, capsys.readouterr().out


def test_problems_of_the_catalogue_are_reported_with_the_flows(tmp_path: Path):
    catalogue = tmp_path / "selectors"
    shutil.copytree(PROJECT / "selectors", catalogue)
    broken = catalogue / "dgfip_applications.yaml"
    text = broken.read_text(encoding="utf-8").replace("  chorus_pro:\n    kind: link", "  chorus_pro:\n    kind: lien")
    broken.write_text(text, encoding="utf-8")
    (catalogue / "chorus_accueil.yaml").write_text("screen: autre_nom\n" + _without_first_line(catalogue), "utf-8")

    problems, flows, _ = collect_problems([PROJECT / "flows"], catalogue)

    messages = [str(p) for p in problems]
    kind_line = text.splitlines().index("    kind: lien") + 1
    assert any(m.startswith(f"{broken}:{kind_line}: elements.chorus_pro.kind") for m in messages), messages
    assert any(m.startswith(f"{catalogue / 'chorus_accueil.yaml'}:1: screen « autre_nom »") for m in messages)
    # The flows are still checked: those using the broken screens say so, at their own lines.
    login = PROJECT / "flows" / "common" / "login_dgfip.yaml"
    assert any(m.startswith(f"{login}:") and "dgfip_applications" in m for m in messages), messages
    assert flows >= 7


def _without_first_line(catalogue: Path) -> str:
    return (catalogue / "chorus_accueil.yaml").read_text(encoding="utf-8").split("\n", 1)[1]


def test_the_committed_schema_is_the_generated_one():
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == flow_schema(), "run `chorus-robot schema`"


def test_every_flow_names_the_schema_on_its_first_line():
    for flow in sorted((PROJECT / "flows").rglob("*.yaml")):
        first = flow.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema={schema_reference(flow)}", flow
        assert (flow.parent / schema_reference(flow)).resolve() == SCHEMA_FILE.resolve()


def test_a_schema_line_pointing_elsewhere_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    flow = tmp_path / "flow.yaml"
    body = (BROKEN / "missing_schema_line.yaml").read_text(encoding="utf-8")
    flow.write_text("# yaml-language-server: $schema=schema/old.json\n" + body, encoding="utf-8")

    assert validate([flow]) == 2

    out = capsys.readouterr().out
    assert f"{flow}:1: $schema=schema/old.json n'est pas schema/flow.schema.json" in out

"""Issue 13, point 4: a flow author needs no source code — rows read by column header, `validate`
catching what would fail at run time, a warning for unlabelled steps, a generated reference page."""

from __future__ import annotations

from pathlib import Path

from robots.cli.main import build_parser
from robots.cli.reference import REFERENCE_FILE, reference_text
from robots.language import model as m
from robots.language.catalogue import Catalogue, Element, Locator, Screen
from robots.language.conventions import flow_path
from robots.language.validation import validate_flow
from robots.language.variables import column_key, lookup
from robots.support.parsers import PARSERS
from tests.conftest import PROJECT, robot

COMMON = PROJECT / "flows" / "common"


def flow(tmp_path: Path, *steps: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(
        "name: author\ninputs:\n  structure: {}\nsteps:\n"
        "  - label: Ouvrir la structure\n    pick_row:\n      table: activites_gestionnaire.mes_structures\n"
        '      where: {Identifiant structure: "${structure}"}\n      into: ligne\n' + "".join(steps),
        encoding="utf-8",
    )
    return path


def messages(path: Path) -> list[str]:
    return [p.message for p in validate_flow(path, Catalogue.load())]


def test_a_row_is_read_by_its_column_header():
    row = {"Identifiant structure": "21300258600013", "Raison sociale": "COMMUNE", "Date de création": "x"}
    assert lookup({"ligne": row}, "ligne.raison_sociale") == "COMMUNE"
    assert lookup({"ligne": row}, "ligne.date_de_creation") == "x"
    assert column_key("Identifiant Structure") == "identifiant_structure"


def test_validate_accepts_a_column_the_table_has(tmp_path: Path):
    assert messages(flow(tmp_path, "  - label: Noter\n    log: ${ligne.raison_sociale}\n")) == []


def test_validate_refuses_a_column_the_table_lacks(tmp_path: Path):
    (found,) = messages(flow(tmp_path, "  - label: Noter\n    log: ${ligne.raison_social}\n"))
    assert "n'a pas de colonne « raison_social »" in found and "raison_sociale" in found


def test_validate_refuses_a_header_written_as_printed(tmp_path: Path):
    (found,) = messages(flow(tmp_path, "  - label: Noter\n    log: ${ligne.Raison sociale}\n"))
    assert "« ${ligne.Raison sociale} » n'est pas une référence" in found and "${ligne.raison_sociale}" in found


def test_validate_refuses_a_where_on_an_unknown_column(tmp_path: Path):
    path = tmp_path / "where.yaml"
    path.write_text(
        "name: w\nsteps:\n  - label: Choisir\n    pick_row:\n      table: activites_gestionnaire.mes_structures\n"
        "      where: {SIRET: '1'}\n",
        encoding="utf-8",
    )
    (found,) = messages(path)
    assert "colonne « SIRET » absente" in found and "Identifiant structure" in found


def test_validate_warns_of_a_step_without_a_label(tmp_path: Path):
    path = flow(tmp_path, "  - log: rien\n")
    done = robot("validate", str(path))
    assert f"attention : {path}:10: étape « log » sans label" in done.stdout
    unlabelled = m.Click(click="chorus_connecte.activites_du_gestionnaire")
    assert unlabelled.title() == "click: chorus_connecte.activites_du_gestionnaire"
    fill = m.Fill(fill=m.FillArgs(element="a.b", value="x"))
    assert fill.title() == "fill element: a.b, value: x"


def test_run_takes_a_flow_name():
    assert flow_path("reset_technical_password").resolve() == (PROJECT / "flows" / "reset_technical_password.yaml")
    assert flow_path("open_structure").resolve() == COMMON / "open_structure.yaml"


def test_the_reference_page_is_generated_and_complete():
    text = reference_text(build_parser())
    assert REFERENCE_FILE.read_text(encoding="utf-8") == text, "run `chorus-robot reference`"
    for step in m.STEP_TYPES:
        assert f"### `{step.command}`" in text
    for model in (Screen, Element, Locator):
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in text
    for parser in PARSERS:
        assert f"- `{parser}`" in text
    for command in ("run", "renew", "status", "probe", "procedure", "vault show", "validate", "reference"):
        assert f"### `chorus-robot {command}`" in text


def test_the_reference_documents_every_key_of_a_flow_roster_and_desired_state_file():
    from pydantic import BaseModel

    from robots.cli.reference import _models_in
    from robots.jobs.parametrage.model import DesiredState
    from robots.jobs.renewal.roster import Roster
    from robots.language.model import Flow

    text = reference_text(build_parser())
    waiting: list[type[BaseModel]] = [Flow, Roster, DesiredState]
    seen: set[type[BaseModel]] = set()
    while waiting:
        model = waiting.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            if model is Flow and name == "steps":
                continue
            assert f"| `{field.alias or name}` |" in text, f"{model.__name__}.{name}"
            waiting += _models_in(field.annotation)
    for internal in ("Account", "StructureEntry", "EmailDelivery", "InputSpec", "StructureState"):
        assert f" {internal} " not in text and f" {internal}\n" not in text, internal

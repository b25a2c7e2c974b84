"""`validate` as a flow author meets it: every problem of a file in one pass (a broken step hides none of the
others), a `${` never closed, the nearest element suggested, warnings for the author's own flows only, and the
inputs a person may give listed without those a sub-flow receives from its caller."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import PROJECT, robot

SCHEMA = "# yaml-language-server: $schema={}\n"


def flow(tmp_path: Path, body: str) -> Path:
    import os

    path = tmp_path / "essai.yaml"
    schema = os.path.relpath(PROJECT / "schema" / "flow.schema.json", tmp_path)
    path.write_text(SCHEMA.format(schema) + body, encoding="utf-8")
    return path


BROKEN = """name: essai
inputs:
  structure: {}
steps:
  - label: un
    clik: chorus_connecte.mon_compte
  - label: deux
    goto: "${env.chorus_url}/x/${structure"
  - label: trois
    click: chorus_connecte.mon_compt
  - log: "${nimporte}"
"""


def test_every_problem_of_a_file_in_one_pass(tmp_path: Path):
    path = flow(tmp_path, BROKEN)
    done = robot("validate", str(path))
    assert done.returncode == 2
    out = done.stdout
    assert f"{path}:6: steps.0 : commande d'étape inconnue « clik »" in out
    assert f"{path}:8: « ${{structure » : « ${{ » sans « }} » qui le ferme" in out
    assert (
        f"{path}:10: élément inconnu « mon_compt » sur l'écran « chorus_connecte » (selectors/chorus_connecte.yaml) "
        "(vouliez-vous dire « mon_compte » ?)" in out
    )
    assert f"{path}:12: variable inconnue « nimporte »" in out
    assert "4 problème(s)" in out
    assert "activites_du_gestionnaire" not in out, "the nearest element, not the list of all"


def test_warnings_for_the_author_s_flows_only_unless_asked(tmp_path: Path):
    shipped = robot("validate")
    assert shipped.returncode == 0 and "attention" not in shipped.stdout, shipped.stdout
    asked = robot("validate", "--all-warnings")
    assert asked.stdout.count("sans label") > 50
    own = flow(tmp_path, 'name: essai\nsteps:\n  - log: "bonjour"\n')
    assert "attention : " in robot("validate", str(own)).stdout
    quiet = robot("validate", "-q", str(own))
    assert quiet.returncode == 0 and "attention" not in quiet.stdout


def test_the_inputs_offered_are_not_those_a_sub_flow_gets_from_its_caller():
    done = robot("run", "reset_technical_password", "--var", "structur=21300351900013")
    assert done.returncode == 2
    offered = done.stderr.split("(entrées : ")[1].split(")")[0].split(", ")
    assert {"structure", "entry"} <= set(offered) and "after_login" not in offered

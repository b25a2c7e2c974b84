"""A structure the account does not manage is said so — « absente du tableau » — not « écran non reconnu », whose
advice (fix the selectors) would send the operator the wrong way."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Portal
from tests.test_reset_technical_password import run_command


def test_a_structure_of_another_account_is_absent_from_mes_structures(portal: Portal, tmp_path: Path):
    commune = next(a for a in portal.state()["accounts"] if a["login"] == "v.bouty")
    other = next(s for s in portal.state()["structures"] if s["manager"] != commune["login"])
    before = portal.structure(other["identifiant"])["reset_count"]
    done = run_command(portal, other["identifiant"], tmp_path / "vault.json",
                       env={"DGFIP_LOGIN": commune["login"], "DGFIP_PASSWORD": commune["password"]})  # fmt: skip
    assert done.returncode == 1
    assert "absente du tableau" in done.stderr, done.stderr
    assert f"Identifiant structure = « {other['identifiant']} » dans « Mes structures »" in done.stderr
    assert "écran non reconnu" not in done.stderr
    assert portal.structure(other["identifiant"])["reset_count"] == before

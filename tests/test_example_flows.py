"""Numbered example flows (tests/flows/NNN_*.yaml) run against the mock portal: the runner's building blocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from robots.engine.runner import RunResult
from robots.errors import StepFailed
from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import Portal

EXAMPLES = Path(__file__).parent / "flows"


def run_example(browser: Browser, portal: Portal, name: str, **variables: str) -> RunResult:
    flow = next(EXAMPLES.glob(f"{name}_*.yaml"))
    request = RunRequest(flow=flow, portal_url=portal.url, variables=variables)
    return run_in_browser(browser, prepare(request), request)


def test_001_a_whole_block_of_a_screen_is_read_into_data(browser: Browser, portal: Portal, syndicate: dict):
    structure = portal.managed_by(syndicate["login"])[4]

    scope = run_example(browser, portal, "001", structure=structure["identifiant"]).scope

    informations = scope["informations"]
    assert informations["Raison sociale"] == structure["raison_sociale"]
    assert informations["Identifiant"] == structure["identifiant"]
    assert informations["Libellé de la structure"] == structure["libelle"]
    assert informations["Adresse électronique"] == structure["email"]
    assert informations["Structure Publique"] is True
    assert informations["Est émetteur de flux EDI"] is False
    assert scope["adresse"]["Pays"] == "France"  # a list on the portal, like the real one
    technical = structure["technical_user"]
    assert scope["utilisateurs"]["Utilisateur technique"] == f"{technical['login']} (ACTIF)"


def test_002_a_paged_table_is_read_across_its_pages(browser: Browser, portal: Portal, syndicate: dict):
    scope = run_example(browser, portal, "002").scope

    managed = portal.managed_by(syndicate["login"])
    assert [row["Identifiant structure"] for row in scope["structures"]] == [s["identifiant"] for s in managed]
    assert [row["Raison sociale"] for row in scope["structures"]] == [s["raison_sociale"] for s in managed]
    assert {row["Statut"] for row in scope["structures"]} == {"ACTIF"}


def test_003_branches_and_loops_on_data(browser: Browser, portal: Portal):
    scope = run_example(browser, portal, "003", kind="sans_siret").scope
    assert scope["branch"] == "structure sans_siret"
    assert scope["attempt"] == 3

    with pytest.raises(StepFailed, match="branche non prévue : particulier"):
        run_example(browser, portal, "003", kind="particulier")

"""Issue 8 point 5: the DGFiP entry as it is — Chorus Pro opens logged out (« Se connecter », no password),
a first connection asks to complete « Mon Compte » (reported, not filled in), the link may be labelled
« Demat. des factures ». On both portal generations."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import PROJECT, Portal, robot

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
GENERATIONS = ("legacy", "services")


def reset(browser: Browser, portal: Portal, structure: str, vault: Path) -> None:
    request = RunRequest(flow=FLOW, portal_url=portal.url, variables={"structure": structure}, vault_path=vault)
    run_in_browser(browser, prepare(request), request)


@pytest.mark.parametrize("generation", GENERATIONS)
@pytest.mark.parametrize(
    "options",
    [{"dgfip_landing": "connected"}, {"dgfip_chorus_label": "Demat. des factures", "chorus_in_new_tab": True}],
    ids=["logged-in-landing", "demat-des-factures-label"],
)
def test_the_reset_passes_whatever_the_dgfip_entry_shows(
    browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path, generation: str, options: dict
):
    portal.call("POST", "/__mock__/options", {"generation": generation, **options})
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    portal.next_passwords(["Kq3vZ8pLm2Xw"])

    reset(browser, portal, structure, tmp_path / "vault.json")

    assert portal.structure(structure)["technical_user"]["password"] == "Kq3vZ8pLm2Xw"


@pytest.mark.parametrize("generation", GENERATIONS)
def test_a_first_connection_is_reported_clearly_and_nothing_is_reset(
    portal: Portal, syndicate: dict, tmp_path: Path, generation: str
):
    portal.call("POST", "/__mock__/options", {"generation": generation, "first_connection": True})
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    env = {"DGFIP_LOGIN": syndicate["login"], "DGFIP_PASSWORD": syndicate["password"]}

    done = robot(
        "run", str(FLOW), "--env", "mock", "--portal-url", portal.url, "--var", f"structure={structure}",
        "--vault", str(tmp_path / "vault.json"), env=env,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    assert "première connexion à Chorus Pro" in done.stderr
    assert "« Mon Compte »" in done.stderr and "Une personne doit le faire une fois" in done.stderr
    assert portal.structure(structure)["reset_count"] == 0
    assert not (tmp_path / "vault.json").exists()
    assert syndicate["password"] not in done.stderr + done.stdout

"""Issue 8 point 6: markup we did not invent. `markup: variants` serves the ten one-change variants of the
review's Appendix A at once; the reset flow and `renew` pass on it. Labels match without regard to case,
accents or spacing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from robots.engine.locate import loose
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import PROJECT, ROWS_PER_PAGE, Portal

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
CLEAN = "Kq3vZ8pLm2Xw"


@pytest.fixture
def variants(portal: Portal) -> Portal:
    portal.call("POST", "/__mock__/options", {"markup": "variants"})
    return portal


@pytest.mark.parametrize(
    ("label", "printed"),
    [
        ("Activités du gestionnaire", "ACTIVITES DU GESTIONNAIRE"),
        ("Modification d'une structure", "Modification d’une  structure"),
        ("Accès Rapide", "acces rapide"),
    ],
)
def test_labels_match_without_regard_to_case_accents_or_spacing(label: str, printed: str):
    assert loose(label).search(printed)
    assert loose(label, exact=True).search(f" {printed} ")
    assert not loose(label, exact=True).search(f"{printed} et plus")


def test_the_reset_flow_passes_on_the_ten_variants(browser: Browser, variants: Portal, syndicate: dict, tmp_path: Path):
    structure = variants.managed_by(syndicate["login"])[ROWS_PER_PAGE + 1]["identifiant"]  # second page
    variants.next_passwords(["Ab/cdEfgh234", CLEAN])
    vault = tmp_path / "vault.json"
    request = RunRequest(flow=FLOW, portal_url=variants.url, variables={"structure": structure}, vault_path=vault)

    result = run_in_browser(browser, prepare(request), request)

    assert variants.structure(structure)["technical_user"]["password"] == CLEAN
    assert json.loads(vault.read_text())[structure]["password"] == CLEAN
    assert result.scope["attempt"] == 2 and result.scope["new_expiry"]


def test_renew_passes_on_the_ten_variants(
    browser: Browser, variants: Portal, syndicate: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SYNDICAT_LOGIN", syndicate["login"])
    monkeypatch.setenv("SYNDICAT_PASSWORD", syndicate["password"])
    listed = [s["identifiant"] for s in variants.managed_by(syndicate["login"])[:3]]
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        "    password_env: SYNDICAT_PASSWORD\n    structures:\n"
        + "".join(f'      - identifiant: "{i}"\n' for i in listed)
    )
    options = RenewOptions(roster_path=roster, portal_url=variants.url, vault_path=tmp_path / "vault.json",
                           within_days=30, failures_dir=tmp_path / "failures")  # fmt: skip

    report = run_renewal(options, Outputs(journal=tmp_path / "journal.sqlite", log_file=None), browser)

    assert [o.error for o in report.outcomes if o.failed] == []
    assert {o.action for o in report.outcomes} == {"renewed", "skipped"}
    for outcome in report.outcomes:
        assert outcome.technical_login and outcome.old_expiry and outcome.raison_sociale

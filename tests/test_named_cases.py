"""Issue 8 point 8: the cases where a structure cannot be reset are named in the report — no technical user
(« Créer un utilisateur technique »), structure or technical user inactive, an account that is not the
gestionnaire principal (no reset control), and an expiry already past — on both generations."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from tests.conftest import Portal

CASES = {
    "no_technical_user": ({"technical_user": None}, "failed", "pas d'utilisateur technique"),
    "structure_inactive": ({"statut": "INACTIF", "expires_at": "+5d"}, "failed", "est inactive"),
    "technical_user_inactive": ({"technical_statut": "INACTIF", "expires_at": "+5d"}, "failed", "technique de la"),
    "not_gestionnaire_principal": (
        {"manager_role": "Gestionnaire Secondaire", "expires_at": "+5d"}, "failed",
        "n'est pas gestionnaire principal",
    ),
    "expired": ({"expires_at": "-3d"}, "renewed", "expiré depuis"),
}  # fmt: skip


@pytest.mark.parametrize("generation", ["legacy", "services"])
def test_each_case_is_a_reason_in_the_report(
    browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    generation: str,
):  # fmt: skip
    portal.call("POST", "/__mock__/options", {"generation": generation})
    structures = [s["identifiant"] for s in portal.managed_by(syndicate["login"])[: len(CASES)]]
    cases = dict(zip(structures, CASES.values(), strict=True))
    for identifiant, (change, _, _) in cases.items():
        portal.call("POST", "/__mock__/structure", {"identifiant": identifiant, **change})
    monkeypatch.setenv("SYNDICAT_LOGIN", syndicate["login"])
    monkeypatch.setenv("SYNDICAT_PASSWORD", syndicate["password"])
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        "    password_env: SYNDICAT_PASSWORD\n    structures:\n"
        + "".join(f'      - identifiant: "{i}"\n' for i in structures)
    )
    options = RenewOptions(roster_path=roster, portal_url=portal.url, vault_path=tmp_path / "vault.json",
                           failures_dir=tmp_path / "failures")  # fmt: skip

    report = run_renewal(options, Outputs(journal=tmp_path / "journal.sqlite", log_file=None), browser)

    outcomes = {o.identifiant: o for o in report.outcomes}
    for identifiant, (_, action, reason) in cases.items():
        outcome = outcomes[identifiant]
        said = f"{outcome.reason} {outcome.error or ''}"
        assert outcome.action == action, said
        assert reason in said
        assert "introuvable" not in said
    untouched = [i for i, (_, action, _) in cases.items() if action == "failed"]
    assert all(portal.structure(i)["reset_count"] == 0 for i in untouched)

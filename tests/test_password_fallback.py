"""Issue 8 point 7: no read that fails after the point of no return. After « Confirmer » the password is read
through the catalogue, else in the sentence around it; failing that the page's text is sealed (0600), the
structure stops saying where the password is, and is not reset again before a person has looked."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from robots.errors import StepFailed
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.jobs.run import RunRequest, prepare, run_in_browser
from robots.store.password_read import password_in_text
from tests.conftest import PROJECT, Portal, robot

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
CLEAN = "Kq3vZ8pLm2Xw"


@pytest.mark.parametrize(
    "page",
    [
        "Le compte a été réinitialisé avec le mot de passe Kq3vZ8pLm2Xw",
        "Votre compte a été réinitialisé avec le mot de passe Kq3vZ8pLm2Xw\nVous allez recevoir un courrier.",
        "Le compte a été réinitialisé avec le mot de passe suivant : Kq3vZ8pLm2Xw. Vous allez recevoir…",
        "Mot de passe réinitialisé\nLe nouveau mot de passe est « Kq3vZ8pLm2Xw », conservez-le.",
    ],
)
def test_the_password_shaped_token_of_the_sentence(page: str):
    assert password_in_text(page) == CLEAN


@pytest.mark.parametrize(
    "page",
    [
        "Le compte a été réinitialisé. Code d'accès de l'utilisateur technique : Kq3vZ8pLm2Xw",
        "Mot de passe réinitialisé. Vous allez recevoir un courrier électronique d'information.",
        "Le mot de passe Kq3vZ8pLm2Xw remplace le mot de passe Zx9Qw8Er7Ty4.",  # two candidates: none chosen
    ],
)
def test_no_guess_when_the_sentence_does_not_say(page: str):
    assert password_in_text(page) is None


def test_a_changed_sentence_is_read_around_the_password(
    browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path
):
    portal.call("POST", "/__mock__/options", {"password_wording": "suivant"})
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    portal.next_passwords([CLEAN])
    vault = tmp_path / "vault.json"
    request = RunRequest(flow=FLOW, portal_url=portal.url, variables={"structure": structure}, vault_path=vault)

    run_in_browser(browser, prepare(request), request)

    assert json.loads(vault.read_text())[structure]["password"] == CLEAN
    assert portal.structure(structure)["reset_count"] == 1


def test_run_seals_an_unreadable_page_and_refuses_to_reset_again_until_released(
    portal: Portal, syndicate: dict, tmp_path: Path, impatient: float
):
    portal.call("POST", "/__mock__/options", {"password_wording": "sans_phrase"})
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    portal.next_passwords([CLEAN])
    vault, journal = tmp_path / "vault.json", tmp_path / "journal.sqlite"
    env = {"DGFIP_LOGIN": syndicate["login"], "DGFIP_PASSWORD": syndicate["password"]}
    run = ["run", str(FLOW), "--env", "mock", "--portal-url", portal.url, "--var", f"structure={structure}",
           "--vault", str(vault), "--journal", str(journal)]  # fmt: skip

    first = robot(*run, env=env)

    assert first.returncode == 1
    assert f"scellé dans le journal {journal}" in first.stderr and "chorus-robot sealed --show" in first.stderr
    assert CLEAN not in first.stderr + first.stdout
    with sqlite3.connect(journal) as db:
        assert CLEAN in db.execute("SELECT page_text FROM sealed WHERE identifiant = ?", (structure,)).fetchone()[0]
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600

    second = robot(*run, env=env)

    assert second.returncode == 1 and "pas de nouvelle réinitialisation" in second.stderr.lower()
    assert portal.structure(structure)["reset_count"] == 1
    sealed = ["sealed", "--vault", str(vault), "--journal", str(journal)]
    assert CLEAN in robot(*sealed, "--show", structure).stdout
    assert robot(*sealed, "--release", structure).returncode == 0
    assert robot(*sealed).stdout.strip() == "aucune page scellée"


def test_renew_seals_in_the_journal_and_the_next_night_does_not_reset_again(
    browser: Browser,
    portal: Portal,
    syndicate: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    impatient: float,
):
    portal.call("POST", "/__mock__/options", {"password_wording": "sans_phrase"})
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    portal.call("POST", "/__mock__/structure", {"identifiant": structure, "expires_at": "+5d"})
    portal.next_passwords([CLEAN])
    monkeypatch.setenv("SYNDICAT_LOGIN", syndicate["login"])
    monkeypatch.setenv("SYNDICAT_PASSWORD", syndicate["password"])
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        f'    password_env: SYNDICAT_PASSWORD\n    structures:\n      - identifiant: "{structure}"\n'
    )
    journal = tmp_path / "journal.sqlite"
    options = RenewOptions(roster_path=roster, portal_url=portal.url, vault_path=tmp_path / "vault.json",
                           failures_dir=tmp_path / "failures")  # fmt: skip

    first = run_renewal(options, Outputs(journal=journal, log_file=None), browser)
    second = run_renewal(options, Outputs(journal=journal, log_file=None), browser)

    assert "scellé dans le journal" in (first.outcomes[0].error or "")
    assert second.outcomes[0].action == "failed"
    assert "pas de nouvelle réinitialisation" in (second.outcomes[0].error or "")
    assert [r.action for r in second.recovered] == ["en attente d'une personne (chorus-robot sealed)"]
    assert portal.structure(structure)["reset_count"] == 1
    with sqlite3.connect(journal) as db:
        (page,) = db.execute("SELECT page_text FROM sealed").fetchone()
    assert CLEAN in page
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600


# ---------------------------------------------------------------- portail de services: read before « Soumettre »


@pytest.mark.parametrize(("wording", "submitted"), [("suivant", True), ("sans_phrase", False)])
def test_on_the_services_generation_an_unread_password_is_never_submitted(
    browser: Browser,
    portal: Portal,
    syndicate: dict,
    tmp_path: Path,
    wording: str,
    submitted: bool,
    impatient: float,
):
    portal.call("POST", "/__mock__/options", {"generation": "services", "password_wording": wording})
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    portal.next_passwords([CLEAN])
    vault = tmp_path / "vault.json"
    request = RunRequest(flow=FLOW, portal_url=portal.url, variables={"structure": structure}, vault_path=vault)

    if submitted:
        run_in_browser(browser, prepare(request), request)
        assert json.loads(vault.read_text())[structure]["password"] == CLEAN
    else:
        with pytest.raises(StepFailed, match="nouveau_mot_de_passe"):
            run_in_browser(browser, prepare(request), request)
        assert not vault.exists() or "password" not in json.loads(vault.read_text()).get(structure, {})
    assert portal.structure(structure)["reset_count"] == int(submitted)

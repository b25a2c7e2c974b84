"""Issue 11 on the 2022 « portail de services »: « Créer un compte », the activation link read over IMAP from
Dovecot, the structure created or requested at the first login; and `chorus-robot run` with the account options.

Uses the session's mock portal, browser and Dovecot (tests/conftest.py).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from fixtures.mock_portal import create_app
from robots.errors import StepFailed
from robots.integrations import account_services as services
from robots.jobs.accounts.onboarding import FlowRunner, onboard_row
from robots.jobs.accounts.rows import AccountRow, check_row
from robots.store.vault import Vault
from tests.conftest import DEMO_DATA, PROJECT, Portal, robot

CAPTCHA_TOOL = PROJECT / "tests" / "mock_captcha.py"
MAILBOX_USER = "support-services"
BRANCHES = {
    "siret, new structure": ({"siret": "49931830000013"}, "created", "gestionnaire principal", ["49931830000013"]),
    "siret, known structure": ({"siret": "79954986000010"}, "rattachement_requested", "utilisateur", []),
    "no siret": (
        {"siret": "", "type": "Structure européenne hors France", "identifiant": "IT01234567890",
         "raison_sociale": "VINI ROSSI", "adresse": "Via Roma 1", "code_postal": "00100", "ville": "ROMA",
         "pays": "Italie"},
        "created", "gestionnaire principal", ["IT01234567890"],
    ),
}  # fmt: skip


def captcha_command(portal: Portal) -> str:
    return f"{sys.executable} {CAPTCHA_TOOL} {portal.url}"


@pytest.fixture
def services_portal(portal: Portal, imap_server, monkeypatch: pytest.MonkeyPatch) -> Portal:  # type: ignore[no-untyped-def]
    """The session's mock on the services generation, its mails delivered to the support mailbox Dovecot serves."""
    portal.call("POST", "/__mock__/options", {"generation": "services"})
    portal.call("POST", "/__mock__/accounts", {"maildir": str(imap_server.maildir(MAILBOX_USER))})
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_PASSWORD", imap_server.password)
    return portal


@pytest.fixture
def flows(browser: Browser, services_portal: Portal, imap_server, tmp_path: Path) -> Iterator[FlowRunner]:  # type: ignore[no-untyped-def]
    over_imap = services.AccountServices(
        captcha=services.CommandSolver(captcha_command(services_portal)), mailbox_url=imap_server.url(MAILBOX_USER),
        insecure_mail=True, mail_timeout_s=15, captcha_dir=tmp_path / "captcha",
    )  # fmt: skip
    with services.using(over_imap):
        yield FlowRunner(browser, "mock", services_portal.url)


def row(email: str, **values: str) -> AccountRow:
    checked = AccountRow(2, {"email": email, "nom": "Rossi", "prenom": "Lucia", **values})
    check_row(checked)
    assert not checked.problems, checked.problems
    return checked


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_services_generation_creates_activates_and_sets_up_the_structure(flows, services_portal, tmp_path, branch):
    values, kind, role, structures = BRANCHES[branch]
    vault = Vault(tmp_path / "user-accounts.json")

    outcome = onboard_row(flows, vault, row("lucia@ex.fr", **values))

    assert outcome.outcome == kind
    state = services_portal.state()
    assert next(u for u in state["users"] if u["email"] == "lucia@ex.fr") == {
        "email": "lucia@ex.fr", "nom": "ROSSI", "prenom": "Lucia", "status": "active", "role": role,
        "structures": structures,
    }  # fmt: skip
    assert [m["to"] for m in state["mails"]] == ["lucia@ex.fr"], "one activation mail, read over IMAP"
    assert vault.get("lucia@ex.fr")["status"] == "active"
    if structures:
        created = next(s for s in state["structures"] if s["identifiant"] == structures[0])
        assert created["manager"] == "lucia@ex.fr"
    else:
        known = next(s for s in state["structures"] if s["identifiant"] == "79954986000010")
        assert known["rattachement_requests"] == [{"id": "rattachement-2", "email": "lucia@ex.fr", "status": "pending"}]


def test_services_generation_refuses_what_the_portal_refuses():
    """The portal's own errors, without a browser: captcha first, wrong captcha, e-mail used, link used or expired."""
    app = create_app(DEMO_DATA, generation="services")
    client = app.test_client()
    form = client.get("/aife_csm/fr?id=aife_enrollment").text
    assert "Valider le Captcha" in form and re.search(r"<button[^>]*disabled>Créer mon compte", form)
    person = {"email": "compta@transports-garonne.example", "nom": "Garonne", "prenom": "Paul"}
    early = client.post("/aife_csm/fr?id=aife_enrollment", data={**person, "action": "creer"}).text
    assert "Veuillez valider le captcha" in early
    token = re.search(r'name="captcha_jeton" value="([^"]+)"', early).group(1)
    wrong = client.post("/aife_csm/fr?id=aife_enrollment", data={**person, "captcha_jeton": token, "captcha": "XXXXX",
                                                                  "action": "captcha"}).text  # fmt: skip
    assert "Les caractères saisis ne correspondent pas" in wrong
    token = re.search(r'name="captcha_jeton" value="([^"]+)"', wrong).group(1)
    answer = client.get("/__mock__/captcha").json["answer"]
    validated = {"captcha_jeton": token, "captcha": answer, "action": "captcha"}
    assert "Captcha validé" in client.post("/aife_csm/fr?id=aife_enrollment", data=validated).text
    used = client.post("/aife_csm/fr?id=aife_enrollment", data={**person, "action": "creer"}).text
    assert "Cette adresse électronique est déjà utilisée" in used
    refused = client.get("/aife_csm/fr?id=aife_activation&jeton=inconnu").text
    assert "lien n&#39;est plus valide" in refused and "Soumettre" not in refused

    newcomer = {**person, "email": "nouveau@ex.fr", "action": "creer"}
    created = client.post("/aife_csm/fr?id=aife_enrollment", data=newcomer).text
    assert "valable 60 minutes" in created, "the captcha validated above still stands for this form"
    mail = app.extensions["accounts"].outbox[-1]
    assert mail["to"] == "nouveau@ex.fr" and "valable 60 minutes" in mail["text"]
    link = re.search(r"<(http[^>]+)>", mail["text"]).group(1).removeprefix("http://localhost")
    assert "Soumettre" in client.get(link).text
    client.post("/__mock__/accounts", json={"expire_links": True})
    assert "plus valide" in client.get(link).text, "after 60 minutes the link is refused"
    again = client.post("/aife_csm/fr?id=aife_enrollment", data={**newcomer, "email": "autre@ex.fr"}).text
    assert "Veuillez valider le captcha" in again, "one validated captcha, one account"


def test_run_creates_an_account_with_the_account_options_then_an_expired_link_is_said_clearly(
    flows, services_portal, imap_server, tmp_path
):  # fmt: skip
    """`chorus-robot run flows/create_account.yaml --captcha-command … --mailbox … --insecure-mail` (imap:// to
    loopback: refused without --insecure-mail), then the robot meets the link after its 60 minutes."""
    created = robot(
        "run", "flows/create_account.yaml", "--portal-url", services_portal.url, "--var", "email=tard@ex.fr",
        "--var", "nom=Tard", "--var", "prenom=Rita", "--var", "siret=79954986000010",
        "--captcha-command", captcha_command(services_portal), "--mailbox", imap_server.url(MAILBOX_USER),
        "--insecure-mail", "--mail-timeout", "15", "--recordings", str(tmp_path / "recordings"),
        "--vault", str(tmp_path / "vault.json"), "--journal", str(tmp_path / "journal.sqlite"),
        env={"CHORUS_ROBOT_IMAP_PASSWORD": imap_server.password},
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    assert list((tmp_path / "recordings" / "captcha").glob("captcha-*.png")), "--recordings holds the captcha"
    assert next(u for u in services_portal.state()["users"] if u["email"] == "tard@ex.fr")["status"] == (
        "pending_activation"
    )
    services_portal.call("POST", "/__mock__/accounts", {"expire_links": True})
    with pytest.raises(StepFailed, match="Activation du compte refusée : Ce lien n'est plus valide"):
        flows.run("activate_account.yaml", {"email": "tard@ex.fr"}, {"user_password": "Bonjour-2026-Tard"})

"""Issue 11: the robot creates, activates and recovers user accounts on the mock portal, in Chromium.

The captcha is read by a --captcha-command that asks the mock (as a service with its own way would);
the mails are read from the Maildir the mock delivers into, and over IMAP from the session's Dovecot for the
« SIRET, known structure » branch.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser

from robots.errors import NoMessage, StepFailed
from robots.integrations import account_services as services
from robots.jobs.accounts.onboarding import FlowRunner, onboard_row
from robots.jobs.accounts.rows import AccountRow, check_row
from robots.store.vault import Vault
from tests.conftest import PROJECT, Portal, robot

CAPTCHA_TOOL = PROJECT / "tests" / "mock_captcha.py"
MANAGER = {"chorus_login": "f.uguet@dressing-louise.example", "chorus_password": "Lz4&vRt8WqNm"}
BRANCHES = {
    "siret, new structure": {"siret": "49931830000013", "espaces": "Factures émises;Mémoires de frais de justice",
                             "categorie_prestataire": "Expert"},
    "siret, known structure": {"siret": "79954986000010"},
    "no siret, new structure": {"siret": "", "type": "Structure européenne hors France", "identifiant": "IT01234567890",
                                "raison_sociale": "VINI ROSSI", "adresse": "Via Roma 1", "code_postal": "00100",
                                "ville": "ROMA", "pays": "Italie"},
    "no siret, known structure": {"siret": "", "type": "Structure européenne hors France", "identifiant": "DE811907980",
                                  "raison_sociale": "WEINGUT MÜLLER GMBH", "adresse": "Rheinstraße 12",
                                  "code_postal": "55116", "ville": "MAINZ", "pays": "Allemagne",
                                  "reponse_secrete": "Mainz"},
}  # fmt: skip
EXPECTED = {
    "siret, new structure": ("created", "gestionnaire principal", ["49931830000013"]),
    "siret, known structure": ("rattachement_requested", "utilisateur", []),
    "no siret, new structure": ("created", "gestionnaire principal", ["IT01234567890"]),
    "no siret, known structure": ("created", "utilisateur", []),
}


@pytest.fixture(scope="module")
def mail_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="chorus-mail-"))
    yield folder / "Maildir"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def portal(mock_server: str, mail_dir: Path) -> Portal:
    """The session's mock portal, its mails delivered into this module's Maildir."""
    portal = Portal(mock_server)
    portal.reset()
    portal.call("POST", "/__mock__/accounts", {"maildir": str(mail_dir)})
    return portal


def captcha_command(portal: Portal) -> str:
    return f"{sys.executable} {CAPTCHA_TOOL} {portal.url}"


@pytest.fixture
def flows(browser: Browser, portal: Portal, mail_dir: Path, tmp_path: Path) -> Iterator[FlowRunner]:
    chosen = services.AccountServices(
        captcha=services.CommandSolver(captcha_command(portal)), mailbox_url=f"maildir://{mail_dir}",
        mail_timeout_s=15, captcha_dir=tmp_path / "captcha",
    )  # fmt: skip
    with services.using(chosen):
        yield FlowRunner(browser, "mock", portal.url)


def row(email: str, line: int = 2, **values: str) -> AccountRow:
    checked = AccountRow(line, {"email": email, "nom": "Uguet", "prenom": "Fanny", **values})
    check_row(checked)
    assert not checked.problems, checked.problems
    return checked


def user(portal: Portal, email: str) -> dict:
    return next(u for u in portal.state()["users"] if u["email"] == email)


def structure(portal: Portal, identifiant: str) -> dict:
    return next(s for s in portal.state()["structures"] if s["identifiant"] == identifiant)


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_each_branch_is_created_activated_and_logs_in(flows, portal, tmp_path, branch, request, monkeypatch):
    vault = Vault(tmp_path / "user-accounts.json")
    mail = contextlib.nullcontext()
    if branch == "siret, known structure":  # this one reads its activation mail over IMAP, from Dovecot
        imap = request.getfixturevalue("imap_server")
        portal.call("POST", "/__mock__/accounts", {"maildir": str(imap.maildir("support"))})
        monkeypatch.setenv("CHORUS_ROBOT_IMAP_PASSWORD", imap.password)
        over_imap = services.AccountServices(
            captcha=services.CommandSolver(captcha_command(portal)), mailbox_url=imap.url("support"),
            insecure_mail=True, mail_timeout_s=15, captcha_dir=tmp_path / "captcha",
        )  # fmt: skip
        mail = services.using(over_imap)
    with mail:
        outcome = onboard_row(flows, vault, row("nouveau@ex.fr", **BRANCHES[branch]))
    kind, role, structures = EXPECTED[branch]
    assert outcome.outcome == kind
    assert user(portal, "nouveau@ex.fr") == {
        "email": "nouveau@ex.fr", "nom": "UGUET", "prenom": "Fanny", "status": "active", "role": role,
        "structures": structures,
    }  # fmt: skip
    entry = vault.get("nouveau@ex.fr")
    assert entry["status"] == "active" and len(entry["password"]) == 16 and entry["answer"]
    assert (tmp_path / "user-accounts.json").stat().st_mode & 0o777 == 0o600
    if structures:
        assert structure(portal, structures[0])["manager"] == "nouveau@ex.fr"
    if branch == "siret, known structure":
        assert structure(portal, "79954986000010")["rattachement_requests"] == [
            {"id": "rattachement-2", "email": "nouveau@ex.fr", "status": "pending"}
        ]
    assert list((tmp_path / "captcha").glob("captcha-*.png")), "the captcha image is kept for the person"


def request_rattachement(portal: Portal, email: str, siret: str) -> None:
    """A person asks for a rattachement at the portal (over HTTP, no browser): the manager's flow is under test."""
    page = urllib.request.urlopen(f"{portal.url}/cpp/ecran/creation-de-compte?" + urlencode(
        {"email": email, "siret": siret}), timeout=10).read().decode()  # fmt: skip
    form = {"mode": "existing", "siret": siret, "email": email, "email_confirmation": email, "nom": "Uguet",
            "prenom": "Fanny", "contact": email, "pour": "paiement", "captcha": portal.call("GET", "/__mock__/captcha")[
            "answer"], "captcha_jeton": re.search(r'name="captcha_jeton" value="([^"]+)"', page).group(1)}  # fmt: skip
    done = urllib.request.urlopen(f"{portal.url}/cpp/creation-de-compte", urlencode(form).encode(), timeout=10)
    assert "demande de rattachement à la structure a été transmise" in done.read().decode()


def test_the_manager_validates_one_request_and_refuses_another(flows, portal):
    for email in ("accepte@ex.fr", "refuse@ex.fr"):
        request_rattachement(portal, email, BRANCHES["siret, known structure"]["siret"])
    for email, decision in (("accepte@ex.fr", "valider"), ("refuse@ex.fr", "refuser")):
        inputs = {"email": email, "nom": "UGUET", "prenom": "Fanny", "decision": decision, "entry": "chorus"}
        flows.run("review_rattachements.yaml", inputs, MANAGER)
    requests = structure(portal, "79954986000010")["rattachement_requests"]
    assert {r["email"]: r["status"] for r in requests} == {"accepte@ex.fr": "accepted", "refuse@ex.fr": "refused"}
    assert user(portal, "accepte@ex.fr")["structures"] == ["79954986000010"]
    assert user(portal, "refuse@ex.fr")["structures"] == []
    assert not [r for r in portal.state()["requests"] if r["identifiant"] == "79954986000010"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"email": "compta@transports-garonne.example", "siret": "79954986000010"}, "déjà utilisée"),
        ({"email": "x@ex.fr", "siret": "12345678900007"}, "inconnu de la base INSEE"),
    ],
)
def test_the_portal_s_refusals_are_reported(flows, values, message):
    with pytest.raises(StepFailed, match=message):
        flows.run("create_account.yaml", row(**values).flow_inputs())


def test_a_wrong_captcha_is_reported_not_retried_behind_the_person_s_back(browser, portal, tmp_path):
    wrong = services.AccountServices(captcha=services.CommandSolver("echo XXXXX"), captcha_dir=tmp_path)
    inputs = row("c@ex.fr", siret="49931830000013").flow_inputs()
    with services.using(wrong), pytest.raises(StepFailed, match="ne correspondent pas à l'image"):
        FlowRunner(browser, "mock", portal.url).run("create_account.yaml", inputs)


def test_a_weak_password_an_expired_link_and_a_missing_mail_are_said_clearly(flows, portal, mail_dir):
    flows.run("create_account.yaml", row("faible@ex.fr", siret="79954986000010").flow_inputs())
    portal.call("POST", "/__mock__/accounts", {"password_min_length": 12})
    with pytest.raises(StepFailed, match="mot de passe refusé par Chorus Pro : Le mot de passe ne respecte pas"):
        flows.run("activate_account.yaml", {"email": "faible@ex.fr"},
                  {"user_password": "Court-2026", "secret_answer": "réponse"})  # fmt: skip
    portal.call("POST", "/__mock__/accounts", {"expire_links": True})
    with pytest.raises(StepFailed, match="Activation du compte refusée"):
        flows.run("activate_account.yaml", {"email": "faible@ex.fr"},
                  {"user_password": "Bonjour-2026-xyzt", "secret_answer": "réponse"})  # fmt: skip
    assert user(portal, "faible@ex.fr")["status"] == "pending_activation"
    box = services.AccountServices(mailbox_url=f"maildir://{mail_dir}").mailbox()
    with pytest.raises(NoMessage, match="aucun message pour personne@ex.fr"):
        box.wait("personne@ex.fr", box_since_now(), timeout_s=0)


def box_since_now():  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.now().astimezone()


def test_password_recovery_end_to_end(flows, portal):
    answer = "la réponse du support"
    flows.run("create_account.yaml", row("oubli@ex.fr", siret="79954986000010").flow_inputs())
    flows.run("activate_account.yaml", {"email": "oubli@ex.fr"},
              {"user_password": "Ancien-2026-mdp", "secret_answer": answer})  # fmt: skip
    with pytest.raises(StepFailed, match="La réponse à la question secrète est incorrecte"):
        flows.run("recover_password.yaml", {"email": "oubli@ex.fr"},
                  {"user_password": "Nouveau-2026-mdp", "secret_answer": "pas la bonne"})  # fmt: skip
    flows.run("recover_password.yaml", {"email": "oubli@ex.fr", "since": box_since_now().isoformat()},
              {"user_password": "Nouveau-2026-mdp", "secret_answer": answer})  # fmt: skip
    flows.run("first_login.yaml", {"email": "oubli@ex.fr"}, {"user_password": "Nouveau-2026-mdp"})
    assert portal.account("oubli@ex.fr")["password"] == "Nouveau-2026-mdp"


def test_bulk_file_with_a_bad_row_then_a_rerun(portal, mail_dir, tmp_path):
    users = tmp_path / "users.csv"
    users.write_text(
        "email;nom;prenom;siret;type;identifiant;raison_sociale;adresse;code_postal;ville;pays;espaces\n"
        "a@ex.fr;Arnaud;Anne;49931830000013;;;;;;;;Factures émises\n"
        "b@ex.fr;Bernard;Bruno;49931830000014;;;;;;;;\n"
        "c@ex.fr;Cazals;Chloé;79954986000010;;;;;;;;\n",
        encoding="utf-8",
    )
    vault, report = tmp_path / "vault" / "user-accounts.json", tmp_path / "report.json"
    args = ["accounts", "create", str(users), "--portal-url", portal.url, "--mailbox", f"maildir://{mail_dir}",
            "--captcha-command", captcha_command(portal), "--vault", str(vault), "--report", str(report),
            "--recordings", str(tmp_path / "recordings"), "--mail-timeout", "15"]  # fmt: skip
    first = robot(*args)
    assert first.returncode == 1, first.stderr
    entries = json.loads(report.read_text(encoding="utf-8"))
    assert [(e["row"], e["email"], e["outcome"]) for e in entries] == [
        (2, "a@ex.fr", "created"), (3, "b@ex.fr", "failed"), (4, "c@ex.fr", "rattachement_requested"),
    ]  # fmt: skip
    assert f"{users}:3:" in entries[1]["reason"] and "clé de contrôle" in entries[1]["reason"]
    assert vault.stat().st_mode & 0o777 == 0o600
    stored = json.loads(vault.read_text(encoding="utf-8"))
    assert set(stored) == {"a@ex.fr", "c@ex.fr"} and all(e["status"] == "active" for e in stored.values())
    assert all(e["password"] not in first.stdout + first.stderr for e in stored.values())
    mails_before = len(portal.state()["mails"])

    users.write_text(users.read_text(encoding="utf-8").replace("49931830000014", "52340125000015"), encoding="utf-8")
    second = robot(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    outcomes = [e["outcome"] for e in json.loads(report.read_text(encoding="utf-8"))]
    assert outcomes == ["skipped", "created", "skipped"]
    assert len(portal.state()["mails"]) == mails_before + 1, "nothing was created twice"


def test_an_unreadable_file_exits_2(tmp_path):
    (tmp_path / "users.csv").write_text("courriel;nom\nx;y\n", encoding="utf-8")
    done = robot("accounts", "create", str(tmp_path / "users.csv"), "--vault", str(tmp_path / "v.json"))
    assert done.returncode == 2 and "column(s) missing: email" in done.stderr


def test_a_row_stopped_after_creation_is_only_activated_on_the_rerun(browser, portal, mail_dir, tmp_path):
    vault = Vault(tmp_path / "user-accounts.json")
    user_row = row("reprise@ex.fr", siret="79954986000010")
    empty = tmp_path / "empty-Maildir"
    for mailbox_url, timeout in ((f"maildir://{empty}", 0), (f"maildir://{mail_dir}", 15)):
        chosen = services.AccountServices(
            captcha=services.CommandSolver(captcha_command(portal)), mailbox_url=mailbox_url,
            mail_timeout_s=timeout, captcha_dir=tmp_path,
        )  # fmt: skip
        with services.using(chosen):
            try:
                outcome = onboard_row(FlowRunner(browser, "mock", portal.url), vault, user_row)
            except NoMessage:
                assert vault.get("reprise@ex.fr")["status"] == "created"
                continue
    assert outcome.outcome == "rattachement_requested"
    assert len(portal.state()["mails"]) == 1, "created once, activated on the rerun"
    assert user(portal, "reprise@ex.fr")["status"] == "active"

"""Issue 8 point 2: the second authentication factor, on the mock portal and through the robot."""

from __future__ import annotations

import mailbox
import re
from pathlib import Path

import pyotp
import pytest
import yaml
from playwright.sync_api import Browser

from fixtures.mock_portal import create_app
from robots.integrations import second_factor
from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import DEMO_DATA, PROJECT, Portal, robot

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
COMPANY = "compta@transports-garonne.example"


def company(portal: Portal) -> dict:
    return portal.account(COMPANY)


def totp_secret() -> str:
    data = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    return next(a["totp_secret"] for a in data["accounts"] if a["login"] == COMPANY)


def codes_in(maildir: Path) -> list[str]:
    box = mailbox.Maildir(maildir, create=False)
    return [re.search(r"\b(\d{6})\b", m.get_payload(decode=True).decode()).group(1) for m in box]


@pytest.fixture
def chorus_user(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> dict:
    account = company(portal)
    monkeypatch.setenv("CHORUS_LOGIN", account["login"])
    monkeypatch.setenv("CHORUS_PASSWORD", account["password"])
    return account


def reset_first_structure(browser: Browser, portal: Portal, vault: Path, sources: dict) -> str:
    structure = portal.managed_by(COMPANY)[0]["identifiant"]
    request = RunRequest(
        flow=FLOW, portal_url=portal.url, variables={"structure": structure, "entry": "chorus"}, vault_path=vault,
        secret_sources=sources,
    )  # fmt: skip
    run_in_browser(browser, prepare(request), request)
    return structure


# ---------------------------------------------------------------- the mock


def test_the_mock_mails_a_code_and_opens_the_session_only_with_it(tmp_path: Path):
    maildir = tmp_path / "mail"
    app = create_app(DEMO_DATA, options={"second_factor": "email", "maildir": str(maildir), "generation": "legacy"})
    client = app.test_client()
    account = next(a for a in client.get("/__mock__/state").json["accounts"] if a["login"] == COMPANY)

    answer = client.post("/cpp/connexion", data={"username": COMPANY, "password": account["password"]})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/cpp/connexion/code")
    assert client.get("/cpp/accueil").status_code == 303  # no session before the code
    (code,) = codes_in(maildir)
    message = next(iter(mailbox.Maildir(maildir, create=False)))
    assert message["To"] == COMPANY and "Chorus Pro" in message["Subject"]

    wrong = client.post("/cpp/connexion/code", data={"otp": "000000" if code != "000000" else "111111"})
    assert "Le code saisi est incorrect" in wrong.get_data(as_text=True)
    assert client.get("/__mock__/state").json["accounts"][2]["failed_logins"] == 1
    right = client.post("/cpp/connexion/code", data={"otp": code}, follow_redirects=True)
    assert "Accueil connecté" in right.get_data(as_text=True)
    assert client.get("/__mock__/state").json["accounts"][2]["failed_logins"] == 0


def test_the_mock_takes_an_authenticator_code(tmp_path: Path):
    client = create_app(DEMO_DATA, options={"second_factor": "totp", "generation": "legacy"}).test_client()
    password = next(a for a in client.get("/__mock__/state").json["accounts"] if a["login"] == COMPANY)["password"]
    client.post("/cpp/connexion", data={"username": COMPANY, "password": password})
    page = client.get("/cpp/connexion/code").get_data(as_text=True)
    assert "Code à usage unique" in page
    answer = client.post("/cpp/connexion/code", data={"otp": pyotp.TOTP(totp_secret()).now()}, follow_redirects=True)
    assert "Accueil connecté" in answer.get_data(as_text=True)


def test_mock_portal_refuses_email_codes_with_nowhere_to_send_them():
    result = robot("mock-portal", "--second-factor", "email", "--port", "0")
    assert result.returncode == 2
    assert "--maildir DOSSIER ou --smtp HÔTE:PORT" in result.stderr


# ---------------------------------------------------------------- the robot


def test_the_robot_reads_the_mailed_code_from_a_maildir(
    browser: Browser, portal: Portal, chorus_user: dict, tmp_path: Path
):
    maildir = tmp_path / "mail"
    portal.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(maildir)})
    source = second_factor.source_for("email", address=COMPANY, mailbox_url=f"maildir://{maildir}")

    structure = reset_first_structure(browser, portal, tmp_path / "vault.json", second_factor.sources(source))

    assert portal.structure(structure)["reset_count"] >= 1
    assert len(codes_in(maildir)) == 1
    assert company(portal)["failed_logins"] == 0


def test_the_robot_computes_the_authenticator_code(browser: Browser, portal: Portal, chorus_user: dict, tmp_path: Path):
    portal.call("POST", "/__mock__/options", {"second_factor": "totp"})
    sources = second_factor.sources(second_factor.TotpCode(totp_secret()))

    structure = reset_first_structure(browser, portal, tmp_path / "vault.json", sources)

    assert portal.structure(structure)["reset_count"] >= 1


def test_without_a_code_source_the_login_stops_with_a_clear_reason(
    browser: Browser, portal: Portal, chorus_user: dict, tmp_path: Path
):
    portal.call("POST", "/__mock__/options", {"second_factor": "totp"})
    with pytest.raises(Exception, match="le portail demande un second facteur") as raised:
        reset_first_structure(browser, portal, tmp_path / "vault.json", second_factor.sources(None))
    assert getattr(raised.value, "kind", None) == "second_factor"
    assert company(portal)["failed_logins"] == 0  # nothing was typed: nothing counted


def test_run_with_mailbox_never_shows_the_code(portal: Portal, chorus_user: dict, tmp_path: Path):
    maildir = tmp_path / "mail"
    portal.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(maildir)})
    structure = portal.managed_by(COMPANY)[0]["identifiant"]

    result = robot(
        "run", str(FLOW), "--env", "mock", "--portal-url", portal.url, "--var", f"structure={structure}",
        "--var", "entry=chorus", "--vault", str(tmp_path / "vault.json"), "--mailbox", f"maildir://{maildir}",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    (code,) = codes_in(maildir)
    assert code not in result.stdout + result.stderr
    assert "code du second facteur obtenu" in result.stderr


# ---------------------------------------------------------------- the nightly job


def company_roster(tmp_path: Path, portal: Portal, **second: str) -> Path:
    structures = [{"identifiant": s["identifiant"]} for s in portal.managed_by(COMPANY)]
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump({"accounts": [{
        "name": "societe", "portal": "chorus", "login_env": "SOC_LOGIN", "password_env": "SOC_PASSWORD",
        **second, "structures": structures,
    }]}))  # fmt: skip
    return path


def night(tmp_path: Path, portal: Portal, roster_path: Path, *more: str, **env: str):
    account = company(portal)
    return robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster_path), "--dry-run",
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(tmp_path / "vault.json"), "--log-file", "-",
        *more, env={"SOC_LOGIN": account["login"], "SOC_PASSWORD": account["password"], **env},
    )  # fmt: skip


def test_renew_logs_in_once_for_its_workers_and_reads_the_code_from_the_account_mailbox(portal: Portal, tmp_path: Path):
    maildir = tmp_path / "mail"
    portal.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(maildir)})
    roster_path = company_roster(tmp_path, portal, second_factor="email", mailbox=f"maildir://{maildir}")

    result = night(tmp_path, portal, roster_path, "--jobs", "2")  # a worker per structure

    assert result.returncode == 0, result.stderr
    codes = codes_in(maildir)
    assert len(codes) == 1 and company(portal)["failed_logins"] == 0  # the second worker took the session
    assert not any(code in result.stdout + result.stderr for code in codes)


def test_renew_reads_the_newest_code_when_the_mailbox_holds_an_older_one(portal: Portal, tmp_path: Path):
    maildir = tmp_path / "mail"
    portal.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(maildir)})
    roster_path = company_roster(tmp_path, portal, second_factor="email", mailbox=f"maildir://{maildir}")

    first, second = night(tmp_path, portal, roster_path), night(tmp_path, portal, roster_path)

    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    codes = codes_in(maildir)
    assert len(set(codes)) == 2 and company(portal)["failed_logins"] == 0  # the second login typed the new code
    assert not any(code in second.stdout + second.stderr for code in codes)


def test_renew_computes_the_authenticator_code_from_the_named_variable(portal: Portal, tmp_path: Path):
    portal.call("POST", "/__mock__/options", {"second_factor": "totp"})
    roster_path = company_roster(tmp_path, portal, second_factor="totp", totp_env="SOC_TOTP")

    result = night(tmp_path, portal, roster_path, SOC_TOTP=totp_secret())

    assert result.returncode == 0, result.stderr
    assert totp_secret() not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"second_factor": "email"}, "second_factor: email demande `mailbox:`"),
        ({"second_factor": "totp"}, "second_factor: totp demande `totp_env:`"),
        (
            {"second_factor": "email", "mailbox": "pop3://x@y"},
            "maildir:///CHEMIN ou imaps://UTILISATEUR@HÔTE/DOSSIER attendu",
        ),
    ],
)
def test_a_second_factor_without_its_source_is_bad_input(portal: Portal, tmp_path: Path, second: dict, message: str):
    result = night(tmp_path, portal, company_roster(tmp_path, portal, **second))
    assert result.returncode == 2 and message in result.stderr
    assert re.search(r"roster\.yaml:\d+: accounts\.0", result.stderr)


def test_the_mock_can_mail_the_code_through_smtp():
    from aiosmtpd.controller import Controller

    from tests.test_renew import Mailbox as SmtpInbox
    from tests.test_renew import free_port

    inbox, port = SmtpInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        client = create_app(
            DEMO_DATA, options={"second_factor": "email", "smtp": f"127.0.0.1:{port}", "generation": "legacy"}
        ).test_client()
        password = next(a for a in client.get("/__mock__/state").json["accounts"] if a["login"] == COMPANY)["password"]
        client.post("/cpp/connexion", data={"username": COMPANY, "password": password})
    finally:
        controller.stop()
    (message,) = inbox.to(COMPANY)
    assert re.search(r"\b\d{6}\b", message.get_content())

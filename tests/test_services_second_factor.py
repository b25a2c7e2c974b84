"""Issue 18 point 2: the second factor on the « portail de services » login (evidence A1, A2), in the identity
provider's words, and the robot through it — mailbox (Dovecot), authenticator, nobody to ask, an expired code."""

from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
import re
from pathlib import Path

import pyotp
import pytest
import yaml
from flask.testing import FlaskClient
from playwright.sync_api import Browser

from fixtures.mock_portal import create_app
from fixtures.mock_portal.options import add_login_options, options_from
from robots.errors import BadInput, StepFailed
from robots.integrations import second_factor
from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import DEMO_DATA, PROJECT, Portal, robot
from tests.dovecot import PASSWORD as IMAP_PASSWORD
from tests.dovecot import ImapServer

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
COMPANY = "compta@transports-garonne.example"
IDP = "/auth/realms/chorus-pro"
CODE_PAGE = f"{IDP}/login-actions/otp"


def totp_secret() -> str:
    data = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    return next(a["totp_secret"] for a in data["accounts"] if a["login"] == COMPANY)


def codes_in(maildir: Path) -> list[str]:
    """The codes mailed (in no order: two mailed in the same second have the same date)."""
    letters = mailbox.Maildir(maildir, create=False)
    return [re.search(r"\b(\d{6})\b", m.get_payload(decode=True).decode()).group(1) for m in letters]


def new_code(maildir: Path, known: str) -> str:
    (fresh,) = [code for code in codes_in(maildir) if code != known]
    return fresh


# ---------------------------------------------------------------- the mock


def mock(tmp_path: Path, **options: object) -> tuple[FlaskClient, Path]:
    maildir = tmp_path / "mail"
    app = create_app(
        DEMO_DATA, options={"generation": "services", "second_factor": "email", "maildir": str(maildir), **options}
    )
    return app.test_client(), maildir


def account_of(client: FlaskClient) -> dict:
    return next(a for a in client.get("/__mock__/state").json["accounts"] if a["login"] == COMPANY)


def type_password(client: FlaskClient) -> str:
    answer = client.post(
        f"{IDP}/login-actions/authenticate", data={"username": COMPANY, "password": account_of(client)["password"]}
    )
    assert answer.status_code == 303
    return answer.headers["Location"]


def type_code(client: FlaskClient, code: str) -> str:
    answer = client.post(CODE_PAGE, data={"otp": code}, follow_redirects=True)
    return answer.get_data(as_text=True)


def test_the_services_login_asks_a_mailed_code_in_keycloak_words(tmp_path: Path):
    client, maildir = mock(tmp_path)

    assert type_password(client) == CODE_PAGE
    page = client.get(CODE_PAGE).get_data(as_text=True)
    assert "Connectez-vous à votre compte" in page and ">Code à usage unique</label>" in page
    assert 'value="Connexion"' in page and "Valider" not in page
    assert "Il est valable 10 minutes" in page and "Recevoir un nouveau code" in page
    assert client.get("/aife_csm/fr?id=aife_structures").status_code == 303  # no session before the code
    (code,) = codes_in(maildir)
    letter = next(iter(mailbox.Maildir(maildir, create=False)))
    assert letter["To"] == COMPANY and "10 minutes" in letter.get_payload(decode=True).decode()

    wrong = type_code(client, "000000" if code != "000000" else "111111")
    assert "Le code d&#39;authentification est invalide." in wrong
    assert account_of(client)["failed_logins"] == 1
    assert "Accéder" not in wrong and client.get("/aife_csm/fr?id=aife_structures").status_code == 303

    type_code(client, code)
    assert client.get("/aife_csm/fr?id=aife_structures").status_code == 200
    assert account_of(client)["failed_logins"] == 0


def test_a_new_code_voids_the_previous_one(tmp_path: Path):
    client, maildir = mock(tmp_path)
    type_password(client)
    (first,) = codes_in(maildir)

    notice = client.get(f"{CODE_PAGE}/nouveau-code", follow_redirects=True).get_data(as_text=True)
    assert "Un nouveau code vient de vous être envoyé" in notice
    second = new_code(maildir, first)

    assert "Le code d&#39;authentification est invalide." in type_code(client, first)
    assert account_of(client)["failed_logins"] == 1
    type_code(client, second)
    assert client.get("/aife_csm/fr?id=aife_structures").status_code == 200


def test_an_expired_code_is_refused_with_its_own_message_and_not_counted(tmp_path: Path):
    client, maildir = mock(tmp_path, expired_codes=1, code_validity_s=90)
    type_password(client)
    (late,) = codes_in(maildir)

    assert "Ce code a expiré" in type_code(client, late)
    assert account_of(client)["failed_logins"] == 0
    client.get(f"{CODE_PAGE}/nouveau-code")
    fresh = new_code(maildir, late)
    assert all("valable 90 secondes" in m.get_payload(decode=True).decode() for m in mailbox.Maildir(maildir))
    type_code(client, fresh)
    assert client.get("/aife_csm/fr?id=aife_structures").status_code == 200


def test_five_wrong_codes_lock_the_account_with_keycloak_s_words(tmp_path: Path):
    client, maildir = mock(tmp_path)
    type_password(client)
    (code,) = codes_in(maildir)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        last = type_code(client, wrong)
    assert "Ce compte est temporairement désactivé" in last
    assert account_of(client)["locked_until"]
    assert "Ce compte est temporairement désactivé" in type_code(client, code)  # even the right code now
    again = client.post(f"{IDP}/login-actions/authenticate", data={"username": COMPANY, "password": "x"})
    assert "Ce compte est temporairement désactivé" in again.get_data(as_text=True)


def test_the_authenticator_code_on_the_services_login(tmp_path: Path):
    client, maildir = mock(tmp_path, second_factor="totp")
    type_password(client)
    page = client.get(CODE_PAGE).get_data(as_text=True)
    assert "application d'authentification" in page and "Recevoir un nouveau code" not in page
    type_code(client, pyotp.TOTP(totp_secret()).now())
    assert client.get("/aife_csm/fr?id=aife_structures").status_code == 200
    assert not maildir.exists()


def test_the_dgfip_entry_asks_the_code_when_the_identity_provider_does(tmp_path: Path):
    client, maildir = mock(tmp_path, second_factor_after_dgfip=True)
    syndicate = next(a for a in client.get("/__mock__/state").json["accounts"] if a["login"] == "s.rigoulot")
    client.post("/portail/accueilIAM.pl", data={"identifiant": "s.rigoulot", "secret": syndicate["password"]})

    answer = client.get(f"{IDP}/protocol/openid-connect/auth")  # « Se connecter », no password typed

    assert answer.headers["Location"] == CODE_PAGE
    letter = next(iter(mailbox.Maildir(maildir, create=False)))
    assert letter["To"] == "s.rigoulot@siagep30.example"
    type_code(client, codes_in(maildir)[0])
    assert client.get("/aife_csm/fr?id=aife_structures").status_code == 200
    assert client.get("/portail/applications").status_code == 200  # still known to the DGFiP portal


def test_code_validity_is_an_option_of_mock_portal():
    parser = argparse.ArgumentParser()
    add_login_options(parser)
    assert options_from(parser.parse_args([]))["code_validity_s"] == 600
    assert options_from(parser.parse_args(["--code-validity", "90s"]))["code_validity_s"] == 90
    with pytest.raises(BadInput, match="--code-validity « dix »"):
        options_from(parser.parse_args(["--code-validity", "dix"]))


# ---------------------------------------------------------------- the robot


@pytest.fixture
def services(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> Portal:
    portal.call("POST", "/__mock__/options", {"generation": "services"})
    account = portal.account(COMPANY)
    monkeypatch.setenv("CHORUS_LOGIN", account["login"])
    monkeypatch.setenv("CHORUS_PASSWORD", account["password"])
    return portal


def reset_first_structure(browser: Browser, portal: Portal, tmp_path: Path, sources: dict) -> str:
    structure = portal.managed_by(COMPANY)[0]["identifiant"]
    request = RunRequest(
        flow=FLOW, portal_url=portal.url, variables={"structure": structure, "entry": "chorus"},
        vault_path=tmp_path / "vault.json", journal_path=tmp_path / "journal.sqlite", secret_sources=sources,
    )  # fmt: skip
    run_in_browser(browser, prepare(request), request)
    return structure


def test_the_robot_reads_the_code_over_imap_from_dovecot(
    browser: Browser, services: Portal, imap_server: ImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_PASSWORD", IMAP_PASSWORD)
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_INSECURE", "1")
    # The mock delivers where Dovecot serves the INBOX, as a mail server would; this test's own mailbox user, so
    # that the letters of other tests (same Dovecot, same address) are not counted.
    maildir = imap_server.maildir("services-second-factor")
    services.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(maildir)})

    structure = reset_first_structure(
        browser, services, tmp_path, second_factor.sources_for_run(imap_server.url("services-second-factor"))
    )

    assert services.structure(structure)["reset_count"] == 1
    assert services.account(COMPANY)["failed_logins"] == 0
    assert len(list(mailbox.Maildir(maildir, create=False))) == 1


def test_the_robot_computes_the_authenticator_code(browser: Browser, services: Portal, tmp_path: Path):
    services.call("POST", "/__mock__/options", {"second_factor": "totp"})

    structure = reset_first_structure(
        browser, services, tmp_path, second_factor.sources(second_factor.TotpCode(totp_secret()))
    )

    assert services.structure(structure)["reset_count"] == 1


def test_a_wrong_code_stops_the_login_and_counts_once(browser: Browser, services: Portal, tmp_path: Path):
    services.call("POST", "/__mock__/options", {"second_factor": "totp"})
    not_its_secret = second_factor.TotpCode(pyotp.random_base32())

    with pytest.raises(StepFailed, match="code du second facteur refusé par Chorus Pro") as raised:
        reset_first_structure(browser, services, tmp_path, second_factor.sources(not_its_secret))

    assert raised.value.kind == "login_refused"
    assert "Le code d'authentification est invalide." in str(raised.value)
    assert services.account(COMPANY)["failed_logins"] == 1


def test_an_expired_code_asks_one_new_code(browser: Browser, services: Portal, tmp_path: Path):
    maildir = tmp_path / "mail"
    services.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(maildir), "expired_codes": 1})
    source = second_factor.source_for("email", address=COMPANY, mailbox_url=f"maildir://{maildir}")

    structure = reset_first_structure(browser, services, tmp_path, second_factor.sources(source))

    assert services.structure(structure)["reset_count"] == 1
    assert len(codes_in(maildir)) == 2  # the late one, then the new one
    assert services.account(COMPANY)["failed_logins"] == 0


def test_a_second_expired_code_stops_the_login_after_one_new_code(browser: Browser, services: Portal, tmp_path: Path):
    maildir = tmp_path / "mail"
    services.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(maildir), "expired_codes": 5})
    source = second_factor.source_for("email", address=COMPANY, mailbox_url=f"maildir://{maildir}")
    structure = services.managed_by(COMPANY)[0]["identifiant"]

    with pytest.raises(StepFailed, match="le nouveau code du second facteur a expiré lui aussi") as raised:
        reset_first_structure(browser, services, tmp_path, second_factor.sources(source))

    assert raised.value.kind == "second_factor"
    assert len(codes_in(maildir)) == 2  # one new code asked, not more
    assert services.structure(structure)["reset_count"] == 0


def test_the_robot_gives_the_code_after_the_dgfip_entry_too(
    browser: Browser, services: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    syndicate = services.account("s.rigoulot")
    monkeypatch.setenv("DGFIP_LOGIN", syndicate["login"])
    monkeypatch.setenv("DGFIP_PASSWORD", syndicate["password"])
    maildir = tmp_path / "mail"
    services.call("POST", "/__mock__/options", {
        "second_factor": "email", "maildir": str(maildir), "second_factor_after_dgfip": True,
    })  # fmt: skip
    # The DGFiP identifiant is the left part of the address the code goes to.
    source = second_factor.source_for("email", address="s.rigoulot", mailbox_url=f"maildir://{maildir}")
    structure = services.managed_by("s.rigoulot")[0]["identifiant"]
    request = RunRequest(
        flow=FLOW, portal_url=services.url, variables={"structure": structure, "entry": "dgfip"},
        vault_path=tmp_path / "vault.json", journal_path=tmp_path / "journal.sqlite",
        secret_sources=second_factor.sources(source),
    )  # fmt: skip

    run_in_browser(browser, prepare(request), request)

    assert services.structure(structure)["reset_count"] == 1
    assert len(codes_in(maildir)) == 1


def portal_state(portal: Portal) -> dict:
    state = portal.state()
    return {"accounts": state["accounts"], "structures": state["structures"], "writes": state["writes"]}


def test_run_without_a_code_source_stops_with_exit_1_naming_the_code_page(services: Portal, tmp_path: Path):
    services.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(tmp_path / "mail")})
    structure = services.managed_by(COMPANY)[0]["identifiant"]
    before = portal_state(services)

    result = robot(
        "run", str(FLOW), "--env", "mock", "--portal-url", services.url, "--var", f"structure={structure}",
        "--var", "entry=chorus", "--vault", str(tmp_path / "vault.json"), "--journal", str(tmp_path / "j.sqlite"),
        env={"CHORUS_TOTP_SECRET": ""},
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    said = " ".join(result.stderr.split())
    assert "le portail demande un second facteur (la page « Code à usage unique »" in said
    assert "--mailbox URL" in said and "`mailbox:`" in said and "`totp_env:`" in said
    assert "Saisie du code du second facteur" in said  # the screen seen
    assert portal_state(services) == before  # no code typed, no failed login, nothing reset


# ---------------------------------------------------------------- the nightly job


def test_renew_logs_in_once_per_account_through_the_code_page(services: Portal, tmp_path: Path):
    maildir = tmp_path / "mail"
    services.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(maildir)})
    structures = [{"identifiant": s["identifiant"]} for s in services.managed_by(COMPANY)]
    assert len(structures) == 2
    roster = tmp_path / "roster.yaml"
    roster.write_text(yaml.safe_dump({"accounts": [{
        "name": "societe", "portal": "chorus", "login_env": "SOC_LOGIN", "password_env": "SOC_PASSWORD",
        "second_factor": "email", "mailbox": f"maildir://{maildir}", "structures": structures,
    }]}))  # fmt: skip
    account = services.account(COMPANY)

    result = robot(
        "renew", "--env", "mock", "--portal-url", services.url, "--roster", str(roster), "--dry-run",
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(tmp_path / "vault.json"), "--log-file", "-",
        "--jobs", "1", env={"SOC_LOGIN": account["login"], "SOC_PASSWORD": account["password"]},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    codes = codes_in(maildir)
    assert len(codes) == 1  # two structures, one login, one code
    assert services.account(COMPANY)["failed_logins"] == 0
    assert not any(code in result.stdout + result.stderr for code in codes)


# ---------------------------------------------------------------- a new user's first login (`accounts create`)


def test_a_new_user_s_first_login_reads_its_code_from_the_account_mailbox(
    browser: Browser, portal: Portal, imap_server: ImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from robots.integrations import account_services
    from robots.jobs.accounts.onboarding import FlowRunner, onboard_row
    from robots.store.vault import Vault
    from tests.test_services_accounts import MAILBOX_USER, captcha_command, row

    support = imap_server.maildir(MAILBOX_USER)  # every mail of the portal lands in the support mailbox
    portal.call("POST", "/__mock__/options", {"generation": "services", "second_factor": "email",
                                              "maildir": str(support)})  # fmt: skip
    portal.call("POST", "/__mock__/accounts", {"maildir": str(support)})
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_PASSWORD", imap_server.password)
    over_imap = account_services.AccountServices(
        captcha=account_services.CommandSolver(captcha_command(portal)), mailbox_url=imap_server.url(MAILBOX_USER),
        insecure_mail=True, mail_timeout_s=15, captcha_dir=tmp_path / "captcha",
    )  # fmt: skip

    with account_services.using(over_imap):
        outcome = onboard_row(
            FlowRunner(browser, "mock", portal.url), Vault(tmp_path / "accounts.json"),
            row("lucia@ex.fr", siret="49931830000013"),
        )  # fmt: skip

    assert outcome.outcome == "created", outcome
    created = portal.structure("49931830000013")
    assert created["manager"] == "lucia@ex.fr"
    box = mailbox.Maildir(support, create=False)
    letters = [email.message_from_bytes(box.get_bytes(key), policy=email.policy.default) for key in box.iterkeys()]
    codes = [m for m in letters if m["Subject"] == "Chorus Pro - Code de vérification"]
    assert [m["To"] for m in codes] == ["lucia@ex.fr"]


def test_renew_types_a_refused_code_once_per_run_whatever_the_jobs(services: Portal, tmp_path: Path):
    services.call("POST", "/__mock__/options", {"second_factor": "totp"})
    structures = [{"identifiant": s["identifiant"]} for s in services.managed_by(COMPANY)]
    roster = tmp_path / "roster.yaml"
    roster.write_text(yaml.safe_dump({"accounts": [{
        "name": "societe", "portal": "chorus", "login_env": "SOC_LOGIN", "password_env": "SOC_PASSWORD",
        "second_factor": "totp", "totp_env": "SOC_TOTP", "structures": structures,
    }]}))  # fmt: skip
    account, report = services.account(COMPANY), tmp_path / "report.json"

    result = robot(
        "renew", "--env", "mock", "--portal-url", services.url, "--roster", str(roster), "--dry-run",
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(tmp_path / "vault.json"), "--log-file", "-",
        "--report", str(report), "--jobs", "2",
        env={"SOC_LOGIN": account["login"], "SOC_PASSWORD": account["password"], "SOC_TOTP": pyotp.random_base32()},
    )  # fmt: skip

    assert result.returncode == 1
    assert services.account(COMPANY)["failed_logins"] == 1
    outcomes = yaml.safe_load(report.read_text())["outcomes"]
    assert len(outcomes) == 2 and {o["error_kind"] for o in outcomes} == {"login_refused"}
    assert all("Le code d'authentification est invalide." in o["error"] for o in outcomes)

"""The mailbox reader (second-factor codes today, activation e-mails tomorrow): a Maildir and a real IMAP server."""

from __future__ import annotations

import imaplib
import mailbox
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from robots.errors import BadInput, NoMessage, RobotError
from robots.integrations import second_factor
from robots.integrations.mailbox import open_mailbox
from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import PROJECT, Portal
from tests.dovecot import PASSWORD as IMAP_PASSWORD
from tests.dovecot import ImapServer

USER = "compta@transports-garonne.example"
NOW = datetime.now().astimezone().replace(microsecond=0)


def letter(to: str, body: str, sent: datetime, subject: str = "Votre code") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ne-pas-repondre@chorus-pro.gouv.fr", to, subject
    message["Date"], message["Message-ID"] = format_datetime(sent), make_msgid()
    message.set_content(body)
    return message


@pytest.fixture
def imap_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_PASSWORD", IMAP_PASSWORD)
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_INSECURE", "1")


def append(server: ImapServer, user: str, message: EmailMessage) -> None:
    imap = imaplib.IMAP4("127.0.0.1", server.port)
    imap.login(user, server.password)
    imap.append("INBOX", "", imaplib.Time2Internaldate(datetime.now().astimezone()), message.as_bytes())
    imap.logout()


def test_maildir_gives_the_newest_message_to_that_address_sent_after_the_moment(tmp_path: Path):
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(letter(USER, "ancien 111111", NOW - timedelta(minutes=5)))
    box.add(letter(USER, "premier 222222", NOW))
    box.add(letter(USER, "dernier 333333", NOW + timedelta(seconds=2)))
    box.add(letter("autre@example.org", "pas pour lui 444444", NOW + timedelta(seconds=3)))
    reader = open_mailbox(f"maildir://{tmp_path / 'mail'}")

    found = reader.wait(USER, NOW, timeout_s=0)

    assert "333333" in found.text
    assert reader.newest(USER, NOW, exclude=[found.message_id]).text.startswith("premier")
    assert reader.newest(USER, NOW + timedelta(minutes=1)) is None


def test_a_code_is_read_from_the_code_message_not_from_an_activation_link_sent_in_the_same_second(tmp_path: Path):
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    link = "https://portail.chorus-pro.gouv.fr/?id=aife_activation&jeton=Ab123456cd"
    box.add(letter(USER, "Mon code 111111", NOW - timedelta(minutes=5)))  # before the login: not this one
    box.add(letter(USER, f"Activer votre compte <{link}>", NOW + timedelta(seconds=1), "activation de votre compte"))
    mailed = second_factor.MailedCode(open_mailbox(f"maildir://{tmp_path / 'mail'}"), USER, NOW, timeout_s=0)

    with pytest.raises(RobotError, match=rf"aucun message pour {USER} .* aucun ne contient de code à 6 chiffres"):
        mailed.code()

    box.add(letter(USER, "Voici votre code de vérification : 654321", NOW, "Code de vérification"))
    assert mailed.code() == "654321"


def test_no_message_in_time_is_a_clear_error(tmp_path: Path):
    reader = open_mailbox(f"maildir://{tmp_path / 'empty'}")
    with pytest.raises(NoMessage, match=rf"aucun message pour {USER} reçu depuis .* dans maildir://.*\(attendu 0 s\)"):
        reader.wait(USER, NOW, timeout_s=0)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("imap://robot@imap.example.org/INBOX", "imap:// en clair seulement vers une adresse locale"),
        ("imaps://robot:pw@imap.example.org/INBOX", "le mot de passe va dans CHORUS_ROBOT_IMAP_PASSWORD"),
        ("imaps://imap.example.org/INBOX", "imaps://UTILISATEUR@HÔTE/DOSSIER attendu"),
        ("maildir://relative/path", "maildir:///CHEMIN/ABSOLU attendu"),
        ("pop3://robot@pop.example.org", "maildir:///CHEMIN ou imaps://"),
        ("imaps://robot@imap.example.org/INBOX", "donnez CHORUS_ROBOT_IMAP_PASSWORD"),
    ],
)
def test_bad_mailbox_urls_are_bad_input(url: str, message: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CHORUS_ROBOT_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("CHORUS_ROBOT_IMAP_INSECURE", raising=False)
    with pytest.raises(BadInput, match=message):
        open_mailbox(url)


def test_imap_gives_the_newest_message_to_that_address_sent_after_the_moment(imap_server: ImapServer, imap_env: None):
    user = "lecture@example.org"
    append(imap_server, user, letter(user, "ancien 111111", NOW - timedelta(minutes=5)))
    append(imap_server, user, letter(user, "nouveau 222222", NOW + timedelta(seconds=1)))
    reader = open_mailbox(imap_server.url(user))

    assert "222222" in reader.wait(user, NOW, timeout_s=0).text
    assert reader.newest(user, NOW + timedelta(minutes=1)) is None
    with pytest.raises(NoMessage):
        reader.wait("personne@example.org", NOW, timeout_s=0)


def test_imaps_checks_the_server_certificate(imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch):
    user = "tls@example.org"
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_PASSWORD", IMAP_PASSWORD)
    append(imap_server, user, letter(user, "par TLS 555555", NOW + timedelta(seconds=1)))
    url = imap_server.url(user, tls=True)

    with pytest.raises(Exception, match="injoignable.*CERTIFICATE_VERIFY_FAILED"):
        open_mailbox(url).newest(user, NOW)  # not a certificate the system trusts
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_CAFILE", str(imap_server.cafile))
    assert "555555" in open_mailbox(url).wait(user, NOW, timeout_s=0).text


def test_imap_refuses_a_wrong_password(imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_INSECURE", "1")
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_PASSWORD", "wrong-password")
    reader = open_mailbox(f"imap://x@example.org@127.0.0.1:{imap_server.port}/INBOX")
    with pytest.raises(Exception, match="boîte aux lettres"):
        reader.newest("x@example.org", NOW)


def test_the_robot_logs_in_with_a_code_read_over_imap(
    browser: Browser, portal: Portal, imap_server: ImapServer, imap_env: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):  # fmt: skip
    account = portal.account(USER)
    monkeypatch.setenv("CHORUS_LOGIN", account["login"])
    monkeypatch.setenv("CHORUS_PASSWORD", account["password"])
    # The mock delivers into the Maildir Dovecot serves, as a mail server would.
    portal.call("POST", "/__mock__/options", {"second_factor": "email", "maildir": str(imap_server.maildir(USER))})
    url = imap_server.url(USER)
    structure = portal.managed_by(USER)[0]["identifiant"]
    request = RunRequest(
        flow=PROJECT / "flows" / "reset_technical_password.yaml", portal_url=portal.url,
        variables={"structure": structure, "entry": "chorus"}, vault_path=tmp_path / "vault.json",
        secret_sources=second_factor.sources_for_run(url),
    )  # fmt: skip

    run_in_browser(browser, prepare(request), request)

    assert portal.structure(structure)["reset_count"] >= 1
    assert portal.account(USER)["failed_logins"] == 0

"""Issue 17, part 5: `accounts create` checks its mailbox and its captcha command before the portal is touched.

A wrong --mailbox (scheme, host, port, folder, password) or --captcha-command stops the command with a French
sentence naming the option, and the mock portal shows no new user and sent no mail. The good mailbox is the
session's real Dovecot (tests/dovecot.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from robots.cli.main import build_parser
from robots.errors import RobotError
from robots.integrations import account_services as services
from tests.conftest import Portal, robot
from tests.dovecot import ImapServer, free_port

ROW = "email;nom;prenom;siret\nverifie@ex.fr;Arnaud;Anne;49931830000013\n"
CAPTCHA = f"{sys.executable} -c pass"  # exists: never run, the checks stop before


def create(tmp_path: Path, portal: Portal, *options: str, env: dict[str, str] | None = None):
    users = tmp_path / "users.csv"
    users.write_text(ROW, encoding="utf-8")
    return robot(
        "accounts", "create", str(users), "--portal-url", portal.url, "--vault", str(tmp_path / "vault.json"),
        "--recordings", str(tmp_path / "recordings"), *options, env={"CHORUS_ROBOT_MAILBOX": "", **(env or {})},
    )  # fmt: skip


def assert_portal_untouched(portal: Portal, before: dict, tmp_path: Path) -> None:
    after = portal.state()
    assert after["users"] == before["users"] and after["mails"] == before["mails"], "nothing created on the portal"
    assert not (tmp_path / "vault.json").exists(), "no password generated for a row that cannot go on"


WRONG_PASSWORD = "pas-le-bon-4711"


@pytest.mark.parametrize(
    ("url", "password", "code", "said"),
    [
        ("ftp://x/INBOX", None, 2, "--mailbox : boîte aux lettres « ftp://x/INBOX » : maildir:///CHEMIN ou imaps://"),
        ("imaps:///INBOX", None, 2, "--mailbox : boîte aux lettres « imaps:///INBOX » : imaps://UTILISATEUR@HÔTE/"),
        ("imap://support@127.0.0.1:{free}/INBOX", None, 1, "injoignable : rien n'écoute sur 127.0.0.1:{free}"),
        ("imap://support@127.0.0.1:{port}/Nulle-Part", None, 2, "dossier « Nulle-Part » introuvable"),
        ("imap://support@127.0.0.1:{port}/INBOX", WRONG_PASSWORD, 2, "connexion refusée pour support"),
        ("maildir:///nulle/part/Maildir", None, 2, "ni le dossier /nulle/part/Maildir ni son parent n'existent"),
    ],
    ids=["ftp", "no host", "unreachable port", "wrong folder", "wrong password", "no maildir"],
)
def test_a_wrong_mailbox_stops_before_any_account_is_created(
    portal: Portal, imap_server: ImapServer, tmp_path: Path, url: str, password: str | None, code: int, said: str
):
    free = free_port()
    url, said = (text.format(free=free, port=imap_server.port) for text in (url, said))
    password = password or imap_server.password
    before = portal.state()

    done = create(tmp_path, portal, "--mailbox", url, "--insecure-mail", "--captcha-command", CAPTCHA,
                  env={"CHORUS_ROBOT_IMAP_PASSWORD": password})  # fmt: skip

    assert done.returncode == code, done.stderr
    assert said in done.stderr and done.stderr.startswith("chorus-robot: --mailbox : "), done.stderr
    assert "Traceback" not in done.stderr and password not in done.stderr + done.stdout
    assert_portal_untouched(portal, before, tmp_path)


def test_no_mailbox_at_all_is_said_before_the_portal(portal: Portal, tmp_path: Path):
    before = portal.state()
    done = create(tmp_path, portal, "--captcha-command", CAPTCHA)
    assert done.returncode == 2
    assert "aucune boîte aux lettres pour lire les courriels du portail : --mailbox URL" in done.stderr
    assert_portal_untouched(portal, before, tmp_path)


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("/nulle/part/lire-captcha --vite", "programme « /nulle/part/lire-captcha » introuvable"),
        ("lire-captcha-inconnu", "programme « lire-captcha-inconnu » introuvable"),
        ("{script}", "n'est pas un programme exécutable"),
        ("'non fermé", "guillemets non fermés"),
    ],
    ids=["absent path", "absent from PATH", "not executable", "bad quoting"],
)
def test_a_wrong_captcha_command_stops_before_any_account_is_created(
    portal: Portal, tmp_path: Path, command: str, said: str
):
    script = tmp_path / "lire-captcha.sh"
    script.write_text("#!/bin/sh\necho ABCDE\n", encoding="utf-8")
    script.chmod(0o644)
    (tmp_path / "Maildir").mkdir()
    before = portal.state()

    done = create(tmp_path, portal, "--mailbox", f"maildir://{tmp_path / 'Maildir'}",
                  "--captcha-command", command.format(script=script))  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("chorus-robot: --captcha-command ") and said in done.stderr, done.stderr
    assert_portal_untouched(portal, before, tmp_path)


def test_without_a_captcha_command_nor_a_terminal_it_says_so_before_the_portal(portal: Portal, tmp_path: Path):
    (tmp_path / "Maildir").mkdir()
    before = portal.state()
    done = create(tmp_path, portal, "--mailbox", f"maildir://{tmp_path / 'Maildir'}")
    assert done.returncode == 2
    assert "il n'y a pas de terminal ici ; donnez --captcha-command CMD" in done.stderr
    assert_portal_untouched(portal, before, tmp_path)


def test_the_real_mailbox_passes_the_checks_over_imap_and_imaps(
    imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_PASSWORD", imap_server.password)
    monkeypatch.setenv("CHORUS_ROBOT_IMAP_CAFILE", str(imap_server.cafile))
    imap_server.maildir("verifie")
    for url, insecure in ((imap_server.url("verifie"), True), (imap_server.url("verifie", tls=True), False)):
        chosen = services.AccountServices(
            captcha=services.CommandSolver(CAPTCHA), mailbox_url=url, insecure_mail=insecure
        )
        chosen.check()  # raises on anything wrong


def test_the_captcha_timeout_is_an_option_and_says_what_happened(tmp_path: Path):
    args = build_parser().parse_args(["accounts", "create", "u.csv", "--captcha-command", "lire", "--captcha-timeout",
                                      "12.5"])  # fmt: skip
    assert services.from_args(args).captcha.timeout_s == 12.5
    default = build_parser().parse_args(["accounts", "create", "u.csv", "--captcha-command", "lire"])
    assert services.from_args(default).captcha.timeout_s == 300
    shown = " ".join(robot("accounts", "create", "--help").stdout.split())
    assert "--captcha-timeout S arrêter --captcha-command restée S secondes sans réponse" in shown
    assert "(ce captcha échoue) (défaut : 300)" in shown

    hanging = services.CommandSolver(f"{sys.executable} -c 'import time; time.sleep(60)'", timeout_s=0.5)
    with pytest.raises(RobotError, match=r"pas de réponse après 0\.5 s \(arrêtée ; --captcha-timeout S"):
        hanging.solve(tmp_path / "captcha.png")

"""Issue 18 point 4: passwords as the portal generates them today — 13 characters from a wide alphabet (B5) —
and a forced password holding every character class, followed byte for byte through everything the robot does
with it: read on the form, journaled, stored in the vault, e-mailed, handed to a hook, sent to the API."""

from __future__ import annotations

import html
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser

from fixtures.mock_portal.state import PASSWORD_ALPHABET, PASSWORD_LENGTH, random_password
from robots.integrations.api_check import technical_account_works
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.secrets import MASK, REDACTOR
from robots.store.vault import Vault
from tests.conftest import Portal, robot
from tests.test_renew import Mailbox, free_port, piste_client

PUNCTUATION = "()_-[]{}|;:,.!?*$%&@#"
# Every class, and what breaks interpolation (${…}), printf-style and URL decoding, YAML and e-mail encodings.
EVERY_CLASS = "aZ01${structure}%41%(s)s{0}[]_-|;:,.!?*&@#()"
SLASHED = "Ab/0(1)x_y-z["  # « / » breaks connectors: never submitted, the form is opened again
IT_SERVICE = "informatique@transports-garonne.example"
HOOK = """
import sqlite3, sys
out, journal = sys.argv[1], sys.argv[2]
open(out + "/stdin", "wb").write(sys.stdin.buffer.read())
with sqlite3.connect(journal) as db:
    kept = [row[0] for row in db.execute("SELECT password FROM credentials WHERE password IS NOT NULL")]
open(out + "/journal", "w", encoding="utf-8").write("\\n".join(kept))
"""


def test_the_mock_generates_13_characters_of_the_wide_alphabet_and_slash_now_and_then():
    drawn = [random_password() for _ in range(2000)]

    assert {len(p) for p in drawn} == {PASSWORD_LENGTH} == {13}
    used = set("".join(drawn))
    assert used == set(PASSWORD_ALPHABET) | {"/"}
    assert set("0123456789") | set(PUNCTUATION) <= used
    assert 0 < sum("/" in p for p in drawn) < len(drawn) // 3


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.mark.parametrize(
    "portal_options",
    [
        {"generation": "services"},
        {"generation": "services", "password_wording": "suivant"},
        {"generation": "legacy"},
        {"generation": "legacy", "markup": "variants"},  # « …avec le mot de passe X<br>Vous allez… » (E3)
        {"generation": "legacy", "password_wording": "suivant"},
    ],
    ids=["services", "services-suivant", "legacy", "legacy-variants", "legacy-suivant"],
)
def test_a_password_of_every_character_class_is_read_journaled_stored_mailed_hooked_and_accepted_by_the_api(
    browser: Browser,
    portal: Portal,
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    portal_options: dict,
):
    assert set(PUNCTUATION) | set("01") <= set(EVERY_CLASS)
    portal.call("POST", "/__mock__/options", portal_options)
    company = portal.biggest_account("chorus")
    identifiant = portal.managed_by(company["login"])[0]["identifiant"]
    portal.call("POST", "/__mock__/structure", {"identifiant": identifiant, "expires_at": "+5d"})
    box, port = mailbox
    for name, value in {
        "SOCIETE_LOGIN": company["login"], "SOCIETE_PASSWORD": company["password"], **piste_client(),
        "CHORUS_ROBOT_SMTP_HOST": "127.0.0.1", "CHORUS_ROBOT_SMTP_PORT": str(port),
        "CHORUS_ROBOT_SMTP_STARTTLS": "0", "CHORUS_ROBOT_SMTP_FROM": "robot@example.org",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    journal = tmp_path / "journal.sqlite"
    command = json.dumps([sys.executable, str(hook), str(tmp_path), str(journal)])
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: transports-garonne\n    portal: chorus\n    login_env: SOCIETE_LOGIN\n"
        f'    password_env: SOCIETE_PASSWORD\n    structures:\n      - identifiant: "{identifiant}"\n'
        f"        deliver: [{{email: {IT_SERVICE}}}, {{command: {command}}}]\n"
    )
    portal.next_passwords([SLASHED, EVERY_CLASS])
    options = RenewOptions(roster_path=roster, portal_url=portal.url, vault_path=tmp_path / "vault.json",
                           within_days=30, failures_dir=tmp_path / "failures")  # fmt: skip
    outputs = Outputs(journal=journal, report=tmp_path / "report.json", log_file=tmp_path / "renew.log")

    report = run_renewal(options, outputs, browser)

    (outcome,) = report.outcomes
    assert (outcome.action, outcome.error) == ("renewed", None)
    technical = portal.structure(identifiant)["technical_user"]
    resets = 1 if portal_options["generation"] == "services" else 2  # legacy: the slashed one was confirmed, then reset
    assert technical["password"] == EVERY_CLASS and portal.structure(identifiant)["reset_count"] == resets
    assert Vault(tmp_path / "vault.json").get(identifiant)["password"] == EVERY_CLASS
    assert (tmp_path / "journal").read_text(encoding="utf-8") == EVERY_CLASS, "journaled before the hook ran"
    assert (tmp_path / "stdin").read_bytes() == EVERY_CLASS.encode() + b"\n"
    (mail,) = box.to(IT_SERVICE)
    assert f"Nouveau mot de passe : {EVERY_CLASS}\n" in mail.get_content().replace("\r\n", "\n")
    assert outcome.api_check["new_accepted"] is True
    assert technical_account_works(portal.url, technical["login"], EVERY_CLASS)
    written = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "renew.log", tmp_path / "report.json"))
    assert EVERY_CLASS not in written and "%(s)s{0}" not in written
    with sqlite3.connect(journal) as db:
        left = [p for (p,) in db.execute("SELECT password FROM credentials WHERE password IS NOT NULL")]
    assert left == [], "every delivery done: the journal forgets the password"


def test_run_keeps_every_character_class_out_of_its_output_and_recordings_and_whole_in_the_vault(
    portal: Portal, tmp_path: Path
):
    portal.call("POST", "/__mock__/options", {"generation": "services"})
    company = portal.biggest_account("chorus")
    identifiant = portal.managed_by(company["login"])[-1]["identifiant"]
    login = portal.structure(identifiant)["technical_user"]["login"]
    portal.next_passwords([EVERY_CLASS])
    vault = tmp_path / "vault.json"

    done = robot(
        "run", "reset_technical_password", "--portal-url", portal.url, "--var", f"structure={identifiant}",
        "--var", "entry=chorus", "--var", f"technical_login={login}", "--vault", str(vault),
        "--journal", str(tmp_path / "journal.sqlite"), "--record", "trace", "--recordings", str(tmp_path / "rec"),
        env={"CHORUS_LOGIN": company["login"], "CHORUS_PASSWORD": company["password"]},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-2000:]
    assert Vault(vault).get(identifiant)["password"] == EVERY_CLASS
    assert portal.structure(identifiant)["technical_user"]["password"] == EVERY_CLASS
    assert EVERY_CLASS not in done.stdout + done.stderr
    recorded = [p for p in (tmp_path / "rec").rglob("*") if p.is_file()]
    assert recorded
    for path in recorded:
        data = path.read_bytes()
        for form in (EVERY_CLASS, html.escape(EVERY_CLASS), quote_plus(EVERY_CLASS), json.dumps(EVERY_CLASS)[1:-1]):
            assert form.encode() not in data, path


def test_the_redactor_masks_a_password_of_every_class_raw_url_encoded_and_html_escaped():
    REDACTOR.add(EVERY_CLASS)
    said = (f'locator resolved to <input readonly value="{html.escape(EVERY_CLASS)}"> after {EVERY_CLASS} was sent as '
            f"{quote_plus(EVERY_CLASS)}")  # fmt: skip

    redacted = REDACTOR.redact(said)

    assert redacted == f'locator resolved to <input readonly value="{MASK}"> after {MASK} was sent as {MASK}'


@pytest.mark.parametrize("generation", ["legacy", "services"])
def test_a_password_shaped_like_an_e_mail_address_is_read_and_kept_not_sealed(
    browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generation: str
):
    """One password of the mock's alphabet in about 1,200 has an address's shape (« p@$O12aREg.hJ »): where the page
    sets the password apart it is the password, not an address of the sentence (it was sealed for a person)."""
    from tests.test_renew_crash import DUE, rerun, write_roster

    address_like = "p@$O12aREg.hJ"
    portal.call("POST", "/__mock__/options", {"generation": generation})
    portal.next_passwords([address_like])
    write_roster(tmp_path, DUE[:1])
    (tmp_path / "hook").mkdir()

    assert rerun(portal, tmp_path, 1, browser, monkeypatch) == 0, (tmp_path / "report.json").read_text()

    assert portal.structure(DUE[0])["technical_user"]["password"] == address_like
    assert Vault(tmp_path / "vault.json").get(DUE[0])["password"] == address_like

"""Issue 7: nothing is reset that cannot be kept; a password the vault could not take is in the journal."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from robots.engine.steps.context import StepContext
from robots.errors import PasswordNotInVault
from robots.jobs.run import RunRequest, prepare, run_in_browser
from robots.language.model import Step
from robots.store.vault import Vault
from tests.conftest import PROJECT, Portal, robot

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
ROSTER = PROJECT / "tests" / "rosters" / "first_page.yaml"


def run_command(portal: Portal, structure: str, vault: Path | str, journal: Path) -> Any:
    return robot(
        "run", str(FLOW), "--env", "mock", "--portal-url", portal.url, "--var", f"structure={structure}",
        "--vault", str(vault), "--journal", str(journal),
    )  # fmt: skip


def resets(portal: Portal) -> int:
    return sum(s["reset_count"] for s in portal.state()["structures"])


def journal_passwords(journal: Path) -> dict[str, str]:
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT identifiant, password FROM credentials WHERE password IS NOT NULL ORDER BY id")
        return dict(rows.fetchall())


@pytest.fixture
def structure(portal: Portal, syndicate: dict) -> str:
    return portal.managed_by(syndicate["login"])[0]["identifiant"]


def test_a_vault_folder_that_cannot_exist_stops_before_the_portal(portal: Portal, structure: str, tmp_path: Path):
    done = run_command(portal, structure, "/proc/nope/v.json", tmp_path / "journal.sqlite")

    assert done.returncode == 2, done.stderr
    assert "coffre /proc/nope/v.json" in done.stderr and "erreur interne" not in done.stderr
    assert resets(portal) == 0


@pytest.mark.parametrize(
    ("content", "said"),
    [('{"21300011900015": ', "JSON invalide ligne 1"), (b"\xff\xfe{}", "UTF-8"), ("[1, 2]", "objet JSON")],
)
def test_a_vault_that_cannot_be_read_is_kept_as_it_is_and_nothing_is_reset(
    portal: Portal, structure: str, tmp_path: Path, content: str | bytes, said: str
):
    vault = tmp_path / "vault.json"
    vault.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = vault.read_bytes()

    done = run_command(portal, structure, vault, tmp_path / "journal.sqlite")

    assert done.returncode == 2, done.stderr
    assert f"coffre {vault}" in done.stderr and said in done.stderr
    assert "rien n'a été réinitialisé" in done.stderr and "erreur interne" not in done.stderr
    assert vault.read_bytes() == before
    assert resets(portal) == 0


def test_a_directory_where_the_vault_should_be_is_refused(portal: Portal, structure: str, tmp_path: Path):
    vault = tmp_path / "vault.json"
    vault.mkdir()

    done = run_command(portal, structure, vault, tmp_path / "journal.sqlite")

    assert done.returncode == 2 and "c'est un dossier" in done.stderr, done.stderr
    assert resets(portal) == 0


def test_a_journal_that_is_not_sqlite_is_kept_and_nothing_is_reset(portal: Portal, structure: str, tmp_path: Path):
    journal = tmp_path / "journal.sqlite"
    journal.write_text("ceci n'est pas une base\n")

    done = run_command(portal, structure, tmp_path / "vault.json", journal)

    assert done.returncode == 2, done.stderr
    assert f"journal {journal}" in done.stderr and "pas une base SQLite" in done.stderr
    assert journal.read_text() == "ceci n'est pas une base\n"
    assert resets(portal) == 0 and not (tmp_path / "vault.json").exists()


class BreakVault:
    """Before the password store number `before_store` (0: the first), the vault's file is put aside and a
    directory takes its place: every later write fails. `mend` is what the operator does afterwards."""

    def __init__(self, vault: Path, before_store: int) -> None:
        self.vault, self.aside = vault, vault.with_name("vault.aside.json")
        self.before_store, self.stores, self.broken = before_store, 0, False

    def before_step(self, ctx: StepContext, step: Step, target: Any) -> str:
        stored = getattr(step, "store", None)
        if stored is not None and stored.password:
            if self.stores == self.before_store:
                if self.vault.exists():
                    self.vault.rename(self.aside)
                (self.vault / "occupé").mkdir(parents=True)
                self.broken = True
            self.stores += 1
        return "run"

    def after_step(self, ctx: StepContext, step: Step, error: BaseException | None) -> None:
        return None

    def mend(self) -> None:
        shutil.rmtree(self.vault)
        if self.aside.exists():
            self.aside.rename(self.vault)


def test_a_vault_broken_mid_loop_loses_nothing_and_the_next_run_stores_it(
    browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path
):
    first, second = (s["identifiant"] for s in portal.managed_by(syndicate["login"])[:2])
    vault, journal = tmp_path / "vault.json", tmp_path / "journal.sqlite"
    portal.next_passwords(["Ab/cdEFgh123", "Zq/TtMHVzMWx", "Kq3vZ8pLm2Xw"])
    breaker = BreakVault(vault, before_store=1)
    request = RunRequest(
        flow=FLOW, portal_url=portal.url, variables={"structure": first}, vault_path=vault, journal_path=journal,
        observers=[breaker],
    )  # fmt: skip

    with pytest.raises(PasswordNotInVault) as failure:
        run_in_browser(browser, prepare(request), request)

    live = portal.structure(first)["technical_user"]["password"]
    assert breaker.broken and portal.structure(first)["reset_count"] == 3, "the « / » loop went on"
    assert live == "Kq3vZ8pLm2Xw"
    assert journal_passwords(journal) == {first: live}
    assert str(journal) in str(failure.value) and str(vault) in str(failure.value)

    assert Vault(breaker.aside).read()[first]["password"] == "Ab/cdEFgh123", "the first one reached the vault"
    breaker.mend()
    done = run_command(portal, second, vault, journal)

    assert done.returncode == 0, done.stderr
    entries = Vault(vault).read()
    assert entries[first]["password"] == live
    assert entries[first]["login"] == portal.structure(first)["technical_user"]["login"]
    assert entries[second]["password"] == portal.structure(second)["technical_user"]["password"]
    assert journal_passwords(journal) == {}, "stored everywhere it must go: erased from the journal"


def test_renew_finishes_storing_what_run_left_in_the_journal(
    browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path
):
    first = portal.managed_by(syndicate["login"])[0]["identifiant"]
    vault, journal = tmp_path / "vault.json", tmp_path / "journal.sqlite"
    portal.next_passwords(["Kq3vZ8pLm2Xw"])
    request = RunRequest(
        flow=FLOW, portal_url=portal.url, variables={"structure": first}, vault_path=vault, journal_path=journal,
        observers=[breaker := BreakVault(vault, before_store=0)],
    )  # fmt: skip
    with pytest.raises(PasswordNotInVault):
        run_in_browser(browser, prepare(request), request)
    breaker.mend()
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        f"    password_env: SYNDICAT_PASSWORD\n    structures: [{{identifiant: '{first}'}}]\n",
        encoding="utf-8",
    )

    done = robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster), "--within", "0",
        "--journal", str(journal), "--vault", str(vault), "--log-file", "-",
        env={"SYNDICAT_LOGIN": syndicate["login"], "SYNDICAT_PASSWORD": syndicate["password"]},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert Vault(vault).read()[first]["password"] == portal.structure(first)["technical_user"]["password"]
    assert portal.structure(first)["reset_count"] == 1, "stored, not reset again"


def test_a_roster_that_is_not_utf8_is_bad_input(tmp_path: Path):
    roster = tmp_path / "roster.yaml"
    roster.write_bytes(ROSTER.read_bytes().replace(b"accounts:", "# Nîmes\naccounts:".encode("latin-1"), 1))

    done = robot("renew", "--roster", str(roster), "--journal", str(tmp_path / "j.sqlite"), "--log-file", "-")

    assert done.returncode == 2, done.stderr
    assert str(roster) in done.stderr and "UTF-8" in done.stderr and "erreur interne" not in done.stderr


def test_status_on_a_file_that_is_not_a_journal_is_bad_input(tmp_path: Path):
    journal = tmp_path / "journal.sqlite"
    journal.write_bytes(b"not a database at all")

    done = robot("status", "--journal", str(journal), "--vault", str(tmp_path / "vault.json"))

    assert done.returncode == 2, done.stderr
    assert "pas une base SQLite" in done.stderr and "erreur interne" not in done.stderr
    assert journal.read_bytes() == b"not a database at all"


def test_renew_with_a_vault_that_cannot_be_read_resets_nothing(portal: Portal, syndicate: dict, tmp_path: Path):
    vault = tmp_path / "vault.json"
    vault.write_text('{"21300011900015": ', encoding="utf-8")

    done = robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(ROSTER), "--within", "400",
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(vault), "--log-file", "-", "--jobs", "2",
        env={"SYNDICAT_LOGIN": syndicate["login"], "SYNDICAT_PASSWORD": syndicate["password"],
             "CHORUS_ROBOT_SMTP_HOST": "127.0.0.1"},
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert f"coffre {vault}" in done.stderr and "JSON invalide" in done.stderr
    assert vault.read_text(encoding="utf-8") == '{"21300011900015": '
    assert resets(portal) == 0

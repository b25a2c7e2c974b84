"""What a night operator reads: `-q` still says what failed, each result is said once and in one word."""

from __future__ import annotations

import re
from pathlib import Path

from robots.jobs.renewal.report import FAILED, RENEWED, Outcome, RunReport, junit_xml
from tests.conftest import Portal, robot
from tests.test_login_lockout import COMPANY, roster


def renew(tmp_path: Path, portal: Portal, password: str, *more: str):
    roster_path = roster(tmp_path, portal, portal.account(COMPANY), "chorus")
    return robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster_path),
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(tmp_path / "vault.json"), "--log-file", "-",
        *more, env={"LOCK_LOGIN": COMPANY, "LOCK_PASSWORD": password, "NO_COLOR": "1"},
    )  # fmt: skip


def test_quiet_renew_still_says_which_structures_failed(tmp_path: Path, portal: Portal):
    done = renew(tmp_path, portal, "mauvais-mot-de-passe", "-q")
    assert done.returncode == 1
    said = done.stdout + done.stderr
    for structure in portal.managed_by(COMPANY):
        assert re.search(rf"« compte » {structure['identifiant']}.* en échec", said), said
    assert "Renouvellement n°1" in said, "the night's summary too, since it failed"


def test_a_dry_run_says_each_result_once_in_the_words_of_the_report(tmp_path: Path, portal: Portal):
    done = renew(tmp_path, portal, portal.account(COMPANY)["password"], "--dry-run", "--within", "400", "-v")
    assert done.returncode == 0, done.stderr
    for structure in portal.managed_by(COMPANY):
        lines = [line for line in done.stderr.splitlines() if structure["identifiant"] in line and "renouvel" in line]
        assert len(lines) == 1, lines
        assert "à renouveler (simulation)" in lines[0]
    headline = done.stdout.strip().splitlines()[-1]
    assert headline.startswith("Renouvellement n°1 (mock, simulation) : à renouveler ")
    assert "renouvelée" not in headline, "nothing is renewed in a dry run: the count is not shown"


def test_an_unchecked_new_password_is_said_on_its_console_line():
    """Until now « vérification API impossible » was only in the log file."""
    renewed = Outcome("siagep", "21300258600013", RENEWED, new_expiry="2028-02-03T10:00:00",
                      api_check={"new_accepted": None, "result": "impossible"})  # fmt: skip
    assert renewed.describe() == "renouvelée, expire le 03/02/2028, vérification API impossible"
    checked = Outcome("siagep", "21300258600013", RENEWED, new_expiry="2028-02-03T10:00:00",
                      api_check={"new_accepted": True, "result": "accepted"})  # fmt: skip
    assert "API" not in checked.describe()


def test_junit_speaks_the_console_s_dates():
    outcome = Outcome("siagep", "21300258600013", FAILED, raison_sociale="COMMUNE DE SAINT-GILLES",
                      old_expiry="2026-12-10T12:02:25", error="l'écran « Accueil » était attendu")  # fmt: skip
    report = RunReport(1, "2026-12-06T02:00:00", "2026-12-06T02:05:00", "mock", "r.yaml", 30, 1, None, False,
                       [outcome], [])  # fmt: skip
    xml = junit_xml(report)
    assert "expiration : 10/12/2026 → -" in xml and "2026-12-10" not in xml
    assert 'name="21300258600013 COMMUNE DE SAINT-GILLES"' in xml

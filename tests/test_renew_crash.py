"""Issue 12: `kill -9` at ten named moments of a renewal, each followed by a rerun: not one password lost.

Each moment is a crash point of the product code (robots/store/crash_points.py): a real `chorus-robot renew` child
process, told by CHORUS_ROBOT_CRASH_AT where to die, kills itself with SIGKILL there — no timer, no guess. Then
the same renewal again (in the test's process, on the session's browser: cheaper), without the crash point;
then what an operator checks: for every structure whose
password changed on the portal, the vault holds the portal's current password and the hook received it; the
journal keeps no password once delivered; nothing due is left undone.

On the « portail de services » the password is shown before « Soumettre »: killed on either side of that click,
the rerun must keep the shown password only if the portal took it (its expiry, read again, says so), and must
never deliver nor store one it did not take.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser

from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.store.crash_points import ENV, POINTS
from tests.conftest import PROJECT, ROBOT, Portal
from tests.test_renew import piste_client

DUE = ["25300096600023", "21300011900015"]  # the syndicate's first page of « Mes structures »: +12 and -3 days
HOOK = ["python3", str(PROJECT / "tests" / "rosters" / "capture_stdin.py")]

# point → (structures of the roster, --jobs, the mock's next passwords)
MOMENTS: dict[str, tuple[list[str], int, list[str]]] = {
    "after-login": (DUE[:1], 1, []),
    "in-mes-structures": (DUE[:1], 1, []),
    "before-reset-requested": (DUE[:1], 1, []),
    "after-reset-confirmed": (DUE[:1], 1, []),
    "before-journal": (DUE[:1], 1, []),
    "after-journal-commit": (DUE[:1], 1, []),
    "after-vault-write": (DUE[:1], 1, []),
    "in-slash-loop": (DUE[:1], 1, ["ab/cdEF12gh", "CleanPass123"]),
    "during-delivery": (DUE[:1], 1, []),
    "before-report": (DUE[:1], 1, []),
    "while-another-resets": (DUE, 2, []),
}
# portail de services: point → whether the password shown was the account's when the run died
SERVICES_MOMENTS = {"services-password-shown": False, "services-before-submit": False, "services-after-submit": True}
SHOWN, NEXT = "Shown4Kill9x", "Rerun7Clean2"
HOOK_LOG = [
    "python3",
    "-c",
    "import os, sys; folder = os.environ['CAPTURE_DIR']; name = os.environ['CHORUS_STRUCTURE'];"
    " open(os.path.join(folder, name + '.log'), 'a').write(sys.stdin.read().strip() + chr(10))",
]  # fmt: skip  (every delivery, one line each: a password delivered then replaced still shows)


def write_roster(folder: Path, structures: list[str], hook: list[str] = HOOK) -> Path:
    roster = {
        "accounts": [{
            "name": "siagep", "portal": "dgfip", "login_env": "SYNDICAT_LOGIN", "password_env": "SYNDICAT_PASSWORD",
            "deliver": [{"command": hook}], "structures": [{"identifiant": s} for s in structures],
        }],
    }  # fmt: skip
    path = folder / "roster.yaml"
    path.write_text(yaml.safe_dump(roster), encoding="utf-8")
    return path


def patient(config: Path, timeout_s: int) -> None:
    """The test's configuration (tests/conftest.py `private_var`) waits longer for a page."""
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["settings"]["timeout_s"] = timeout_s
    config.write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")


def environment(portal: Portal, folder: Path) -> dict[str, str]:
    syndicate = portal.biggest_account("dgfip")
    return {
        "SYNDICAT_LOGIN": syndicate["login"], "SYNDICAT_PASSWORD": syndicate["password"],
        "CAPTURE_DIR": str(folder / "hook"), **piste_client(),
    }  # fmt: skip


def killed_renew(portal: Portal, folder: Path, jobs: int, point: str) -> subprocess.CompletedProcess:
    """`chorus-robot renew` in a child process that kills itself at `point`."""
    args = [
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(folder / "roster.yaml"),
        "--within", "30", "--jobs", str(jobs), "--journal", str(folder / "journal.sqlite"),
        "--vault", str(folder / "vault.json"), "--report", str(folder / "report.json"),
        "--log-file", str(folder / "renew.log"),
    ]  # fmt: skip
    env = {**os.environ, **environment(portal, folder), ENV: point}
    return subprocess.run([*ROBOT, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)


def rerun(portal: Portal, folder: Path, jobs: int, browser: Browser, monkeypatch: pytest.MonkeyPatch) -> int:
    """The next night: the same renewal, in this process on the session's browser (cheaper than a child)."""
    for name, value in environment(portal, folder).items():
        monkeypatch.setenv(name, value)
    options = RenewOptions(
        roster_path=folder / "roster.yaml", portal_url=portal.url, within_days=30, jobs=jobs,
        vault_path=folder / "vault.json",
    )  # fmt: skip
    outputs = Outputs(journal=folder / "journal.sqlite", report=folder / "report.json", log_file=None)
    return run_renewal(options, outputs, browser=browser).exit_code


def confirmation_landed(portal: Portal, journal: Path) -> None:
    """The killed run's last « Confirmer » is still being answered (slowly): wait until the portal has reset
    that password, as the real one would have by the next night, before the rerun resets it again."""
    with sqlite3.connect(journal) as db:
        requested = {row[0] for row in db.execute("SELECT identifiant FROM events WHERE event = 'reset_requested'")}
    deadline = time.monotonic() + 60
    while not all(portal.structure(i)["reset_count"] for i in requested):
        assert time.monotonic() < deadline, "the slow confirmation never landed"
        time.sleep(0.1)


def test_every_moment_is_a_crash_point_of_the_product():
    assert set(MOMENTS) | set(SERVICES_MOMENTS) == set(POINTS)
    code = "\n".join(f.read_text(encoding="utf-8") for f in (PROJECT / "robots").rglob("*.py"))
    assert [p for p in POINTS if f'crash_point("{p}")' not in code] == []


@pytest.mark.parametrize("point", list(MOMENTS))
def test_kill_9_then_a_rerun_loses_no_password(
    portal: Portal, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
):
    structures, jobs, next_passwords = MOMENTS[point]
    write_roster(tmp_path, structures)
    (tmp_path / "hook").mkdir()
    if next_passwords:
        portal.next_passwords(next_passwords)
    if jobs > 1:  # each confirmation answers late: the other worker starts its reset meanwhile
        patient(Path(os.environ["CHORUS_ROBOT_CONFIG"]), timeout_s=60)
        for identifiant in structures:
            slow = {"path_prefix": f"/cpp/structure/{identifiant}/reinitialiser", "ms": 10_000}
            portal.call("POST", "/__mock__/faults", {"slow": slow})
        # The workers share one login and run neck and neck: the second structure's pages come 3 s late, so that
        # the first worker's « Confirmer » has surely left the browser when the second worker's reset starts.
        portal.call(
            "POST", "/__mock__/faults", {"slow": {"path_prefix": f"/cpp/structure/{structures[1]}", "ms": 3000}}
        )

    killed = killed_renew(portal, tmp_path, jobs, point)

    assert killed.returncode == -signal.SIGKILL, f"{point} never reached:\n{killed.stderr[-2000:]}"
    assert not (tmp_path / "report.json").exists()
    portal.call("POST", "/__mock__/faults", {})
    if jobs > 1:
        confirmation_landed(portal, tmp_path / "journal.sqlite")

    assert rerun(portal, tmp_path, jobs, browser, monkeypatch) == 0, (tmp_path / "report.json").read_text()
    vault = json.loads((tmp_path / "vault.json").read_text())
    for identifiant in structures:
        on_portal = portal.structure(identifiant)
        user = on_portal["technical_user"]
        assert on_portal["reset_count"] >= 1, f"{identifiant} was due and is still not renewed"
        assert vault[identifiant]["password"] == user["password"], f"{point}: {identifiant}'s password lost"
        assert vault[identifiant]["login"] == user["login"]
        delivered = json.loads((tmp_path / "hook" / f"{identifiant}.json").read_text())
        assert delivered["stdin"].strip() == user["password"], f"{point}: {identifiant} not delivered"
        assert "/" not in user["password"]
    with sqlite3.connect(tmp_path / "journal.sqlite") as journal:
        kept = journal.execute("SELECT identifiant FROM credentials WHERE password IS NOT NULL").fetchall()
    assert kept == [], "every delivery done: the journal keeps no password"


@pytest.mark.parametrize("point", list(SERVICES_MOMENTS))
def test_services_kill_9_around_soumettre_then_a_rerun_keeps_only_what_the_portal_took(
    portal: Portal, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
):
    taken, identifiant = SERVICES_MOMENTS[point], DUE[0]
    portal.call("POST", "/__mock__/options", {"generation": "services"})
    portal.next_passwords([SHOWN, NEXT])
    before = portal.structure(identifiant)["technical_user"]
    write_roster(tmp_path, [identifiant], hook=HOOK_LOG)
    (tmp_path / "hook").mkdir()

    killed = killed_renew(portal, tmp_path, 1, point)

    assert killed.returncode == -signal.SIGKILL, f"{point} never reached:\n{killed.stderr[-2000:]}"
    assert portal.structure(identifiant)["technical_user"]["password"] == (SHOWN if taken else before["password"])

    assert rerun(portal, tmp_path, 1, browser, monkeypatch) == 0, (tmp_path / "report.json").read_text()
    kept = SHOWN if taken else NEXT  # taken: kept, not reset again; never taken: forgotten, the structure renewed
    on_portal = portal.structure(identifiant)
    assert (on_portal["technical_user"]["password"], on_portal["reset_count"]) == (kept, 1)
    vault = json.loads((tmp_path / "vault.json").read_text())
    assert (vault[identifiant]["login"], vault[identifiant]["password"]) == (before["login"], kept), point
    assert vault[identifiant]["expires_at"] == on_portal["technical_user"]["expires_at"]
    delivered = (tmp_path / "hook" / f"{identifiant}.log").read_text().splitlines()
    assert delivered == [kept], f"{point}: the hook received {len(delivered)} password(s), one never the account's"
    with sqlite3.connect(tmp_path / "journal.sqlite") as journal:
        assert journal.execute("SELECT COUNT(*) FROM credentials WHERE password IS NOT NULL").fetchone() == (0,)
    assert SHOWN not in (tmp_path / "renew.log").read_text(), "the killed run's log holds the password shown"

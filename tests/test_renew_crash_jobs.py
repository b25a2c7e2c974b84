"""Issue 9 point 7: `kill -9` in the middle of a `--jobs 8` renew of 100 structures loses no password.

One account managing 100 structures, all due (bench/renew_throughput.py's data, on a mock of its own: a thread
of this process). A real `chorus-robot renew --jobs 8` child kills itself (robots/store/crash_points.py) the 10th time a
worker starts a reset while another worker's reset is in flight: at that moment two structures at least are
mid-reset by construction (a kill timed on the 12th password committed once found every other worker between two
structures, on a loaded CI machine). The next night is a rerun with `--within 0`,
in this process on the session's browser, on the structures the killed run had started (the others, never
touched, checked so): it finishes what the journal holds and resets again what was confirmed but never read,
renewing nothing else. Then what an operator
checks: every password changed on the portal is in the vault; a structure reset twice only where the journal
knew its first password was lost.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser

from bench.mockstats import clean_passwords
from bench.renew_throughput import bench_siret, write_data, write_roster
from fixtures.mock_portal import MockPortalServer
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.store.crash_points import ENV
from tests.conftest import PROJECT, ROBOT, Portal

STRUCTURES, JOBS = 100, 8
KILL_NTH = 10
KILL_AT = f"while-another-resets@{KILL_NTH}"


def killed_renew(portal: Portal, roster: Path, env: dict[str, str], folder: Path) -> subprocess.CompletedProcess:
    args = [
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster), "--within", "30",
        "--jobs", str(JOBS), "--journal", str(folder / "journal.sqlite"), "--vault", str(folder / "vault.json"),
        "--report", str(folder / "report.json"), "--log-file", str(folder / "renew.log"),
    ]  # fmt: skip
    return subprocess.run([*ROBOT, *args], cwd=PROJECT, env={**os.environ, **env, ENV: KILL_AT},
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def journal_says(journal: Path) -> tuple[set[str], set[str], set[str]]:
    """The structures a run had started (expiry read), those whose password it committed, and those whose
    « Confirmer » it was about to click or had clicked with no password read after (lost, maybe)."""
    with sqlite3.connect(journal) as db:
        rows = db.execute(
            "SELECT identifiant, event FROM events WHERE event IN ('expiry_read', 'reset_requested',"
            " 'password_captured') ORDER BY id"
        ).fetchall()
    started = {i for i, event in rows if event == "expiry_read"}
    captured = {i for i, event in rows if event == "password_captured"}
    last = {i: event for i, event in rows if event != "expiry_read"}
    return started, captured, {i for i, event in last.items() if event == "reset_requested"}


def rerun_roster(folder: Path, started: set[str]) -> Path:
    """The same account, naming only the structures the killed run had started: the others were never touched
    (checked), and reading them all again would only make the test slow."""
    account = {"name": "syndicat", "portal": "dgfip", "login_env": "BENCH_LOGIN", "password_env": "BENCH_PASSWORD",
               "structures": [{"identifiant": i} for i in sorted(started)]}  # fmt: skip
    path = folder / "rerun.yaml"
    path.write_text(yaml.safe_dump({"accounts": [account]}), encoding="utf-8")
    return path


def test_kill_9_during_a_jobs_8_renew_of_100_structures_then_a_rerun_loses_no_password(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    data = write_data(tmp_path, STRUCTURES)
    roster, env = write_roster(tmp_path)
    with MockPortalServer(data, generation="legacy") as server:
        portal = Portal(server.url)
        portal.next_passwords(clean_passwords(STRUCTURES + 20))  # no « / »: each structure's reset is one capture

        killed = killed_renew(portal, roster, env, tmp_path)

        assert killed.returncode == -signal.SIGKILL, f"{KILL_AT} never reached:\n{killed.stderr[-2000:]}"
        started, captured, in_flight = journal_says(tmp_path / "journal.sqlite")
        # KILL_NTH resets started, at most JOBS at a time: the others were over, their passwords committed.
        assert len(captured) >= KILL_NTH - JOBS, captured
        assert started > captured, "no worker was mid-structure when the run died"
        untouched = {s["identifiant"] for s in portal.state()["structures"] if not s["reset_count"]}
        assert untouched >= {bench_siret(n) for n in range(1, STRUCTURES + 1)} - started, "reset, never started"
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        options = RenewOptions(
            roster_path=rerun_roster(tmp_path, started),
            portal_url=portal.url,
            within_days=0,
            jobs=2,
            vault_path=tmp_path / "vault.json",
        )  # fmt: skip  (2 logins, not 8)
        outputs = Outputs(journal=tmp_path / "journal.sqlite", report=tmp_path / "report.json", log_file=None)

        report = run_renewal(options, outputs, browser=browser)

        assert report.exit_code == 0, (tmp_path / "report.json").read_text()
        structures = {s["identifiant"]: s for s in portal.state()["structures"]}
    vault = json.loads((tmp_path / "vault.json").read_text())
    changed = {i for i, s in structures.items() if s["reset_count"]}
    lost = {i: "absent" for i in changed if i not in vault}
    lost |= {i: "another password" for i in changed & set(vault)
             if vault[i]["password"] != structures[i]["technical_user"]["password"]}  # fmt: skip
    assert lost == {}, f"{len(lost)} password(s) lost: {lost}"
    twice = {i for i, s in structures.items() if s["reset_count"] > 1}
    assert twice <= in_flight, "reset again although its password was read: only a lost one may be"
    assert set(vault) == changed, "the vault holds only what the portal changed"
    assert changed >= captured, "the passwords the journal held are stored"
    renewed = sorted(o.identifiant for o in report.outcomes if o.action == "renewed")
    assert set(renewed) <= in_flight, f"the rerun (--within 0) renewed only what was lost: {renewed}"

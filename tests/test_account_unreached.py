"""An account whose login is refused hides none of its structures: with `structures: all`, each structure the
journal knows for it gets its own line, report entry, JUnit testcase and `status` row, URGENT when it expires
within 7 days."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser

from robots.jobs.renewal.nightly import Outputs, needs_attention, run_renewal
from robots.jobs.renewal.plan import ALL_STRUCTURES, RenewOptions
from tests.conftest import Portal, robot
from tests.test_login_lockout import COMPANY


def night(browser: Browser, portal: Portal, tmp_path: Path, name: str, dry_run: bool):
    roster = tmp_path / "roster.yaml"
    roster.write_text(yaml.safe_dump({"accounts": [{
        "name": "societe", "portal": "chorus", "login_env": "ALL_LOGIN", "password_env": "ALL_PASSWORD",
        "deliver": [{"command": ["true"]}], "structures": "all",
    }]}))  # fmt: skip
    options = RenewOptions(roster_path=roster, portal_url=portal.url, within_days=30, dry_run=dry_run,
                           vault_path=tmp_path / "vault.json")  # fmt: skip
    outputs = Outputs(journal=tmp_path / "journal.sqlite", report=tmp_path / f"{name}.json",
                      junit=tmp_path / f"{name}.xml", log_file=None)  # fmt: skip
    return run_renewal(options, outputs, browser=browser)


def test_a_refused_login_reports_every_structure_the_journal_knows(
    browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ALL_LOGIN", COMPANY)
    monkeypatch.setenv("ALL_PASSWORD", portal.account(COMPANY)["password"])
    night(browser, portal, tmp_path, "first", dry_run=True)  # the journal learns the account's structures
    expected = {s["identifiant"] for s in portal.managed_by(COMPANY)}
    monkeypatch.setenv("ALL_PASSWORD", "mauvais-mot-de-passe")

    report = night(browser, portal, tmp_path, "second", dry_run=False)

    assert report.exit_code == 1
    assert {o.identifiant for o in report.outcomes} == expected and ALL_STRUCTURES not in str(report.outcomes)
    assert all(o.error_kind == "login_refused" and o.days_left is not None for o in report.outcomes)
    entries = json.loads((tmp_path / "second.json").read_text())["outcomes"]
    assert {e["identifiant"] for e in entries} == expected
    cases = ET.parse(tmp_path / "second.xml").getroot().iter("testcase")
    assert {c.get("name").split()[0] for c in cases} >= expected
    soon = [o for o in report.outcomes if o.days_left is not None and o.days_left <= 7]
    assert soon, "the demo company has a structure expiring within 7 days"
    assert any(line.startswith("- URGENT") for line in needs_attention(report)), needs_attention(report)
    status = robot("status", "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(tmp_path / "vault.json"),
                   "--json")  # fmt: skip
    rows = {r["identifiant"]: r for r in json.loads(status.stdout)["structures"]}
    assert all(rows[i]["state"] == "en échec" for i in expected), "not the earlier dry run's « à renouveler »"

"""Issue 8 point 3: never lock an account out. The portal locks after 5 failed logins, for an hour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fixtures.mock_portal import create_app
from tests.conftest import DEMO_DATA, Portal, robot

COMPANY = "compta@transports-garonne.example"


def roster(tmp_path: Path, portal: Portal, account: dict, entry: str) -> Path:
    structures = [{"identifiant": s["identifiant"]} for s in portal.managed_by(account["login"])]
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump({"accounts": [{
        "name": "compte", "portal": entry, "login_env": "LOCK_LOGIN", "password_env": "LOCK_PASSWORD",
        "deliver": [{"command": ["true"]}], "structures": structures,
    }]}))  # fmt: skip
    return path


def renew(tmp_path: Path, portal: Portal, roster_path: Path, login: str, password: str, *more: str):
    report = tmp_path / "report.json"
    result = robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster_path), "--dry-run",
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(tmp_path / "vault.json"),
        "--log-file", "-", "--report", str(report), *more,
        env={"LOCK_LOGIN": login, "LOCK_PASSWORD": password},
    )  # fmt: skip
    return result, json.loads(report.read_text())


def test_the_mock_locks_an_account_after_five_failed_logins_for_an_hour():
    client = create_app(DEMO_DATA, generation="legacy").test_client()
    account = next(a for a in client.get("/__mock__/state").json["accounts"] if a["login"] == COMPANY)
    answers = [client.post("/cpp/connexion", data={"username": COMPANY, "password": "mauvais"}) for _ in range(5)]
    assert all("mot de passe incorrect" in a.get_data(as_text=True) for a in answers[:4])
    assert "Votre compte est bloqué" in answers[4].get_data(as_text=True)
    state = next(a for a in client.get("/__mock__/state").json["accounts"] if a["login"] == COMPANY)
    assert state["failed_logins"] == 5 and state["locked_until"]

    locked = client.post("/cpp/connexion", data={"username": COMPANY, "password": account["password"]})

    assert "Votre compte est bloqué" in locked.get_data(as_text=True)
    assert client.get("/cpp/accueil").status_code == 303  # no session


def test_a_right_password_clears_the_count():
    client = create_app(DEMO_DATA, generation="legacy").test_client()
    password = next(a for a in client.get("/__mock__/state").json["accounts"] if a["login"] == COMPANY)["password"]
    for _ in range(4):
        client.post("/cpp/connexion", data={"username": COMPANY, "password": "mauvais"})
    client.post("/cpp/connexion", data={"username": COMPANY, "password": password})
    accounts = client.get("/__mock__/state").json["accounts"]
    assert next(a for a in accounts if a["login"] == COMPANY)["failed_logins"] == 0


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_a_refused_login_is_tried_once_per_run_whatever_the_jobs(portal: Portal, tmp_path: Path, jobs: str):
    syndicate = portal.biggest_account("dgfip")
    structures = portal.managed_by(syndicate["login"])
    path = roster(tmp_path, portal, syndicate, "dgfip")

    result, report = renew(tmp_path, portal, path, syndicate["login"], "mauvais-mot-de-passe", "--jobs", jobs)

    assert result.returncode == 1
    assert portal.account(syndicate["login"])["failed_logins"] == 1
    assert len(report["outcomes"]) == len(structures) > 5
    assert all(o["action"] == "failed" and "connexion refusée" in o["error"] for o in report["outcomes"])
    assert {o["error_kind"] for o in report["outcomes"]} == {"login_refused"}
    assert "mauvais-mot-de-passe" not in result.stderr + json.dumps(report)


def test_a_locked_account_is_its_own_error_and_is_not_tried_again(portal: Portal, tmp_path: Path):
    company = portal.account(COMPANY)
    for _ in range(5):
        portal_login(portal, COMPANY, "mauvais")
    path = roster(tmp_path, portal, company, "chorus")

    result, report = renew(tmp_path, portal, path, COMPANY, company["password"])

    assert result.returncode == 1
    assert portal.account(COMPANY)["failed_logins"] == 5  # nothing more counted
    assert all("compte bloqué" in o["error"] for o in report["outcomes"])
    assert {o["error_kind"] for o in report["outcomes"]} == {"account_locked"}
    assert not any("connexion refusée" in o["error"] for o in report["outcomes"])


def portal_login(portal: Portal, login: str, password: str) -> None:
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode({"username": login, "password": password}).encode()
    with urllib.request.urlopen(urllib.request.Request(portal.url + "/cpp/connexion", data=body), timeout=10):
        pass

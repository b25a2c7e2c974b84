"""Issue 2: reset one structure's technical password end to end, against the mock portal."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from playwright.sync_api import Browser

from robots.engine.runner import RunResult
from robots.integrations.api_check import technical_account_works
from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import PROJECT, ROWS_PER_PAGE, Portal, robot

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"


def reset(browser: Browser, portal: Portal, structure: str, vault: Path, **variables: str) -> RunResult:
    request = RunRequest(
        flow=FLOW,
        portal_url=portal.url,
        variables={"structure": structure, **variables},
        vault_path=vault,
        journal_path=vault.with_name("journal.sqlite"),
    )
    return run_in_browser(browser, prepare(request), request)


def run_command(portal: Portal, structure: str, vault: Path, env: dict[str, str] | None = None) -> CompletedProcess:
    """`chorus-robot run` of the reset flow, as a person types it."""
    return robot(
        "run", str(FLOW), "--env", "mock", "--portal-url", portal.url,
        "--var", f"structure={structure}", "--vault", str(vault), "--journal", str(vault.with_name("journal.sqlite")),
        env=env,
    )  # fmt: skip


def expiry(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=None)


def assert_vault_matches_portal(vault: Path, portal: Portal, structure: str) -> dict:
    entry = json.loads(vault.read_text())[structure]
    technical_user = portal.structure(structure)["technical_user"]
    assert entry["login"] == technical_user["login"]
    assert entry["password"] == technical_user["password"]
    assert expiry(entry["expires_at"]) == expiry(technical_user["expires_at"])
    return entry


def test_reset_of_a_structure_on_the_first_page(browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path):
    structure = portal.managed_by(syndicate["login"])[0]
    before = structure["technical_user"]
    portal.next_passwords(["Kq3vZ8pLm2Xw"])
    vault = tmp_path / "vault.json"

    result = reset(browser, portal, structure["identifiant"], vault)

    entry = assert_vault_matches_portal(vault, portal, structure["identifiant"])
    after = portal.structure(structure["identifiant"])
    assert after["reset_count"] == 1 == result.scope["attempt"]
    assert entry["password"] == "Kq3vZ8pLm2Xw" != before["password"]
    assert "/" not in entry["password"]
    assert result.scope["old_expiry"] == expiry(before["expires_at"]).isoformat()
    moved = expiry(entry["expires_at"]) - datetime.now()
    assert timedelta(days=423) < moved <= timedelta(days=424, minutes=1)
    assert vault.stat().st_mode & 0o777 == 0o600
    assert technical_account_works(portal.url, entry["login"], entry["password"])
    assert not technical_account_works(portal.url, before["login"], before["password"])


def test_reset_of_a_structure_on_a_later_page(browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path):
    structures = portal.managed_by(syndicate["login"])
    assert len(structures) > 2 * ROWS_PER_PAGE, "the demo syndicate must fill three pages"
    last = structures[-1]
    vault = tmp_path / "vault.json"

    result = reset(browser, portal, last["identifiant"], vault)

    assert_vault_matches_portal(vault, portal, last["identifiant"])
    assert portal.structure(last["identifiant"])["reset_count"] == result.scope["attempt"]
    untouched = [s for s in portal.managed_by(syndicate["login"]) if s["identifiant"] != last["identifiant"]]
    assert all(s["reset_count"] == 0 for s in untouched)


def test_passwords_with_a_slash_are_reset_again(browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path):
    structure = portal.managed_by(syndicate["login"])[1]["identifiant"]
    queued = ["ab/cdEF12gh", "Zx9/Qw8Er7Ty", "CleanPass123"]
    portal.next_passwords(queued)
    vault = tmp_path / "vault.json"

    result = reset(browser, portal, structure, vault)

    assert portal.structure(structure)["reset_count"] == 3
    assert result.scope["attempt"] == 3
    entry = assert_vault_matches_portal(vault, portal, structure)
    assert entry["password"] == queued[-1]
    assert technical_account_works(portal.url, entry["login"], entry["password"])
    for old in queued[:-1]:
        assert not technical_account_works(portal.url, entry["login"], old)


def test_entry_through_chorus_pro_directly(browser: Browser, portal: Portal, tmp_path: Path, monkeypatch):
    company = portal.biggest_account("chorus")
    monkeypatch.setenv("CHORUS_LOGIN", company["login"])
    monkeypatch.setenv("CHORUS_PASSWORD", company["password"])
    structure = portal.managed_by(company["login"])[0]["identifiant"]
    vault = tmp_path / "vault.json"

    reset(browser, portal, structure, vault, entry="chorus")

    assert_vault_matches_portal(vault, portal, structure)


def test_bound_reached_keeps_the_last_password_and_says_so(portal: Portal, syndicate: dict, tmp_path: Path):
    structure = portal.managed_by(syndicate["login"])[2]["identifiant"]
    slashed = [f"Bad/{i}xYz{i}Pw" for i in range(5)]
    portal.next_passwords(slashed)
    vault = tmp_path / "vault.json"

    done = run_command(portal, structure, vault)

    assert done.returncode == 3, done.stderr
    assert "caractère interdit" in done.stderr
    assert "coffre" in done.stderr
    entry = json.loads(vault.read_text())[structure]
    assert entry["password"] == slashed[-1]
    assert portal.structure(structure)["technical_user"]["password"] == slashed[-1]
    assert technical_account_works(portal.url, entry["login"], entry["password"])
    for secret in slashed:
        assert secret not in done.stdout + done.stderr


def test_command_prints_what_happened_and_never_the_password(portal: Portal, syndicate: dict, tmp_path: Path):
    structure = portal.managed_by(syndicate["login"])[3]
    vault = tmp_path / "vault.json"

    done = run_command(portal, structure["identifiant"], vault)

    assert done.returncode == 0, done.stderr
    new = portal.structure(structure["identifiant"])["technical_user"]
    assert structure["identifiant"] in done.stdout
    assert new["login"] in done.stdout
    assert str(vault) in done.stdout
    assert f"{expiry(new['expires_at']):%d/%m/%Y %H:%M:%S}" in done.stdout
    every_password = [a["password"] for a in portal.state()["accounts"]] + [new["password"]]
    for secret in every_password:
        assert secret not in done.stdout
        assert secret not in done.stderr
    assert "Cliquez sur « connexion »" in done.stderr, "every step logs its label"


def test_wrong_dgfip_credentials(portal: Portal, syndicate: dict, tmp_path: Path):
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    vault = tmp_path / "vault.json"

    done = run_command(portal, structure, vault, env={"DGFIP_PASSWORD": "not-the-password"})

    assert done.returncode == 1
    assert "connexion refusée par le Portail de la Gestion Publique" in done.stderr
    assert "Identifiant ou mot de passe incorrect" in done.stderr
    assert "Traceback" not in done.stderr
    assert not vault.exists()
    assert portal.structure(structure)["reset_count"] == 0


def test_structure_not_in_mes_structures(portal: Portal, syndicate: dict, tmp_path: Path):
    others = [s for s in portal.state()["structures"] if s["manager"] != syndicate["login"]]
    stranger = others[0]["identifiant"]
    vault = tmp_path / "vault.json"

    done = run_command(portal, stranger, vault)

    assert done.returncode == 1
    assert f"Identifiant structure = « {stranger} »" in done.stderr
    assert "Mes structures" in done.stderr
    assert "page(s) parcourue(s)" in done.stderr
    assert "écran vu : « Activités du gestionnaire »" in done.stderr
    screenshot = done.stderr.split("capture : ")[1].split()[0]
    assert Path(screenshot).is_file()
    assert "Traceback" not in done.stderr
    assert not vault.exists()


@pytest.mark.parametrize(
    ("siret", "says"),
    [("2147024410", "14 chiffres"), ("21470244100019", "la clé de contrôle du SIRET est fausse")],
)
def test_malformed_siret_is_refused_before_anything_runs(
    portal: Portal, syndicate: dict, tmp_path: Path, siret: str, says: str
):
    done = run_command(portal, siret, tmp_path / "vault.json")

    assert done.returncode == 2
    assert f"l'entrée « structure » = « {siret} »" in done.stderr and says in done.stderr
    assert "Traceback" not in done.stderr
    assert all(s["reset_count"] == 0 for s in portal.state()["structures"])


@pytest.mark.parametrize(
    ("flow_text", "line", "message"),
    [
        ("name: x\nsteps:\n  - click: chorus_connecte.mon_compte\n  - clik: a.b\n", 4, "exactement une commande"),
        ("name: x\nsteps:\n  - click: chorus_connecte.mon_compte\n  - fill: {element: a.b\n", 4, "YAML"),
        ("name: x\nsteps:\n  - label: ok\n    click: chorus_connecte.nowhere\n", 3, "élément inconnu « nowhere »"),
    ],
)
def test_malformed_flow_names_file_and_line(tmp_path: Path, flow_text: str, line: int, message: str):
    flow = tmp_path / "broken.yaml"
    flow.write_text(flow_text)

    done = robot("run", str(flow), "--portal-url", "http://127.0.0.1:9")

    assert done.returncode == 2
    assert f"{flow}:{line}" in done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_portal_that_answers_with_an_error(portal: Portal, syndicate: dict, tmp_path: Path):
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    # Once, and each of the 3 retries of the step (tests: 0.05 s apart): issue 12 rides through fewer.
    portal.call("POST", "/__mock__/faults", {"path_prefix": "/cpp/gestionnaire/", "status": 503, "count": 4})
    vault = tmp_path / "vault.json"

    done = run_command(portal, structure, vault)

    assert done.returncode == 1
    assert "chorus-robot: portail indisponible : Étape « Écran « Activités du gestionnaire » »" in done.stderr
    assert "HTTP 503" in done.stderr
    assert "Le service est momentanément indisponible" in done.stderr
    assert "Traceback" not in done.stderr
    assert not vault.exists()
    assert portal.structure(structure)["reset_count"] == 0


def test_chorus_pro_opened_in_a_new_tab_is_followed(browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path):
    portal.call("POST", "/__mock__/options", {"chorus_in_new_tab": True})
    structure = portal.managed_by(syndicate["login"])[5]["identifiant"]
    vault = tmp_path / "vault.json"

    result = reset(browser, portal, structure, vault)

    assert_vault_matches_portal(vault, portal, structure)
    assert portal.structure(structure)["reset_count"] == result.scope["attempt"]

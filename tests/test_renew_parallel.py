"""Issue 9: one account managing many structures; « Mes structures » walked once; --jobs 8 like --jobs 1.
(kill -9 in the middle of a night with several workers: tests/test_renew_crash.py, « while-another-resets ».)"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Browser

from bench.renew_throughput import write_data, write_roster
from fixtures.mock_portal import MockPortalServer
from robots.renewal.browsers import Cooperative
from tests.conftest import PROJECT, ROBOT, ROWS_PER_PAGE, Portal

STRUCTURES = 12  # three pages of « Mes structures »: more than a page to walk, fewer renewals to wait for


class PagerRequests:
    """Counts the requests that ask the mock for a page of a table (its pager's buttons)."""

    def __init__(self, app: Any) -> None:
        self.app, self.count = app, 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "listeResultats.page" in parse_qs(environ.get("QUERY_STRING", "")):
            self.count += 1
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def big_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Portal, PagerRequests, Path, dict]]:
    folder = tmp_path_factory.mktemp("big-portal")
    data = write_data(folder, STRUCTURES)
    roster, env = write_roster(folder)
    with MockPortalServer(data) as server:
        pager = PagerRequests(server.app.wsgi_app)
        server.app.wsgi_app = pager  # type: ignore[method-assign]
        yield Portal(server.url), pager, roster, env


def renew_args(portal: Portal, roster: Path, folder: Path, jobs: int) -> list[str]:
    return [
        *ROBOT, "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster), "--within", "30",
        "--jobs", str(jobs), "--journal", str(folder / "journal.sqlite"), "--vault", str(folder / "vault.json"),
        "--report", str(folder / "report.json"), "--log-file", str(folder / "renew.log"),
    ]  # fmt: skip


def renew(portal: Portal, roster: Path, env: dict, folder: Path, jobs: int) -> subprocess.CompletedProcess:
    folder.mkdir(exist_ok=True)
    return subprocess.run(
        renew_args(portal, roster, folder, jobs), cwd=PROJECT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def outcomes(folder: Path) -> list[tuple]:
    report = json.loads((folder / "report.json").read_text())
    return [(o["identifiant"], o["action"], o["technical_login"], o["raison_sociale"]) for o in report["outcomes"]]


def assert_vault_holds_the_portals_passwords(portal: Portal, vault: Path) -> None:
    entries = json.loads(vault.read_text())
    for structure in portal.state()["structures"]:
        user = structure["technical_user"]
        assert structure["reset_count"] >= 1, structure["identifiant"]
        assert entries[structure["identifiant"]]["password"] == user["password"], structure["identifiant"]
        assert entries[structure["identifiant"]]["login"] == user["login"]


def test_jobs_8_renew_what_jobs_1_renews_and_the_table_is_walked_once(big_portal, tmp_path: Path):
    portal, pager, roster, env = big_portal
    portal.reset()
    pager.count = 0
    single = renew(portal, roster, env, tmp_path / "jobs1", 1)
    pages = -(-STRUCTURES // ROWS_PER_PAGE)

    assert single.returncode == 0, single.stderr
    # Listing reads each page once, the walk turns each page once more: not a walk from page 1 per structure.
    assert pager.count <= 2 * (pages - 1), pager.count
    assert_vault_holds_the_portals_passwords(portal, tmp_path / "jobs1" / "vault.json")

    portal.reset()
    parallel = renew(portal, roster, env, tmp_path / "jobs8", 8)

    assert parallel.returncode == 0, parallel.stderr
    assert outcomes(tmp_path / "jobs8") == outcomes(tmp_path / "jobs1")
    assert {o[1] for o in outcomes(tmp_path / "jobs8")} == {"renewed"}
    assert_vault_holds_the_portals_passwords(portal, tmp_path / "jobs8" / "vault.json")


def test_workers_take_turns_while_one_waits(browser: Browser):
    pool = Cooperative(browser)
    events: list[str] = []

    def waiting() -> None:
        events.append("A waits")
        pool.offload(lambda: events.append("A's blocking call, in a thread"))
        events.append("A again")

    def busy() -> None:
        events.append("B works")

    pool.run([waiting, busy])

    assert events[0] == "A waits" and events[-1] == "A again", events
    assert "B works" in events[1:3], "B ran while A waited for its blocking call"

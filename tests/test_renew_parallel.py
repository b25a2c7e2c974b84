"""Issue 9: one account managing many structures; « Mes structures » walked once; --jobs 8 like --jobs 1.
(kill -9 in the middle of a night with several workers: tests/test_renew_crash.py, « while-another-resets ».)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from loguru import logger
from playwright.sync_api import Browser

from bench.renew_throughput import write_data, write_roster
from fixtures.mock_portal import MockPortalServer
from robots.browser.pool import FRESH_TAB_EVERY, Cooperative
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from tests.conftest import ROWS_PER_PAGE, Portal
from tests.test_renew import piste_client

STRUCTURES = 12  # three pages of « Mes structures »: more than a page to walk, fewer renewals to wait for


class PagerRequests:
    """Counts the requests that ask the mock for a page of a table (its pager's buttons)."""

    def __init__(self, app: Any) -> None:
        self.app, self.count, self.opened = app, 0, 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "listeResultats.page" in parse_qs(environ.get("QUERY_STRING", "")):
            self.count += 1
        elif environ.get("PATH_INFO") == "/cpp/gestionnaire/activites":
            self.opened += 1  # « Activités du gestionnaire » opened from the menu
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def big_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Portal, PagerRequests, Path, dict]]:
    folder = tmp_path_factory.mktemp("big-portal")
    data = write_data(folder, STRUCTURES)
    roster, env = write_roster(folder)
    with MockPortalServer(data, generation="legacy") as server:
        pager = PagerRequests(server.app.wsgi_app)
        server.app.wsgi_app = pager  # type: ignore[method-assign]
        yield Portal(server.url), pager, roster, env


def renew(browser: Browser, portal: Portal, roster: Path, folder: Path, jobs: int) -> int:
    """One night of `renew --within 30 --jobs N`, in this process on the session's browser (N contexts of it, as
    the command runs them in its own Chromium); the command line itself is tested in tests/test_renew.py."""
    folder.mkdir(exist_ok=True)
    options = RenewOptions(roster_path=roster, portal_url=portal.url, within_days=30, jobs=jobs,
                           vault_path=folder / "vault.json")  # fmt: skip
    outputs = Outputs(journal=folder / "journal.sqlite", report=folder / "report.json", log_file=folder / "renew.log")
    return run_renewal(options, outputs, browser=browser).exit_code


def outcomes(folder: Path) -> list[tuple]:
    report = json.loads((folder / "report.json").read_text())
    return [(o["identifiant"], o["action"], o["technical_login"], o["raison_sociale"]) for o in report["outcomes"]]


def assert_vault_holds_the_portals_passwords(portal: Portal, vault: Path) -> None:
    every = [s["identifiant"] for s in portal.state()["structures"]]
    assert_vault_holds_the_portals_passwords_of(portal, vault, every)


def assert_vault_holds_the_portals_passwords_of(portal: Portal, vault: Path, identifiants: list[str]) -> None:
    entries = json.loads(vault.read_text())
    for structure in (portal.structure(i) for i in identifiants):
        user = structure["technical_user"]
        assert structure["reset_count"] >= 1, structure["identifiant"]
        assert entries[structure["identifiant"]]["password"] == user["password"], structure["identifiant"]
        assert entries[structure["identifiant"]]["login"] == user["login"]


def test_jobs_8_renew_what_jobs_1_renews_and_the_table_is_walked_once(
    big_portal, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    portal, pager, roster, env = big_portal
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    portal.reset()
    pager.count = pager.opened = 0
    single = renew(browser, portal, roster, tmp_path / "jobs1", 1)
    pages = -(-STRUCTURES // ROWS_PER_PAGE)

    assert single == 0, (tmp_path / "jobs1" / "renew.log").read_text()
    # Listing reads each page once, the walk turns each page once more: not a walk from page 1 per structure. Every
    # FRESH_TAB_EVERY structures the kept tab is reopened at its address in a new tab (a new renderer): its page of
    # the table once more, or the table itself when on its first page.
    fresh_tabs = (STRUCTURES - 1) // FRESH_TAB_EVERY
    assert pager.count + pager.opened <= 2 * (pages - 1) + 2 + fresh_tabs, (pager.count, pager.opened)
    # The table is opened to be listed, then once more to be walked: not once per structure.
    assert pager.opened <= 2 + fresh_tabs, pager.opened
    assert_vault_holds_the_portals_passwords(portal, tmp_path / "jobs1" / "vault.json")

    portal.reset()
    parallel = renew(browser, portal, roster, tmp_path / "jobs8", 8)

    assert parallel == 0, (tmp_path / "jobs8" / "renew.log").read_text()
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


def test_a_structure_before_the_kept_page_is_found_from_the_first_page(
    portal: Portal, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The roster names a structure of page 3 of « Mes structures », then one of page 1: the tab kept on page 3
    does not hold the second, so the pager's « première page » brings it back, without opening the table again."""
    syndicate = portal.biggest_account("dgfip")
    managed = [s["identifiant"] for s in portal.managed_by(syndicate["login"])]
    late, early = managed[10], managed[4]  # page 3 and page 1, both due within 30 days in the demo data
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        "    password_env: SYNDICAT_PASSWORD\n"
        f"    structures: [{{identifiant: '{late}'}}, {{identifiant: '{early}'}}]\n"
    )
    monkeypatch.setenv("SYNDICAT_LOGIN", syndicate["login"])
    monkeypatch.setenv("SYNDICAT_PASSWORD", syndicate["password"])
    for name, value in piste_client().items():
        monkeypatch.setenv(name, value)
    options = RenewOptions(roster_path=roster, portal_url=portal.url, within_days=30, vault_path=tmp_path / "v.json")
    outputs = Outputs(journal=tmp_path / "journal.sqlite", report=tmp_path / "report.json", log_file=None)
    said: list[str] = []
    sink = logger.add(said.append, format="{message}", level="INFO")
    try:
        assert run_renewal(options, outputs, browser=browser).exit_code == 0, (tmp_path / "report.json").read_text()
    finally:
        logger.remove(sink)

    report = json.loads((tmp_path / "report.json").read_text())
    assert {o["identifiant"]: o["action"] for o in report["outcomes"]} == {late: "renewed", early: "renewed"}
    assert_vault_holds_the_portals_passwords_of(portal, tmp_path / "v.json", [late, early])
    log = "".join(said)
    assert log.count("retour à la première page") == 1
    assert log.count("Cliquez sur « Activités du gestionnaire »") == 1  # for the first structure only

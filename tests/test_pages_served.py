"""Issue 22: the mock counts the HTML pages it serves (`pages_served` in its state), and `renew` on the portail de
services reuses what is on screen across an account's structures: « Gérer une structure » consults the next
structure in one page, the « Compte technique » form and the structure's page are opened again from their
address — six pages per structure once the account is logged in, where a person needs as many."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser

from fixtures.mock_portal import MockPortalServer, create_app
from robots.browser.pool import FRESH_TAB_EVERY, OVERDUE_TABS_AFTER
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.jobs.renewal.report import RunReport
from robots.support.parsers import with_luhn_key
from tests.conftest import DEMO_DATA, Portal

LOGIN, PASSWORD = "syndicat.pages", "Pages-Passw0rd"
SLASHED = "Ab/cdEfgh234"
CLEAN = ["Kq3vZ8pLm2Xw", "Rt5yU7iOp9Aa", "Zx2cV4bNm6Qs", "Wd8fG3hJk5Ll", "Pm4nB6vC8xZa", "Hy7tR5eW3qSd"]
# Logged in through the DGFiP portal (portal, applications, the services home before and after « Se connecter »),
# « Mes structures » (« Organisation », « Structures »), then the way to « Gérer une structure » (its empty form)
# and to the « Compte technique » form (« Accueil », « Raccordements »): once per account.
ONCE_PER_ACCOUNT = 9
PER_STRUCTURE = 6  # consultation, form, structure chosen, account chosen, « Soumettre », the structure again


def test_pages_served_counts_html_pages_by_kind_and_nothing_else():
    client = create_app(DEMO_DATA, generation="services").test_client()

    client.get("/aife_csm/fr?id=aife_index")  # the public home: a page
    client.get("/aife_csm/fr?id=aife_catitem_details&cat_item_id=compte_technique")  # not logged in: a redirection
    client.get("/aife_csm/fr?id=aife_ref_structures&q=2")  # the chooser's JSON: not a page
    client.get("/static/css/portal.css")
    served = client.get("/__mock__/state").json["pages_served"]

    assert served == {"total": 1, "by_kind": {"GET aife_index": 1}, "redirects": 1}
    client.post("/__mock__/reset", json={})
    assert client.get("/__mock__/state").json["pages_served"] == {"total": 0, "by_kind": {}, "redirects": 0}


def test_a_legacy_page_is_counted_under_its_route_not_its_structure():
    client = create_app(DEMO_DATA, generation="legacy").test_client()

    client.get("/portail/")
    client.get("/cpp/")

    by_kind = client.get("/__mock__/state").json["pages_served"]["by_kind"]
    assert by_kind == {"GET /portail/": 1, "GET /cpp/": 1}


def structures(count: int) -> list[str]:
    return [with_luhn_key(f"2130{n:09d}") for n in range(1, count + 1)]


def write_portal(folder: Path, identifiants: list[str]) -> Path:
    """One DGFiP account managing the structures, every technical password due in 5 days."""
    rows = [
        {"identifiant": s, "raison_sociale": f"COMMUNE DE PAGES {n}", "manager": LOGIN, "email": f"m{n}@pages.example",
         "adresse": {"ville": "NÎMES", "code_postal": "30000"},
         "technical_user": {"login": f"TECH_0{s}0@cpp2017.fr", "password": f"Old{n:09d}", "expires_at": "+5d"}}
        for n, s in enumerate(identifiants, 1)
    ]  # fmt: skip
    account = {"login": LOGIN, "password": PASSWORD, "portal": "dgfip", "civilite": "Mme", "nom": "PAGES",
               "prenom": "Camille", "email": "camille@pages.example"}  # fmt: skip
    path = folder / "portal.yaml"
    path.write_text(yaml.safe_dump({"accounts": [account], "structures": rows}, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Night:
    report: RunReport
    state: dict  # the mock's state after the night (structures, pages_served)
    vault: dict  # what the vault holds
    log: str


def renew_night(
    browser: Browser, folder: Path, monkeypatch: pytest.MonkeyPatch, data: Path, passwords: list[str], jobs: int = 1
) -> Night:
    """One `renew` night of the account of `data` (all its structures) on a mock portail de services of its own."""
    monkeypatch.setenv("PAGES_LOGIN", LOGIN)
    monkeypatch.setenv("PAGES_PASSWORD", PASSWORD)
    roster = folder / "roster.yaml"
    roster.write_text("accounts:\n  - name: syndicat\n    portal: dgfip\n    login_env: PAGES_LOGIN\n"
                      "    password_env: PAGES_PASSWORD\n    structures: all\n")  # fmt: skip
    vault = folder / "vault.json"
    with MockPortalServer(data, generation="services") as server:
        portal = Portal(server.url)
        portal.next_passwords(passwords)
        options = RenewOptions(roster_path=roster, portal_url=server.url, vault_path=vault, jobs=jobs,
                               failures_dir=folder / "failures")  # fmt: skip
        outputs = Outputs(journal=folder / "journal.sqlite", log_file=folder / "renew.log")
        report = run_renewal(options, outputs, browser)
        state = portal.state()
    kept = json.loads(vault.read_text(encoding="utf-8")) if vault.exists() else {}
    return Night(report, state, kept, (folder / "renew.log").read_text(encoding="utf-8"))


def test_renew_on_the_services_portal_resets_each_structure_of_an_account_in_six_pages_each_with_one_login(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    identifiants = structures(6)
    data = write_portal(tmp_path, identifiants)
    # the second structure's first password has « / »
    night = renew_night(browser, tmp_path, monkeypatch, data, [CLEAN[0], SLASHED, *CLEAN[1:]])

    report, state, kept = night.report, night.state, night.vault
    assert {o.identifiant: o.action for o in report.outcomes} == dict.fromkeys(identifiants, "renewed")
    on_portal = {s["identifiant"]: s["technical_user"] for s in state["structures"]}
    assert [kept[i]["password"] for i in identifiants] == CLEAN
    assert all(on_portal[i]["password"] == kept[i]["password"] for i in identifiants)
    assert all(kept[i]["expires_at"] == on_portal[i]["expires_at"] for i in identifiants)  # read after the reset
    served = state["pages_served"]
    # One login; « Organisation », « Raccordements », « Structures » once for the whole account; the « / » retry
    # costs the form again, the structure and the account chosen again.
    assert served["by_kind"]["GET /portail/"] == 1
    assert served["by_kind"]["GET aife_domaine"] == 2 and served["by_kind"]["GET aife_structures"] == 1
    assert served["total"] == ONCE_PER_ACCOUNT + PER_STRUCTURE * len(identifiants) + 3
    # Every FRESH_TAB_EVERY structures the work goes on in a new tab (a new renderer: memory back to its start),
    # opened at the « Compte technique » form's address, which the next structure reopens anyway: no page more.
    renewed = night.log.count("nouvel onglet (nouveau processus")
    assert renewed == (len(identifiants) - 1) // FRESH_TAB_EVERY


def test_the_workers_of_an_account_share_its_one_login(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`--jobs 4` on one account: one login on the portal; the other workers take its session (one more tab of
    the same browser), each with one page to open the connected home, then its way to « Gérer une structure »."""
    identifiants = structures(8)
    data = write_portal(tmp_path, identifiants)

    night = renew_night(browser, tmp_path, monkeypatch, data, [*CLEAN, "Jk2hG5fD8sAq", "Lp9oI6uY3tRe"], jobs=4)

    state, kept = night.state, night.vault
    assert {o.identifiant: o.action for o in night.report.outcomes} == dict.fromkeys(identifiants, "renewed")
    assert all(s["technical_user"]["password"] == kept[s["identifiant"]]["password"] for s in state["structures"])
    served = state["pages_served"]["by_kind"]
    assert served["GET /portail/"] == 1, "one login on the DGFiP portal for the four workers"
    assert night.log.count("Connexion du compte « syndicat »") == 1
    assert night.log.count("Session du compte « syndicat » reprise") == 3
    # Each other worker: the connected home, its way to « Gérer une structure » (« Organisation », « Structures »,
    # the form) and at most its own way to the « Compte technique » form (« Accueil », « Raccordements »), unless
    # a worker already noted the form's address: then it is reopened, as the first worker does.
    assert state["pages_served"]["total"] <= ONCE_PER_ACCOUNT + PER_STRUCTURE * len(identifiants) + 3 * (1 + 3 + 2)


def test_a_session_the_portal_does_not_show_is_not_taken(services: Portal, browser: Browser):
    """A shared session the portal no longer shows logged in (expired): not taken, its cookies cleared; the worker
    logs in as usual."""
    from robots.jobs.renewal.logins import SharedLogin, take_shared_login
    from robots.language.catalogue import Catalogue
    from tests.conftest import PROJECT

    context = browser.new_context()
    try:
        page = context.new_page()
        expired = SharedLogin([{"name": "session", "value": "expired", "url": services.url}],
                              f"{services.url}/aife_csm/fr?id=aife_index", "services_accueil")  # fmt: skip

        taken = take_shared_login(page, Catalogue.load(PROJECT / "selectors"), expired, timeout_s=5)

        assert not taken
        assert page.get_by_role("link", name="Se connecter", exact=True).is_visible()  # the public home
        assert context.cookies() == []
    finally:
        context.close()


def test_a_night_that_resets_nothing_still_goes_on_in_new_tabs(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Nothing due: no page is opened by its address, so the new tabs (memory back to its start) are opened between
    two structures once overdue (OVERDUE_TABS_AFTER structures after they were due), at the page the tab showed."""
    identifiants = structures(6)
    data = write_portal(tmp_path, identifiants)
    data.write_text(data.read_text(encoding="utf-8").replace("+5d", "+200d"), encoding="utf-8")

    night = renew_night(browser, tmp_path, monkeypatch, data, [])

    served = night.state["pages_served"]
    assert {o.identifiant: o.action for o in night.report.outcomes} == dict.fromkeys(identifiants, "skipped")
    renewed = night.log.count("nouvel onglet (nouveau processus")
    assert renewed == (len(identifiants) - 1) // (FRESH_TAB_EVERY + OVERDUE_TABS_AFTER)
    assert served["by_kind"]["GET aife_catitem_details/gerer_structure"] == len(identifiants) + 1 + renewed

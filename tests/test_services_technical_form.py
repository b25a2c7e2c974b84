"""Issue 18 point 3: the « Compte technique » form of the portail de services as the guides show it — domain
tiles with « Accéder au domaine », « Type de demande » a drop-down, « Choisir la structure » a type-ahead
chooser that works for 100 structures, « Compte technique » a chooser of the structure's technical accounts —
and the robot through it, through several technical accounts and through one-change markup variants."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from bench.renew_throughput import LOGIN, PASSWORD, bench_siret, write_data
from fixtures.mock_portal import MockPortalServer, create_app
from fixtures.mock_portal.variants import SERVICES_VARIANTS
from robots.engine.runner import RunResult
from robots.errors import BadInput, StepFailed
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.jobs.renewal.roster import load_roster
from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import DEMO_DATA, PROJECT, Portal

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
CLEAN = "Kq3vZ8pLm2Xw0"
SECOND = "TECH_2_{}@cpro.fr"


def reset(browser: Browser, portal: Portal, variables: dict[str, str], folder: Path) -> RunResult:
    request = RunRequest(flow=FLOW, portal_url=portal.url, variables=variables, vault_path=folder / "vault.json",
                         journal_path=folder / "journal.sqlite")  # fmt: skip
    return run_in_browser(browser, prepare(request), request)


def second_account(portal: Portal, identifiant: str) -> str:
    """The structure gets a second technical account; its login."""
    login = SECOND.format(identifiant)
    portal.call("POST", "/__mock__/structure", {"identifiant": identifiant, "other_technical_users": [
        {"login": login, "password": "Second-0000-x", "expires_at": "+4d"}]})  # fmt: skip
    return login


def passwords(portal: Portal, identifiant: str) -> dict[str, str]:
    structure = portal.structure(identifiant)
    users = [structure["technical_user"], *structure["other_technical_users"]]
    return {u["login"]: u["password"] for u in users}


# ---------------------------------------------------------------- the mock


def test_the_form_offers_a_drop_down_a_structure_chooser_and_the_structures_technical_accounts():
    client = create_app(DEMO_DATA, generation="services").test_client()
    state = client.application.extensions["portal_state"]
    company = next(a for a in state.accounts.values() if a.portal == "chorus")
    client.post("/auth/realms/chorus-pro/login-actions/authenticate",
                data={"username": company.login, "password": company.password})  # fmt: skip
    home = client.get("/aife_csm/fr?id=aife_index").text
    tiles = re.findall(r'<h2 class="panel-title">([^<]+)</h2>.*?<button[^>]*>([^<]+)</button>', home, re.DOTALL)
    assert ("Raccordements", "Accéder au domaine") in tiles and len(tiles) == 4

    form = client.get("/aife_csm/fr?id=aife_catitem_details&cat_item_id=compte_technique").text
    assert re.search(r'<select id="type_demande"[^>]*>\s*<option value="">', form), "nothing chosen in advance"
    assert 'role="combobox"' in form and 'name="compte"' not in form
    structure = state.managed_by(company.login)[1]
    found = client.get(f"/aife_csm/fr?id=aife_ref_structures&q={structure.identifiant[-5:]}").json
    assert found["results"] == [{"value": structure.identifiant,
                                 "label": f"{structure.identifiant} - {structure.raison_sociale}"}]  # fmt: skip
    assert client.get("/aife_csm/fr?id=aife_ref_structures&q=transports").json["total"] == 2


def test_a_structure_with_two_technical_accounts_offers_both_and_resets_the_one_chosen(services: Portal):
    client = create_app(DEMO_DATA, generation="services").test_client()
    state = client.application.extensions["portal_state"]
    company = next(a for a in state.accounts.values() if a.portal == "chorus")
    structure = state.managed_by(company.login)[0]
    client.post("/__mock__/structure", json={"identifiant": structure.identifiant, "other_technical_users": [
        {"login": "TECH_2@cpro.fr", "password": "x", "expires_at": "+4d"}]})  # fmt: skip
    client.post("/auth/realms/chorus-pro/login-actions/authenticate",
                data={"username": company.login, "password": company.password})  # fmt: skip
    url = f"/aife_csm/fr?id=aife_catitem_details&cat_item_id=compte_technique&type_demande=reinitialisation" \
          f"&structure={structure.identifiant}"  # fmt: skip
    offered = re.findall(r'<option value="(TECH[^"]+)"', client.get(url).text)
    assert offered == [structure.technical_user.login, "TECH_2@cpro.fr"]
    shown = client.get(f"{url}&compte=TECH_2@cpro.fr").text
    token = re.search(r'name="jeton" value="([^"]*)"', shown).group(1)

    client.post("/aife_csm/fr?id=aife_catitem_details&cat_item_id=compte_technique", data={"jeton": token})

    assert structure.other_technical_users[0].password != "x"
    assert structure.technical_user.password != structure.other_technical_users[0].password


# ---------------------------------------------------------------- the robot, several technical accounts


def test_run_resets_the_technical_account_named_by_var(browser: Browser, company: dict, services: Portal,
                                                         tmp_path: Path):  # fmt: skip
    identifiant = services.managed_by(company["login"])[0]["identifiant"]
    second = second_account(services, identifiant)
    before = passwords(services, identifiant)
    services.next_passwords([CLEAN])

    result = reset(browser, services, {"structure": identifiant, "entry": "chorus", "technical_login": second},
                   tmp_path)  # fmt: skip

    after = passwords(services, identifiant)
    assert after[second] == CLEAN and after != before
    assert {k: v for k, v in after.items() if k != second} == {k: v for k, v in before.items() if k != second}
    entry = json.loads((tmp_path / "vault.json").read_text())[identifiant]
    assert (entry["login"], entry["password"]) == (second, CLEAN)
    assert result.scope["old_expiry"][:10] != result.scope["new_expiry"][:10]


def test_two_technical_accounts_and_none_named_stops_listing_them_with_nothing_reset(
    browser: Browser, company: dict, services: Portal, tmp_path: Path
):
    structure = services.managed_by(company["login"])[0]
    second = second_account(services, structure["identifiant"])

    with pytest.raises(StepFailed) as stopped:
        reset(browser, services, {"structure": structure["identifiant"], "entry": "chorus"}, tmp_path)

    said = str(stopped.value)
    assert f"la structure {structure['identifiant']} a plusieurs comptes techniques" in said
    assert structure["technical_user"]["login"] in said and second in said
    assert "technical_login" in said and "rien n'a été réinitialisé" in said
    assert services.structure(structure["identifiant"])["reset_count"] == 0


def test_renew_takes_the_account_the_roster_names_and_stops_only_the_structure_left_ambiguous(
    browser: Browser, services: Portal, syndicate: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SYNDICAT_LOGIN", syndicate["login"])
    monkeypatch.setenv("SYNDICAT_PASSWORD", syndicate["password"])
    named, ambiguous, single = (s["identifiant"] for s in services.managed_by(syndicate["login"])[:3])
    second = second_account(services, named)
    second_account(services, ambiguous)
    for identifiant in (named, ambiguous, single):
        services.call("POST", "/__mock__/structure", {"identifiant": identifiant, "expires_at": "+5d"})
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        f'    password_env: SYNDICAT_PASSWORD\n    structures:\n      - identifiant: "{named}"\n'
        f'        technical_login: {second}\n      - identifiant: "{ambiguous}"\n'
        f'      - identifiant: "{single}"\n'
    )
    before = {i: passwords(services, i) for i in (named, ambiguous, single)}
    options = RenewOptions(roster_path=roster, portal_url=services.url, vault_path=tmp_path / "vault.json",
                           within_days=30, failures_dir=tmp_path / "failures")  # fmt: skip

    report = run_renewal(options, Outputs(journal=tmp_path / "journal.sqlite", log_file=None), browser)

    outcomes = {o.identifiant: o for o in report.outcomes}
    assert outcomes[named].action == "renewed" and outcomes[named].technical_login == second
    assert outcomes[single].action == "renewed"
    assert outcomes[ambiguous].failed and "plusieurs comptes techniques" in outcomes[ambiguous].error
    assert passwords(services, ambiguous) == before[ambiguous], "nothing reset on the ambiguous structure"
    after = passwords(services, named)
    assert after[second] != before[named][second]
    assert [v for k, v in after.items() if k != second] == [v for k, v in before[named].items() if k != second]
    vault = json.loads((tmp_path / "vault.json").read_text())
    assert (vault[named]["login"], vault[named]["password"]) == (second, after[second])


# ---------------------------------------------------------------- 100 structures


@pytest.fixture(scope="module")
def hundred(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data = write_data(tmp_path_factory.mktemp("hundred"), 100)
    with MockPortalServer(data) as server:
        portal = Portal(server.url)
        portal.call("POST", "/__mock__/options", {"generation": "services"})
        yield portal


def test_the_structure_chooser_finds_the_100th_structure_of_an_account(
    browser: Browser, hundred: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DGFIP_LOGIN", LOGIN)
    monkeypatch.setenv("DGFIP_PASSWORD", PASSWORD)
    last = bench_siret(100)
    hundred.next_passwords([CLEAN])

    reset(browser, hundred, {"structure": last, "entry": "dgfip"}, tmp_path)

    assert hundred.structure(last)["technical_user"]["password"] == CLEAN
    assert [s["reset_count"] for s in hundred.state()["structures"]].count(1) == 1


# ---------------------------------------------------------------- markup we did not invent


@pytest.mark.parametrize("markup", [*SERVICES_VARIANTS, "variants"])
def test_the_services_reset_passes_on_each_markup_variant(
    browser: Browser, company: dict, services: Portal, tmp_path: Path, markup: str
):
    services.call("POST", "/__mock__/options", {"markup": markup})
    identifiant = services.managed_by(company["login"])[-1]["identifiant"]
    services.next_passwords(["Ab/cdEfgh2340", CLEAN])

    result = reset(browser, services, {"structure": identifiant, "entry": "chorus"}, tmp_path)

    assert services.structure(identifiant)["technical_user"]["password"] == CLEAN
    assert services.structure(identifiant)["reset_count"] == 1
    assert result.scope["attempt"] == 2


def test_a_roster_technical_login_with_a_space_is_refused_with_its_line(tmp_path: Path):
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: A\n    password_env: B\n    structures:\n"
        '      - identifiant: "25300096600023"\n        technical_login: "TECH_1 25300096600023@cpro.fr"\n'
    )

    with pytest.raises(BadInput) as refused:
        load_roster(roster)

    (problem,) = refused.value.problems
    assert problem.line == 8 and "technical_login « TECH_1 25300096600023@cpro.fr »" in problem.message

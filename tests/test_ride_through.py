"""Issue 12: the nightly job rides through a flaky portal — failing pages, « erreur technique », expired
sessions, slow pages, a portal down, a doubt around a reset — and names what it could not do.

Each scenario renews a few structures in this process (the session's mock portal and Chromium), with the
faults set through the mock's control API; afterwards the vault must hold what the portal holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser

from robots.errors import KINDS, Locked
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.jobs.renewal.report import RunReport
from tests.conftest import PROJECT, Portal

SYNDICATE_DUE = ["25300096600023", "21300032500018"]  # first page of « Mes structures », both due
COMPANY_DUE = "81234567800013"
CLEAN = [f"Clean{n:03d}Pass" for n in range(40)]  # no « / »: no reset loops to wait for


def roster(tmp_path: Path, company: bool = False) -> Path:
    accounts = [
        {
            "name": "siagep",
            "portal": "dgfip",
            "login_env": "SYNDICAT_LOGIN",
            "password_env": "SYNDICAT_PASSWORD",
            "structures": [{"identifiant": i} for i in SYNDICATE_DUE],
        }
    ]
    if company:
        accounts.append(
            {
                "name": "garonne",
                "portal": "chorus",
                "login_env": "SOCIETE_LOGIN",
                "password_env": "SOCIETE_PASSWORD",
                "structures": [{"identifiant": COMPANY_DUE}],
            }
        )
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump({"accounts": accounts}))
    return path


def settings(private_var: Path, **values: object) -> None:
    config_file = private_var / "robot.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["settings"].update(values)
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True))


def night(browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, faults: list[dict],
          company: bool = False) -> RunReport:  # fmt: skip
    syndicate, garonne = portal.biggest_account("dgfip"), portal.biggest_account("chorus")
    for name, value in {
        "SYNDICAT_LOGIN": syndicate["login"],
        "SYNDICAT_PASSWORD": syndicate["password"],
        "SOCIETE_LOGIN": garonne["login"],
        "SOCIETE_PASSWORD": garonne["password"],
    }.items():
        monkeypatch.setenv(name, value)
    portal.next_passwords(CLEAN)
    for fault in faults:
        portal.call("POST", "/__mock__/faults", fault)
    options = RenewOptions(roster_path=roster(tmp_path, company), portal_url=portal.url, vault_path=tmp_path / "v.json",
                           failures_dir=tmp_path / "failures")  # fmt: skip
    try:
        return run_renewal(options, Outputs(journal=tmp_path / "j.sqlite", log_file=tmp_path / "renew.log"), browser)
    finally:
        portal.call("POST", "/__mock__/faults", {})


def assert_vault_is_the_portal(portal: Portal, tmp_path: Path, identifiants: list[str]) -> None:
    vault = json.loads((tmp_path / "v.json").read_text())
    for identifiant in identifiants:
        user = portal.structure(identifiant)["technical_user"]
        assert vault[identifiant]["password"] == user["password"], identifiant
        assert vault[identifiant]["login"] == user["login"]


def outcomes(report: RunReport) -> dict[str, str]:
    return {o.identifiant: o.action for o in report.outcomes}


def test_failing_pages_technical_pages_slow_pages_and_a_failed_confirmation_are_ridden_through(
    browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    first = SYNDICATE_DUE[0]
    confirm = {"path_prefix": f"/cpp/structure/{first}/reinitialiser-mot-de-passe", "status": 503, "count": 1}
    faults = [
        {"share": 0.12, "status": 503, "seed": 3}, {"share": 0.12, "status": "technical"},
        {"slow": {"path_prefix": "/cpp/structure/", "ms": 1500}}, confirm,
    ]  # fmt: skip
    report = night(browser, portal, tmp_path, monkeypatch, faults)

    assert outcomes(report) == dict.fromkeys(SYNDICATE_DUE, "renewed"), [o.error for o in report.outcomes]
    assert report.exit_code == 0
    assert_vault_is_the_portal(portal, tmp_path, SYNDICATE_DUE)
    assert all(portal.structure(i)["reset_count"] == 1 for i in SYNDICATE_DUE)  # the 503 came before the reset
    log = (tmp_path / "renew.log").read_text()
    assert "HTTP 503 : l'étape est reprise" in log and "erreur technique » du portail : l'étape est reprise" in log
    assert "doute : « Confirmer » cliqué sans mot de passe lu" in log  # never a blind repeat of the reset…
    assert "n'avait pas eu lieu (expiration inchangée)" in log  # …but the structure read again first
    assert "Traceback" not in log


def test_an_expired_session_means_logging_in_again_and_going_on(
    browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_var: Path
):
    settings(private_var, timeout_s=6)  # the login screen shows where a portal screen was expected: 6 s each
    report = night(browser, portal, tmp_path, monkeypatch, [{"session_expires_after": 12}])

    assert outcomes(report) == dict.fromkeys(SYNDICATE_DUE, "renewed"), [o.error for o in report.outcomes]
    assert_vault_is_the_portal(portal, tmp_path, SYNDICATE_DUE)
    log = (tmp_path / "renew.log").read_text()
    assert "reconnexion" in log and "Traceback" not in log
    assert all(portal.structure(i)["reset_count"] == 1 for i in SYNDICATE_DUE)
    assert portal.account(portal.biggest_account("dgfip")["login"])["failed_logins"] == 0


def test_the_dgfip_portal_down_fails_its_structures_clearly_and_the_rest_goes_on(
    browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    report = night(browser, portal, tmp_path, monkeypatch, [{"down": "dgfip"}], company=True)

    assert outcomes(report) == {**dict.fromkeys(SYNDICATE_DUE, "failed"), COMPANY_DUE: "renewed"}
    failed = [o for o in report.outcomes if o.failed]
    assert {o.error_kind for o in failed} == {"portal_unavailable"}
    assert all(o.error.startswith("portail indisponible : ") for o in failed)
    assert report.exit_code == 1
    assert_vault_is_the_portal(portal, tmp_path, [COMPANY_DUE])
    assert all(portal.structure(i)["reset_count"] == 0 for i in SYNDICATE_DUE)
    assert "Traceback" not in (tmp_path / "renew.log").read_text()


def test_every_error_kind_has_a_line_in_the_night_operators_guide_with_its_exit_code():
    readme = (PROJECT / "docs" / "night-operator.md").read_text(encoding="utf-8")
    for kind in KINDS.values():
        line = next((row for row in readme.splitlines() if row.startswith(f"| `{kind.name}`")), None)
        assert line is not None, kind.name
        assert f"| {kind.exit_code} |" in line


def test_each_error_kind_comes_with_its_exit_code_and_its_words(tmp_path: Path, capsys: pytest.CaptureFixture):
    from robots.cli.main import main
    from robots.errors import BadInput, StepFailed, kind_of, labelled

    raised = {
        "bad_input": BadInput("registre x.yaml:3 : identifiant invalide"),
        "locked": Locked("un autre renouvellement tient le verrou"),
        "forbidden_characters": StepFailed("le mot de passe contient encore un caractère interdit", exit_code=3),
        "screen_not_recognised": StepFailed("élément « x.y » introuvable"),
        **{k: StepFailed("…", kind=k) for k in ("login_refused", "account_locked", "second_factor",
                                                 "portal_unavailable", "session_expired", "portal_refused")},
    }  # fmt: skip
    for kind, exc in raised.items():
        assert kind_of(exc) == kind
        assert KINDS[kind].exit_code == exc.exit_code, kind
    assert kind_of(ValueError("bug")) == "internal"
    assert labelled("portal_unavailable", "HTTP 503") == "portail indisponible : HTTP 503"

    assert main(["renew", "--roster", str(tmp_path / "absent.yaml")]) == KINDS["bad_input"].exit_code
    assert "Traceback" not in capsys.readouterr().err


def test_a_page_of_mes_structures_that_fails_is_asked_for_again_not_the_whole_table(
    browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`structures: all` reads « Mes structures » page by page: a page that meets a 503 is asked for again, where
    reading the whole table again from its first page would, under 10 % of failing pages, never end on a big one."""
    syndicate = portal.biggest_account("dgfip")
    monkeypatch.setenv("SYNDICAT_LOGIN", syndicate["login"])
    monkeypatch.setenv("SYNDICAT_PASSWORD", syndicate["password"])
    listing = tmp_path / "roster.yaml"
    listing.write_text(
        "accounts:\n  - {name: siagep, portal: dgfip, login_env: SYNDICAT_LOGIN, password_env: SYNDICAT_PASSWORD,"
        " structures: all}\n"
    )
    # Seeded: the table's first page comes, its second page fails once, the rest comes.
    portal.call("POST", "/__mock__/faults", {"share": 0.5, "status": 503, "seed": 37,
                                              "path_prefix": "/cpp/gestionnaire/activites"})  # fmt: skip
    options = RenewOptions(roster_path=listing, portal_url=portal.url, vault_path=tmp_path / "v.json",
                           failures_dir=tmp_path / "failures", dry_run=True)  # fmt: skip
    try:
        report = run_renewal(options, Outputs(journal=tmp_path / "j.sqlite", log_file=tmp_path / "renew.log"), browser)
    finally:
        portal.call("POST", "/__mock__/faults", {})

    managed = {s["identifiant"] for s in portal.managed_by(syndicate["login"])}
    assert {o.identifiant for o in report.outcomes} == managed
    assert not [o.error for o in report.outcomes if o.action == "failed"]
    log = (tmp_path / "renew.log").read_text()
    assert "page suivante du tableau : le portail a répondu HTTP 503 ; demandée à nouveau" in log
    # the kept page reopened in new tabs (a fresh renderer) met a 503 too: asked for again where it is used
    assert "page gardée du tableau : le portail a répondu HTTP 503 ; demandée à nouveau" in log
    assert "l'étape est reprise" not in log.split("« Mes structures » du compte")[0]  # not the whole table again
    assert all(portal.structure(i)["reset_count"] == 0 for i in managed)

"""Issue 21 point 3: `chorus-robot survey`, a first contact with the portal that changes nothing and leaves a bundle
(screenshots, ARIA snapshots, survey.json/md) without any secret or personal datum."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from robots.jobs.replay.survey_bundle import nearest
from robots.jobs.replay.survey_privacy import PERSONAL, personal_values, scrub_text
from robots.jobs.replay.survey_walk import WALKS, check_walk, moves_of
from robots.language.catalogue import Catalogue, Element
from tests.conftest import DEMO_DATA, PROJECT, Portal, robot

SERVICES_SCREENS = [visit.screen for visit in WALKS["services_connecte"]]
PERSONAL_KEYS = {"password", "nom", "prenom", "email", "telephone", "login", "totp_secret", "client_secret", "iban"}


def _roster(tmp_path: Path, *accounts: tuple[str, str, dict]) -> Path:
    """A roster of (name, portal, account) whose credentials are given to `robot` by _credentials(); an account
    with a `totp_secret` logs in with its authenticator's code, as renew does."""
    entries = [
        {"name": name, "portal": portal, "login_env": f"{name.upper()}_LOGIN",
         "password_env": f"{name.upper()}_PASSWORD", "structures": "all",
         **({"second_factor": "totp", "totp_env": f"{name.upper()}_TOTP"} if account.get("totp_secret") else {})}
        for name, portal, account in accounts
    ]  # fmt: skip
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump({"accounts": entries}), encoding="utf-8")
    return path


def _credentials(*accounts: tuple[str, str, dict]) -> dict[str, str]:
    env = {}
    for name, _, account in accounts:
        env[f"{name.upper()}_LOGIN"], env[f"{name.upper()}_PASSWORD"] = account["login"], account["password"]
        if account.get("totp_secret"):
            env[f"{name.upper()}_TOTP"] = account["totp_secret"]
    return env


def _survey(portal: Portal, tmp_path: Path, *accounts: tuple[str, str, dict], only: str = "") -> tuple[Any, Path]:
    out = tmp_path / "bundle"
    chosen = ["--account", only] if only else []
    done = robot("survey", "--roster", str(_roster(tmp_path, *accounts)), "--out", str(out), *chosen,
                 "--portal-url", portal.url, env=_credentials(*accounts))  # fmt: skip
    return done, out


def _screens(out: Path) -> dict[tuple[str, str], dict]:
    document = json.loads((out / "survey.json").read_text(encoding="utf-8"))
    return {(s["account"], s["screen"]): s for s in document["screens"]}


def _demo_personal_data() -> set[str]:
    """Every secret and personal datum of the demo portal's data: passwords, logins, names, e-mails, phones…"""
    found: set[str] = set()

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif key in PERSONAL_KEYS and isinstance(value, str) and value:
            found.add(value)
            if key == "telephone":
                found.add(value.replace("+33 ", ""))

    walk(yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8")))
    return found


# ---------------------------------------------------------------- without a browser


def test_the_walks_run_no_step_that_may_change_something():
    catalogue = Catalogue.load()
    check_walk(catalogue)  # every shipped walk: repeatable steps, links and searches only

    with pytest.raises(ValueError, match="repeatable"):
        moves_of(({"click": "services_connecte.organisation"},), catalogue)
    with pytest.raises(ValueError, match="ni un lien ni une recherche"):
        moves_of(({"follow": "services_compte_technique.soumettre"},), catalogue)
    with pytest.raises(ValueError, match="ni un lien ni une recherche"):
        moves_of(({"follow": "modification_structure.reinitialiser_mot_de_passe"},), catalogue)


def test_personal_data_of_a_snapshot_are_masked_and_the_portal_words_kept():
    snapshot = "\n".join([
        '- link "Jean DUPONT"', '- cell "MARTIN Sophie"', "- text: Contact : j.dupont@mairie.example",
        "- text: Tél. 04 66 05 10 20, portable +33 612345678", "- text: IBAN FR76 3000 6000 0112 3456 7890 189",
        '- textbox "Nom": Rigoulot', '- checkbox "Activation Raccordement EDI et API"',
        '- heading "Gérer une structure"', "- text: Numéro SIRET",
    ])  # fmt: skip

    scrubbed = scrub_text(snapshot, personal_values(snapshot))

    for datum in ("DUPONT", "Jean", "MARTIN", "Sophie", "j.dupont", "66 05 10", "612345678", "FR76", "Rigoulot"):
        assert datum not in scrubbed
    assert scrubbed.count(PERSONAL) == 7
    for kept in ("Activation Raccordement EDI et API", "Gérer une structure", "Numéro SIRET", '- textbox "Nom"'):
        assert kept in scrubbed


def test_the_candidates_are_the_snapshot_elements_nearest_to_the_catalogue():
    element = Element.model_validate({"kind": "link", "find": [{"role": "link", "name": "Se deconnecter maintenant"}]})
    entries = [("link", "Accueil"), ("button", "Se déconnecter"), ("link", "Se déconnecter"), ("heading", "Bonjour")]

    candidates = nearest("se_deconnecter", element, entries)

    assert [c.yaml for c in candidates] == [
        "- {role: link, name: Se déconnecter}",
        "- {role: button, name: Se déconnecter}",
    ]


# ---------------------------------------------------------------- on the mock portal


def test_survey_of_the_services_portal_matches_changes_nothing_and_keeps_no_personal_datum(
    services: Portal, tmp_path: Path
):
    syndicate, company = services.biggest_account("dgfip"), services.biggest_account("chorus")
    before = services.state()["structures"]

    done, out = _survey(services, tmp_path, ("syndicat", "dgfip", syndicate), ("societe", "chorus", company))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "tout correspond au catalogue" in done.stdout
    screens = _screens(out)
    for account in ("syndicat", "societe"):
        for name in SERVICES_SCREENS:
            screen = screens[(account, name)]
            assert screen["recognised"], name
            assert (out / screen["snapshot"]).read_text(encoding="utf-8").startswith("- ")
            assert (out / screen["screenshot"]).read_bytes().startswith(b"\x89PNG")
            assert all(e["found"] or e.get("conditional") for e in screen["elements"]), name
    accueil = screens[("societe", "services_connecte")]
    found = {e["element"]: e for e in accueil["elements"]}
    assert found["organisation"]["selector"] == "- {role: link, name: Organisation, exact: true}"
    assert services.state()["structures"] == before  # nothing submitted: no password, no structure changed

    texts = [p.read_text(encoding="utf-8") for p in out.iterdir() if p.suffix in (".json", ".md", ".yaml")]
    assert len(texts) == 2 + 2 * (len(SERVICES_SCREENS) + 1)  # survey.json/md, a snapshot per screen and frame
    leaked = {datum for datum in _demo_personal_data() for text in texts if datum.casefold() in text.casefold()}
    assert not leaked


def test_survey_of_one_account_on_the_legacy_portal_needs_only_its_credentials(portal: Portal, tmp_path: Path):
    syndicate, company = portal.biggest_account("dgfip"), portal.biggest_account("chorus")

    roster = _roster(tmp_path, ("syndicat", "dgfip", syndicate), ("societe", "chorus", company))
    out = tmp_path / "bundle"

    done = robot("survey", "--roster", str(roster), "--account", "syndicat", "--out", str(out),
                 "--portal-url", portal.url, env=_credentials(("syndicat", "dgfip", syndicate)))  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    screens = _screens(out)
    assert {account for account, _ in screens} == {"syndicat"}
    assert [name for _, name in screens] == [
        "mon_compte", "chorus_accueil", "chorus_connecte", "activites_gestionnaire", "modification_structure",
    ]  # fmt: skip
    page = {e["element"]: e for e in screens[("syndicat", "modification_structure")]["elements"]}
    assert page["reinitialiser_mot_de_passe"]["found"]  # seen, not pressed
    assert all(not e["found"] for e in page.values() if e["element"] == "enregistre")


def test_survey_on_the_markup_variants_with_a_second_factor(services: Portal, tmp_path: Path):
    services.call("POST", "/__mock__/options", {"markup": "variants", "second_factor": "totp"})
    demo = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    company = next(a for a in demo["accounts"] if a.get("totp_secret"))

    done, out = _survey(services, tmp_path, ("societe", "chorus", company))

    assert done.returncode == 0, done.stdout + done.stderr
    screens = _screens(out)
    assert [name for _, name in screens] == [*SERVICES_SCREENS[:1], "services_accueil", "services_connecte",
                                             *SERVICES_SCREENS[2:]]  # fmt: skip
    assert all(s["recognised"] for s in screens.values())


def test_a_wrong_element_is_named_with_ready_find_entries(
    services: Portal, tmp_path: Path, private_var: Path, impatient: float
):
    catalogue = tmp_path / "selectors"
    shutil.copytree(PROJECT / "selectors", catalogue)
    frame = catalogue / "services" / "services_connecte.yaml"
    broken = yaml.safe_load(frame.read_text(encoding="utf-8"))
    broken["elements"]["deconnexion"] = {
        "kind": "link",
        "find": [{"role": "link", "name": "Se deconnecter maintenant"}],
    }
    frame.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    domain = catalogue / "services" / "services_raccordements.yaml"  # the link to « Compte technique » too
    changed = yaml.safe_load(domain.read_text(encoding="utf-8"))
    changed["elements"]["compte_technique"]["find"] = [{"role": "link", "name": "Comptes techniques API"}]
    domain.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    config_path = private_var / "robot.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["settings"]["catalogue"] = str(catalogue)
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    company = services.biggest_account("chorus")

    done, out = _survey(services, tmp_path, ("societe", "chorus", company))

    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 à revoir" in done.stdout
    screens = _screens(out)
    unreached = screens[("societe", "services_compte_technique")]
    assert "compte_technique" in unreached["error"] and unreached["snapshot"] is None
    assert screens[("societe", "services_mon_compte")]["recognised"]  # the walk went on after it
    link = {e["element"]: e for e in screens[("societe", "services_raccordements")]["elements"]}["compte_technique"]
    assert link["candidates"][0]["yaml"] == "- {role: link, name: Compte technique}"
    elements = {e["element"]: e for e in screens[("societe", "services_connecte")]["elements"]}
    wrong = elements["deconnexion"]
    assert not wrong["found"] and wrong["selector"] is None
    assert wrong["candidates"][0] == {
        "role": "link", "name": "Se déconnecter", "yaml": "- {role: link, name: Se déconnecter}"
    }  # fmt: skip
    assert len(wrong["candidates"]) <= 3
    report = (out / "survey.md").read_text(encoding="utf-8")
    assert "✘ `deconnexion` introuvable" in report and "- {role: link, name: Se déconnecter}" in report


def test_survey_without_credentials_says_which_variables(tmp_path: Path):
    roster = _roster(tmp_path, ("absent", "chorus", {}))

    done = robot(
        "survey", "--roster", str(roster), "--out", str(tmp_path / "out"), "--portal-url", "http://127.0.0.1:9"
    )

    assert done.returncode == 2
    assert "ABSENT_LOGIN" in done.stderr and "ABSENT_PASSWORD" in done.stderr
    assert not (tmp_path / "out").exists()


def test_survey_of_an_account_not_in_the_roster(portal: Portal, tmp_path: Path):
    company = portal.biggest_account("chorus")

    done, _ = _survey(portal, tmp_path, ("societe", "chorus", company), only="mairie")

    assert done.returncode == 2
    assert "--account « mairie »" in done.stderr and "societe" in done.stderr

"""Issue 10: structure and account parametrisation as desired state — plan, apply, export — against the mock.

The mock holds structures as created from Hélios (tests/portals/parametrage.yaml): INACTIF, no libellé,
no e-mail, one without an address; pending requests from the syndicate's domain and from elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser

from robots.cli.parametrage import SCHEMA_FILE, export_text
from robots.jobs.parametrage import jobs
from robots.jobs.parametrage.model import desired_state_schema, load_desired_state
from robots.support.parsers import siret_problem
from tests.conftest import PROJECT, Portal, robot

DATA = PROJECT / "tests" / "portals" / "parametrage.yaml"
DESIRED = PROJECT / "tests" / "portals" / "parametrage-desired.yaml"
VILLENEUVE, EAUX, ALES = "21300351900013", "25300096600023", "21300011900015"
CREDENTIALS = {"PARAM_LOGIN": "gp.syndicat", "PARAM_PASSWORD": "Gp-Synd1cat!"}


@pytest.fixture(scope="module")
def param_server() -> Iterator[str]:
    from fixtures.mock_portal import MockPortalServer

    with MockPortalServer(DATA, generation="legacy") as server:
        yield server.url


@pytest.fixture
def portal(param_server: str, monkeypatch: pytest.MonkeyPatch) -> Portal:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    portal = Portal(param_server)
    portal.reset()
    return portal


def run(kind: str, path: Path, portal: Portal, browser: Browser) -> jobs.ParametrageResult:
    """plan or apply in this process, with the session's browser."""
    desired = load_desired_state(path)[0]
    options = jobs.Options(portal_url=portal.url)
    prepared = jobs.prepare(desired, options)
    with jobs.portal_session(prepared, options, browser) as session:
        return getattr(jobs, kind)(session, desired)


@contextmanager
def one_login(
    path: Path, portal: Portal, browser: Browser, generation: str = "services"
) -> Iterator[jobs.PortalSession]:
    """plan/apply/export runs sharing one login (the generation is seen after it, the file does not say it)."""
    desired = load_desired_state(path)[0]
    options = jobs.Options(portal_url=portal.url)
    with jobs.portal_session(jobs.prepare(desired, options), options, browser) as session:
        assert session.generation.name == generation
        yield session


def cli(*args: str, portal: Portal) -> object:
    return robot(*args, "--portal-url", portal.url, env=CREDENTIALS)


def write_desired(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "desired.yaml"
    path.write_text(body, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the file is checked first


BROKEN = """\
account: {name: syndicat, portal: dgfip, login_env: PARAM_LOGIN, password_env: PARAM_PASSWORD}
structures:
  - identifiant: "21300351900018"
    email: pas-une-adresse
    adresse: {code_postal: "304"}
  - identifiant: "21300011900015"
    adresse: {telephone: "04 90 27 49 00"}
    services:
      - {code: FACTURES_PUBLIQUES, libelle: Factures de la commune}
    espaces: [Factures rêvées]
    utilisateurs:
      - {email: p.noir@syndicat30.example, role: Gestionnaire Principal}
"""


def test_a_wrong_file_is_refused_with_file_and_line_before_the_portal_is_touched(tmp_path: Path):
    path = write_desired(tmp_path, BROKEN)
    done = robot("plan", str(path), "--portal-url", "http://127.0.0.1:9")  # nothing listens there
    assert done.returncode == 2, done.stderr
    for line, text in [
        (3, "la clé de contrôle du SIRET est fausse"),
        (4, "« pas-une-adresse » n'est pas une adresse électronique valide"),
        (5, "un code postal français a 5 chiffres"),
        (7, "téléphone au format international attendu (+33 545XXXXXX)"),
        (8, "FACTURES_PUBLIQUES est le service par défaut des factures intra sphères publiques"),
        (10, "Factures rêvées"),
        (12, "Gestionnaire Principal"),
    ]:
        assert any(f"{path}:{line}:" in row and text in row for row in done.stderr.splitlines()), (line, text)
    assert "Traceback" not in done.stderr


def test_the_committed_desired_state_schema_is_the_generated_one():
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == desired_state_schema(), "run `chorus-robot schema`"
    for example in (PROJECT / "examples" / "parametrage.yaml", DESIRED):
        load_desired_state(example)


# ---------------------------------------------------------------- plan, apply, export


def test_plan_shows_the_differences_of_fresh_structures_and_changes_nothing(portal: Portal):
    before = portal.data()
    done = cli("plan", str(DESIRED), "--json", portal=portal)
    assert done.returncode == 0, done.stderr
    changes = json.loads(done.stdout)["changes"]
    found = {(c["structure"], c["block"], c["field"]): (c["current"], c["desired"]) for c in changes}
    assert found[(VILLENEUVE, "informations_generales", "statut")] == ("INACTIF", "ACTIF")
    assert found[(VILLENEUVE, "informations_generales", "libelle")] == ("", "Commune de Villeneuve-lès-Avignon")
    assert found[(VILLENEUVE, "utilisateurs", "l.blanc@syndicat30.example")] == (
        {"role": "Utilisateur simple", "actif": True},
        {"role": "Gestionnaire Secondaire", "actif": True},
    )
    assert found[(VILLENEUVE, "espaces", "Factures reçues")] == (False, True)
    assert found[(EAUX, "adresse", "code_postal")] == ("", "30200")
    assert found[(ALES, "services", "ANCIEN_SERVICE")] == ({"libelle": "Service supprimé en 2019", "actif": True}, None)
    assert found[(None, "mon_compte", "notifications")] == (False, True)
    martin, dupont = "MARTIN Julie (j.martin@syndicat30.example)", "DUPONT Marc (m.dupont@messagerie.example)"
    assert found[(VILLENEUVE, "rattachements", martin)] == ("en attente", "validée")
    assert found[(ALES, "rattachements", dupont)] == ("en attente", "refusée")
    assert all(set(c) == {"structure", "block", "field", "current", "desired"} for c in changes)
    assert portal.data() == before


def test_apply_sets_every_block_then_plan_shows_nothing_and_a_second_apply_writes_nothing(
    portal: Portal, browser: Browser
):
    desired = load_desired_state(DESIRED)[0]
    with one_login(DESIRED, portal, browser, "legacy") as session:  # one login for the three runs
        outcome = jobs.apply(session, desired)
        assert not outcome.failed, [f.error for f in outcome.failed]
        state = portal.state()
        structures = {s["identifiant"]: s for s in state["structures"]}
        villeneuve, eaux, ales = structures[VILLENEUVE], structures[EAUX], structures[ALES]
        assert (villeneuve["statut"], villeneuve["libelle"]) == ("ACTIF", "Commune de Villeneuve-lès-Avignon")
        assert villeneuve["adresse"]["telephone"] == "+33 490274900"
        assert villeneuve["parametres"]["code_service_obligatoire"] is True
        assert set(villeneuve["espaces"]) == {"Factures émises", "Factures reçues"}
        assert {"email": "a.vert@syndicat30.example", "role": "Utilisateur simple", "actif": True} in villeneuve[
            "utilisateurs"
        ]
        assert {"email": "l.blanc@syndicat30.example", "role": "Gestionnaire Secondaire", "actif": True} in villeneuve[
            "utilisateurs"
        ]
        assert eaux["informations"]["emetteur_edi"] and eaux["coordonnees_bancaires"]["bic"] == "AGRIFRPP"
        assert [s["code"] for s in ales["services"]] == ["FACTURES_PUBLIQUES", "SERV_TECHNIQUES"]
        assert ales["utilisateurs"] == [
            {"email": "p.noir@syndicat30.example", "role": "Gestionnaire Secondaire", "actif": False}
        ]
        mon_compte = state["mon_compte"]["gp.syndicat"]
        assert mon_compte["notifications"] and mon_compte["email"] == "finances@syndicat30.example"
        assert mon_compte["adresse"]["ville"] == "NÎMES"
        answers = {a["demandeur"].split(" (")[0]: a["answer"] for a in state["answered"]}
        assert answers == {"MARTIN Julie": "valider", "DUPONT Marc": "refuser", "BLANC Lucie": "valider"}
        writes = state["writes"]

        assert jobs.plan(session, desired).changes == []
        again = jobs.apply(session, desired)
        assert again.changes == [] and not again.failed
        assert portal.state()["writes"] == writes


def test_export_writes_the_desired_state_format_and_apply_on_it_changes_nothing(
    portal: Portal, browser: Browser, tmp_path: Path
):
    account_only = write_desired(tmp_path, DESIRED.read_text(encoding="utf-8").split("mon_compte:")[0])
    out = tmp_path / "export.yaml"
    done = cli("export", str(account_only), "--out", str(out), portal=portal)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o600, "the export is the robot's user's alone"
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [s["identifiant"] for s in exported["structures"]] == [VILLENEUVE, EAUX, ALES]
    assert exported["structures"][2]["services"][1] == {
        "code": "ANCIEN_SERVICE", "libelle": "Service supprimé en 2019", "actif": True,
    }  # fmt: skip
    assert exported["mon_compte"]["notifications"] is False
    writes = portal.state()["writes"]

    outcome = run("apply", out, portal, browser)
    assert outcome.changes == [] and not outcome.failed
    assert portal.state()["writes"] == writes


@pytest.fixture
def demo(mock_server: str) -> Portal:
    """The session's demo portal (fixtures/demo-portal.yaml), reset."""
    demo = Portal(mock_server)
    demo.reset()
    return demo


def login_file(tmp_path: Path, account: dict, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEMO_LOGIN", account["login"])
    monkeypatch.setenv("DEMO_PASSWORD", account["password"])
    body = "account: {name: demo, portal: dgfip, login_env: DEMO_LOGIN, password_env: DEMO_PASSWORD}\n"
    return write_desired(tmp_path, body)


def test_the_demo_syndicate_s_structures_pass_the_file_check_of_apply(
    demo: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """What `export` writes of the demo syndicate lists « Mes structures »: every SIRET has its key, so `apply`
    takes the file (it refused it, exit 2, naming 14 SIRETs). The browser round trip of all 13 structures takes
    minutes; the next test makes it on the demo portal's one-structure account."""
    syndicate = demo.biggest_account("dgfip")
    listed = "".join(f'  - identifiant: "{s["identifiant"]}"\n' for s in demo.managed_by(syndicate["login"]))
    path = login_file(tmp_path, syndicate, monkeypatch)
    path.write_text(path.read_text(encoding="utf-8") + "structures:\n" + listed, encoding="utf-8")
    desired = load_desired_state(path)[0]
    assert len(desired.structures) == len(demo.managed_by(syndicate["login"])) > 10
    wrong_key = [s["identifiant"] for s in demo.state()["structures"] if siret_problem(s["identifiant"]) == "key"]
    assert wrong_key == []  # the demo's others too (one structure has no SIRET: DE811907980, a TVA number)


def test_a_demo_account_exported_then_applied_changes_nothing(
    demo: Portal, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`export` of a demo portal account, then `apply` of the file as `export` writes it: nothing is written
    and nothing fails (exit 0)."""
    account = demo.account("v.bouty")
    path = login_file(tmp_path, account, monkeypatch)
    out = tmp_path / "export.yaml"
    with one_login(path, demo, browser, "legacy") as session:
        document = jobs.export(session, load_desired_state(path)[0])
        out.write_text(export_text(document, str(out)), encoding="utf-8")
        exported = load_desired_state(out)[0]  # what `apply` checks first, before the portal
        assert [s.identifiant for s in exported.structures] == [s["identifiant"] for s in demo.managed_by("v.bouty")]
        writes = demo.state()["writes"]

        outcome = jobs.apply(session, exported)
    assert not outcome.failed, [(f.identifiant, f.error) for f in outcome.failed]  # exit 0
    assert outcome.changes == []
    assert demo.state()["writes"] == writes


def test_a_portal_refusal_stops_that_structure_with_its_message_and_the_others_are_done(portal: Portal, tmp_path: Path):
    path = write_desired(
        tmp_path,
        """\
account: {name: syndicat, portal: dgfip, login_env: PARAM_LOGIN, password_env: PARAM_PASSWORD}
structures:
  - {identifiant: "21300351900013", libelle: Commune de Villeneuve, email: finances@villeneuve.example}
  - {identifiant: "25300096600023", libelle: Syndicat des eaux, email: eaux@syndicat30.example}
  - identifiant: "21300011900015"
    libelle: Commune d'Alès
    email: finances@ales.example
    utilisateurs: [{email: inconnu@nulle-part.example, role: Utilisateur simple}]
""",
    )
    report = tmp_path / "apply.json"
    done = cli("apply", str(path), "--report", str(report), portal=portal)
    assert done.returncode == 1, done.stderr
    assert report.stat().st_mode & 0o777 == 0o600
    results = {s["identifiant"]: s for s in json.loads(report.read_text(encoding="utf-8"))["structures"]}
    assert results[VILLENEUVE]["result"] == "changed"
    assert results[EAUX]["result"] == "failed"
    assert "le portail refuse l'enregistrement" in results[EAUX]["error"]
    assert "Le champ « Adresse » est obligatoire." in results[EAUX]["error"]  # the portal's own words
    assert results[ALES]["result"] == "failed"
    assert "Aucun compte utilisateur ne correspond à cette adresse électronique." in results[ALES]["error"]
    after = {s["identifiant"]: s for s in portal.state()["structures"]}
    assert after[VILLENEUVE]["libelle"] == "Commune de Villeneuve"
    assert after[EAUX]["libelle"] == "" and after[ALES]["libelle"] == ""


# ---------------------------------------------------------------- the same file on the « portail de services »
# One login per test (plan, apply, apply again and a refused apply share a session): the budget is tight.

SERVICES_DESIRED = """\
account: {name: syndicat, portal: dgfip, login_env: PARAM_LOGIN, password_env: PARAM_PASSWORD}
mon_compte: {email: finances@syndicat30.example, notifications: true}
structures:
  - identifiant: "21300351900013"
    statut: ACTIF
    libelle: Commune de Villeneuve-lès-Avignon
    email: finances@villeneuve.example
    adresse: {telephone: "+33 490274900"}
    espaces: [Factures émises, Factures reçues]
    utilisateurs:
      - {email: l.blanc@syndicat30.example, role: Gestionnaire Secondaire}
      - {email: a.vert@syndicat30.example, role: Utilisateur simple}
    parametres: {code_service_obligatoire: true}
"""
SERVICES_REFUSED = """\
account: {name: syndicat, portal: dgfip, login_env: PARAM_LOGIN, password_env: PARAM_PASSWORD}
structures:
  - {identifiant: "25300096600023", libelle: Syndicat des eaux, email: eaux@syndicat30.example}
"""


@pytest.fixture
def services(portal: Portal) -> Portal:
    """The same portal state, served by the 2022 « portail de services » front end."""
    portal.call("POST", "/__mock__/options", {"generation": "services"})
    return portal


def test_services_generation_plan_apply_a_second_apply_and_a_portal_refusal(
    services: Portal, browser: Browser, tmp_path: Path
):
    path = write_desired(tmp_path, SERVICES_DESIRED)
    desired = load_desired_state(path)[0]
    refused_path = tmp_path / "refused.yaml"
    refused_path.write_text(SERVICES_REFUSED, encoding="utf-8")
    refused = load_desired_state(refused_path)[0]
    before = services.data()
    with one_login(path, services, browser) as session:
        changes = jobs.plan(session, desired).changes
        planned = {(c.structure, c.block, c.field): (c.current, c.desired) for c in changes}
        assert planned[(VILLENEUVE, "informations_generales", "statut")] == ("INACTIF", "ACTIF")
        assert planned[(VILLENEUVE, "informations_generales", "libelle")] == ("", "Commune de Villeneuve-lès-Avignon")
        assert planned[(VILLENEUVE, "utilisateurs", "l.blanc@syndicat30.example")] == (
            {"role": "Utilisateur simple", "actif": True},
            {"role": "Gestionnaire Secondaire", "actif": True},
        )  # « Utilisateur » without, then with, the profile « Organisation modification »
        assert planned[(VILLENEUVE, "espaces", "Factures reçues")] == (False, True)
        assert planned[(None, "mon_compte", "notifications")] == (False, True)
        assert services.data() == before

        outcome = jobs.apply(session, desired)
        assert not outcome.failed, [f.error for f in outcome.failed]
        state = services.state()
        villeneuve = next(s for s in state["structures"] if s["identifiant"] == VILLENEUVE)
        assert (villeneuve["statut"], villeneuve["libelle"]) == ("ACTIF", "Commune de Villeneuve-lès-Avignon")
        assert villeneuve["adresse"]["telephone"] == "+33 490274900"
        assert set(villeneuve["espaces"]) == {"Factures émises", "Factures reçues"}
        assert villeneuve["parametres"]["code_service_obligatoire"] is True
        for user in (("l.blanc", "Gestionnaire Secondaire"), ("a.vert", "Utilisateur simple")):
            expected = {"email": f"{user[0]}@syndicat30.example", "role": user[1], "actif": True}
            assert expected in villeneuve["utilisateurs"]
        compte = state["mon_compte"]["gp.syndicat"]
        assert compte["notifications"] is True and compte["email"] == "finances@syndicat30.example"
        writes = state["writes"]

        again = jobs.apply(session, desired)
        assert again.changes == [] and not again.failed
        assert services.state()["writes"] == writes

        (eaux,) = jobs.apply(session, refused).structures
        assert eaux.result == "failed"
        assert "le portail refuse la demande de modification" in eaux.error
        assert "Le champ « Adresse » est obligatoire." in eaux.error  # the portal's own words
        assert services.structure(EAUX)["libelle"] == "" and services.state()["writes"] == writes


def test_services_generation_export_then_apply_on_it_changes_nothing(
    services: Portal, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OTHER_LOGIN", "autre.gestionnaire")
    monkeypatch.setenv("OTHER_PASSWORD", "Autre-Gest10n")
    path = write_desired(
        tmp_path, "account: {name: autre, portal: dgfip, login_env: OTHER_LOGIN, password_env: OTHER_PASSWORD}\n"
    )
    with one_login(path, services, browser) as session:
        document = jobs.export(session, load_desired_state(path)[0])
        (bagnols,) = document["structures"]
        assert bagnols["identifiant"] == "21300032500018" and bagnols["statut"] == "ACTIF"
        vert = {"email": "a.vert@syndicat30.example", "role": "Utilisateur simple", "actif": True}
        assert bagnols["utilisateurs"] == [vert]
        assert document["mon_compte"]["email"] == "j.pic@ailleurs.example"
        out = tmp_path / "export.yaml"
        out.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
        writes = services.state()["writes"]

        outcome = jobs.apply(session, load_desired_state(out)[0])
        assert outcome.changes == [] and not outcome.failed
        assert services.state()["writes"] == writes

"""The mock portal's own contract, over HTTP: control API, the connectors' API check, access rules."""

from __future__ import annotations

import base64
import html
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fixtures.mock_portal import MockPortalServer, create_app
from fixtures.mock_portal.state import PASSWORD_ALPHABET
from tests.conftest import DEMO_DATA, Portal


def taux_tva(portal: Portal, header: str | None) -> tuple[int, dict | bytes]:
    request = urllib.request.Request(portal.url + "/cpro/transverses/v1/recuperer/tauxtva", data=b"{}", method="POST")
    if header is not None:
        request.add_header("cpro-account", header)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()  # a refusal is a bare 401: no JSON body


def account_header(login: str, password: str) -> str:
    return base64.b64encode(f"{login}:{password}".encode()).decode()


def test_the_api_check_accepts_the_technical_account_and_refuses_anything_else(portal: Portal):
    technical = portal.state()["structures"][0]["technical_user"]

    assert taux_tva(portal, account_header(technical["login"], technical["password"]))[1]["codeRetour"] == 0
    for header in (account_header(technical["login"], "wrong"), "not base64!", None, account_header("x", "y")):
        assert taux_tva(portal, header) == (401, b"")


def test_a_password_holding_colons_is_split_on_the_first_colon_only(portal: Portal, syndicate: dict):
    structure = portal.managed_by(syndicate["login"])[0]
    portal.next_passwords(["a:b:c-{&|+;"])
    login = structure["technical_user"]["login"]
    assert taux_tva(portal, account_header(login, "a:b:c-{&|+;"))[0] == 401  # not reset yet

    with MockPortalSession(portal, syndicate) as session:
        session.post(f"/cpp/structure/{structure['identifiant']}/reinitialiser-mot-de-passe")

    assert taux_tva(portal, account_header(login, "a:b:c-{&|+;"))[0] == 200
    assert portal.structure(structure["identifiant"])["reset_count"] == 1
    expires = datetime.fromisoformat(portal.structure(structure["identifiant"])["technical_user"]["expires_at"])
    assert abs(expires - (datetime.now() + timedelta(days=424))) < timedelta(minutes=1)


def test_an_expired_technical_password_is_refused(portal: Portal):
    now = datetime.now().isoformat()
    expired = [s for s in portal.state()["structures"] if s["technical_user"]["expires_at"] < now]
    assert expired, "the demo data holds expired technical passwords"
    technical = expired[0]["technical_user"]
    assert taux_tva(portal, account_header(technical["login"], technical["password"]))[0] == 401


def test_reset_restores_the_data_file_and_clears_queued_passwords(portal: Portal):
    portal.next_passwords(["one/Password", "two/Password"])
    assert portal.state()["queued_passwords"] == 2
    portal.reset()
    assert portal.state()["queued_passwords"] == 0


def test_next_passwords_wants_a_list_of_strings(portal: Portal):
    with pytest.raises(urllib.error.HTTPError) as refused:
        portal.call("POST", "/__mock__/next-passwords", {"not": "a list"})
    assert refused.value.code == 400


def test_a_manager_cannot_open_a_structure_of_someone_else(portal: Portal, syndicate: dict):
    foreign = next(s for s in portal.state()["structures"] if s["manager"] != syndicate["login"])
    with MockPortalSession(portal, syndicate) as session:
        status, page = session.get(f"/cpp/structure/{foreign['identifiant']}")
        assert status == 403
        assert "vous n'êtes pas gestionnaire de cette structure" in page
        status, page = session.post(f"/cpp/structure/{foreign['identifiant']}/reinitialiser-mot-de-passe")
        assert status == 403
    assert portal.structure(foreign["identifiant"])["reset_count"] == 0


def test_latency_is_added_to_portal_pages_only():
    with MockPortalServer(DEMO_DATA, latency_ms=300, generation="legacy") as server:
        started = time.monotonic()
        urllib.request.urlopen(server.url + "/portail/").read()
        page = time.monotonic() - started
        started = time.monotonic()
        urllib.request.urlopen(server.url + "/__mock__/state").read()
        control = time.monotonic() - started
    assert page >= 0.3 > control


class MockPortalSession:
    """A DGFiP login through plain HTTP, keeping the session cookie."""

    def __init__(self, portal: Portal, account: dict) -> None:
        import http.cookiejar

        self.portal = portal
        self.account = account
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def __enter__(self) -> MockPortalSession:
        form = f"identifiant={self.account['login']}&secret={urllib.parse.quote(self.account['password'])}"
        self.post("/portail/accueilIAM.pl", form)
        self.post("/cpp/connexion")  # Chorus Pro opens logged out: « Se connecter », no password asked
        return self

    def __exit__(self, *_: object) -> None:
        self.get("/cpp/deconnexion")

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.portal.url + path))

    def post(self, path: str, form: str = "") -> tuple[int, str]:
        return self._open(urllib.request.Request(self.portal.url + path, data=form.encode(), method="POST"))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request) as response:
                return response.status, html.unescape(response.read().decode())
        except urllib.error.HTTPError as error:
            return error.code, html.unescape(error.read().decode())


# ---------------------------------------------------------------- screens, through Flask's test client


@pytest.fixture
def app_client() -> Iterator[tuple[FlaskClient, dict]]:
    """A fresh portal (its own state) and a client; the state snapshot read through the control API."""
    app = create_app(DEMO_DATA, generation="legacy")
    client = app.test_client()
    yield client, client.get("/__mock__/state").get_json()


def dgfip_login(client: FlaskClient, login: str, password: str) -> TestResponse:
    return client.post("/portail/accueilIAM.pl", data={"identifiant": login, "secret": password})


def account_of(state: dict, portal: str, biggest: bool = True) -> dict:
    accounts = [a for a in state["accounts"] if a["portal"] == portal]
    count = {a["login"]: sum(s["manager"] == a["login"] for s in state["structures"]) for a in accounts}
    return (max if biggest else min)(accounts, key=lambda a: count[a["login"]])


def chorus_as(client: FlaskClient, state: dict, portal: str = "dgfip", biggest: bool = True) -> dict:
    account = account_of(state, portal, biggest)
    if portal == "dgfip":
        assert dgfip_login(client, account["login"], account["password"]).status_code == 303
        assert "Se connecter" in client.get("/cpp/").text  # Chorus Pro opens logged out, as the real one
        assert client.post("/cpp/connexion").headers["Location"].startswith("/cpp/accueil")  # no password asked
    else:
        answer = client.post("/cpp/connexion", data={"username": account["login"], "password": account["password"]})
        assert answer.headers["Location"].startswith("/cpp/accueil")
    return account


def structure_of(client: FlaskClient, identifiant: str) -> dict:
    return next(s for s in client.get("/__mock__/state").get_json()["structures"] if s["identifiant"] == identifiant)


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_dgfip_login_errors_stay_on_the_screen_and_keep_the_identifiant(app_client):
    client, state = app_client
    syndicate, company = account_of(state, "dgfip"), account_of(state, "chorus")

    wrong = ((syndicate["login"], "wrong"), ("nobody", syndicate["password"]), (company["login"], company["password"]))
    for login, password in wrong:
        answer = dgfip_login(client, login, password)
        assert answer.status_code == 200
        assert 'role="alert">Identifiant ou mot de passe incorrect.</div>' in text(answer)
        assert f'value="{login}"' in text(answer)
    assert client.get("/portail/applications").headers["Location"] == "/portail/"

    assert dgfip_login(client, syndicate["login"], syndicate["password"]).headers["Location"] == "/portail/applications"
    page = text(client.get("/portail/applications"))
    assert f"Liste des applications disponibles pour {syndicate['civilite']} {syndicate['nom']}" in page
    assert '<a href="/cpp/">Chorus Pro</a>' in page


def test_chorus_login_takes_chorus_accounts_only_and_logout_ends_the_session(app_client):
    client, state = app_client
    syndicate, company = account_of(state, "dgfip"), account_of(state, "chorus")
    for login, password in ((company["login"], "wrong"), (syndicate["login"], syndicate["password"])):
        answer = client.post("/cpp/connexion", data={"username": login, "password": password})
        assert answer.status_code == 200
        assert "Adresse électronique de connexion ou mot de passe incorrect." in text(answer)
    assert client.get("/cpp/accueil").headers["Location"] == "/cpp/"

    chorus_as(client, state, "chorus")
    page = text(client.get("/cpp/accueil?execution=e9s9"))
    assert "<h1>Accueil connecté</h1>" in page and f"{company['prenom']} {company['nom']}".upper() in page
    assert re.search(r"Dernière connexion le \d{1,2} [a-zéû]+ \d{4} \d\d:\d\d:\d\d", page)
    assert client.get("/cpp/deconnexion").headers["Location"] == "/cpp/"
    assert client.get("/cpp/gestionnaire/activites").headers["Location"] == "/cpp/"


def test_mes_structures_pages_by_five_and_the_last_page_disables_next(app_client):
    client, state = app_client
    syndicate = chorus_as(client, state)
    mine = [s["identifiant"] for s in state["structures"] if s["manager"] == syndicate["login"]]
    assert len(mine) == 13

    def page(number: int, **others: str) -> str:
        query = urllib.parse.urlencode({"tableau": "mesStructures", "listeResultats.page": number, **others})
        return text(client.get(f"/cpp/gestionnaire/activites?{query}"))

    first, last = page(1), page(3)
    assert "(13 ligne(s))" in first and "Page 1 / 3" in first and "Page 3 / 3" in last
    assert [i for i in mine if f"/cpp/structure/{i}?" in first] == mine[:5]
    assert [i for i in mine if f"/cpp/structure/{i}?" in last] == mine[10:]
    next_button = re.compile(r'<button[^>]*aria-label="Aller à la page suivante du tableau"[^>]*>')
    assert [" disabled" in b for b in next_button.findall(first)] == [True, True, False]  # requests fit in one page
    assert [" disabled" in b for b in next_button.findall(last)] == [True, True, True]
    assert "Page 3 / 3" in page(99)  # past the end: the last page
    assert '<input type="hidden" name="page_mesStructures" value="3">' in last  # other pagers keep this page
    assert "Page 3 / 3" in text(client.get("/cpp/gestionnaire/activites?tableau=rattachements&page_mesStructures=3"))


def test_the_csv_export_lists_the_structures_of_the_account(app_client):
    client, state = app_client
    company = chorus_as(client, state, "chorus")
    answer = client.get("/cpp/gestionnaire/structures.csv")
    assert answer.mimetype == "text/csv"
    lines = answer.get_data(as_text=True).splitlines()
    assert lines[0].split(";")[:2] == ["Identifiant structure", "Raison sociale"]
    assert sorted(line.split(";")[0] for line in lines[1:]) == sorted(
        s["identifiant"] for s in state["structures"] if s["manager"] == company["login"]
    )


def test_the_structure_page_shows_the_technical_user_and_saves_the_form(app_client):
    client, state = app_client
    commune = chorus_as(client, state, biggest=False)
    structure = next(s for s in state["structures"] if s["manager"] == commune["login"])
    url = f"/cpp/structure/{structure['identifiant']}"
    page = text(client.get(url))
    technical = structure["technical_user"]
    expiry = datetime.fromisoformat(technical["expires_at"]).strftime("%d/%m/%Y %H:%M:%S")
    libelle = '<span class="libelle">Utilisateur technique :</span>'
    assert f'{libelle} <span class="valeur">{technical["login"]} (ACTIF)</span>' in page
    assert f'<span class="valeur">{expiry}</span>' in page
    assert 'data-target="#GDP_ModalReinitialisationMdp">Réinitialiser le mot de passe (utilisateur technique)' in page
    for field in re.findall(r'<input (?![^>]*type="(?:hidden|checkbox|radio)")[^>]*\bid="([^"]+)"', page):
        assert re.search(f'<label [^>]*for="{field}"', page), f"no <label> for #{field}"

    address = {f"adresse_{k}": v for k, v in {**structure["adresse"], "ville": "AGEN"}.items()}
    form = {"libelle": "Commune de Test", "email": "test@example.org", "recevoir_edi": "on", **address}
    saved = text(client.post(url, data=form))
    assert "Les modifications ont été enregistrées." in saved
    assert 'value="Commune de Test"' in saved and 'value="AGEN"' in saved
    assert re.search(r'name="recevoir_edi" checked', saved)
    assert not re.search(r'name="code_service_obligatoire" checked', saved)
    after = structure_of(client, structure["identifiant"])
    assert (after["libelle"], after["email"]) == ("Commune de Test", "test@example.org")
    assert client.get("/cpp/structure/00000000000000").status_code == 404


def test_a_reset_shows_the_new_password_once_and_kills_the_old_one(app_client):
    client, state = app_client
    syndicate = chorus_as(client, state)
    structure = next(s for s in state["structures"] if s["manager"] == syndicate["login"])
    url = f"/cpp/structure/{structure['identifiant']}/reinitialiser-mot-de-passe"
    assert client.get(url).headers["Location"] == f"/cpp/structure/{structure['identifiant']}"

    page = text(client.post(url + "?execution=e3s2"))
    password = re.search(r"Le compte a été réinitialisé avec le mot de passe <strong>(.+?)</strong>", page).group(1)
    assert len(password) == 13 and set(password) <= set(PASSWORD_ALPHABET) | {"/"}
    assert f"à l'adresse {structure['email']}." in page and "<h1>Mot de passe réinitialisé</h1>" in page
    assert password not in text(client.get(f"/cpp/structure/{structure['identifiant']}"))

    def check(secret: str) -> int:
        header = account_header(structure["technical_user"]["login"], secret)
        answer = client.post("/cpro/transverses/v1/recuperer/tauxtva", json={}, headers={"cpro-account": header})
        return answer.status_code

    assert (check(structure["technical_user"]["password"]), check(password)) == (401, 200)
    assert client.post("/__mock__/reset").get_json() == {"ok": True}
    assert (check(structure["technical_user"]["password"]), check(password)) == (200, 401)
    restored = structure_of(client, structure["identifiant"])
    assert restored["reset_count"] == 0
    # Relative expiries (« +12d ») are resolved at reset time: the same to the second, or the next second.
    before, after = (datetime.fromisoformat(s["technical_user"].pop("expires_at")) for s in (structure, restored))
    assert restored["technical_user"] == structure["technical_user"]
    assert timedelta(0) <= after - before < timedelta(seconds=5)


def test_queued_passwords_serve_the_next_resets_in_order_across_structures(app_client):
    client, state = app_client
    syndicate = chorus_as(client, state)
    first, second = [s["identifiant"] for s in state["structures"] if s["manager"] == syndicate["login"]][:2]
    assert client.post("/__mock__/next-passwords", json=["un/Premier12", "deux:Second"]).get_json() == {"queued": 2}
    for identifiant, expected in ((second, "un/Premier12"), (first, "deux:Second")):
        page = text(client.post(f"/cpp/structure/{identifiant}/reinitialiser-mot-de-passe"))
        assert f"<strong>{expected}</strong>" in page
    structures = {s["identifiant"]: s for s in client.get("/__mock__/state").get_json()["structures"]}
    assert structures[second]["technical_user"]["password"] == "un/Premier12"
    assert (structures[first]["reset_count"], structures[second]["reset_count"]) == (1, 1)
    assert len(text(client.post(f"/cpp/structure/{first}/reinitialiser-mot-de-passe")).split("<strong>")[1]) > 12


def test_relative_dates_are_resolved_at_reset_time(tmp_path: Path):
    data = tmp_path / "portal.yaml"
    data.write_text(
        "accounts: [{login: a, password: p, portal: dgfip}]\n"
        "structures: [{identifiant: '1', raison_sociale: R, manager: a,\n"
        "  technical_user: {login: T, password: q, expires_at: '+20d'}}]\n",
        encoding="utf-8",
    )
    client = create_app(data, generation="legacy").test_client()
    expires = datetime.fromisoformat(structure_of(client, "1")["technical_user"]["expires_at"])
    assert abs(expires - (datetime.now() + timedelta(days=20))) < timedelta(minutes=1)
    data.write_text(data.read_text().replace("+20d", "2031-05-18T12:02:25"), encoding="utf-8")
    client.post("/__mock__/reset")
    assert structure_of(client, "1")["technical_user"]["expires_at"] == "2031-05-18T12:02:25"


def test_requests_are_answered_by_their_manager_only(app_client):
    client, state = app_client
    syndicate = chorus_as(client, state)
    pending = client.get("/__mock__/state").get_json()["requests"]
    assert pending, "the demo data holds pending requests"
    page = text(client.get("/cpp/gestionnaire/activites"))
    assert all(
        r["demandeur"] in page
        for r in pending
        if r["identifiant"] in {s["identifiant"] for s in state["structures"] if s["manager"] == syndicate["login"]}
    )
    answer = client.post(f"/cpp/gestionnaire/demandes/{pending[0]['id']}", data={"action": "valider"})
    assert answer.status_code == 303
    assert f"La demande de {pending[0]['demandeur']} a été validée." in text(client.get(answer.headers["Location"]))
    assert len(client.get("/__mock__/state").get_json()["requests"]) == len(pending) - 1
    assert client.post(f"/cpp/gestionnaire/demandes/{pending[0]['id']}", data={"action": "valider"}).status_code == 404


def test_pages_are_french_uncached_and_the_public_screens_answer(app_client):
    client, _ = app_client
    for path in ("/portail/", "/cpp/", "/cpp/ecran/creation-de-compte"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
        assert '<html lang="fr">' in text(answer) and "<title>" in text(answer)
    creation = text(client.get("/cpp/ecran/creation-de-compte"))
    assert "Je complète mes informations personnelles" in creation  # screens 9–16: tests/test_mock_accounts.py
    assert client.get("/cpro/transverses/v1/health-check").status_code == 401  # the API wants a technical account

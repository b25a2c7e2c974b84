"""The mock portal's own contract, over HTTP: control API, the connectors' API check, access rules."""

from __future__ import annotations

import base64
import html
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

import pytest

from fixtures.mock_portal import MockPortalServer
from tests.conftest import DEMO_DATA, Portal


def taux_tva(portal: Portal, header: str | None) -> tuple[int, dict]:
    request = urllib.request.Request(portal.url + "/cpro/transverses/v1/recuperer/tauxtva", data=b"{}", method="POST")
    if header is not None:
        request.add_header("cpro-account", header)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def account_header(login: str, password: str) -> str:
    return base64.b64encode(f"{login}:{password}".encode()).decode()


def test_the_api_check_accepts_the_technical_account_and_refuses_anything_else(portal: Portal):
    technical = portal.state()["structures"][0]["technical_user"]

    assert taux_tva(portal, account_header(technical["login"], technical["password"]))[1]["codeRetour"] == 0
    for header in (account_header(technical["login"], "wrong"), "not base64!", None, account_header("x", "y")):
        status, body = taux_tva(portal, header)
        assert status == 401
        assert body == {"codeRetour": 401, "libelle": "Impossible d'authentifier l'utilisateur dans le LDAP."}


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
    with MockPortalServer(DEMO_DATA, latency_ms=300) as server:
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
        self.get("/cpp/")
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

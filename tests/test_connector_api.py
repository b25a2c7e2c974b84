"""Issue 18 point 5: a connector configured with what the robot delivered works against the mock's API; with
the old password it is refused. The connector is plain urllib over HTTP, as a connector's code would be."""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.mock_portal import MockPortalServer
from robots.integrations.api_check import ACCEPTED, REFUSED, PisteClient, check_technical_account
from tests.conftest import DEMO_DATA, Portal, robot

PISTE = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))["piste"]
COMPANY = "compta@transports-garonne.example"
# The character classes of today's generated passwords (issue 18 point 4), « / » aside (the robot's forbidden
# character) and « @ » (not read as a password yet, before point 4).
WIDE = "Tq0O1lI(_)-[]{}|;:,.!?*$%&#"
# The delivery hook: a connector's configuration written from what the robot hands over (password on stdin).
HOOK = (
    "import json, os, sys; password = sys.stdin.read()[:-1]; "
    "json.dump({'login': os.environ['CHORUS_TECHNICAL_LOGIN'], 'password': password}, open(sys.argv[1], 'w'))"
)


class Connector:
    """What an invoicing program does: a PISTE token, then `/cpro/…` calls with the technical account."""

    def __init__(self, url: str, login: str, password: str) -> None:
        self.url = url
        self.account = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
        form = {"grant_type": "client_credentials", "scope": "openid", **PISTE}
        with urllib.request.urlopen(url + "/piste/oauth/token", urllib.parse.urlencode(form).encode(), 10) as answer:
            self.token = json.loads(answer.read())["access_token"]

    def call(self, route: str, body: Any = None, method: str = "POST") -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.url + "/cpro/" + route, data=None if body is None else json.dumps(body).encode(), method=method,
            headers={"Authorization": f"Bearer {self.token}", "cpro-account": self.account,
                     "Content-Type": "application/json;charset=utf-8"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def ok(self, route: str, body: Any = None, method: str = "POST") -> dict[str, Any]:
        status, raw = self.call(route, body, method)
        assert status == 200, (route, status, raw)
        answer = json.loads(raw)
        assert answer.get("codeRetour", 0) == 0, (route, answer)
        return answer


@pytest.fixture
def renewed(portal: Portal, tmp_path: Path) -> tuple[dict, str, dict]:
    """A real reset by the robot (`renew`, mock behind PISTE), delivered to a connector's configuration file:
    the structure as the mock now knows it, its old password, and the configuration."""
    portal.call("POST", "/__mock__/options", {"piste": True})
    portal.next_passwords([WIDE])
    structure = portal.managed_by(COMPANY)[0]
    config = tmp_path / "connector.json"
    roster = tmp_path / "roster.yaml"
    roster.write_text(yaml.safe_dump({"accounts": [{
        "name": "societe", "portal": "chorus", "login_env": "SOC_LOGIN", "password_env": "SOC_PASSWORD",
        "deliver": [{"command": [sys.executable, "-c", HOOK, str(config)]}],
        "structures": [{"identifiant": structure["identifiant"]}],
    }]}))  # fmt: skip
    company = portal.account(COMPANY)
    result = robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster), "--within", "30",
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(tmp_path / "vault.json"), "--log-file", "-",
        "--report", str(tmp_path / "report.json"),
        env={"SOC_LOGIN": company["login"], "SOC_PASSWORD": company["password"],
             "PISTE_CLIENT_ID": PISTE["client_id"], "PISTE_CLIENT_SECRET": PISTE["client_secret"]},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (outcome,) = json.loads((tmp_path / "report.json").read_text())["outcomes"]
    assert outcome["api_check"]["result"] == "accepted"  # the robot checked it too
    return (
        portal.structure(structure["identifiant"]),
        structure["technical_user"]["password"],
        json.loads(config.read_text(encoding="utf-8")),
    )


def test_a_connector_configured_with_the_delivered_password_works_and_the_old_one_is_refused(
    portal: Portal, renewed: tuple[dict, str, dict]
):
    structure, old_password, config = renewed
    siret = structure["identifiant"]
    assert config == {"login": structure["technical_user"]["login"], "password": WIDE}  # byte for byte
    connector = Connector(portal.url, config["login"], config["password"])

    health = connector.ok("transverses/v1/health-check", method="GET")
    assert (health["statusCodeValue"], health["statusCode"]) == (200, "OK")
    assert connector.ok("transverses/v1/recuperer/tauxtva", {"codeLangue": "FR"})["listeTauxTva"]
    devises = connector.ok("transverses/v1/recuperer/devises", {"codeLangue": "FR"})["listeDevises"]
    assert {"codeDevise": "EUR", "libelleDevise": "Euro"} in devises
    insee = connector.ok("transverses/v1/consulter/information/siret", {"siretStructure": siret})
    assert (insee["siret"], insee["siren"], insee["raisonSociale"]) == (siret, siret[:9], structure["raison_sociale"])

    found = connector.ok("structures/v1/rechercher", {
        "structure": {"identifiantStructure": siret, "typeIdentifiantStructure": "SIRET"},
        "parametres": {"nbResultatsParPage": 10, "pageResultatDemandee": 1},
    })  # fmt: skip
    (listed,) = found["listeStructures"]
    number = listed["idStructureCPP"]
    assert listed["designationStructure"] == structure["raison_sociale"] and found["parametresRetour"]["total"] == 1
    details = connector.ok("structures/v1/consulter", {"idStructureCPP": number, "codeLangue": "FR"})
    general = details["informationGenerales"]
    assert (general["identifiantStructure"], general["typeIdentifiantStructure"]) == (siret, "SIRET")
    assert general["dateExpirationMotPasseCompteTech"] == structure["technical_user"]["expires_at"]
    assert set(details["parametres"]) >= {"codeServiceDoitEtreRenseigne", "numeroEJDoitEtreRenseigne"}
    services = connector.ok("structures/v1/rechercher/services", {
        "idStructure": number, "parametresRechercherServicesStructure": {"nbResultatsParPage": 100},
    })["listeServices"]  # fmt: skip
    assert [s["codeService"] for s in services] == [s["code"] for s in structure["services"]]
    invoices = connector.ok("factures/v1/rechercher/fournisseur", {
        "idFournisseur": number, "rechercheFactureParFournisseur": {"nbResultatsParPage": 50},
    })["listeFactures"]  # fmt: skip
    assert invoices and {i["codeFournisseur"] for i in invoices} == {siret}

    old = Connector(portal.url, config["login"], old_password)
    for route, body in (
        ("transverses/v1/recuperer/tauxtva", {}),
        ("structures/v1/consulter", {"idStructureCPP": number}),
    ):
        assert old.call(route, body) == (401, b"")  # bare: no codeRetour
    assert old.call("transverses/v1/health-check", method="GET") == (401, b"")


def test_the_api_tells_no_right_from_a_malformed_request(portal: Portal, renewed: tuple[dict, str, dict]):
    structure, _, config = renewed
    connector = Connector(portal.url, config["login"], config["password"])
    other = next(s for s in portal.state()["structures"] if s["manager"] != COMPANY)
    (listed,) = connector.ok("structures/v1/rechercher", {"structure": {"identifiantStructure": other["identifiant"]}})[
        "listeStructures"
    ]
    # Found, but not this account's structure: read refused with a bare 403.
    assert connector.call("structures/v1/consulter", {"idStructureCPP": listed["idStructureCPP"]}) == (403, b"")
    assert connector.call("structures/v1/rechercher/services", {"idStructure": listed["idStructureCPP"]}) == (403, b"")

    for route, body, libelle in (
        ("structures/v1/consulter", {"idStructureCPP": "douze"}, "champ idStructureCPP : un entier est attendu"),
        ("structures/v1/rechercher", {}, "champ obligatoire absent : structure"),
        ("transverses/v1/consulter/information/siret", {"siretStructure": "123"}, "siretStructure : 14 chiffres"),
        ("transverses/v1/recuperer/tauxtva", None, "corps de requête absent"),
    ):
        status, raw = connector.call(route, body)
        answer = json.loads(raw)
        assert status == 400 and answer["codeRetour"] != 0 and answer["libelle"].startswith(libelle), (route, raw)


# Every printable ASCII character (« : » included: the header splits on the first one only), and beyond ASCII.
EVERY_CHARACTER = "".join(chr(c) for c in range(0x21, 0x7F)) + " é€ß"


def test_the_technical_account_header_carries_any_character_byte_for_byte():
    with MockPortalServer(DEMO_DATA, options={"piste": True}) as server:
        state = server.app.extensions["portal_state"]
        structure = next(s for s in state.structures.values() if s.technical_user)
        structure.technical_user.password = EVERY_CHARACTER
        piste = PisteClient(server.url + "/piste/oauth/token", PISTE["client_id"], PISTE["client_secret"])
        login = structure.technical_user.login

        assert check_technical_account(server.url, login, EVERY_CHARACTER, piste).outcome == ACCEPTED
        assert Connector(server.url, login, EVERY_CHARACTER).ok("transverses/v1/recuperer/devises", {})
        for near in (EVERY_CHARACTER[:-1], EVERY_CHARACTER + " ", EVERY_CHARACTER.replace("é", "e")):
            assert check_technical_account(server.url, login, near, piste).outcome == REFUSED

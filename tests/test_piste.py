"""Issue 8 point 4, issue 18 point 5: the API check as the real API works, behind PISTE (OAuth2 client credentials),
classified from what the robot sent."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from fixtures.mock_portal import create_app
from robots.integrations import api_check as api_check_module
from robots.integrations.api_check import (
    ACCEPTED,
    BAD_REQUEST,
    IMPOSSIBLE,
    REFUSED,
    PisteClient,
    check_technical_account,
)
from robots.jobs.renewal import handover
from tests.conftest import DEMO_DATA, Portal, robot

PISTE = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))["piste"]
TAUX_TVA = "/cpro/transverses/v1/recuperer/tauxtva"
COMPANY = "compta@transports-garonne.example"


def client(portal: Portal, secret: str = PISTE["client_secret"]) -> PisteClient:
    return PisteClient(portal.url + "/piste/oauth/token", PISTE["client_id"], secret)


def technical(portal: Portal) -> tuple[str, str]:
    user = portal.managed_by(COMPANY)[0]["technical_user"]
    return user["login"], user["password"]


def test_the_gateway_answers_a_bare_401_or_403_without_a_valid_token():
    app = create_app(DEMO_DATA, options={"piste": True, "generation": "legacy"})
    http = app.test_client()
    user = next(s for s in http.get("/__mock__/state").json["structures"])["technical_user"]
    headers = {"cpro-account": api_check_module.account_header(user["login"], user["password"])}

    no_token = http.post(TAUX_TVA, json={}, headers=headers)
    bad_token = http.post(TAUX_TVA, json={}, headers={**headers, "Authorization": "Bearer inconnu"})
    wrong_client = http.post("/piste/oauth/token", data={"grant_type": "client_credentials", "client_id": "x",
                                                         "client_secret": "y"})  # fmt: skip
    token = http.post("/piste/oauth/token", data={"grant_type": "client_credentials", **PISTE}).json
    with_token = http.post(TAUX_TVA, json={}, headers={**headers, "Authorization": f"Bearer {token['access_token']}"})

    assert (no_token.status_code, no_token.data) == (401, b"")
    assert (bad_token.status_code, bad_token.data) == (403, b"")
    assert wrong_client.status_code == 401 and wrong_client.json["error"] == "invalid_client"
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0
    assert with_token.status_code == 200 and with_token.json["codeRetour"] == 0


@pytest.fixture
def piste_portal(portal: Portal) -> Portal:
    portal.call("POST", "/__mock__/options", {"piste": True})
    return portal


def test_the_robot_gets_a_token_and_sends_both_headers(piste_portal: Portal):
    login, password = technical(piste_portal)
    assert check_technical_account(piste_portal.url, login, password, client(piste_portal)).outcome == ACCEPTED
    refused = check_technical_account(piste_portal.url, login, "pas-le-bon", client(piste_portal))
    assert refused.outcome == REFUSED and "HTTP 401 avec un jeton PISTE valide" in refused.detail
    assert refused.accepted is False


@pytest.mark.parametrize(
    ("make_client", "detail"),
    [
        (lambda p: None, "pas d'identifiants client PISTE"),
        (lambda p: client(p, "mauvais-secret"), "jeton PISTE refusé (HTTP 401)"),
        (lambda p: PisteClient("http://127.0.0.1:9/token", "id", "secret"), "jeton PISTE impossible"),
    ],
)
def test_without_a_usable_token_the_check_is_impossible_not_refused(piste_portal: Portal, make_client, detail: str):
    login, password = technical(piste_portal)
    result = check_technical_account(piste_portal.url, login, password, make_client(piste_portal))
    assert result.outcome == IMPOSSIBLE and detail in result.detail
    assert "mauvais-secret" not in result.detail


class CountingClient(PisteClient):
    fetched = 0

    def _fetch(self) -> tuple[str, float]:
        self.fetched += 1
        return super()._fetch()


def test_a_token_the_gateway_dropped_is_renewed_once(portal: Portal):
    """A kept token the gateway forgot (403): the robot does not read that as the account refused."""
    login, password = technical(portal)
    piste = CountingClient(portal.url + "/piste/oauth/token", PISTE["client_id"], PISTE["client_secret"])
    piste.token()
    portal.call("POST", "/__mock__/reset", {})  # tokens are forgotten
    portal.call("POST", "/__mock__/options", {"piste": True})
    assert check_technical_account(portal.url, login, password, piste).outcome == ACCEPTED
    assert piste.fetched == 2


def test_a_refusal_with_a_kept_token_is_confirmed_with_a_new_one(piste_portal: Portal):
    login, password = technical(piste_portal)
    piste = CountingClient(piste_portal.url + "/piste/oauth/token", PISTE["client_id"], PISTE["client_secret"])
    assert check_technical_account(piste_portal.url, login, password, piste).outcome == ACCEPTED
    refused = check_technical_account(piste_portal.url, login, "ancien", piste)
    assert refused.outcome == REFUSED and piste.fetched == 2


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        ({"path_prefix": "/cpro/", "status": 503, "count": 2}, "API en erreur (HTTP 503)"),
        ({"path_prefix": "/cpro/", "status": 404, "count": 2}, "réponse inattendue de l'API (HTTP 404)"),
        ({"slow": {"path_prefix": "/cpro/", "ms": 3000}}, "API muette : pas de réponse en 0.5 s"),
    ],
)
def test_a_failing_or_silent_api_makes_the_check_impossible(piste_portal: Portal, fault: dict, detail: str):
    login, password = technical(piste_portal)
    piste_portal.call("POST", "/__mock__/faults", fault)
    result = check_technical_account(piste_portal.url, login, password, client(piste_portal), timeout_s=0.5)
    assert result.outcome == IMPOSSIBLE and result.accepted is None and detail in result.detail


def test_our_own_malformed_request_is_said_as_such_and_the_password_still_delivered(
    piste_portal: Portal, monkeypatch: pytest.MonkeyPatch
):
    """A 400 is the robot's fault, not the password's: a distinct outcome, not a refusal, not a failure."""
    monkeypatch.setattr(api_check_module, "CHECK_BODY", b"[]")  # the robot's bug: not the JSON object expected
    login, password = technical(piste_portal)
    result = check_technical_account(piste_portal.url, login, password, client(piste_portal))
    assert result.outcome == BAD_REQUEST and result.accepted is None
    assert result.detail == "HTTP 400, codeRetour 20001 : corps de requête : un objet JSON est attendu"
    credential = SimpleNamespace(login=login, password=password)
    check = handover.api_check(piste_portal.url, credential, "ancien", client(piste_portal))  # type: ignore[arg-type]
    assert check["result"] == BAD_REQUEST and check["old_refused"] is None
    assert handover.api_problem(check) is None  # delivered like « impossible », with its own warning


# ---------------------------------------------------------------- in the nightly job


def night(tmp_path: Path, portal: Portal, *more: str, **env: str) -> tuple[int, dict, str]:
    company = portal.account(COMPANY)
    structure = portal.managed_by(COMPANY)[0]["identifiant"]
    roster = tmp_path / "roster.yaml"
    roster.write_text(yaml.safe_dump({"accounts": [{
        "name": "societe", "portal": "chorus", "login_env": "SOC_LOGIN", "password_env": "SOC_PASSWORD",
        "deliver": [{"command": ["true"]}], "structures": [{"identifiant": structure}],
    }]}))  # fmt: skip
    report = tmp_path / "report.json"
    result = robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster), "--within", "30",
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(tmp_path / "vault.json"), "--log-file", "-",
        "--report", str(report), *more,
        env={"SOC_LOGIN": company["login"], "SOC_PASSWORD": company["password"], **env},
    )  # fmt: skip
    (outcome,) = json.loads(report.read_text())["outcomes"]
    vault = json.loads((tmp_path / "vault.json").read_text())
    assert vault[structure]["password"] == portal.structure(structure)["technical_user"]["password"]
    assert {"target": "command:true", "result": "done"} in outcome["deliveries"]  # never held
    return result.returncode, outcome, result.stderr


def credentials(secret: str = PISTE["client_secret"]) -> dict[str, str]:
    return {"PISTE_CLIENT_ID": PISTE["client_id"], "PISTE_CLIENT_SECRET": secret}


def test_renew_checks_through_piste(piste_portal: Portal, tmp_path: Path):
    code, outcome, _ = night(tmp_path, piste_portal, **credentials())
    assert code == 0 and outcome["action"] == "renewed"
    assert outcome["api_check"]["result"] == ACCEPTED and outcome["api_check"]["new_accepted"] is True


def test_without_client_credentials_the_check_is_a_warning_and_the_password_delivered(
    piste_portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("PISTE_CLIENT_ID", raising=False)
    code, outcome, stderr = night(tmp_path, piste_portal, "--verbose")  # the warning is a step-level line
    assert code == 0 and outcome["action"] == "renewed"
    assert outcome["api_check"]["result"] == IMPOSSIBLE
    assert "vérification API impossible" in stderr


def test_a_refusal_is_checked_again_after_the_delay(piste_portal: Portal, tmp_path: Path):
    piste_portal.call("POST", "/__mock__/options", {"api_refusals": 1})  # not yet propagated, then accepted
    code, outcome, stderr = night(tmp_path, piste_portal, "--api-recheck-delay", "0", **credentials())
    assert code == 0 and outcome["action"] == "renewed", stderr
    assert outcome["api_check"]["result"] == ACCEPTED and outcome["api_check"]["rechecked_after_s"] == 0


def test_a_lasting_refusal_is_reported_and_the_password_still_delivered(piste_portal: Portal, tmp_path: Path):
    piste_portal.call("POST", "/__mock__/options", {"api_refusals": 100})
    code, outcome, _ = night(tmp_path, piste_portal, "--api-recheck-delay", "0", **credentials())
    assert code == 1 and outcome["action"] == "failed"
    assert "refusé par l'API" in outcome["error"] and "encore après 0 s" in outcome["error"]


def test_token_request_is_client_credentials(piste_portal: Portal):
    body = urllib.parse.urlencode({"grant_type": "password", **PISTE}).encode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(piste_portal.url + "/piste/oauth/token", data=body), timeout=10)
    assert refused.value.code == 400

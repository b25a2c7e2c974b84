"""Issue 8 point 4: the API check as the real API works, behind PISTE (OAuth2 client credentials)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from fixtures.mock_portal import create_app
from robots.api_check import ACCEPTED, IMPOSSIBLE, REFUSED, PisteClient, account_header, check_technical_account
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
    headers = {"cpro-account": account_header(user["login"], user["password"])}

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
    assert refused.outcome == REFUSED and "codeRetour 401" in refused.detail


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


def test_a_bare_gateway_rejection_is_impossible(portal: Portal):
    """The gateway forgets the token (403 with no body): the API never saw the account."""
    login, password = technical(portal)
    piste = client(portal)
    piste.token()
    portal.call("POST", "/__mock__/reset", {})  # tokens are forgotten
    portal.call("POST", "/__mock__/options", {"piste": True})
    result = check_technical_account(portal.url, login, password, piste)
    assert result.outcome == IMPOSSIBLE and "HTTP 403" in result.detail


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

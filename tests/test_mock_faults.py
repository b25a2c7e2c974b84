"""Issue 12: the mock portal's faults on demand, through its control API (Flask's test client: no browser)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from fixtures.mock_portal import create_app
from fixtures.mock_portal.faults import Faults
from tests.conftest import DEMO_DATA


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    yield create_app(DEMO_DATA).test_client()


def fault(client: FlaskClient, spec: dict) -> dict:
    answer = client.post("/__mock__/faults", json=spec)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def logged_in(client: FlaskClient) -> None:
    account = next(a for a in client.get("/__mock__/state").get_json()["accounts"] if a["portal"] == "chorus")
    answer = client.post("/cpp/connexion", data={"username": account["login"], "password": account["password"]})
    assert answer.headers["Location"].startswith("/cpp/accueil")


def test_counted_faults_fail_the_next_pages_under_their_prefix_only(client: FlaskClient):
    fault(client, {"path_prefix": "/cpp/", "status": 502, "count": 2})
    assert client.get("/portail/").status_code == 200
    failed = [client.get("/cpp/") for _ in range(3)]
    assert [a.status_code for a in failed] == [502, 502, 200]
    assert "Le service est momentanément indisponible" in failed[0].get_data(as_text=True)


def test_a_share_of_pages_fail_with_a_status_or_the_technical_error_page(client: FlaskClient):
    fault(client, {"share": 0.5, "status": 503, "seed": 7})
    statuses = [client.get("/cpp/").status_code for _ in range(60)]
    assert 10 < statuses.count(503) < 50 and statuses.count(200) == 60 - statuses.count(503)

    fault(client, {})
    fault(client, {"share": 1, "status": "technical"})
    page = client.get("/cpp/")
    assert page.status_code == 200 and "Une erreur technique est survenue" in page.get_data(as_text=True)


def test_an_expired_session_sends_the_next_page_to_the_login_screen(client: FlaskClient):
    logged_in(client)
    fault(client, {"session_expires_after": 3})
    assert client.get("/cpp/accueil").status_code == 200
    assert client.get("/cpp/accueil").status_code == 200
    assert client.get("/cpp/accueil").headers["Location"] == "/cpp/", "the third page: session over"


def test_one_portal_down_while_the_other_is_up(client: FlaskClient):
    fault(client, {"down": "dgfip"})
    assert client.get("/portail/").status_code == 503
    assert client.get("/cpp/").status_code == 200


def test_latency_and_slow_pages_are_decided_per_page():
    faults = Faults()
    faults.add({"latency_ms": [200, 3000], "seed": 1})
    faults.add({"slow": {"path_prefix": "/cpp/structure/", "ms": 8000}})
    delays = [faults.verdict("/cpp/accueil").delay_s for _ in range(50)]
    assert all(0.2 <= d <= 3.0 for d in delays) and len(set(delays)) > 40
    assert 8.2 <= faults.verdict("/cpp/structure/1").delay_s <= 11.0


def test_rules_add_up_show_in_the_state_and_clear(client: FlaskClient):
    fault(client, {"latency_ms": 10})
    shown = fault(client, {"down": "chorus"})["faults"]
    assert shown == [{"latency_ms": 10}, {"down": "chorus"}]
    assert client.get("/__mock__/state").get_json()["faults"] == shown
    assert fault(client, {})["faults"] == []
    fault(client, {"down": "chorus"})
    client.post("/__mock__/reset")
    assert client.get("/__mock__/state").get_json()["faults"] == []
    assert client.get("/cpp/").status_code == 200


@pytest.mark.parametrize(
    "spec", [{"share": 2}, {"status": 200, "path_prefix": "/"}, {"down": "ailleurs"}, {"latency_ms": [3, 1]},
             {"session_expires_after": 0}, {"slow": {"ms": 1}}, {"down": "dgfip", "latency_ms": 1}],
)  # fmt: skip
def test_a_rule_the_mock_does_not_understand_is_refused(client: FlaskClient, spec: dict):
    answer = client.post("/__mock__/faults", json=spec)
    assert answer.status_code == 400 and answer.get_json()["error"]
    assert client.get("/__mock__/state").get_json()["faults"] == []

"""Issue 12: the mock portal's faults on demand, through its control API (Flask's test client: no browser)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from fixtures.mock_portal import create_app
from fixtures.mock_portal.faults import Faults
from robots.cli.main import main
from tests.conftest import DEMO_DATA, PROJECT, ROBOT


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    yield create_app(DEMO_DATA, generation="legacy").test_client()


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


# ---------------------------------------------------------------- the same rules as `mock-portal` options


def test_mock_portal_options_put_the_same_rules_in_force(tmp_path):
    """A real `chorus-robot mock-portal` with every fault option: /__mock__/state shows them, as if posted."""
    options = [
        "--fault-share", "0.1", "--fault-status", "technical", "--latency-ms", "200-3000",
        "--session-expires-after", "30", "--slow", "/cpp/structure/:8000", "--down", "dgfip",
        "--fault", "/cpp/:502:2", "--fault-seed", "4",
    ]  # fmt: skip
    server = subprocess.Popen(
        [*ROBOT, "mock-portal", "--port", "0", *options], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        banner = server.stdout.readline()
        url = re.search(r"http://[0-9.:]+", banner).group(0)
        state = json.loads(urllib.request.urlopen(url + "/__mock__/state", timeout=10).read())
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert state["faults"] == [
        {"path_prefix": "/cpp/", "status": 502, "count": 2},
        {"share": 0.1, "status": "technical", "path_prefix": "/"},
        {"latency_ms": [200, 3000]},
        {"session_expires_after": 30},
        {"slow": {"path_prefix": "/cpp/structure/", "ms": 8000}},
        {"down": "dgfip"},
    ]
    assert "panne" in banner


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--fault-share", "beaucoup"], "--fault-share « beaucoup » : un nombre attendu"),
        (["--fault-share", "2"], '--fault-share « 2 » : "share" : une part entre 0 et 1'),
        (["--fault-share", "0.1", "--fault-status", "200"], "4xx/5xx"),
        (["--latency-ms", "3000-200"], "--latency-ms « 3000-200 »"),
        (["--latency-ms", "vite"], "--latency-ms « vite » : un nombre entier attendu"),
        (["--session-expires-after", "0"], "au moins 1"),
        (["--slow", "/cpp/structure/"], "--slow « /cpp/structure/ »"),
        (["--slow", "cpp:8000"], "--slow « cpp:8000 »"),
        (["--fault", "/cpp/"], "PRÉFIXE:STATUT[:NOMBRE] attendu"),
        (["--fault", "/cpp/:503:0"], "--fault « /cpp/:503:0 »"),
        (["--down", "ailleurs"], "choix invalide"),
    ],
)
def test_a_wrong_fault_option_is_a_sentence_and_exit_2(options: list[str], said: str, capsys):
    try:
        code = main(["mock-portal", "--port", "0", *options])
    except SystemExit as parsed:  # argparse's own check (--down's choices)
        code = parsed.code
    error = capsys.readouterr().err
    assert code == 2 and said in error, error
    assert "Traceback" not in error

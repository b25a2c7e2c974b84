"""Issue 4, probe: which fallback of each element still matches; the element that no longer does."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser

from robots.jobs.replay.probe import probe_screen
from robots.language.catalogue import Catalogue
from tests.conftest import PROJECT, robot

PAGES = PROJECT / "tests" / "pages"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class names it so
        return None


@pytest.fixture(scope="module")
def pages_url() -> Iterator[str]:
    """tests/pages/ over HTTP: the authentification screen as it is, and after the portal changed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(PAGES)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def authentification():  # type: ignore[no-untyped-def]
    return Catalogue.load().screen("dgfip_authentification")


def test_probe_reports_the_first_fallback_of_each_element(browser: Browser, pages_url: str, authentification):
    page = browser.new_page()
    try:
        page.goto(f"{pages_url}/authentification.html")
        report = probe_screen(page, authentification, timeout_s=2)
    finally:
        page.close()

    found = {m.name: m for m in report.matches}
    assert all(ok for _, ok in report.recognised)
    assert found["identifiant"].index == 0 and found["identifiant"].visible
    assert found["mot_de_passe"].index == 0
    assert found["connexion"].index == 0
    # shown only after a failed login, or once the account is locked
    assert [m.name for m in report.missing()] == ["compte_bloque", "erreur"]
    assert report.missing({"erreur", "compte_bloque"}) == []


def test_probe_on_a_changed_screen_names_the_element_that_no_longer_matches(pages_url: str):
    done = robot(
        "probe", "dgfip_authentification", "--portal-url", pages_url, "--path", "/authentification_changed.html",
        "--ignore", "erreur,compte_bloque",
    )  # fmt: skip

    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "Écran « Authentification » (dgfip_authentification)" in lines[0] and "reconnu" in lines[0]
    missing = next(line for line in lines if "mot_de_passe" in line)
    assert missing.strip().startswith("✘ mot_de_passe : aucun sélecteur ne correspond")
    assert "label=« Mot de passe »" in missing and "css=« input[name='secret'] »" in missing
    identifiant = next(line for line in lines if "identifiant" in line)
    assert "✔ identifiant : sélecteur 2/2 css=« input[name='identifiant'] »" in identifiant
    assert "plus trouvé par : label=« Identifiant »" in identifiant
    assert "✔ connexion : sélecteur 1/2" in done.stdout
    assert lines[-1] == "1 élément(s) introuvable(s) : mot_de_passe"


def test_probe_of_an_unknown_screen_says_which_exist():
    done = robot("probe", "authentification", "--portal-url", "http://127.0.0.1:9")

    assert done.returncode == 2
    assert "écran inconnu « authentification »" in done.stderr and "dgfip_authentification" in done.stderr

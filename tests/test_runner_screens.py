"""Issue 9: a screen is checked once per page, not before every step; a step on the wrong screen still fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from robots.engine import locate
from robots.engine.runner import Runner
from robots.errors import StepFailed
from robots.language.catalogue import Catalogue
from robots.secrets import SecretProvider
from tests.conftest import Portal

FLOW = """
name: wrong_screen
secrets:
  dgfip_login: {env: DGFIP_LOGIN}
  dgfip_password: {env: DGFIP_PASSWORD}
steps:
  - goto: ${env.dgfip_url}
  - expect_screen: dgfip_authentification
  - fill: {element: dgfip_authentification.identifiant, value: "${secret.dgfip_login}"}
  - fill: {element: dgfip_authentification.mot_de_passe, value: "${secret.dgfip_password}"}
  - click: dgfip_authentification.connexion
  - label: Encore sur l'écran d'authentification ?
    fill: {element: dgfip_authentification.identifiant, value: "x"}
"""


class _NoSink:
    def store(self, key: str, fields: dict[str, Any]) -> None:
        return None

    def checkpoint(self, key: str, event: str) -> None:
        return None


def test_the_screen_is_checked_once_per_page_and_a_step_on_another_screen_fails(
    browser: Browser, portal: Portal, syndicate: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    checks: list[str] = []
    wait_for_screen = locate.wait_for_screen

    def counted(page: Any, screen: Any, *args: Any) -> bool:
        checks.append(screen.name)
        return wait_for_screen(page, screen, *args)

    monkeypatch.setattr(locate, "wait_for_screen", counted)
    flow = tmp_path / "wrong_screen.yaml"
    flow.write_text(FLOW)
    context = browser.new_context()
    runner = Runner(
        context.new_page(), Catalogue.load(), secrets=SecretProvider({}), sink=_NoSink(), timeout_s=2,
        failures_dir=tmp_path / "failures",
    )  # fmt: skip

    with pytest.raises(StepFailed) as failed:
        runner.run(flow, {"env": {"dgfip_url": portal.url + "/portail/"}})
    context.close()

    # Before the click: one check for the expect_screen, the fills and the click; after it: one again.
    assert checks == ["dgfip_authentification", "dgfip_authentification"]
    assert "l'écran « Authentification » était attendu" in str(failed.value)
    assert failed.value.step_label == "Encore sur l'écran d'authentification ?"
    assert "« Accueil »" in failed.value.screen_seen

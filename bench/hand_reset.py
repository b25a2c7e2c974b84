"""The reset of one structure's technical password written by hand with Playwright's sync API.

Only for bench/runner_overhead.py: the same clicks as `chorus-robot run flows/reset_technical_password.yaml`
(entry dgfip), as a person fluent in Playwright would write them for the mock portal, with no catalogue,
no screen checks beyond what the clicks need, no vault. The robot never uses it.

    python bench/hand_reset.py PORTAL_URL STRUCTURE   (DGFIP_LOGIN, DGFIP_PASSWORD in the environment)
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robots.browser import launch as chromium  # noqa: E402 - the same Chromium as the robot's

FORBIDDEN = "/"


def open_structure(page: Page, structure: str) -> None:
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Activités du gestionnaire").click()
    panel = page.locator("#GDP_MesStructures")
    while True:
        row = panel.locator("tbody tr", has=page.get_by_role("cell", name=structure, exact=True))
        if row.count():
            row.get_by_role("link", name="Modifier").click()
            break
        before = panel.locator("tbody").inner_text()
        panel.get_by_role("button", name="Aller à la page suivante du tableau").click()
        expect(panel.locator("tbody")).not_to_have_text(before)
    expect(page.get_by_role("heading", name="Modification de la structure")).to_be_visible()


def expiry(page: Page) -> str:
    return page.get_by_text("Expiration du mot de passe de l'utilisateur technique").locator("xpath=..").inner_text()


def reset(page: Page, portal_url: str, structure: str) -> str:
    page.goto(portal_url + "/portail/")
    page.get_by_label("Identifiant").fill(os.environ["DGFIP_LOGIN"])
    page.get_by_label("Mot de passe").fill(os.environ["DGFIP_PASSWORD"])
    page.get_by_role("button", name="Connexion", exact=True).click()
    page.get_by_role("link", name="Chorus Pro").click()
    page.get_by_role("button", name="Se connecter").click()  # Chorus Pro opens logged out: no password asked
    expect(page.get_by_role("heading", name="Accès Rapide")).to_be_visible()
    open_structure(page, structure)
    technical = page.get_by_text("Utilisateur technique :", exact=True).locator("xpath=..").inner_text()
    expiry(page)
    password = FORBIDDEN
    while FORBIDDEN in password:
        if not page.get_by_role("heading", name="Modification de la structure").is_visible():
            open_structure(page, structure)
        page.get_by_role("button", name="Réinitialiser le mot de passe (utilisateur technique)").click()
        page.get_by_role("dialog", name="Confirmation de réinitialisation du mot de passe").get_by_role(
            "button", name="Confirmer"
        ).click()
        sentence = page.get_by_text("Le compte a été réinitialisé avec le mot de passe")
        password = re.search(r"mot de passe\s+(\S+)\s*$", sentence.inner_text()).group(1)  # type: ignore[union-attr]
    open_structure(page, structure)
    return f"{technical.split(':')[1].split()[0]} expire {expiry(page).split(':', 1)[1].strip()}"


def by_hand(reset: Callable[[Page, str, str], str]) -> int:
    """`python bench/<script>.py PORTAL_URL STRUCTURE`: one reset written by hand, on the robot's Chromium."""
    portal_url, structure = sys.argv[1], sys.argv[2]
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        if os.environ.get("BENCH_TRACE"):  # what `chorus-robot run` records for a failed run, for comparison
            context.tracing.start(screenshots=True, snapshots=True, sources=False)
        print(reset(context.new_page(), portal_url, structure))
        if os.environ.get("BENCH_TRACE"):
            context.tracing.stop()
        context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(by_hand(reset))

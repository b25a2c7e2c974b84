"""The reset of one structure's technical password on the « portail de services », written by hand with Playwright.

The floor for bench/runner_overhead.py --generation services: the pages `chorus-robot run
flows/reset_technical_password.yaml` opens (entry dgfip), clicked as a person fluent in Playwright would write
them for the mock portal — no catalogue, no screen checks beyond what the clicks need, no vault, no journal:
the DGFiP portal, « Chorus Pro », « Se connecter » (no password asked); « Organisation » › « Structures » ›
« Gérer une structure », « Consulter », the SIRET, « Rechercher » (the technical account and its expiry);
« Accueil », « Accéder au domaine » of « Raccordements », « Compte technique », the type of request, the
structure (type-ahead), the technical account, the password shown, « Soumettre »; the structure's page again
(the new expiry). The robot never uses it.

    python bench/hand_reset_services.py PORTAL_URL STRUCTURE   (DGFIP_LOGIN, DGFIP_PASSWORD in the environment)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import Page, expect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hand_reset import by_hand  # noqa: E402 - its neighbour: the same Chromium, context and trace

FORBIDDEN = "/"
REQUEST = "Réinitialisation du mot de passe d'un compte technique"


def log_in(page: Page, portal_url: str) -> None:
    page.goto(portal_url + "/portail/")
    page.get_by_label("Identifiant").fill(os.environ["DGFIP_LOGIN"])
    page.get_by_label("Mot de passe").fill(os.environ["DGFIP_PASSWORD"])
    page.get_by_role("button", name="Connexion", exact=True).click()
    page.get_by_role("link", name="Chorus Pro").click()
    page.get_by_role("link", name="Se connecter").click()  # the portal opens logged out: no password asked
    expect(page.get_by_role("link", name="Se déconnecter")).to_be_visible()


def consult(page: Page, structure: str) -> tuple[str, str]:
    """« Gérer une structure », consultation: (technical login, expiry)."""
    page.get_by_role("navigation").get_by_role("link", name="Organisation", exact=True).click()
    page.get_by_role("link", name="Structures", exact=True).click()
    page.get_by_role("link", name="Gérer une structure").click()
    page.get_by_role("radio", name="Consulter / rechercher une structure").check()
    page.get_by_label("Identifiant").fill(structure)
    page.get_by_role("button", name="Rechercher").click()
    return technical_user(page)


def technical_user(page: Page) -> tuple[str, str]:
    users = page.locator(".panel", has_text="Utilisateurs rattachés à la structure")
    login = users.get_by_text("Utilisateur technique :", exact=True).locator("xpath=..").inner_text()
    expiry = users.get_by_text("Expiration du mot de passe").locator("xpath=..").inner_text()
    return login.split(":", 1)[1].split()[0], expiry.split(":", 1)[1].strip()


def password_shown(page: Page, structure: str, technical_login: str) -> str:
    """The « Compte technique » form up to the new password shown (not submitted)."""
    page.get_by_role("navigation").get_by_role("link", name="Accueil", exact=True).click()
    tile = page.locator(".domain-tile", has=page.get_by_role("heading", name="Raccordements"))
    tile.get_by_role("button", name="Accéder au domaine").click()
    page.get_by_role("link", name="Compte technique", exact=True).click()
    page.get_by_label("Type de demande").select_option(label=REQUEST)
    page.get_by_role("combobox", name="Choisir la structure").fill(structure)
    page.get_by_role("option", name=structure).click()  # the form is sent again with the structure chosen
    accounts = page.get_by_role("combobox", name="Compte technique")
    expect(accounts).to_be_visible()
    page.wait_for_load_state()  # its script (a choice sends the form) runs once the page has loaded
    accounts.select_option(technical_login)
    return page.get_by_label("Nouveau mot de passe").input_value()


def reset(page: Page, portal_url: str, structure: str) -> str:
    log_in(page, portal_url)
    technical_login, _ = consult(page, structure)
    structure_page = page.url
    password = FORBIDDEN
    while FORBIDDEN in password:  # a password with « / » is not submitted: the form is opened again
        password = password_shown(page, structure, technical_login)
    page.get_by_role("button", name="Soumettre", exact=True).click()
    expect(page.get_by_text("a bien été soumise")).to_be_visible()
    page.goto(structure_page)
    login, expiry = technical_user(page)
    return f"{login} expire {expiry}"


if __name__ == "__main__":
    sys.exit(by_hand(reset))

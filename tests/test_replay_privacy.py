"""Issue 4, no secret on the pixels: sensitive elements are blurred before they are first painted."""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from robots.jobs.replay.privacy import SECRET_ATTR, init_script, mark_secret
from robots.language.catalogue import Catalogue
from tests.conftest import PROJECT

PAGE = PROJECT / "tests" / "pages" / "password_shown.html"
URL = "http://portal.test/structure"


def blurred(page: Page, selector: str) -> bool:
    return "blur" in page.eval_on_selector(selector, "e => getComputedStyle(e).filter")


def test_sensitive_elements_are_blurred_before_the_first_paint(browser: Browser):
    context = browser.new_context()
    try:
        context.add_init_script(script=init_script(Catalogue.load()))
        context.route(URL, lambda route: route.fulfill(path=PAGE, content_type="text/html; charset=utf-8"))
        page = context.new_page()
        page.goto(URL)
        page.wait_for_function("window.paintedUnmarked !== null")

        assert page.evaluate("window.paintedUnmarked") is False
        assert blurred(page, ".alert-success")
        assert page.inner_text(".alert-success").endswith("Gener4tedPwd")  # the robot still reads it
        assert blurred(page, "#pwd")
        assert not blurred(page, "#login")
        mark_secret(page.locator("#login"))  # a field about to receive a portal login
        assert blurred(page, "#login")
        assert page.locator(f"[{SECRET_ATTR}]").count() == 2
    finally:
        context.close()


LOGIN_PAGE = """<!DOCTYPE html><html lang="fr"><body><h1>Bienvenue</h1>
<label for="identifiant">Identifiant</label> <input id="identifiant" name="identifiant" value="jean.dupont">
<label for="other">Identifiant structure</label> <input id="other" value="21300258600013">
<label for="user">Adresse</label> <input id="user" autocomplete="username" value="jean@example.org">
</body></html>"""


def test_a_login_typed_before_stays_blurred_on_the_page_that_refuses_it(browser: Browser):
    """Issue 13: the failure screenshot after a refused login must not show the login."""
    from robots.jobs.replay.privacy import secret_field_script

    catalogue = Catalogue.load()
    login_field = catalogue.element("dgfip_authentification.identifiant")
    assert login_field is not None
    context = browser.new_context()
    try:
        context.add_init_script(script=init_script(catalogue))
        context.add_init_script(script=secret_field_script(login_field.element))
        context.route(URL, lambda route: route.fulfill(body=LOGIN_PAGE, content_type="text/html; charset=utf-8"))
        page = context.new_page()
        page.goto(URL)
        assert blurred(page, "#identifiant"), "the field the login was typed in, on a new page"
        assert blurred(page, "#user"), "any login field (autocomplete=username)"
        assert not blurred(page, "#other"), "a field merely labelled « Identifiant … » is not a secret"
    finally:
        context.close()

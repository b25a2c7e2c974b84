"""Issue 9: renew's pages fetch no images, fonts or media — captcha images excepted."""

from __future__ import annotations

from playwright.sync_api import Browser

from robots.browser.pool import block_unread_resources
from tests.conftest import Portal

FETCH = "url => fetch(url).then(response => response.status, () => 'bloqué')"


def test_images_fonts_and_media_are_not_fetched_but_pages_styles_and_captchas_are(browser: Browser, portal: Portal):
    context = browser.new_context()
    block_unread_resources(context)
    page = context.new_page()
    page.goto(portal.url + "/portail/")

    fetched = {
        path: page.evaluate(FETCH, portal.url + path)
        for path in (
            "/static/fonts/glyphicons-halflings-regular.woff2", "/static/logo.png?v=2", "/static/intro.mp4",
            "/static/css/bootstrap.min.css", "/portail/", "/captcha/image.png",
        )
    }  # fmt: skip
    context.close()

    assert fetched["/static/fonts/glyphicons-halflings-regular.woff2"] == "bloqué"
    assert fetched["/static/logo.png?v=2"] == fetched["/static/intro.mp4"] == "bloqué"
    assert fetched["/static/css/bootstrap.min.css"] == fetched["/portail/"] == 200
    assert fetched["/captcha/image.png"] != "bloqué"  # a person must read it: fetched (the mock has none: 404)

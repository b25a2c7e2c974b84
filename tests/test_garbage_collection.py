"""Issue 22 point 4: renew's workers collect their renderer's garbage in each page (robots/browser/garbage.py).

The memory it saves is measured by bench/renew_throughput.py; here, what a user of the portal could notice: the
collector runs in each page, the portal's own scripts cannot reach it, and without it (a remote browser) pages are
left alone."""

from __future__ import annotations

from playwright.sync_api import Browser, Playwright

from robots.browser import launch as chromium
from robots.browser.garbage import COLLECTOR, collect_garbage_in_each_page
from robots.browser.pool import ONE_RENDERER_PER_CONTEXT
from robots.browser.portal_context import new_portal_context
from tests.conftest import Portal

# A test's own init script, registered first: it wraps the collector V8 exposes, to see it called.
SPY = f"""(() => {{
  const real = globalThis.{COLLECTOR};
  globalThis.__seen = {{exposed: typeof real, calls: 0}};
  globalThis.{COLLECTOR} = (...options) => {{ globalThis.__seen.calls += 1; return real(...options); }};
}})();"""


def test_each_page_of_a_renew_worker_collects_its_garbage_out_of_the_portal_s_reach(
    playwright: Playwright, services: Portal
):
    executable = chromium.chromium_executable(playwright)
    browser = playwright.chromium.launch(
        executable_path=str(executable) if executable else None,
        args=[*chromium.LAUNCH_ARGS, *ONE_RENDERER_PER_CONTEXT],
    )
    try:
        context = new_portal_context(browser)
        context.add_init_script(SPY)
        collect_garbage_in_each_page(context)
        page = context.new_page()
        for address in ("/", "/aife_csm/fr?id=aife_index"):
            page.goto(services.url + address, wait_until="load")
            page.wait_for_function("globalThis.__seen.calls > 0")
            seen = page.evaluate("globalThis.__seen")
            assert seen == {"exposed": "function", "calls": 1}, address  # once per page
            assert page.evaluate(f"typeof globalThis.{COLLECTOR}") == "undefined"  # what the portal's scripts see
            assert page.evaluate("typeof gc") == "undefined"  # nor V8's usual name
    finally:
        browser.close()


def test_without_the_collector_pages_are_left_alone(browser: Browser, services: Portal):
    context = new_portal_context(browser)  # the session's browser: no V8 flag, as a remote browser
    collect_garbage_in_each_page(context)
    page = context.new_page()

    answer = page.goto(services.url + "/aife_csm/fr?id=aife_index", wait_until="load")

    assert answer is not None and answer.ok
    assert page.evaluate(f"typeof globalThis.{COLLECTOR}") == "undefined"
    assert page.evaluate("typeof jQuery") == "function"  # the portal's own scripts ran
    context.close()

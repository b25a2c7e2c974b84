"""One browser, many workers: how the night's workers share one Chromium; pages that fetch only what
a robot reads.

Concurrency model. Playwright's sync API belongs to the thread that started it, and a worker spends
nearly all its time waiting for the portal. So the workers are not threads (each would need its own
Playwright driver, ~100 MB, and its own browser or an open DevTools port) but greenlets of ONE thread,
sharing ONE Playwright and ONE browser, each in a browser context of its own. The sync API already runs
on greenlets: every sync call hands control to Playwright's dispatcher (its asyncio loop) until the
answer comes back, and the dispatcher resumes whichever worker's answer came. Workers therefore take
turns exactly where they would wait anyway, with the `async` API's concurrency and the sync API's code.
What blocks without Playwright (the API check, deliveries: network, SMTP, hooks) runs in a thread
(`offload`), so that the other workers go on meanwhile. This uses two attributes of Playwright's sync
objects (`_loop`, `_dispatcher_fiber`) and waits the way its own sync calls wait; should a Playwright
version lack them, the night runs its workers one after the other (with a warning).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import greenlet
from loguru import logger
from playwright.sync_api import Browser, BrowserContext, Route

from robots.browser import garbage
from robots.browser.portal_context import BrowserOptions, open_browser

T = TypeVar("T")
# The tabs of one context share one renderer (a portal that opens another in a tab of its own); V8 in the
# renderers trades speed for size (the portal's scripts are small): peak PSS at --jobs 8 over 100 structures about
# 150 MB lower, the time per structure unchanged within the noise (bench/renew_throughput.py); its collector is
# given to the script that collects the garbage of the former pages in each page (robots/browser/garbage.py).
ONE_RENDERER_PER_CONTEXT = ["--process-per-site", f"--js-flags=--optimize-for-size {garbage.V8_FLAG}"]
# Beyond this many workers per CPU, more workers only queue for the CPU (measured: bench/renew_throughput.py).
USEFUL_JOBS_PER_CPU = 4
# Images, fonts and media: what a robot never reads (URL-based, so that the driver filters them itself).
_UNREAD = re.compile(r"\.(png|jpe?g|gif|webp|avif|svg|ico|bmp|woff2?|ttf|otf|eot|mp4|webm|ogg|mp3|wav)(\?|#|$)", re.I)


# A worker's renderer (one Chromium process per context) grows with every page whatever is freed (measured on
# the mock, portail de services: 110 MB → 440 MB over 30 structures); a new tab in a context whose tabs are
# all closed gets a new renderer. So after this many structures the worker's next navigation to an address (the
# « Compte technique » form reopened, « Mes structures » reopened on its kept page) happens in a new tab: same
# context, same login, no page more (Runner.new_tabs). When no such navigation came for OVERDUE_TABS_AFTER
# structures more (nothing reset), the new tab is opened between two structures, at the address the tab showed:
# one page more.
FRESH_TAB_EVERY = 1
OVERDUE_TABS_AFTER = 2


def useful_jobs(cpus: int | None = None) -> int:
    return USEFUL_JOBS_PER_CPU * (cpus or os.cpu_count() or 1)


@contextmanager
def one_browser(options: BrowserOptions) -> Iterator[Browser]:
    """Chromium launched here, or the remote one of `--browser-cdp` (one connection, a context per worker)."""
    with open_browser(options, extra_args=ONE_RENDERER_PER_CONTEXT) as browser:
        yield browser


class Sequential:
    """One worker: plain calls."""

    def run(self, works: list[Callable[[], None]]) -> None:
        for work in works:
            work()

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    def offload(self, action: Callable[[], T]) -> T:
        return action()


class Cooperative:
    """Workers as greenlets of this thread, taking turns while Playwright waits (see the module's doc)."""

    def __init__(self, browser: Browser) -> None:
        self.loop: asyncio.AbstractEventLoop = browser._loop  # type: ignore[attr-defined]
        self.fiber: greenlet.greenlet = browser._dispatcher_fiber  # type: ignore[attr-defined]

    def wait(self, awaitable: Any) -> Any:
        """Waits like a sync call of Playwright: the dispatcher runs the loop (and the other workers) meanwhile."""
        future = asyncio.ensure_future(awaitable, loop=self.loop)
        me, waiting = greenlet.getcurrent(), True

        def resume(_: object) -> None:
            if waiting:
                me.switch()

        future.add_done_callback(resume)
        try:
            while not future.done():
                if self.fiber.dead:
                    raise RuntimeError("connexion à Playwright fermée")
                self.fiber.switch()
        finally:
            waiting = False
            future.remove_done_callback(resume)
            if not self.fiber.dead:
                asyncio._set_running_loop(self.loop)  # as Playwright's own sync calls leave it
        return future.result()

    def run(self, works: list[Callable[[], None]]) -> None:
        """Runs every work in a greenlet of its own; returns once all are done (their errors: theirs)."""
        futures = [self.loop.create_future() for _ in works]
        for work, future in zip(works, futures, strict=True):
            self.loop.call_soon(greenlet.greenlet(_settling(work, future)).switch)

        async def all_done() -> None:
            await asyncio.gather(*futures, return_exceptions=True)

        self.wait(all_done())

    def pause(self, seconds: float) -> None:
        self.wait(asyncio.sleep(seconds))

    def offload(self, action: Callable[[], T]) -> T:
        """A blocking action (network, SMTP, a hook) in a thread: the other workers go on meanwhile."""
        return self.wait(self.loop.run_in_executor(None, action))


def _settling(work: Callable[[], None], future: asyncio.Future[None]) -> Callable[[], None]:
    def body() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for this worker
            future.set_exception(exc)
        else:
            future.set_result(None)

    return body


def pool_for(browser: Browser, workers: int) -> Sequential | Cooperative:
    if workers <= 1:
        return Sequential()
    try:
        return Cooperative(browser)
    except AttributeError as exc:
        logger.warning("Playwright sans greenlets accessibles ({}) : les workers passeront l'un après l'autre", exc)
        return Sequential()


def block_unread_resources(context: BrowserContext) -> None:
    """No images, fonts or media for this context — except captcha images, which a person must read."""
    context.route(_UNREAD, _abort_unless_captcha)


def _abort_unless_captcha(route: Route) -> None:
    if "captcha" in route.request.url.lower():
        route.fallback()
    else:
        route.abort("blockedbyclient")

"""One browser per process, a fresh context per run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Browser, BrowserContext, sync_playwright

from robots.browser import launch as chromium
from robots.secrets import scrub

VIEWPORT = {"width": 1280, "height": 900}
# The night's workers, watched by nobody: as wide (the same layout), less high — a laptop's screen. Chromium keeps
# two or three frames of each tab's viewport in its GPU process and rasters the renderer's tiles to its height:
# about 40 MB less at --jobs 8 (a failure's screenshot takes the whole page whatever the height).
NIGHT_VIEWPORT = {"width": 1280, "height": 600}


def new_portal_context(browser: Browser, **extra: Any) -> BrowserContext:
    """A browser context as every command opens one on the portal: the same viewport (screens and procedures
    look alike whichever command made them) and French; `extra`: video recording, another viewport and the like."""
    return browser.new_context(**{"viewport": VIEWPORT, "locale": "fr-FR", **extra})


@dataclass(frozen=True)
class BrowserOptions:
    headed: bool = False
    slow_mo_ms: float = 0
    cdp_url: str | None = None


@contextmanager
def open_browser(options: BrowserOptions, extra_args: list[str] | None = None) -> Iterator[Browser]:
    """Chromium launched here (with `extra_args`), or the remote one of `--browser-cdp`.

    Playwright's driver copies the environment when it starts, and Chromium and ffmpeg inherit it: no secret
    variable may be there (robots/secrets.py)."""
    scrub()
    with sync_playwright() as playwright:
        if options.cdp_url:
            browser = chromium.connect(playwright, options.cdp_url)
        else:
            browser = chromium.launch(
                playwright, headed=options.headed, slow_mo_ms=options.slow_mo_ms, extra_args=extra_args
            )
        try:
            yield browser
        finally:
            browser.close()

"""A full garbage collection in each page a renew worker opens, run by the renderer itself.

A renderer keeps the script objects of the pages it showed until V8's old generation fills up, and gives back
nothing it grew until it ends. Measured on the mock (portail de services, jQuery and Bootstrap in every page): ten
pages grow a renderer by 22 MB, by 2 MB with a collection as each page starts; at `--jobs 8` over 100 structures
the renderers' peak goes from about 590 to about 290 MB (bench/renew_throughput.py), for about 0.02 CPU-s a
structure. V8 exposes its collector under a name of ours (`--expose-gc-as`, among renew's Chromium flags); the
script below takes it and sets the name to undefined before any of the portal's scripts runs, then collects as
V8 does when memory runs out (`last-resort`: until nothing more is freed) once the page's first task is done, while
the page waits for its styles and scripts. No round trip: asked from Python (DevTools' `collectGarbage` after each
click) it cost about 2 % of a structure's time at `--jobs 1`; V8's plain `gc()` freed about a third less.
"""

from __future__ import annotations

from playwright.sync_api import BrowserContext

COLLECTOR = "__chorusRobotCollectGarbage"
V8_FLAG = f"--expose-gc-as={COLLECTOR}"

_EACH_PAGE = f"""(() => {{
  const collect = globalThis.{COLLECTOR};
  try {{ globalThis.{COLLECTOR} = undefined; }} catch (e) {{}}
  if (typeof collect === 'function') setTimeout(() => collect({{type: 'major', flavor: 'last-resort'}}), 0);
}})();"""


def collect_garbage_in_each_page(context: BrowserContext) -> None:
    """From the next page on, in every tab of `context`. Without the V8 flag (a remote browser), nothing."""
    context.add_init_script(_EACH_PAGE)

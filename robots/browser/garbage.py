"""A full garbage collection in each page a renew worker opens, run by the renderer itself.

A renderer keeps the script objects of the pages it showed until V8's old generation fills up, and gives back
nothing it grew until it ends. Measured on the mock (portail de services, jQuery and Bootstrap in every page): ten
pages grow a renderer by 22 MB, by 4 MB with a collection as each page starts; at `--jobs 8` over 100 structures
the renderers' peak goes from about 590 to about 390 MB (bench/renew_throughput.py), no slower within the noise.
V8 exposes its collector under a name of ours (`--expose-gc-as`, among renew's Chromium flags); the script below
takes it and sets the name to undefined before any of the portal's scripts runs, then collects once the page's
first task is done, while the page waits for its styles and scripts. Tried and not kept: asking from Python
(DevTools' `collectGarbage` after each click: a round trip, about 2 % of a structure's time at `--jobs 1`); V8's
`last-resort` collection (110 MB less again, but it drops the compiled scripts: 15 % slower at `--jobs 8`).
"""

from __future__ import annotations

from playwright.sync_api import BrowserContext

COLLECTOR = "__chorusRobotCollectGarbage"
V8_FLAG = f"--expose-gc-as={COLLECTOR}"

_EACH_PAGE = f"""(() => {{
  const collect = globalThis.{COLLECTOR};
  try {{ globalThis.{COLLECTOR} = undefined; }} catch (e) {{}}
  if (typeof collect === 'function') setTimeout(() => collect(), 0);
}})();"""


def collect_garbage_in_each_page(context: BrowserContext) -> None:
    """From the next page on, in every tab of `context`. Without the V8 flag (a remote browser), nothing."""
    context.add_init_script(_EACH_PAGE)

"""Finding and starting Chromium: Playwright's own when installed, else Debian's.

Headless, Debian's `chromium-headless-shell` (the old headless shell, what Playwright itself runs headless)
when installed: today's `chromium --headless` is the whole browser without a window, and each new context
costs it about four times the CPU (measured: 8 contexts, one page each, 7–9 CPU-s against 2). Headed, or
when the shell is missing, Debian's `chromium`.

No browser is ever downloaded at run time. `python -m robots.browser.launch --ensure` (run by `make`)
installs Debian's packages when missing, and Debian's ffmpeg for the videos of recorded runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Browser, Playwright

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
SYSTEM_HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
]


def playwright_chromium(playwright: Playwright) -> Path | None:
    try:
        path = Path(playwright.chromium.executable_path)
    except Exception:  # noqa: BLE001 - no browser registry at all
        return None
    return path if path.exists() else None


def chromium_executable(playwright: Playwright, headed: bool = False) -> Path | None:
    """None means Playwright's own browser; otherwise the system Chromium to use."""
    override = os.environ.get("CHORUS_ROBOT_CHROMIUM")
    if override:
        return Path(override)
    if playwright_chromium(playwright):
        return None
    system = system_chromium(headed)
    if system is None:
        raise RuntimeError("aucun Chromium : `make browser`, ou `apt-get install -y chromium chromium-headless-shell`")
    return system


def system_chromium(headed: bool = False) -> Path | None:
    """Debian's headless shell for headless runs when installed, else Debian's Chromium."""
    if not headed and SYSTEM_HEADLESS_SHELL.exists():
        return SYSTEM_HEADLESS_SHELL
    return SYSTEM_CHROMIUM if SYSTEM_CHROMIUM.exists() else None


def launch(
    playwright: Playwright, *, headed: bool = False, slow_mo_ms: float = 0, extra_args: list[str] | None = None
) -> Browser:
    executable = chromium_executable(playwright, headed)
    return playwright.chromium.launch(
        headless=not headed,
        executable_path=str(executable) if executable else None,
        args=[*LAUNCH_ARGS, *(extra_args or [])],
        slow_mo=slow_mo_ms or None,
    )


def connect(playwright: Playwright, cdp_url: str) -> Browser:
    """A remote Chromium (browserless, a grid) through its DevTools endpoint."""
    return playwright.chromium.connect_over_cdp(cdp_url)


def _apt_install(*packages: str) -> bool:
    apt = shutil.which("apt-get")
    if not apt:
        print(f"apt-get introuvable : installez {' '.join(packages)} à la main", file=sys.stderr)
        return False
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    system = {"check": False, "env": env, "umask": 0o022}  # system files stay readable: not the robot's 077
    subprocess.run([*sudo, apt, "update", "-qq"], **system)
    return subprocess.run([*sudo, apt, "install", "-y", "-qq", *packages], **system).returncode == 0


def ensure() -> int:
    """A Chromium (Playwright's or Debian's) and ffmpeg (videos of recorded runs); apt installs what is missing."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        own = playwright_chromium(playwright)
    missing = [] if own or SYSTEM_CHROMIUM.exists() else ["chromium"]
    missing += [] if own or SYSTEM_HEADLESS_SHELL.exists() else ["chromium-headless-shell"]
    missing += [] if shutil.which("ffmpeg") else ["ffmpeg"]
    if missing:
        print(f"installation des paquets Debian {' '.join(missing)} (apt-get install -y {' '.join(missing)})")
        if not _apt_install(*missing):  # one package unknown to this apt must not keep the others out
            for package in missing:
                _apt_install(package)
    if not (own or SYSTEM_CHROMIUM.exists() or SYSTEM_HEADLESS_SHELL.exists()):
        print("installation de Chromium impossible", file=sys.stderr)
        return 1
    headless = own or system_chromium()
    print(f"Chromium : {own or SYSTEM_CHROMIUM} (sans fenêtre : {headless}) ; "
          f"ffmpeg : {shutil.which('ffmpeg') or 'absent (pas de vidéos)'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(ensure() if "--ensure" in sys.argv else 0)

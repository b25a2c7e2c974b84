"""The video encoder of a recording: Playwright's own ffmpeg build, or Debian's standing in for it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import playwright
from loguru import logger


def ensure_video_encoder() -> bool:
    """Playwright records videos with its own ffmpeg build; Debian's ffmpeg does the same job.

    When Playwright's is missing (it cannot be downloaded here), a link to /usr/bin/ffmpeg stands in.
    """
    target = _playwright_ffmpeg()
    if target is None:
        return False
    if target.exists():
        return True
    system = shutil.which("ffmpeg")
    if not system:
        logger.warning("pas de vidéo : ffmpeg introuvable (apt-get install ffmpeg)")
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(system)
    except OSError as exc:
        logger.warning("pas de vidéo : {} ({})", target, exc.strerror)
        return False
    return True


def _playwright_ffmpeg() -> Path | None:
    package = Path(playwright.__file__).parent / "driver" / "package"
    try:
        browsers = json.loads((package / "browsers.json").read_text(encoding="utf-8"))["browsers"]
        revision = next(b["revision"] for b in browsers if b["name"] == "ffmpeg")
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured == "0":
        base = package / ".local-browsers"
    else:
        base = Path(configured) if configured else Path.home() / ".cache" / "ms-playwright"
    return base / f"ffmpeg-{revision}" / "ffmpeg-linux"

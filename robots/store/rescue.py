"""The last resort for a password neither the journal nor the vault could keep: a file of its own.

Only reached when both failed after the portal generated the password (a disk full, a folder gone).
Each candidate folder is tried in turn; the file is created 0600, never overwritten, fsynced.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from robots.support.private_files import private_folder

RESCUE_ENV = "CHORUS_ROBOT_RESCUE_DIR"


def folders() -> list[Path]:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    candidates = [os.environ.get(RESCUE_ENV), str(Path(state) / "chorus-robot" / "rescue"),
                  str(Path(tempfile.gettempdir()) / f"chorus-robot-rescue-{os.getuid()}")]  # fmt: skip
    return [Path(c) for c in candidates if c]


def rescue(key: str, fields: dict[str, Any]) -> Path | None:
    """Writes `fields` to a new 0600 file in the first folder that takes it; None if none did."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    body = json.dumps({"structure": key, **fields}, ensure_ascii=False, indent=2).encode()
    for folder in folders():
        path = folder / f"{key}-{stamp}.json"
        try:
            private_folder(folder, must_own=True)  # not a folder another user squats in /tmp
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            try:
                os.write(descriptor, body)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            return path
        except OSError:
            continue
    return None

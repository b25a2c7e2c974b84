"""What keeps every command quick to start: the robot's command line does not import the mock portal's Flask."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT


def test_the_command_line_starts_without_flask():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, robots.cli; print(sorted({'flask', 'werkzeug'} & set(sys.modules)))"],
        capture_output=True, text=True, cwd=PROJECT, check=True,
    )  # fmt: skip
    assert loaded.stdout.strip() == "[]"

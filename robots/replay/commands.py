"""Sub-commands for support teams: probe."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Adds this module's sub-commands to `chorus-robot`."""

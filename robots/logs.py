"""Logging with loguru: every secret value the run knows is replaced before a line is written.

The console says what a person watching needs; the log file (`add_file`) keeps everything. By
default the console shows the lines meant for a person (`operator(...)`), warnings and errors; the
steps of a flow too when the command asks for them (`run`); `--verbose` shows everything and
`--quiet` only errors. An error the command reports itself (the step that failed) is not printed a
second time. `NO_COLOR` (https://no-color.org) turns colours off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from loguru import logger

from robots.secrets import REDACTOR
from robots.support.private_files import (
    private_folder,
    private_opener,  # `chorus-robot` calls it first: umask 077
)

CONSOLE_FORMAT = "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> {message}"
OPERATOR_FORMAT = "<green>{time:HH:mm:ss}</green> {message}"
FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} {level: <7} {extra[run]} {message}"
QUIET, NORMAL, VERBOSE = -1, 0, 1
# Modules whose lines are detail: in the log file, on the console with --verbose (or steps shown).
DETAIL = (
    "robots.engine.runner", "robots.engine.steps", "robots.engine.locate", "robots.jobs.replay",
    "robots.browser.portal_context",
    # `renew`'s job (robots/jobs/renewal/), each concern in its module
    "robots.jobs.renewal.plan", "robots.jobs.renewal.pool", "robots.jobs.renewal.account_session",
    "robots.jobs.renewal.handover", "robots.jobs.renewal.recovery",
)  # fmt: skip
# Errors the command itself reports once, as its last word: not printed when they happen.
REPORTED_LATER = ("robots.engine.runner",)


def _redact(record: dict[str, Any]) -> None:
    record["message"] = REDACTOR.redact(record["message"])
    record["extra"].setdefault("run", "-")


def colour_wanted(stream: Any = None) -> bool:
    """Colours only on a terminal, and never when NO_COLOR is set to anything."""
    stream = stream or sys.stderr
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def console_filter(verbosity: int, steps: bool):  # type: ignore[no-untyped-def]
    """Which records reach the console."""

    def keep(record: dict[str, Any]) -> bool:
        name, level = record["name"] or "", record["level"].no
        if record["extra"].get("file_only"):
            return False
        if verbosity >= VERBOSE:
            return True
        if record["extra"].get("operator"):
            return verbosity > QUIET or level >= 40
        detail = name.startswith(DETAIL)
        if level >= 40:
            return not name.startswith(REPORTED_LATER) and (not detail or steps)
        if verbosity <= QUIET:
            return False
        if level >= 30:
            return not detail or steps
        return steps and level >= 20

    return keep


def setup(
    *, verbose: bool | int = False, quiet: bool = False, steps: bool = False,
    log_file: Path | None = None, rotation: str = "10 MB",
) -> None:  # fmt: skip
    verbosity = VERBOSE if verbose else QUIET if quiet else NORMAL
    logger.remove()
    logger.configure(patcher=_redact)
    logger.add(
        lambda line: sys.stderr.write(REDACTOR.redact(str(line))),
        level="DEBUG", format=_console_format, colorize=colour_wanted(),
        filter=console_filter(verbosity, steps), backtrace=False, diagnose=False,
    )  # fmt: skip
    if log_file:
        add_file(log_file, rotation=rotation)


def _console_format(record: dict[str, Any]) -> str:
    return (OPERATOR_FORMAT if record["extra"].get("operator") else CONSOLE_FORMAT) + "\n{exception}"


def operator(message: str, *args: Any, problem: bool = False) -> None:
    """A line for the person watching (the night's « 3/9 » lines): shown unless --quiet; a `problem` (a structure
    that failed) is shown with --quiet too, so that a cron job run with -q mails it."""
    logger.bind(operator=True).opt(depth=1).log("ERROR" if problem else "INFO", message, *args)


def add_file(path: Path, *, rotation: str | None = None) -> int:
    """A private log file; its lines redacted (and named by their run) even when no command called `setup`:
    a job run from Python, as the tests do."""
    private_folder(path.parent)
    logger.configure(patcher=_redact)
    return logger.add(
        str(path), level="DEBUG", format=FILE_FORMAT, rotation=rotation, retention=10,
        backtrace=False, diagnose=False, encoding="utf-8", opener=private_opener,
    )  # fmt: skip

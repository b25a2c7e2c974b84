"""Logging with loguru: every secret value the run knows is replaced before a line is written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from loguru import logger

from robots.secrets import REDACTOR

CONSOLE_FORMAT = "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> {message}"
FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} {level: <7} {extra[run]} {message}"


def _redact(record: dict[str, Any]) -> None:
    record["message"] = REDACTOR.redact(record["message"])
    record["extra"].setdefault("run", "-")


def setup(*, verbose: bool = False, log_file: Path | None = None, rotation: str = "10 MB") -> None:
    logger.remove()
    logger.configure(patcher=_redact)
    logger.add(
        lambda line: sys.stderr.write(REDACTOR.redact(str(line))),
        level="DEBUG" if verbose else "INFO", format=CONSOLE_FORMAT, colorize=sys.stderr.isatty(),
        backtrace=False, diagnose=False,
    )  # fmt: skip
    if log_file:
        add_file(log_file, rotation=rotation)


def add_file(path: Path, *, rotation: str | None = None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return logger.add(
        str(path), level="DEBUG", format=FILE_FORMAT, rotation=rotation, retention=10,
        backtrace=False, diagnose=False, encoding="utf-8",
    )  # fmt: skip

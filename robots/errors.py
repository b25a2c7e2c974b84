"""The errors a user can meet, each with the exit code the command returns for it."""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_FORBIDDEN_CHARACTERS = 3
EXIT_LOCKED = 4

# Named kinds of failure (StepFailed.kind, Outcome.error_kind): robots/error_kinds.py says what each means.
LOGIN_REFUSED = "login_refused"  # credentials refused
ACCOUNT_LOCKED = "account_locked"
SECOND_FACTOR = "second_factor"
SCREEN_NOT_RECOGNISED = "screen_not_recognised"
PORTAL_UNAVAILABLE = "portal_unavailable"
SESSION_EXPIRED = "session_expired"
PORTAL_REFUSED = "portal_refused"  # the portal refused the input
NOT_IN_TABLE = "not_in_table"  # the row sought is on none of the table's pages: a structure the account lacks
DELIVERY_FAILED = "delivery_failed"
BAD_INPUT = "bad_input"
FORBIDDEN_CHARACTERS = "forbidden_characters"
LOCKED = "locked"  # another run holds the lock
STORAGE_FAILED = "storage_failed"  # the journal's, the vault's or another written file's disk full or read-only
INTERNAL = "internal"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located at a file and line."""

    file: Path | str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        return f"{where}: {self.message}"


class RobotError(Exception):
    """Base class: a message meant for a person, and an exit code."""

    exit_code = EXIT_FAILURE


class BadInput(RobotError):
    """A flow, catalogue, roster, setting or argument is wrong: nothing was done."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = problems or []
        details = "".join(f"\n  {p}" for p in self.problems)
        super().__init__(message + details)


class StepFailed(RobotError):
    """A step could not be carried out on the portal."""

    def __init__(
        self,
        message: str,
        *,
        step_label: str = "",
        screen_seen: str | None = None,
        screenshot: Path | None = None,
        exit_code: int = EXIT_FAILURE,
        kind: str | None = None,
    ) -> None:
        self.reason = message
        self.kind = kind  # a named kind (above; robots/error_kinds.py), when known
        self.step_label = step_label
        self.screen_seen = screen_seen
        self.screenshot = screenshot
        self.exit_code = exit_code
        super().__init__(message)

    def __str__(self) -> str:
        parts = [f"Étape « {self.step_label} » : {self.reason}" if self.step_label else self.reason]
        if self.screen_seen:
            parts.append(f"écran vu : {self.screen_seen}")
        if self.screenshot:
            parts.append(f"capture : {self.screenshot}")
        return " — ".join(parts)


class StorageFailed(RobotError):
    """A disk the robot writes to (journal, vault, rescue folder, report) is full, read-only or failing. The
    message says where every password generated so far is."""

    exit_code = EXIT_FAILURE


# What a full, read-only or failing disk raises: OSError errnos, SQLite's error names (prefixes).
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO}
_STORAGE_SQLITE = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_CANTOPEN")


def is_storage_failure(exc: BaseException) -> bool:
    """A disk full, read-only or failing, whoever met it (an OSError, SQLite)."""
    if isinstance(exc, OSError):
        return exc.errno in _STORAGE_ERRNOS
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        return name.startswith(_STORAGE_SQLITE) or "disk is full" in str(exc) or "readonly" in str(exc)
    return False


def storage_reason(exc: BaseException) -> str:
    """The words of the system for a storage failure: « No space left on device », « database or disk is full »."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


class RunStopped(RobotError):
    """The person replaying the flow asked to stop."""

    exit_code = EXIT_FAILURE

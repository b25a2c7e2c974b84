"""The errors a user can meet: every exception class, its exit code, the named kinds of failure and what each
means (the night operator's guide, docs/night-operator.md « When a run fails », lists them: a test keeps the two in
step)."""

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

# Named kinds of failure (StepFailed.kind, a report's error_kind): KINDS below says what each means.
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
        self.kind = kind  # a named kind (above; KINDS), when known
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


class Locked(RobotError):
    """Another run holds the lock."""

    exit_code = EXIT_LOCKED


class NoMessage(RobotError):
    """No message came in time."""


class VaultError(BadInput):
    """The vault cannot be read or written: the file is left as it was."""


class VaultWriteFailed(VaultError, StorageFailed):
    """The vault's disk is full, read-only or failing: the file is left as it was (exit 1, not bad input)."""

    exit_code = EXIT_FAILURE


class JournalError(BadInput):
    """The journal cannot be opened: the file is left as it was."""


class JournalWriteFailed(StorageFailed):
    """The journal's disk is full, read-only or failing: what was being written is not in the journal."""


class PasswordNotInVault(StorageFailed):
    """The new password is in the journal, but the vault could not take it."""


class PasswordAtRisk(StorageFailed):
    """Neither the journal nor the vault could keep a password the portal generated: stop resetting."""


class NowhereToKeep(StorageFailed):
    """The journal cannot be written and the vault has no room: no reset is started (nothing generated)."""


class SealedPage(RobotError):
    """The structure's last password was not read: a person must look before anything else is done."""


class DeliveryFailed(RobotError):
    """A delivery (e-mail, hook) did not go through; it stays pending and is retried by the next run."""

    kind = DELIVERY_FAILED


class TokenUnavailable(RobotError):
    """No PISTE token for the API check: the new password stays unchecked (« vérification API impossible »)."""


class LoginFailed(RobotError):
    """An account's login failed (`kind`: login_refused, account_locked, second_factor…): its structures are not
    reached this run; a refused or locked account is not tried again (the portal locks after 5 failures)."""

    def __init__(self, reason: str, kind: str | None = None) -> None:
        self.reason, self.kind = reason, kind
        super().__init__(reason)


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


# ---------------------------------------------------------------- the kinds of failure


@dataclass(frozen=True)
class ErrorKind:
    name: str
    label: str  # French, what messages and reports say first
    exit_code: int
    meaning: str
    todo: str


KINDS: dict[str, ErrorKind] = {
    kind.name: kind
    for kind in (
        ErrorKind(LOGIN_REFUSED, "identifiants refusés", EXIT_FAILURE,
                  "the portal refused the account's login, password or second-factor code",
                  "fix the account's credentials (roster `login_env`/`password_env`, its second factor); the account "
                  "was tried once only this run"),
        ErrorKind(ACCOUNT_LOCKED, "compte bloqué", EXIT_FAILURE,
                  "the portal says the account is locked (5 failed logins lock it for an hour)",
                  "wait for the hour (or ask the support), fix the credentials, run again"),
        ErrorKind(SECOND_FACTOR, "second facteur impossible", EXIT_FAILURE,
                  "no second-factor code could be given (mailbox empty, no authenticator secret, nobody to ask)",
                  "check the account's `second_factor`, `mailbox` or `totp_env`"),
        ErrorKind(SCREEN_NOT_RECOGNISED, "écran non reconnu", EXIT_FAILURE,
                  "the portal showed a screen the catalogue does not know, or an element was missing",
                  "look at the screenshot; if the portal changed, `chorus-robot probe SCREEN` and fix selectors/"),
        ErrorKind(PORTAL_UNAVAILABLE, "portail indisponible", EXIT_FAILURE,
                  "a 5xx answer, the portal's « erreur technique » page, a timeout or the network, still there "
                  "after the retries; or that portal is down",
                  "nothing: the next run tries again (check the portal's status page if it lasts)"),
        ErrorKind(SESSION_EXPIRED, "session expirée", EXIT_FAILURE,
                  "the portal kept ending the session (login screen instead of the page) beyond the retries",
                  "nothing if rare; the next run tries again"),
        ErrorKind(NOT_IN_TABLE, "absente du tableau", EXIT_FAILURE,
                  "the row sought (a structure in « Mes structures ») is on none of the table's pages: the account "
                  "does not manage that structure, or the identifiant is wrong",
                  "check the SIRET and the account the roster names for it; on the portal, the structure's "
                  "gestionnaire principal can attach the account"),
        ErrorKind(PORTAL_REFUSED, "refusé par le portail", EXIT_FAILURE,
                  "the portal refused the input or the action (its message is quoted), or a named case: "
                  "structure or technical user inactive, no technical user, not gestionnaire principal",
                  "read the portal's message; fix the data or the rights on the portal"),
        ErrorKind(DELIVERY_FAILED, "livraison en échec", EXIT_FAILURE,
                  "the new password is in the journal and the vault but an e-mail or hook delivery failed",
                  "fix the SMTP server or the hook; the next run delivers again. Do not reset by hand"),
        ErrorKind(BAD_INPUT, "entrée invalide", EXIT_BAD_INPUT,
                  "a roster, flow, catalogue, configuration, argument, vault or journal is wrong; nothing was done",
                  "fix the file named at the line named"),
        ErrorKind(FORBIDDEN_CHARACTERS, "caractère interdit", EXIT_FORBIDDEN_CHARACTERS,
                  "every password of the allowed resets held a forbidden character; the last one is in the vault",
                  "nothing: it is not delivered, the next run resets again"),
        ErrorKind(LOCKED, "exécution déjà en cours", EXIT_LOCKED,
                  "another run holds the lock (its pid, host and start time are named)",
                  "wait for it, or see whether it hung"),
        ErrorKind(STORAGE_FAILED, "stockage en échec", EXIT_FAILURE,
                  "the disk of the journal, the vault or another file the robot writes is full, read-only or failing; "
                  "the message says where every password generated so far is (vault, journal or rescue file, named)",
                  "free space or make the disk writable, then run again; a password in a rescue file: put it where "
                  "it belongs, then delete the file. Do not reset by hand"),
        ErrorKind(INTERNAL, "erreur interne", EXIT_FAILURE,
                  "a fault of the robot itself (its traceback is in the log file)",
                  "report it with the log; the other structures went on"),
    )
}  # fmt: skip


def kind_of(exc: BaseException) -> str:
    """The kind of an error a run ends with."""
    if isinstance(exc, StorageFailed):
        return STORAGE_FAILED
    if isinstance(exc, StepFailed):
        if exc.kind:
            return exc.kind
        return FORBIDDEN_CHARACTERS if exc.exit_code == EXIT_FORBIDDEN_CHARACTERS else SCREEN_NOT_RECOGNISED
    if isinstance(exc, BadInput):
        return BAD_INPUT
    if isinstance(exc, Locked):
        return LOCKED
    if is_storage_failure(exc):
        return STORAGE_FAILED
    if isinstance(exc, RobotError):
        return PORTAL_REFUSED if exc.exit_code == EXIT_FAILURE else BAD_INPUT
    return INTERNAL


def labelled(kind: str | None, message: str) -> str:
    """« portail indisponible : … » — the kind's words first, once."""
    found = KINDS.get(kind or "")
    if found is None or message.startswith(found.label):
        return message
    return f"{found.label} : {message}"


def readme_table() -> str:
    """The table of « When a run fails » in the night operator's guide (docs/night-operator.md)."""
    lines = ["| kind (`error_kind`) | what it means | exit code | what to do |", "|---|---|---:|---|"]
    for kind in KINDS.values():
        lines.append(f"| `{kind.name}` « {kind.label} » | {kind.meaning} | {kind.exit_code} | {kind.todo} |")
    return "\n".join(lines)

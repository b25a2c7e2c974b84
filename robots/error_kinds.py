"""The named kinds of failure: what each means, its exit code, what to do — for messages, reports and the guides.

Every failure a person reads falls into one of these kinds (`StepFailed.kind`, the report's `error_kind`); the
night operator's guide (docs/night-operator.md, « When a run fails ») lists them in a table (a test keeps the
two in step).
"""

from __future__ import annotations

from dataclasses import dataclass

from robots import errors as e
from robots.errors import BadInput, RobotError, StepFailed, StorageFailed


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
        ErrorKind(e.LOGIN_REFUSED, "identifiants refusés", e.EXIT_FAILURE,
                  "the portal refused the account's login, password or second-factor code",
                  "fix the account's credentials (roster `login_env`/`password_env`, its second factor); the account "
                  "was tried once only this run"),
        ErrorKind(e.ACCOUNT_LOCKED, "compte bloqué", e.EXIT_FAILURE,
                  "the portal says the account is locked (5 failed logins lock it for an hour)",
                  "wait for the hour (or ask the support), fix the credentials, run again"),
        ErrorKind(e.SECOND_FACTOR, "second facteur impossible", e.EXIT_FAILURE,
                  "no second-factor code could be given (mailbox empty, no authenticator secret, nobody to ask)",
                  "check the account's `second_factor`, `mailbox` or `totp_env`"),
        ErrorKind(e.SCREEN_NOT_RECOGNISED, "écran non reconnu", e.EXIT_FAILURE,
                  "the portal showed a screen the catalogue does not know, or an element was missing",
                  "look at the screenshot; if the portal changed, `chorus-robot probe SCREEN` and fix selectors/"),
        ErrorKind(e.PORTAL_UNAVAILABLE, "portail indisponible", e.EXIT_FAILURE,
                  "a 5xx answer, the portal's « erreur technique » page, a timeout or the network, still there "
                  "after the retries; or that portal is down",
                  "nothing: the next run tries again (check the portal's status page if it lasts)"),
        ErrorKind(e.SESSION_EXPIRED, "session expirée", e.EXIT_FAILURE,
                  "the portal kept ending the session (login screen instead of the page) beyond the retries",
                  "nothing if rare; the next run tries again"),
        ErrorKind(e.NOT_IN_TABLE, "absente du tableau", e.EXIT_FAILURE,
                  "the row sought (a structure in « Mes structures ») is on none of the table's pages: the account "
                  "does not manage that structure, or the identifiant is wrong",
                  "check the SIRET and the account the roster names for it; on the portal, the structure's "
                  "gestionnaire principal can attach the account"),
        ErrorKind(e.PORTAL_REFUSED, "refusé par le portail", e.EXIT_FAILURE,
                  "the portal refused the input or the action (its message is quoted), or a named case: "
                  "structure or technical user inactive, no technical user, not gestionnaire principal",
                  "read the portal's message; fix the data or the rights on the portal"),
        ErrorKind(e.DELIVERY_FAILED, "livraison en échec", e.EXIT_FAILURE,
                  "the new password is in the journal and the vault but an e-mail or hook delivery failed",
                  "fix the SMTP server or the hook; the next run delivers again. Do not reset by hand"),
        ErrorKind(e.BAD_INPUT, "entrée invalide", e.EXIT_BAD_INPUT,
                  "a roster, flow, catalogue, configuration, argument, vault or journal is wrong; nothing was done",
                  "fix the file named at the line named"),
        ErrorKind(e.FORBIDDEN_CHARACTERS, "caractère interdit", e.EXIT_FORBIDDEN_CHARACTERS,
                  "every password of the allowed resets held a forbidden character; the last one is in the vault",
                  "nothing: it is not delivered, the next run resets again"),
        ErrorKind(e.LOCKED, "exécution déjà en cours", e.EXIT_LOCKED,
                  "another run holds the lock (its pid, host and start time are named)",
                  "wait for it, or see whether it hung"),
        ErrorKind(e.STORAGE_FAILED, "stockage en échec", e.EXIT_FAILURE,
                  "the disk of the journal, the vault or another file the robot writes is full, read-only or failing; "
                  "the message says where every password generated so far is (vault, journal or rescue file, named)",
                  "free space or make the disk writable, then run again; a password in a rescue file: put it where "
                  "it belongs, then delete the file. Do not reset by hand"),
        ErrorKind(e.INTERNAL, "erreur interne", e.EXIT_FAILURE,
                  "a fault of the robot itself (its traceback is in the log file)",
                  "report it with the log; the other structures went on"),
    )
}  # fmt: skip


def kind_of(exc: BaseException) -> str:
    """The kind of an error a run ends with."""
    from robots.store.lock import Locked

    if isinstance(exc, StorageFailed):
        return e.STORAGE_FAILED
    if isinstance(exc, StepFailed):
        if exc.kind:
            return exc.kind
        return e.FORBIDDEN_CHARACTERS if exc.exit_code == e.EXIT_FORBIDDEN_CHARACTERS else e.SCREEN_NOT_RECOGNISED
    if isinstance(exc, BadInput):
        return e.BAD_INPUT
    if isinstance(exc, Locked):
        return e.LOCKED
    if e.is_storage_failure(exc):
        return e.STORAGE_FAILED
    if isinstance(exc, RobotError):
        return e.PORTAL_REFUSED if exc.exit_code == e.EXIT_FAILURE else e.BAD_INPUT
    return e.INTERNAL


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

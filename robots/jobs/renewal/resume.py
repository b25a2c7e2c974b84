"""The nightly job rides through a flaky portal: logs in again, goes on from the structure where it was, and
never repeats a reset blindly.

Step by step, robots/engine/ride_through.py already runs again what is safe to repeat (navigation, reads). What it
cannot repeat ends here, with its kind:
- an expired session, or a fault the step could not ride through: the account logs in again (through the
  LoginGate: one login at a time, never after a refusal, at most MAX_UNSUCCESSFUL_LOGINS in a row) and the
  structure is done again from its start — the structure is read again before anything is decided;
- around a reset, the journal says how far the last attempt went: nothing changed on the portal (go on as
  usual); « Confirmer » clicked but no password read (the reset may have happened: its password is unknown
  either way, so the structure is reset again, whatever its expiry now says); a password read and journaled
  (no reset again: the structure is read for its new expiry, then the API check and the deliveries); a
  password held for a forbidden character (reset again); a password shown but never submitted (forgotten:
  the old one still works); « Soumettre » clicked (the structure's expiry, read again, says whether the
  password shown is now the account's);
- a portal down: after the logins allowed, the account stops for the run with « portail indisponible »; its
  structures fail clearly, the others go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loguru import logger

from robots.errors import (
    DELIVERY_FAILED,
    PORTAL_REFUSED,
    PORTAL_UNAVAILABLE,
    SCREEN_NOT_RECOGNISED,
    SESSION_EXPIRED,
    StepFailed,
    labelled,
)
from robots.jobs.renewal.logins import MAX_UNSUCCESSFUL_LOGINS, STOPPING_KINDS
from robots.jobs.renewal.plan import LOGIN_FLOW, READ_FLOW
from robots.jobs.renewal.report import FAILED, Outcome
from robots.secrets import REDACTOR

if TYPE_CHECKING:
    from robots.engine.runner import Runner
    from robots.jobs.renewal.account_session import AccountSession

RIDDEN = (PORTAL_UNAVAILABLE, SESSION_EXPIRED)
STRUCTURE_TRIES = 3  # a structure is taken up again at most this many times after faults (a login each)
_RESET_EVENTS = ("reset_requested", "reset_submitted", "password_captured")


def log_in(session: AccountSession, runner: Runner) -> None:
    """The account's login flow; after a fault of the portal, again from a clean slate (cookies cleared),
    at most MAX_UNSUCCESSFUL_LOGINS in a row. The caller holds the account's login lock."""
    gate, name = session.shared.logins, session.account.name
    while True:
        try:
            runner.run(LOGIN_FLOW, session.scope())
        except StepFailed as exc:
            if exc.kind in STOPPING_KINDS or exc.kind == PORTAL_REFUSED:
                raise  # the portal refused, or the flow decided (a first connection): not again
            count = gate.unsuccessful(name)  # a fault, or a screen seen mid-way: again, within the budget
            if count >= MAX_UNSUCCESSFUL_LOGINS:
                kind = exc.kind or SCREEN_NOT_RECOGNISED
                reason = labelled(kind, f"connexion du compte « {name} » impossible après {count} essais : "
                                  f"{exc.reason}")  # fmt: skip
                gate.stop(name, REDACTOR.redact(reason), kind)
                raise StepFailed(reason, kind=kind) from None
            delay = runner.retry.delay(count)
            logger.warning("Connexion du compte « {} » interrompue ({}) : nouvel essai dans {:.1f} s ({}/{})", name,
                           exc.reason, delay, count + 1, MAX_UNSUCCESSFUL_LOGINS)  # fmt: skip
            runner.page.context.clear_cookies()
            runner.kept_pages.clear()
            session.shared.pool.pause(delay)
            continue
        gate.succeeded(name)
        return


def renew_riding_through(session: AccountSession, outcome: Outcome) -> None:
    """One structure, taken up again after an expired session or a fault, from what the journal says."""
    journal, identifiant = session.shared.journal, outcome.identifiant
    body = session._renew
    for tries in range(STRUCTURE_TRIES + 1):
        mark = _last_event(journal, identifiant)
        before = outcome.old_expiry
        try:
            body(outcome)
            read_again = outcome.action != FAILED  # FAILED: a sealed page stopped it before the structure was read
            if tries and body == session._renew and identifiant in session.shared.forced and before and read_again:
                _tell_doubt_outcome(outcome, before)
            return
        except StepFailed as exc:
            if exc.kind not in RIDDEN or tries == STRUCTURE_TRIES:
                raise
            logger.warning("  {} : {} — reconnexion, puis la structure est relue avant de décider", identifiant,
                           REDACTOR.redact(str(exc)))  # fmt: skip
            session.close()  # the next step logs in again
            journal.best_effort(journal.event, session.shared.run_id, session.account.name, identifiant,
                                "taken_up_again", exc.kind or "")  # fmt: skip
            body = _next_step(session, outcome, mark)


def _next_step(session: AccountSession, outcome: Outcome, mark: int) -> Any:
    """What to do after a failed attempt, from what the journal holds since it began."""
    journal, sink, identifiant = session.shared.journal, session.sink, outcome.identifiant
    events = [e["event"] for e in journal.events(identifiant) if e["id"] > mark]
    last = next((e for e in reversed(events) if e in _RESET_EVENTS), None)
    if last is None:
        return session._renew  # nothing changed on the portal
    if last == "reset_requested":
        return _force(session, outcome, "doute : « Confirmer » cliqué sans mot de passe lu ; réinitialisée à nouveau")
    credential_id = sink.latest.get(identifiant)
    statuses = {d.status for d in journal.deliveries(credential_id)} if credential_id else set()
    if last == "reset_submitted":
        return lambda o: _after_submit(session, o, credential_id)
    if "held" in statuses:
        return _force(session, outcome, "le dernier mot de passe relevé contient un caractère interdit")
    if statuses == {"shown"} and credential_id:
        journal.abandon(credential_id, "formulaire jamais soumis")
        sink.shown.discard(identifiant)
        return session._renew  # the old password still works
    return lambda o: _finish_known(session, o)


def _force(session: AccountSession, outcome: Outcome, reason: str) -> Any:
    logger.warning("  {} : {}", outcome.identifiant, reason)
    session.shared.forced[outcome.identifiant] = reason
    return session._renew


def _tell_doubt_outcome(outcome: Outcome, before: str) -> None:
    happened = outcome.old_expiry != before
    logger.warning("  {} : relue après le doute : la réinitialisation précédente {}", outcome.identifiant,
                   "avait eu lieu (expiration changée), son mot de passe jamais lu est perdu" if happened
                   else "n'avait pas eu lieu (expiration inchangée)")  # fmt: skip


def _reread(session: AccountSession, outcome: Outcome) -> None:
    read = session.logged_in().run(READ_FLOW, session.scope(structure=outcome.identifiant)).scope
    outcome.technical_login = read.get("technical_login") or outcome.technical_login
    outcome.new_expiry = read.get("old_expiry")


def _finish_known(session: AccountSession, outcome: Outcome) -> None:
    """The password was read and journaled: no reset again; its new expiry read, then check and deliver."""
    logger.info("  {} : le mot de passe est au journal : pas de nouvelle réinitialisation", outcome.identifiant)
    _reread(session, outcome)
    outcome.attempts = session.sink.captures.get(outcome.identifiant, 0)
    if outcome.new_expiry:
        session.sink.store(outcome.identifiant, {"expires_at": outcome.new_expiry})
    session._after_reset(outcome)


def _after_submit(session: AccountSession, outcome: Outcome, credential_id: int | None) -> None:
    """« Soumettre » clicked, no confirmation seen: the expiry, read again, says whether it was taken."""
    before = outcome.old_expiry
    _reread(session, outcome)
    password = session.sink.passwords.get(outcome.identifiant)
    if credential_id and password and outcome.new_expiry and outcome.new_expiry != before:
        session.sink.store(outcome.identifiant, {"login": outcome.technical_login, "password": password})
        _finish_known(session, outcome)
        return
    if credential_id:
        session.shared.journal.abandon(credential_id, "soumission non prise par le portail")
    _force(session, outcome, "« Soumettre » non pris par le portail : réinitialisée à nouveau")
    session._renew(outcome)


def name_failure(outcome: Outcome) -> None:
    """Every failed structure says its kind, and its message starts with the kind's words."""
    if not outcome.failed:
        return
    if outcome.error_kind is None:
        outcome.error_kind = DELIVERY_FAILED if outcome.failed_targets and not outcome.error else PORTAL_REFUSED
    if outcome.error:
        outcome.error = labelled(outcome.error_kind, outcome.error)


def _last_event(journal: Any, identifiant: str) -> int:
    row = journal.db.execute("SELECT MAX(id) FROM events WHERE identifiant = ?", (identifiant,)).fetchone()
    return int(row[0] or 0)

"""One account's session in `chorus-robot renew`: one browser context, one login, then for each structure:
read the technical user and its expiry, decide, reset (« / » rule included) with the journal as credential
sink, check the new password through the API (and that the old one is refused), then deliver. Within a
session, « Mes structures » stays open in a tab of its own on the page being worked through (Runner
`table_tabs`), so a structure costs the same wherever it stands in the table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from typing import TYPE_CHECKING, Any

from loguru import logger
from playwright.sync_api import Browser, BrowserContext

from robots.browser.garbage import collect_garbage_in_each_page
from robots.browser.pool import FRESH_TAB_EVERY, OVERDUE_TABS_AFTER, block_unread_resources
from robots.browser.portal_context import NIGHT_VIEWPORT, new_portal_context
from robots.engine.runner import Runner, runner_on
from robots.errors import INTERNAL, STORAGE_FAILED, LoginFailed, RobotError, RunStopped, StepFailed, kind_of, labelled
from robots.integrations import second_factor
from robots.jobs.renewal import resume
from robots.jobs.renewal.delivery import NewPassword, target_of
from robots.jobs.renewal.handover import api_check, api_detail, api_problem, deliver_open, deliver_untracked
from robots.jobs.renewal.logins import STOPPING_KINDS, SharedLogin, share_login, take_shared_login
from robots.jobs.renewal.plan import ALL_STRUCTURES, LIST_FLOW, READ_FLOW, RESET_FLOW, Unit, split
from robots.jobs.renewal.report import DRY_RUN, FAILED, RENEWED, SKIPPED, Outcome, days_until
from robots.jobs.renewal.roster import Account, code_source
from robots.language.catalogue import Catalogue
from robots.secrets import REDACTOR, SecretProvider
from robots.store.crash_points import crash_point
from robots.store.journal import Credential
from robots.store.sealed import waiting_message
from robots.store.sink import Expected, JournalSink
from robots.store.vault import now_iso

if TYPE_CHECKING:
    from robots.jobs.renewal.pool import Shared


def unreached(
    shared: Shared, account: str, identifiants: list[str] | None, error: str, kind: str | None = None
) -> list[Outcome]:
    """A failure for each structure an account could not reach (login refused, browser gone, run stopped): those
    the roster names or, for `structures: all`, those the journal knows for the account — each with its expiry, so
    that one expiring soon stays URGENT in every report; « (toutes) » only when nothing is known of the account."""
    known = {row["identifiant"]: row for row in shared.journal.structures() if row["account"] == account}
    outcomes = []
    for identifiant in identifiants if identifiants is not None else (list(known) or [ALL_STRUCTURES]):
        row = known.get(identifiant, {})
        outcome = Outcome(
            account, identifiant, FAILED, error=error, error_kind=kind, raison_sociale=row.get("raison_sociale") or "",
            technical_login=row.get("technical_login"), old_expiry=row.get("expires_at"),
            days_left=days_until(row.get("expires_at")),
        )  # fmt: skip
        if identifiant != ALL_STRUCTURES:
            shared.journal.note_structure(identifiant, account, last_run_id=shared.run_id, last_action=FAILED,
                                          last_error=error)  # fmt: skip
        outcomes.append(outcome)
    return outcomes


class AccountSession:
    """One browser context logged in to one account, reused across its structures."""

    def __init__(self, shared: Shared, browser: Browser, account: Account) -> None:
        self.shared = shared
        self.plan = shared.plan
        self.browser = browser
        self.account = account
        self.context: BrowserContext | None = None
        self.runner: Runner | None = None
        self.sink = JournalSink(
            shared.journal, self.plan.vault, shared.run_id, self.plan.config.settings.forbidden_characters,
            where=shared.kept,
        )  # fmt: skip
        self.catalogue = Catalogue.load(self.plan.catalogue_folder)
        self.new_tabs_seen = self.since_new_tabs = 0  # Runner.new_tabs: how many the runner opened, structures since

    def process(self, unit: Unit) -> None:
        with logger.contextualize(run=f"renew#{self.shared.run_id} {self.account.name}"):
            identifiants, done = unit.identifiants, 0
            try:
                if identifiants is None:
                    identifiants = self._listed()
                for identifiant in identifiants:
                    self.shared.add(self.renew(identifiant))
                    done += 1
                    if done < len(identifiants):
                        self._tabs_after_structure()
            except RunStopped as exc:
                # The operator stopped the night in step mode: what was not done is reported, not lost.
                left = identifiants[done:] if identifiants is not None else None
                for outcome in unreached(self.shared, self.account.name, left, str(exc)):
                    self.shared.add(outcome)
                raise
            except LoginFailed as exc:
                for outcome in unreached(self.shared, self.account.name, unit.identifiants, exc.reason, exc.kind):
                    self.shared.add(outcome)
            finally:
                self.close()

    # -------------------------------------------------------- browser and login

    def scope(self, **values: Any) -> dict[str, Any]:
        return {
            "entry": self.account.portal,
            "env": self.plan.environment.model_dump(),
            "settings": self.plan.config.settings.model_dump(mode="json"),
            **values,
        }

    def logged_in(self) -> Runner:
        if self.runner is not None:
            return self.runner
        stopped = self.shared.logins.stopped(self.account.name)
        if stopped:  # an earlier login of this account was refused: not one more attempt this run
            raise _login_failed(stopped.reason, stopped.kind)
        watched = bool(self.plan.options.observers)  # step mode, recordings: the viewport every command has
        self.context = new_portal_context(self.browser, **({} if watched else {"viewport": NIGHT_VIEWPORT}))
        if not watched:
            collect_garbage_in_each_page(self.context)
        if self.plan.config.settings.block_resources and not watched:
            block_unread_resources(self.context)
        runner = runner_on(
            self.context, self.catalogue, self.plan.config.settings,
            secrets=SecretProvider(self.account.secret_env(), sources=second_factor.sources(self._code_source())),
            sink=self.sink, failures_dir=self.plan.options.failures_dir, observers=self.plan.options.observers,
            table_tabs=True,  # « Mes structures » stays on its page while each structure opens aside
        )  # fmt: skip
        runner.addresses = self.shared.addresses.setdefault(self.account.name, {})  # the account's workers' notes
        gate, name = self.shared.logins, self.account.name
        seen = gate.shared_login(name)
        if seen is not None and self._took(runner, seen):
            self.runner = runner
            return runner
        try:
            with gate.attempt(name, self.shared.pool.pause):
                newer = gate.shared_login(name)  # logged in again while this worker waited (an expired session)
                if newer is not None and newer is not seen and self._took(runner, newer):
                    self.runner = runner
                    return runner
                logger.info("Connexion du compte « {} » ({})", name, self.account.portal)
                try:
                    resume.log_in(self, runner)  # again after a fault of the portal, within the lockout rule
                except StepFailed as exc:
                    if exc.kind in STOPPING_KINDS:  # never try again this run: the portal locks after 5
                        gate.stop(name, _stop_reason(exc), exc.kind)
                    raise
                # shared before the gate opens: a worker waiting at it takes this session, never logs in again
                share_login(gate, name, runner.page, self.catalogue, seen=runner.checked)
        except LoginFailed as exc:
            self.close()
            raise _login_failed(exc.reason, exc.kind) from None
        except RunStopped:
            self.close()
            raise
        except RobotError as exc:
            self.close()
            stopped = self.shared.logins.stopped(self.account.name)
            if stopped:
                raise _login_failed(stopped.reason, stopped.kind) from None
            kind = kind_of(exc)
            raise _login_failed(labelled(kind, f"connexion du compte « {self.account.name} » impossible : {exc}"),
                               kind) from None  # fmt: skip
        self.runner = runner
        crash_point("after-login")
        return runner

    def _took(self, runner: Runner, login: SharedLogin) -> bool:
        if not take_shared_login(runner.page, self.catalogue, login, runner.timeout_s):
            return False
        logger.info("Session du compte « {} » reprise (connecté dans un autre onglet)", self.account.name)
        return True

    def _code_source(self) -> second_factor.CodeSource | None:
        return code_source(self.account)

    def close(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                self.context.close()
        self.context, self.runner = None, None

    def _tabs_after_structure(self) -> None:
        """FRESH_TAB_EVERY structures after the last new tabs (a new renderer: memory back to its start), the next
        navigation by address opens them; overdue, now (robots/browser/pool.py). Not while observers watch the tab
        (step mode, recordings)."""
        runner = self.runner
        if runner is None or self.plan.options.observers:
            return
        if runner.new_tabs_opened != self.new_tabs_seen:  # opened during the structure (or a new login)
            self.new_tabs_seen, self.since_new_tabs = runner.new_tabs_opened, 0
        self.since_new_tabs += 1
        if self.since_new_tabs < FRESH_TAB_EVERY:
            return
        if self.since_new_tabs < FRESH_TAB_EVERY + OVERDUE_TABS_AFTER:
            runner.new_tabs_due = True
            return
        try:
            runner.new_tabs()
        except Exception as exc:  # noqa: BLE001 - the next structure logs in again in a new context
            logger.warning(
                "Nouvel onglet impossible ({}) : nouvelle connexion", REDACTOR.redact(str(exc)).splitlines()[0]
            )
            self.close()

    def _listed(self) -> list[str]:
        """`structures: all`: « Mes structures », this shard's part; the rest goes back to the queue."""
        try:
            result = self.logged_in().run(LIST_FLOW, self.scope())
        except (LoginFailed, RunStopped):
            raise
        except RobotError as exc:
            kind = exc.kind if isinstance(exc, StepFailed) else None
            raise _login_failed(
                labelled(kind, f"lecture de « Mes structures » du compte « {self.account.name} » : {exc}"), kind
            ) from None
        rows = result.scope.get("structures") or []
        identifiants = []
        for row in rows:
            identifiant = str(row.get("Identifiant structure", "")).strip()
            if self.plan.options.shard and not self.plan.options.shard.holds(identifiant):
                continue
            if str(row.get("Statut", "")).strip().upper() == "INACTIF":
                reason = "structure inactive"
                self.shared.add(Outcome(self.account.name, identifiant, SKIPPED, reason, row.get("Raison sociale", "")))
                continue
            identifiants.append(identifiant)
        logger.info("« Mes structures » du compte « {} » : {} structure(s)", self.account.name, len(identifiants))
        self.shared.listed(self.account.name, len(identifiants))
        jobs = self.plan.options.jobs
        size = self.shared.chunk_size or max(1, math.ceil(len(identifiants) / jobs))
        first, *rest = split(identifiants, size if jobs > 1 else 0)
        for part in rest:
            self.shared.units.put(Unit(self.account, part))
        return first

    # -------------------------------------------------------- one structure

    def renew(self, identifiant: str) -> Outcome:
        outcome = Outcome(self.account.name, identifiant)
        started = time.monotonic()
        logger.info("— Structure {} (compte « {} »)", identifiant, self.account.name)
        try:
            resume.renew_riding_through(self, outcome)  # faults of the portal, expired sessions, doubts
        except LoginFailed as exc:
            outcome.action, outcome.error, outcome.error_kind = FAILED, exc.reason, exc.kind
        except RunStopped:
            raise
        except RobotError as exc:
            outcome.action, outcome.error, outcome.error_kind = FAILED, REDACTOR.redact(str(exc)), kind_of(exc)
            self.close()  # the page may be anywhere: the next structure logs in again
        except Exception as exc:  # noqa: BLE001 - one structure's surprise must not stop the night
            outcome.action, outcome.error_kind = FAILED, INTERNAL
            outcome.error = f"erreur interne : {type(exc).__name__}: {REDACTOR.redact(str(exc)).splitlines()[0]}"
            logger.exception("structure {}", identifiant)
            self.close()
        resume.name_failure(outcome)
        outcome.duration_s = round(time.monotonic() - started, 1)
        self._note(outcome)
        return outcome

    def _renew(self, outcome: Outcome) -> None:
        seals = self.shared.journal.open_seals(outcome.identifiant)
        before = self.shared.journal.expiry_before_unread_reset(outcome.identifiant) if seals else None
        if seals and before is None:  # the last password is on a sealed page: nothing until a person has read it
            outcome.action, outcome.error = FAILED, waiting_message(outcome.identifiant, seals)
            return
        runner = self.logged_in()
        named = self.account.technical_login_of(outcome.identifiant)  # several technical accounts: which one
        read = runner.run(READ_FLOW, self.scope(structure=outcome.identifiant, technical_login=named)).scope
        outcome.raison_sociale = str((read.get("structure_row") or {}).get("Raison sociale", ""))
        self.plan.vault.describe(outcome.identifiant, raison_sociale=outcome.raison_sociale)
        outcome.technical_login = read.get("technical_login")
        outcome.old_expiry = read.get("old_expiry")
        outcome.days_left = days_until(outcome.old_expiry)
        self.shared.journal.best_effort(self.shared.journal.event, self.shared.run_id, self.account.name,
                                        outcome.identifiant, "expiry_read", str(outcome.old_expiry))  # fmt: skip
        if seals and not self._released_if_no_reset(outcome, seals, str(before)):
            return
        if self._settled_submission(outcome):
            return
        forced = self.shared.forced.get(outcome.identifiant)
        within = self.plan.options.within_days
        if not forced and outcome.days_left is not None and outcome.days_left > within:
            outcome.action, outcome.reason = SKIPPED, f"{_when(outcome.days_left)}, seuil {within} jours"
            self._heal_vault(outcome)
            return
        outcome.reason = forced or f"{_when(outcome.days_left)}, seuil {within} jours"
        if self.plan.options.dry_run:
            outcome.action = DRY_RUN
            return
        self._reset(outcome)

    def _reset(self, outcome: Outcome) -> None:
        identifiant = outcome.identifiant
        targets = [target_of(d) for d in self.account.deliveries_of(identifiant)]
        self.sink.expect(identifiant, Expected(self.account.name, targets))
        try:
            result = self.logged_in().run(
                RESET_FLOW, self.scope(structure=identifiant, technical_login=outcome.technical_login)
            )
        finally:
            outcome.attempts = self.sink.captures.get(identifiant, 0)
        outcome.new_expiry = result.scope.get("new_expiry")
        self._after_reset(outcome)

    def _released_if_no_reset(self, outcome: Outcome, seals: list[dict[str, Any]], before: str) -> bool:
        """A page sealed after « Confirmer » while the expiry, read again, is the one read before the request: the
        reset never happened, the page held no password of the account: its seal is released, the structure is
        decided as usual (True). Otherwise the seal stands (False, the structure waits for a person)."""
        identifiant = outcome.identifiant
        if not outcome.old_expiry or str(outcome.old_expiry) != before:
            outcome.action, outcome.error = FAILED, waiting_message(identifiant, seals)
            return False
        self.shared.journal.release_seals(identifiant)
        logger.warning("  {} : la réinitialisation demandée le {} n'avait pas eu lieu (expiration inchangée, {}) : "
                       "la page scellée n°{} ne tenait aucun mot de passe du compte ; scellé libéré", identifiant,
                       seals[0]["at"], before, ", ".join(str(s["id"]) for s in seals))  # fmt: skip
        return True

    def _after_reset(self, outcome: Outcome) -> None:
        """The new password is in the journal and the vault: API check, deliveries."""
        identifiant = outcome.identifiant
        if identifiant in self.sink.vault_only:
            self._after_reset_without_journal(outcome)
            return
        credential = self.shared.journal.credential(self.sink.latest[identifiant])
        credential = dataclasses.replace(credential, password=self.sink.passwords[identifiant])
        old = self.sink.old_password(identifiant, outcome.technical_login)
        api_url, piste = self.plan.environment.api_url, self.shared.piste
        outcome.api_check = self.shared.pool.offload(lambda: api_check(api_url, credential, old, piste))
        self.shared.journal.best_effort(self.shared.journal.event, self.shared.run_id, self.account.name,
                                        identifiant, "api_checked", api_detail(outcome.api_check))  # fmt: skip
        # Never held because of the check: the old password is already dead, the new one is the only one.
        outcome.deliveries = self.shared.pool.offload(
            lambda: deliver_open(self.shared.journal, self.shared.run_id, credential, self.plan.vault,
                                 outcome.raison_sociale)
        )  # fmt: skip
        outcome.action = RENEWED
        self._tell_journal_failure(outcome)
        api_error = api_problem(outcome.api_check)
        if api_error:
            outcome.action, outcome.error = FAILED, api_error + " (vérifié à nouveau plus tard)"
            with self.shared.lock:
                self.shared.rechecks.append((outcome, credential, old))
        logger.info("  {} : renouvelée, expire le {}", identifiant, outcome.new_expiry)

    def _after_reset_without_journal(self, outcome: Outcome) -> None:
        """The journal could not take the new password, the vault did: API check and deliveries straight away,
        untracked (the journal cannot say they are due): the report says which were made."""
        identifiant = outcome.identifiant
        credential = Credential(
            id=0, run_id=self.shared.run_id, account=self.account.name, identifiant=identifiant,
            login=outcome.technical_login, password=self.sink.passwords[identifiant], expires_at=outcome.new_expiry,
        )  # fmt: skip
        old = self.sink.old_password(identifiant, outcome.technical_login)
        api_url, piste = self.plan.environment.api_url, self.shared.piste
        outcome.api_check = self.shared.pool.offload(lambda: api_check(api_url, credential, old, piste))
        new = NewPassword(identifiant, credential.login or "", credential.password or "", outcome.new_expiry,
                          outcome.raison_sociale)  # fmt: skip
        targets = self.sink.expected[identifiant].targets
        outcome.deliveries = [{"target": "vault", "result": "done"}]
        outcome.deliveries += self.shared.pool.offload(lambda: deliver_untracked(targets, new, self.plan.vault))
        outcome.action = RENEWED
        self._tell_journal_failure(outcome)
        logger.info("  {} : renouvelée sans le journal, expire le {}", identifiant, outcome.new_expiry)

    def _tell_journal_failure(self, outcome: Outcome) -> None:
        """Renewed while the journal or the vault could not take everything: the structure's line says where its
        password is."""
        failure = self.shared.journal.failure or self.sink.vault_failures.get(outcome.identifiant)
        if failure is None:
            return
        where = self.sink.where.get(outcome.identifiant, f"dans le coffre {self.plan.vault.path}")
        outcome.error_kind = STORAGE_FAILED
        outcome.error = f"{failure} ; le nouveau mot de passe est {where}"
        if outcome.identifiant in self.sink.vault_failures:
            outcome.error += " ; la prochaine exécution le rangera dans le coffre"

    def _settled_submission(self, outcome: Outcome) -> bool:
        """Portail de services, after a run stopped while « Soumettre » was clicked: the expiry just read says
        whether the password shown then is the account's (kept, checked, delivered: True) or not (forgotten; the
        structure is decided as usual: False)."""
        doubt = None if self.plan.options.dry_run else self.shared.journal.submission_in_doubt(outcome.identifiant)
        if doubt is None or not outcome.old_expiry:  # unread now: the usual decision resets it (superseding)
            return False
        credential, before = doubt
        identifiant, now = outcome.identifiant, str(outcome.old_expiry)
        if before is not None and now == before:
            self.shared.journal.abandon(credential.id, f"« Soumettre » non pris par le portail (expiration {now})")
            logger.warning("  {} : reprise : expiration inchangée ({}) : le mot de passe affiché n'a jamais été celui "
                           "du compte ; oublié, l'ancien reste valable", identifiant, now)  # fmt: skip
            return False
        logger.warning("  {} : reprise : expiration {} → {} : « Soumettre » avait été pris, le mot de passe affiché "
                       "est celui du compte ; il est rangé et livré", identifiant, before, now)  # fmt: skip
        self.sink.expect(identifiant, Expected(self.account.name, []))
        self.sink.adopt(identifiant, credential)
        self.shared.journal.set_expiry(credential.id, now)
        outcome.new_expiry, outcome.old_expiry = outcome.old_expiry, before
        outcome.days_left = days_until(before)
        outcome.reason, outcome.attempts = "reprise : « Soumettre » pris avant l'arrêt de l'exécution précédente", 1
        self._after_reset(outcome)
        return True

    def _heal_vault(self, outcome: Outcome) -> None:
        """A structure not due: the vault's expiry follows the portal (when the vault knows this login)."""
        entry = self.plan.vault.get(outcome.identifiant)
        if self.plan.options.dry_run or not entry or entry.get("login") != outcome.technical_login:
            return
        if outcome.old_expiry and entry.get("expires_at") != outcome.old_expiry:
            self.plan.vault.put(outcome.identifiant, expires_at=outcome.old_expiry)

    def _note(self, outcome: Outcome) -> None:
        journal = self.shared.journal
        journal.best_effort(
            journal.note_structure, outcome.identifiant, self.account.name,
            raison_sociale=outcome.raison_sociale or None,
            technical_login=outcome.technical_login, expires_at=outcome.new_expiry or outcome.old_expiry,
            last_run_id=self.shared.run_id, last_action="failed" if outcome.failed else outcome.action,
            last_error=outcome.error or "", last_renewed=now_iso() if outcome.action == RENEWED else None,
        )  # fmt: skip
        if outcome.action == FAILED:
            journal.best_effort(journal.event, self.shared.run_id, self.account.name, outcome.identifiant, "failed",
                                outcome.error or "")  # fmt: skip


def _when(days_left: int | None) -> str:
    if days_left is None:
        return "expiration non lue"
    return f"expire dans {days_left} jours" if days_left >= 0 else f"expiré depuis {-days_left} jours"


def _stop_reason(exc: StepFailed) -> str:
    """The flows' messages say « connexion refusée par … » or « compte bloqué par … »."""
    return f"connexion interrompue : {exc.reason}" if exc.kind == "second_factor" else exc.reason


def _login_failed(reason: str, kind: str | None = None) -> LoginFailed:
    return LoginFailed(REDACTOR.redact(reason), kind)

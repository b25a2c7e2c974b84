"""`chorus-robot renew`: every structure of every account of the roster, renewed before it expires.

Per account (or chunk of a big account's structures): one browser context, one login, then for each
structure: read the technical user and its expiry, decide, reset (« / » rule included) with the
journal as credential sink, check the new password through the API (and that the old one is refused),
then deliver. Work units run in `jobs` workers sharing one Playwright and one Chromium, a browser
context each (robots/renewal/browsers.py says how and why). Within a session, « Mes structures » stays open in a tab
of its own on the page being worked through (Runner `table_tabs`), so a structure costs the same
wherever it stands in the table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import Browser, BrowserContext

from robots import second_factor
from robots.api_check import BAD_REQUEST, CLIENT_SECRET_ENV, PisteClient, check_technical_account
from robots.catalogue import Catalogue
from robots.config import PROJECT_ROOT, Config, Environment, load_config
from robots.crash_points import crash_point
from robots.error_kinds import kind_of, labelled
from robots.errors import INTERNAL, STORAGE_FAILED, BadInput, RobotError, RunStopped, StepFailed
from robots.flowfile import secret_variables
from robots.mailbox import PASSWORD_ENV as IMAP_PASSWORD_ENV
from robots.mailbox import open_mailbox
from robots.renewal import resume
from robots.renewal.browsers import (
    USEFUL_JOBS_PER_CPU,
    Cooperative,
    Sequential,
    block_unread_resources,
    one_browser,
    pool_for,
    useful_jobs,
)
from robots.renewal.delivery import DeliveryFailed, NewPassword, SmtpSettings, deliver, hide_variables, target_of
from robots.renewal.journal import OPEN_STATUSES, Credential, Journal
from robots.renewal.logins import STOPPING_KINDS, AccountStopped, LoginGate
from robots.renewal.report import DRY_RUN, FAILED, RENEWED, SKIPPED, Outcome, Recovered
from robots.renewal.roster import Account, Roster, load_roster, missing_credentials
from robots.renewal.sink import Expected, JournalSink
from robots.ride_through import RetryPolicy
from robots.runner import Runner, StepObserver
from robots.sealed import waiting_message
from robots.secrets import ENVIRON, REDACTOR, SecretProvider, withhold
from robots.session import BrowserOptions, new_portal_context
from robots.validation import require_valid
from robots.vault import Vault, now_iso

FLOWS = PROJECT_ROOT / "flows" / "common"
LOGIN_FLOW = FLOWS / "login.yaml"
LIST_FLOW = FLOWS / "list_structures.yaml"
READ_FLOW = FLOWS / "read_technical_user.yaml"
RESET_FLOW = FLOWS / "reset_until_clean.yaml"
FLOW_INPUTS = {
    LOGIN_FLOW: {"entry"},
    LIST_FLOW: set(),
    READ_FLOW: {"structure", "technical_login"},
    RESET_FLOW: {"structure", "technical_login"},
}
ALL_STRUCTURES = "(toutes)"


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, sep, count = text.partition("/")
        if not sep or not index.isdigit() or not count.isdigit() or not 1 <= int(index) <= int(count):
            raise BadInput(f"--shard « {text} » : K/N attendu avec 1 ≤ K ≤ N, p. ex. 2/4")
        return cls(int(index), int(count))

    def holds(self, identifiant: str) -> bool:
        digest = hashlib.sha256(identifiant.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class RenewOptions:
    roster_path: Path
    env_name: str = "mock"
    portal_url: str | None = None
    within_days: int = 30
    jobs: int = 1
    dry_run: bool = False
    shard: Shard | None = None
    browser: BrowserOptions = BrowserOptions()
    vault_path: Path | None = None
    failures_dir: Path = Path("recordings/failures")
    observers: list[StepObserver] = field(default_factory=list)
    api_recheck_delay_s: float | None = None  # None: settings.api_recheck_delay_s


@dataclass
class Plan:
    """Everything checked before a browser starts."""

    options: RenewOptions
    config: Config
    environment: Environment
    roster: Roster
    vault: Vault
    catalogue_folder: Path


def plan(options: RenewOptions) -> Plan:
    config = load_config()
    environment = config.environment(options.env_name, options.portal_url)
    roster = load_roster(options.roster_path)
    for account in roster.accounts:
        environment.check_entry(account.portal, options.env_name)
    missing = missing_credentials(roster)
    if missing:
        raise BadInput(
            f"registre {options.roster_path} : donnez la ou les variables"
            f" d'environnement {', '.join(missing)} (ou .env)"
        )
    hide_variables([a.password_env for a in roster.accounts] + [a.login_env for a in roster.accounts])
    hide_variables([a.totp_env for a in roster.accounts if a.totp_env] + [IMAP_PASSWORD_ENV, CLIENT_SECRET_ENV])
    for account in roster.accounts:
        if account.mailbox:
            open_mailbox(account.mailbox)  # a wrong URL is bad input, before anything runs
    for account in roster.accounts:  # redacted from the start, not only once its account logs in
        REDACTOR.add(ENVIRON.get(account.password_env))
        REDACTOR.add(ENVIRON.get(account.totp_env or ""))
    if roster.uses_email() and not options.dry_run:
        SmtpSettings.from_env()
    if options.jobs < 1:
        raise BadInput("--jobs vaut au moins 1")
    if options.jobs > useful_jobs():
        logger.warning(
            "--jobs {} : au-delà de {} ({} par processeur) les workers attendent le processeur au lieu du portail, "
            "la nuit n'en va pas plus vite (bench/renew_throughput.py)",
            options.jobs, useful_jobs(), USEFUL_JOBS_PER_CPU,
        )  # fmt: skip
    folder = config.resolve(config.settings.catalogue)
    catalogue = Catalogue.load(folder)
    for flow, known in FLOW_INPUTS.items():
        require_valid(flow, catalogue, known=known)
        withhold(secret_variables(flow))  # no child process sees them
    vault = config.vault(options.vault_path)
    vault.check()
    return Plan(options, config, environment, roster, vault, folder)


def days_until(expiry: str | None, now: datetime | None = None) -> int | None:
    """Whole days from now to an expiry read on the portal (its wall-clock time); negative once expired."""
    if not expiry:
        return None
    moment = datetime.fromisoformat(expiry).replace(tzinfo=None)
    return math.floor((moment - (now or datetime.now())).total_seconds() / 86400)


# ---------------------------------------------------------------- work units and the pool


@dataclass
class Unit:
    account: Account
    identifiants: list[str] | None  # None: list « Mes structures » first


@dataclass
class Shared:
    """What the workers share (greenlets of one thread, plus the threads `offload` uses; journal: a
    connection per thread)."""

    plan: Plan
    journal: Journal
    run_id: int
    forced: dict[str, str]  # identifiant → why it must be reset whatever its expiry
    chunk_size: int
    units: queue.Queue[Unit] = field(default_factory=queue.Queue)
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    browser_errors: list[str] = field(default_factory=list)
    logins: LoginGate = field(default_factory=LoginGate)
    rechecks: list[tuple[Outcome, Credential, str | None]] = field(default_factory=list)  # refused by the API
    # Where the last password of each structure reset this run is (the sinks' `where`), told when storage fails.
    kept: dict[str, str] = field(default_factory=dict)

    piste: PisteClient | None = None  # the API check's gateway client, one token for the run

    def __post_init__(self) -> None:
        self.piste = self.piste or PisteClient.from_env(self.plan.environment.piste_token_url)

    pool: Sequential | Cooperative = field(default_factory=Sequential)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def listed(self, account: str, count: int) -> None:
        """An account's « Mes structures » was read: `count` structures to do (the console's « i/N »)."""


def units_of(plan: Plan) -> tuple[list[Unit], int]:
    """The work units (chunks of at most chunk_size structures, one login each) and the chunk size."""
    shard = plan.options.shard
    listed: list[tuple[Account, list[str] | None]] = []
    for account in plan.roster.accounts:
        identifiants = account.listed()
        if identifiants is not None and shard:
            identifiants = [i for i in identifiants if shard.holds(i)]
        if identifiants != []:
            listed.append((account, identifiants))
    known = sum(len(ids) for _, ids in listed if ids is not None)
    unknown = sum(1 for _, ids in listed if ids is None)
    jobs = plan.options.jobs
    chunk = max(1, math.ceil(known / jobs)) if jobs > 1 and known else 10**9
    if jobs > 1 and not known and unknown:
        chunk = 0  # decided once « Mes structures » is read
    units = []
    for account, identifiants in listed:
        if identifiants is None:
            units.append(Unit(account, None))
        else:
            units.extend(Unit(account, part) for part in split(identifiants, chunk))
    return units, chunk


def split(items: list[str], size: int) -> list[list[str]]:
    if size <= 0:
        return [items]
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def run_pool(shared: Shared, units: list[Unit], browser: Browser | None) -> None:
    """The units, done by `jobs` workers sharing one browser (a context each): see robots/renewal/browsers.py."""
    for unit in units:
        shared.units.put(unit)
    grows = any(unit.identifiants is None for unit in units)  # `structures: all` is split once listed
    count = shared.plan.options.jobs if grows else min(shared.plan.options.jobs, len(units))
    if browser is not None:  # a caller's browser (tests)
        _run_workers(shared, browser, count)
        return
    try:
        with one_browser(shared.plan.options.browser) as own:
            _run_workers(shared, own, count)
    except Exception as exc:  # noqa: BLE001 - Chromium did not start: every unit left is reported below
        shared.browser_errors.append(_unavailable(exc))
    _fail_leftovers(shared)


def _run_workers(shared: Shared, browser: Browser, count: int) -> None:
    shared.pool = pool_for(browser, count)
    shared.pool.run([lambda: _guarded(shared, lambda: _work(shared, browser)) for _ in range(count)])


def _unavailable(exc: Exception) -> str:
    message = f"navigateur indisponible : {type(exc).__name__}: {REDACTOR.redact(str(exc)).splitlines()[0]}"
    logger.error("{}", message)
    return message


def _guarded(shared: Shared, work: Callable[[], None]) -> None:
    try:
        work()
    except RunStopped as exc:
        logger.warning("{}", exc)
        with shared.lock:
            shared.browser_errors.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - reported per structure below
        message = _unavailable(exc)
        with shared.lock:
            shared.browser_errors.append(message)


def _work(shared: Shared, browser: Browser) -> None:
    while True:
        try:
            unit = shared.units.get_nowait()
        except queue.Empty:
            if shared.units.unfinished_tasks == 0:
                return
            shared.pool.pause(0.2)  # another worker is listing « Mes structures »: its parts come next
            continue
        try:
            AccountSession(shared, browser, unit.account).process(unit)
        finally:
            shared.units.task_done()


def _fail_leftovers(shared: Shared) -> None:
    error = shared.browser_errors[0] if shared.browser_errors else "non traité"
    while True:
        try:
            unit = shared.units.get_nowait()
        except queue.Empty:
            return
        for outcome in unreached(shared, unit.account.name, unit.identifiants, error):
            shared.add(outcome)
        shared.units.task_done()


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


# ---------------------------------------------------------------- one account's session


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

    def process(self, unit: Unit) -> None:
        with logger.contextualize(run=f"renew#{self.shared.run_id} {self.account.name}"):
            identifiants, done = unit.identifiants, 0
            try:
                if identifiants is None:
                    identifiants = self._listed()
                for identifiant in identifiants:
                    self.shared.add(self.renew(identifiant))
                    done += 1
            except RunStopped as exc:
                # The operator stopped the night in step mode: what was not done is reported, not lost.
                left = identifiants[done:] if identifiants is not None else None
                for outcome in unreached(self.shared, self.account.name, left, str(exc)):
                    self.shared.add(outcome)
                raise
            except _LoginFailed as exc:
                for outcome in unreached(self.shared, self.account.name, unit.identifiants, exc.message, exc.kind):
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
            raise _LoginFailed(stopped.reason, stopped.kind)
        self.context = new_portal_context(self.browser)
        if self.plan.config.settings.block_resources and not self.plan.options.observers:
            block_unread_resources(self.context)
        runner = Runner(
            self.context.new_page(), self.catalogue,
            secrets=SecretProvider(self.account.secret_env(), sources=second_factor.sources(self._code_source())),
            sink=self.sink, timeout_s=self.plan.config.settings.timeout_s,
            retry=RetryPolicy.of(self.plan.config.settings),
            failures_dir=self.plan.options.failures_dir, observers=self.plan.options.observers,
            table_tabs=True,  # « Mes structures » stays on its page while each structure opens aside
        )  # fmt: skip
        logger.info("Connexion du compte « {} » ({})", self.account.name, self.account.portal)
        try:
            with self.shared.logins.attempt(self.account.name, self.shared.pool.pause):
                try:
                    resume.log_in(self, runner)  # again after a fault of the portal, within the lockout rule
                except StepFailed as exc:
                    if exc.kind in STOPPING_KINDS:  # never try again this run: the portal locks after 5
                        self.shared.logins.stop(self.account.name, _stop_reason(exc), exc.kind)
                    raise
        except AccountStopped as exc:
            self.close()
            raise _LoginFailed(exc.reason, exc.kind) from None
        except RunStopped:
            self.close()
            raise
        except RobotError as exc:
            self.close()
            stopped = self.shared.logins.stopped(self.account.name)
            if stopped:
                raise _LoginFailed(stopped.reason, stopped.kind) from None
            kind = kind_of(exc)
            raise _LoginFailed(labelled(kind, f"connexion du compte « {self.account.name} » impossible : {exc}"),
                               kind) from None  # fmt: skip
        self.runner = runner
        crash_point("after-login")
        return runner

    def _code_source(self) -> second_factor.CodeSource | None:
        account = self.account
        if account.second_factor == "ask" and not second_factor.attended():
            return None
        return second_factor.source_for(
            account.second_factor, address=ENVIRON.get(account.login_env, ""), mailbox_url=account.mailbox,
            totp_secret=ENVIRON.get(account.totp_env or "", ""),
        )  # fmt: skip

    def close(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                self.context.close()
        self.context, self.runner = None, None

    def _listed(self) -> list[str]:
        """`structures: all`: « Mes structures », this shard's part; the rest goes back to the queue."""
        try:
            result = self.logged_in().run(LIST_FLOW, self.scope())
        except (_LoginFailed, RunStopped):
            raise
        except RobotError as exc:
            kind = exc.kind if isinstance(exc, StepFailed) else None
            raise _LoginFailed(
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
        except _LoginFailed as exc:
            outcome.action, outcome.error, outcome.error_kind = FAILED, exc.message, exc.kind
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
                                        identifiant, "api_checked", _api_detail(outcome.api_check))  # fmt: skip
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


class _LoginFailed(Exception):
    def __init__(self, message: str, kind: str | None = None) -> None:
        self.message = REDACTOR.redact(message)
        self.kind = kind  # login_refused, account_locked, second_factor (flow_model.FailKind)
        super().__init__(self.message)


# ---------------------------------------------------------------- API check and deliveries


def api_check(
    api_url: str, credential: Credential, old_password: str | None, piste: PisteClient | None
) -> dict[str, Any]:
    """The `tauxtva` check: new password accepted, old one refused (None: could not be checked)."""
    login = credential.login or ""
    new = check_technical_account(api_url, login, credential.password or "", piste)
    result: dict[str, Any] = {"new_accepted": new.accepted, "old_refused": None, "result": new.outcome}
    if new.detail:
        result["detail"] = new.detail
    if new.outcome == BAD_REQUEST:
        logger.warning("  vérification API non faite : l'API juge notre requête mal formée ({}) ; un défaut du "
                       "robot à signaler, le mot de passe n'est pas en cause : il est livré", new.detail)  # fmt: skip
    elif new.accepted is None:
        logger.warning("  vérification API impossible : {}", new.detail)
    if old_password and old_password != credential.password and new.accepted is not None:
        REDACTOR.add(old_password)
        old = check_technical_account(api_url, login, old_password, piste)
        result["old_refused"] = None if old.accepted is None else not old.accepted
    return result


def api_problem(check: dict[str, Any]) -> str | None:
    """What makes the check a failure (a refusal), or None (accepted; impossible or bad_request: a warning)."""
    if check.get("new_accepted") is False:
        return f"le nouveau mot de passe est refusé par l'API (tauxtva) : {check.get('detail', '')}".rstrip(" :")
    if check.get("old_refused") is False:
        return "l'ancien mot de passe est encore accepté par l'API"
    return None


def _api_detail(check: dict[str, bool | None]) -> str:
    return ", ".join(f"{k}={v}" for k, v in check.items())


def deliver_open(
    journal: Journal, run_id: int, credential: Credential, vault: Vault, raison_sociale: str
) -> list[dict[str, Any]]:
    """Delivers every pending or failed delivery of a credential; returns each delivery's result."""
    new = NewPassword(
        credential.identifiant, credential.login or "", credential.password or "", credential.expires_at,
        raison_sociale,
    )  # fmt: skip
    results = []
    for delivery in journal.deliveries(credential.id):
        if delivery.status not in OPEN_STATUSES:
            if delivery.status == "done":
                results.append({"target": delivery.label, "result": "done"})
            continue
        try:
            deliver(delivery.target, new, vault)
        except (DeliveryFailed, BadInput) as exc:
            error = REDACTOR.redact(str(exc))
            journal.best_effort(journal.delivery_failed, run_id, delivery, error)
            logger.error("  livraison {} de {} en échec : {}", delivery.label, credential.identifiant, error)
            results.append({"target": delivery.label, "result": "failed", "error": error})
            continue
        if journal.best_effort(journal.delivery_done, run_id, delivery):
            logger.info("  livré : {} ({})", delivery.label, credential.identifiant)
        else:  # the journal still says it is due: the next run delivers the same password again
            logger.warning("  livré : {} ({}), le journal n'a pu le noter", delivery.label, credential.identifiant)
        results.append({"target": delivery.label, "result": "done"})
    return results


def deliver_untracked(
    targets: list[tuple[dict[str, Any], str]], new: NewPassword, vault: Vault
) -> list[dict[str, Any]]:
    """The deliveries of a password the journal could not take (it is in the vault): made now, not retried."""
    results = []
    for target, label in targets:
        try:
            deliver(target, new, vault)
        except (DeliveryFailed, BadInput) as exc:
            error = REDACTOR.redact(str(exc)) + " (non notée au journal : à refaire à la main)"
            logger.error("  livraison {} de {} en échec : {}", label, new.identifiant, error)
            results.append({"target": label, "result": "failed", "error": error})
            continue
        logger.info("  livré : {} ({})", label, new.identifiant)
        results.append({"target": label, "result": "done"})
    return results


# ---------------------------------------------------------------- what an interrupted run left


def recover(plan: Plan, journal: Journal, run_id: int) -> tuple[list[Recovered], dict[str, str]]:
    """Finishes the deliveries left pending; returns what was found and the structures to reset again."""
    found: list[Recovered] = []
    forced: dict[str, str] = {}
    names = journal_names(journal)
    for lost in journal.lost_resets():
        identifiant = lost["identifiant"]
        if journal.open_seals(identifiant):  # decided once the structure is read again (expiry unchanged: released)
            found.append(Recovered(lost["account"], identifiant, "mot de passe non relu, page scellée",
                                   "en attente d'une personne (chorus-robot sealed)"))  # fmt: skip
            continue
        why = f"réinitialisation demandée le {lost['at']} (exécution n°{lost['run_id']}) sans mot de passe relevé"
        forced[identifiant] = "mot de passe perdu : réinitialisée à nouveau"
        found.append(Recovered(lost["account"], identifiant, why, "réinitialisée à nouveau"))
        logger.warning("Reprise : {} : {}", identifiant, why)
    for credential in journal.unfinished_credentials():
        item = _recover_credential(plan, journal, run_id, credential, names.get(credential.identifiant, ""), forced)
        if item:
            found.append(item)
    return found, forced


def journal_names(journal: Journal) -> dict[str, str]:
    return {s["identifiant"]: s["raison_sociale"] or "" for s in journal.structures()}


def _recover_credential(
    plan: Plan, journal: Journal, run_id: int, credential: Credential, raison_sociale: str, forced: dict[str, str]
) -> Recovered | None:
    deliveries = journal.deliveries(credential.id)
    statuses = {d.status for d in deliveries}
    identifiant, account = credential.identifiant, credential.account
    if journal.submission_in_doubt(identifiant):
        # Portail de services: « Soumettre » was being clicked when the run stopped. Delivering now could put a
        # password that never was the account's in place of one that still works: the structure decides.
        finding = "mot de passe affiché, « Soumettre » cliqué sans confirmation vue"
        logger.warning("Reprise : {} : {} ; l'expiration relue sur la structure dira s'il est celui du compte",
                       identifiant, finding)  # fmt: skip
        return Recovered(account, identifiant, finding, "tranché à la relecture de la structure (expiration)")
    if statuses == {"shown"}:
        # Portail de services: the run stopped between the password shown and « Soumettre »: never submitted.
        if not plan.options.dry_run:
            journal.abandon(credential.id, "formulaire jamais soumis")
        finding = "mot de passe affiché mais demande jamais soumise"
        return Recovered(account, identifiant, finding, "abandonné : l'ancien mot de passe reste valable")
    if "held" in statuses:
        forced[identifiant] = "le dernier mot de passe relevé n'est pas utilisable : réinitialisée à nouveau"
        finding = "mot de passe non livré (caractère interdit ou refusé par l'API)"
        return Recovered(account, identifiant, finding, "réinitialisée à nouveau")
    if not statuses & set(OPEN_STATUSES):
        return None
    waiting = sum(d.status in OPEN_STATUSES for d in deliveries)
    finding = f"{waiting} livraison(s) en attente (exécution n°{credential.run_id})"
    if plan.options.dry_run:
        return Recovered(account, identifiant, finding, "à livrer (simulation : rien fait)")
    piste = PisteClient.from_env(plan.environment.piste_token_url)
    check = api_check(plan.environment.api_url, credential, None, piste)
    if check["new_accepted"] is False:  # delivered all the same: it is the only password that can work
        finding += f", refusé par l'API ({check.get('detail', '')})"
    logger.info("Reprise : {} : {}", identifiant, finding)
    results = deliver_open(journal, run_id, credential, plan.vault, raison_sociale)
    if credential.expires_at:
        plan.vault.put(identifiant, expires_at=credential.expires_at)
    done = all(r["result"] == "done" for r in results)
    if any(c in (credential.password or "") for c in plan.config.settings.forbidden_characters):
        # Left by `run`, stopped inside its « / » loop: stored now, but not a password to keep.
        forced[identifiant] = "le dernier mot de passe relevé contient un caractère interdit : réinitialisée à nouveau"
    return Recovered(account, identifiant, finding, "livrées" if done else "livraison(s) encore en échec", results)

"""`chorus-robot renew`'s workers: work units run in `jobs` workers sharing one Playwright and one Chromium, a
browser context each (robots/browser/pool.py says how and why); each unit is one account's session
(robots/jobs/renewal/account_session.py).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger
from playwright.sync_api import Browser

from robots.browser.pool import Cooperative, Sequential, one_browser, pool_for
from robots.errors import RunStopped
from robots.integrations.api_check import PisteClient
from robots.jobs.renewal.account_session import AccountSession, unreached
from robots.jobs.renewal.logins import LoginGate
from robots.jobs.renewal.plan import Plan, Unit
from robots.jobs.renewal.report import Outcome
from robots.secrets import REDACTOR
from robots.store.journal import Credential, Journal


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
    addresses: dict[str, dict[str, str]] = field(default_factory=dict)  # account → `remember_address`'s notes
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


def run_pool(shared: Shared, units: list[Unit], browser: Browser | None) -> None:
    """The units, done by `jobs` workers sharing one browser (a context each): see robots/browser/pool.py."""
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

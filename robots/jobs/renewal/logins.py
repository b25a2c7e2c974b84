"""Never lock an account out: one login at a time per account, and none after the portal refused one; one
session per account, shared by its workers.

The real portal locks an account for an hour after 5 failed logins. Within a run, whatever `--jobs`,
an account whose login was refused (wrong password, wrong second-factor code, « compte bloqué »,
no code to give) is never tried again: its remaining structures fail at once with the same reason.

Once an account is logged in, its other workers take that session (`SharedLogin`: its cookies, in memory only)
as a person opens one more tab of the same browser, instead of logging in again: one login, one second-factor
code and one session on the portal per account, whatever `--jobs` (whether the portal accepts several sessions
of one account at once is not known: real-portals-review, row 17).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from robots.engine import locate
from robots.errors import LoginFailed
from robots.language.catalogue import Catalogue

# StepFailed.kind values that stop the account for the run (see flow_model.FailKind).
STOPPING_KINDS = frozenset({"login_refused", "account_locked", "second_factor"})
# Logins of one account that did not end logged in (a fault of the portal, not a refusal), in a row: at most
# this many per run, well under the 5 failed logins that lock an account, whatever the portal counted.
MAX_UNSUCCESSFUL_LOGINS = 3


@dataclass(frozen=True)
class SharedLogin:
    """An account's logged-in session, for its other workers: the cookies (never written anywhere), and the
    address and screen its login ended on (what a worker taking the session opens, and must see)."""

    cookies: list[Any]
    address: str
    screen: str


class LoginGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_account: dict[str, threading.Lock] = {}
        self._stopped: dict[str, LoginFailed] = {}
        self._unsuccessful: dict[str, int] = {}
        self._sessions: dict[str, SharedLogin] = {}

    @contextmanager
    def attempt(self, account: str, pause: Callable[[float], None] = time.sleep) -> Iterator[None]:
        """Holds the account's login lock; raises LoginFailed if an earlier login was refused.

        Waiting for the lock goes through `pause`: renew's workers may be greenlets of one thread, where a
        blocking acquire would stop the very worker that holds the lock."""
        with self._lock:
            account_lock = self._per_account.setdefault(account, threading.Lock())
        while not account_lock.acquire(blocking=False):
            pause(0.05)
        try:
            stopped = self.stopped(account)
            if stopped is not None:
                raise stopped
            yield
        finally:
            account_lock.release()

    def unsuccessful(self, account: str) -> int:
        """One more login of the account that did not end logged in; how many in a row now."""
        with self._lock:
            self._unsuccessful[account] = self._unsuccessful.get(account, 0) + 1
            return self._unsuccessful[account]

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._unsuccessful[account] = 0

    def stop(self, account: str, reason: str, kind: str) -> None:
        with self._lock:
            self._stopped.setdefault(account, LoginFailed(reason, kind))
            self._sessions.pop(account, None)

    def share(self, account: str, login: SharedLogin) -> None:
        """The account's newest login: the one its next workers take."""
        with self._lock:
            self._sessions[account] = login

    def shared_login(self, account: str) -> SharedLogin | None:
        with self._lock:
            return None if account in self._stopped else self._sessions.get(account)

    def stopped(self, account: str) -> LoginFailed | None:
        with self._lock:
            return self._stopped.get(account)


def share_login(gate: LoginGate, account: str, page: Page, catalogue: Catalogue, seen: Iterable[str] = ()) -> None:
    """`page` has just logged in to `account`: its session becomes the one the account's next workers take. `seen`:
    the screens the login flow last checked on the page (what it ended on, without looking at every screen)."""
    screen = locate.identify(page, catalogue, among=list(seen))
    if screen is not None:
        gate.share(account, SharedLogin(page.context.cookies(), page.url, screen.name))


def take_shared_login(page: Page, catalogue: Catalogue, login: SharedLogin, timeout_s: float) -> bool:
    """`page`'s context takes `login`'s session and opens the screen that login ended on. False, cookies cleared,
    if the portal does not show it (the session expired meanwhile): the worker logs in as usual."""
    screen = catalogue.screen(login.screen)
    if screen is None:
        return False
    page.context.add_cookies(login.cookies)
    try:
        page.goto(login.address, wait_until="load", timeout=timeout_s * 1000)
        if locate.is_shown(page, screen):
            return True
    except PlaywrightError:
        pass
    logger.info("  session partagée non reprise (« {} » non affiché) : nouvelle connexion", screen.title)
    page.context.clear_cookies()
    return False

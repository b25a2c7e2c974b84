"""Never lock an account out: one login at a time per account, and none after the portal refused one.

The real portal locks an account for an hour after 5 failed logins. Within a run, whatever `--jobs`,
an account whose login was refused (wrong password, wrong second-factor code, « compte bloqué »,
no code to give) is never tried again: its remaining structures fail at once with the same reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from robots.errors import LoginFailed

# StepFailed.kind values that stop the account for the run (see flow_model.FailKind).
STOPPING_KINDS = frozenset({"login_refused", "account_locked", "second_factor"})
# Logins of one account that did not end logged in (a fault of the portal, not a refusal), in a row: at most
# this many per run, well under the 5 failed logins that lock an account, whatever the portal counted.
MAX_UNSUCCESSFUL_LOGINS = 3


class LoginGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_account: dict[str, threading.Lock] = {}
        self._stopped: dict[str, LoginFailed] = {}
        self._unsuccessful: dict[str, int] = {}

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

    def stopped(self, account: str) -> LoginFailed | None:
        with self._lock:
            return self._stopped.get(account)

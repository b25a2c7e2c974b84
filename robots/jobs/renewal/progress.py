"""The night's console: one line per structure, « 3/9 », its outcome and reason, and the time left.

`Counted` is the job's shared state, told of each outcome as it is added (from any worker thread).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from robots import logs
from robots.jobs.renewal.plan import Unit
from robots.jobs.renewal.pool import Shared
from robots.jobs.renewal.report import Outcome, redact_except


@dataclass
class Progress:
    """Counts outcomes against the structures known at the start (`all` accounts add theirs later)."""

    known: int
    unlisted: set[str]  # accounts taking « all » their structures: the total grows once they are read
    jobs: int = 1
    done: int = 0
    early: dict[str, int] = field(default_factory=dict)  # outcomes of unlisted accounts (inactive structures)
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, units: list[Unit], jobs: int) -> Progress:
        known = sum(len(u.identifiants) for u in units if u.identifiants is not None)
        return cls(known, {u.account.name for u in units if u.identifiants is None}, max(1, jobs))

    def listed(self, account: str, count: int) -> None:
        with self.lock:
            self.known += count + self.early.pop(account, 0)
            self.unlisted.discard(account)

    def line(self, outcome: Outcome) -> str:
        with self.lock:
            self.done += 1
            if outcome.account in self.unlisted:
                self.early[outcome.account] = self.early.get(outcome.account, 0) + 1
            done, elapsed, open_ended = self.done, time.monotonic() - self.started, bool(self.unlisted)
        total = max(self.known, done)
        count = f"{done}/{total}{'+' if open_ended else ''}"
        name = " ".join(p for p in (outcome.identifiant, outcome.raison_sociale) if p)
        left = ""
        if not open_ended and done < total:
            left = f" — reste ≈ {_duration(elapsed / done * (total - done))}"
        head = redact_except(f"{count} « {outcome.account} » {name} : ", outcome.failed_targets)
        return head + outcome.describe() + left


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "moins d'une minute"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d}"


@dataclass
class Counted(Shared):
    progress: Progress | None = None

    def add(self, outcome: Outcome) -> None:
        super().add(outcome)
        if self.progress is not None:
            logs.operator("{}", self.progress.line(outcome), problem=outcome.failed)

    def listed(self, account: str, count: int) -> None:
        if self.progress is not None:
            self.progress.listed(account, count)

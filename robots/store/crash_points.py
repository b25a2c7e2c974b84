"""Named crash points: the process kills itself (SIGKILL, as `kill -9` or the OOM killer would) at a moment of
a run that a test names, to prove that no moment of a renewal can lose a password.

The product code calls `crash_point("after-journal-commit")` where the moment is. Nothing happens unless the
environment variable CHORUS_ROBOT_CRASH_AT names that point (`after-journal-commit`, or `after-journal-commit@2`:
the second time the point is reached). The usual fault-injection technique: the moments are exact, not guessed
with timers, and the code that runs in production is the code tested. POINTS lists the moments and where they are.

With CHORUS_ROBOT_CRASH_DISK set too (`full:DIR` or `read-only:DIR`), the point does not kill: it fills the
filesystem holding DIR (a file of zeros until ENOSPC) or remounts it read-only (root only), each time it is
reached from the N-th on, and the run goes on — to prove that a full or read-only disk at that exact moment is a
named failure that loses no password (tests/test_full_disk.py).

Two resets in flight at once (`--jobs 2`) are counted here too (`reset_started`/`reset_ended`): the point
`while-another-resets` fires when a worker starts a reset while another worker's is not read yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections import Counter
from pathlib import Path

ENV = "CHORUS_ROBOT_CRASH_AT"
DISK_ENV = "CHORUS_ROBOT_CRASH_DISK"
POINTS = {
    "after-login": "the account's login flow is done (robots/jobs/renewal/account_session.py)",
    "in-mes-structures": "the structure's row was found in « Mes structures » (robots/engine/steps/tables.py)",
    "before-reset-requested": "the journal is about to note that « Confirmer » will be clicked (robots/store/sink.py)",
    "after-reset-confirmed": "« Confirmer » clicked, the new password not read yet (robots/engine/steps/reading.py)",
    "before-journal": "the password read, not journaled yet (robots/store/sink.py)",
    "after-journal-commit": "the password committed to the journal, not in the vault yet (robots/store/sink.py)",
    "after-vault-write": "the password in the vault, its delivery not marked done (robots/store/sink.py)",
    "in-slash-loop": "a password holding « / » kept, the next reset not clicked yet (robots/store/sink.py)",
    "during-delivery": "an e-mail or hook delivery about to be made (robots/jobs/renewal/delivery.py)",
    "before-report": "every structure done, the report not written (robots/jobs/renewal/nightly.py)",
    "while-another-resets": "a worker starts a reset while another worker's reset is in flight (--jobs 2)",
    "services-password-shown": "portail de services: the new password shown in the form and journaled as `shown`,"
    " « Soumettre » not clicked (robots/store/sink.py)",
    "services-before-submit": "portail de services: the journal says « Soumettre » is being clicked (deliveries due),"
    " the click not made (robots/store/sink.py)",
    "services-after-submit": "portail de services: « Soumettre » clicked and « La demande est soumise » seen, the"
    " password not in the vault, the expiry not read again (robots/store/sink.py)",
}
_reached: Counter[str] = Counter()
_in_flight: set[str] = set()
_lock = threading.Lock()


def _wanted() -> tuple[str, int] | None:
    value = os.environ.get(ENV, "")
    if not value:
        return None
    name, _, nth = value.partition("@")
    return name, int(nth) if nth.isdigit() else 1


def crash_point(name: str) -> None:
    """Dies at once, without cleanup (no finally, no atexit, no flush), when CHORUS_ROBOT_CRASH_AT names `name`."""
    wanted = _wanted()
    if wanted is None or wanted[0] != name:
        return
    with _lock:
        _reached[name] += 1
        if _reached[name] < wanted[1]:
            return
    disk = os.environ.get(DISK_ENV, "")
    if disk:
        break_disk(disk)
        return
    os.kill(os.getpid(), signal.SIGKILL)


def break_disk(spec: str) -> None:
    """`full:DIR`: fills the filesystem holding DIR; `read-only:DIR`: remounts it read-only."""
    how, _, folder = spec.partition(":")
    if how == "read-only":
        subprocess.run(["mount", "-o", "remount,ro", folder], check=True, capture_output=True)
        return
    descriptor = os.open(Path(folder) / f"filler-{uuid.uuid4().hex}", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 65536)
    except OSError:  # ENOSPC: full
        pass
    try:
        while True:  # the last pages
            os.write(descriptor, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def reset_started(key: str) -> None:
    """A reset is about to be confirmed for `key` (its password not read yet)."""
    with _lock:
        another = bool(_in_flight - {key})
        _in_flight.add(key)
    if another:
        crash_point("while-another-resets")


def reset_ended(key: str) -> None:
    with _lock:
        _in_flight.discard(key)

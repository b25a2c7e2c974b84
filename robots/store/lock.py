"""One renewal at a time: an fcntl lock on a file that says who holds it.

The kernel releases the lock when its holder dies (even by `kill -9`), so a stale file never blocks.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from robots.errors import BadInput, Locked, StorageFailed, is_storage_failure, storage_reason
from robots.store.vault import now_iso
from robots.support.private_files import open_lock


def holder_of(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "un processus inconnu"
    return f"pid {holder.get('pid', '?')} sur {holder.get('host', '?')}, démarré le {holder.get('started', '?')}"


@contextmanager
def exclusive(path: Path, what: str = "renew") -> Iterator[None]:
    try:
        descriptor = open_lock(path)
    except OSError as exc:
        kind = StorageFailed if is_storage_failure(exc) else BadInput  # a full or read-only disk: not bad input
        raise kind(f"verrou {path} impossible ({storage_reason(exc)}) ; rien n'a été fait") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Locked(f"un autre « {what} » est en cours ({holder_of(path)}) ; verrou {path}") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso(), "command": what}
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, json.dumps(holder).encode(), 0)
        except OSError as exc:
            reason = storage_reason(exc)
            raise StorageFailed(f"verrou {path} : écriture impossible ({reason}) ; rien n'a été fait") from None
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)

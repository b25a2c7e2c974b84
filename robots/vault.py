"""The vault: the one file where the current password of every technical account can be read.

A JSON object keyed by structure identifiant: {login, password, expires_at, updated_at}.
Mode 0600, written atomically (temporary file, fsync, rename, fsync of the folder) under an
exclusive lock, so a crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_VAULT = Path("var/vault/technical-accounts.json")


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class Vault:
    def __init__(self, path: Path = DEFAULT_VAULT) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.read().get(key)

    def put(self, key: str, **fields: Any) -> None:
        """Merge `fields` into the entry of `key` (None values leave a field as it was)."""
        with self._locked():
            entries = self.read()
            entry = entries.get(key, {})
            entry.update({k: v for k, v in fields.items() if v is not None})
            entry["updated_at"] = now_iso()
            entries[key] = entry
            self._write(entries)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, entries: dict[str, Any]) -> None:
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".vault-", suffix=".tmp")
        try:
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(entries, handle, indent=2, ensure_ascii=False, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

"""The vault: the one file where the current password of every technical account can be read.

A JSON object keyed by structure identifiant: {login, password, expires_at, updated_at}.
Mode 0600, written atomically (temporary file, fsync, rename, fsync of the folder) under an
exclusive lock, so a crash leaves either the old file or the new one, never half of one.
A vault that cannot be read is never overwritten: every write reads it first and stops.
With `settings.vault_encryption: age` the file is encrypted to the X25519 identity given by
CHORUS_ROBOT_VAULT_KEY or `settings.vault_key_file` (age's own format: `age -d -i KEY vault.json` reads it).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pyrage

from robots.config import DEFAULT_VAULT
from robots.errors import (
    BadInput,
    VaultError,
    VaultWriteFailed,
    is_storage_failure,
    storage_reason,
)
from robots.secrets import ENVIRON, REDACTOR
from robots.support.private_files import open_lock, private_folder, replace_atomically

LOCK_WAIT_S = 10.0
AGE_HEADER = b"age-encryption.org/v1"
KEY_ENV = "CHORUS_ROBOT_VAULT_KEY"


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _write_error(message: str, exc: OSError) -> VaultError:
    """A full or read-only disk is a storage failure; anything else stays a vault that cannot be written."""
    cls = VaultWriteFailed if is_storage_failure(exc) else VaultError
    return cls(f"{message} ({storage_reason(exc)})")


class AgeCipher:
    """Encrypts the vault to one age X25519 identity (its public half), decrypts with the identity."""

    def __init__(self, identity: str, source: str) -> None:
        try:
            self.identity = pyrage.x25519.Identity.from_str(identity)
        except pyrage.IdentityError:
            raise BadInput(f"clé du coffre ({source}) : une identité age « AGE-SECRET-KEY-1… » est attendue") from None
        REDACTOR.add(identity)
        self.recipient = self.identity.to_public()
        self.source = source

    def encrypt(self, data: bytes) -> bytes:
        return pyrage.encrypt(data, [self.recipient])

    def decrypt(self, data: bytes, path: Path) -> bytes:
        try:
            return pyrage.decrypt(data, [self.identity])
        except pyrage.DecryptError:
            raise VaultError(f"coffre {path} : déchiffrement impossible avec la clé {self.source} ; {_KEPT}") from None


def load_cipher(encryption: str, key_file: Path | None) -> AgeCipher | None:
    """The vault's cipher per the settings: None for a plain file; the key from the environment or its file."""
    if encryption == "none":
        return None
    if ENVIRON.get(KEY_ENV):
        return AgeCipher(ENVIRON[KEY_ENV].strip(), KEY_ENV)
    if key_file is None:
        raise BadInput(f"vault_encryption: {encryption} : donnez la clé ({KEY_ENV} ou settings.vault_key_file)")
    try:
        mode = key_file.stat().st_mode
        lines = key_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"clé du coffre {key_file} : lecture impossible ({exc})") from None
    if mode & 0o077:
        raise BadInput(f"clé du coffre {key_file} : mode {mode & 0o777:o}, 600 attendu (chmod 600 {key_file})")
    identity = next((line.strip() for line in lines if line.strip() and not line.startswith("#")), "")
    return AgeCipher(identity, str(key_file))


def new_key_file(path: Path) -> str:
    """Writes a new age identity, 0600, never over an existing file; returns its public key."""
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    text = f"# created: {now_iso()}\n# public key: {public}\n{identity}\n"
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise BadInput(f"{path} existe déjà : une clé n'est jamais écrasée") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return public


class Vault:
    def __init__(self, path: Path = DEFAULT_VAULT, cipher: AgeCipher | None = None) -> None:
        self.path = Path(path)
        self.cipher = cipher

    def at(self, path: Path) -> Vault:
        """The same kind of vault, opened the same way, at another path."""
        return Vault(path, self.cipher)

    def describe(self, key: str | None = None, **about: Any) -> None:
        """What a vault with room for it writes beside a password: the API URL and the run (key None), a
        structure's raison sociale (KeePass: URL, Notes). The JSON vault keeps only what `put` gives."""

    def read(self) -> dict[str, dict[str, Any]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except IsADirectoryError:
            raise VaultError(f"coffre {self.path} : c'est un dossier, un fichier JSON est attendu") from None
        except OSError as exc:
            raise VaultError(f"coffre {self.path} : lecture impossible ({exc.strerror})") from None
        if data.startswith(AGE_HEADER):
            if self.cipher is None:
                raise VaultError(f"coffre {self.path} : il est chiffré (age) ; réglez settings.vault_encryption: age "
                                 f"et donnez la clé ({KEY_ENV} ou settings.vault_key_file)")  # fmt: skip
            data = self.cipher.decrypt(data, self.path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise VaultError(f"coffre {self.path} : le fichier n'est pas du texte UTF-8 ; {_KEPT}") from None
        return _entries(self.path, text)

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
            try:
                self._write(entries)
            except OSError as exc:
                raise _write_error(f"coffre {self.path} : écriture impossible", exc) from None

    def room_for_a_write(self) -> None:
        """Raises VaultWriteFailed unless the vault's folder takes a file as big as the vault and a page more
        (the test before a reset whose password could go nowhere else). Writes nothing that stays."""
        try:
            size = self.path.stat().st_size if self.path.exists() else 0
            descriptor, probe = tempfile.mkstemp(dir=self.path.parent, prefix=".vault-room-")
            try:
                os.write(descriptor, b"\0" * (size + 4096))
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
                os.unlink(probe)
        except OSError as exc:
            raise _write_error(f"coffre {self.path} : écriture impossible", exc) from None

    def check(self) -> None:
        """Before anything is reset: the vault can be read (valid, or absent) and written, its lock taken."""
        self.read()
        folder = self.path.parent
        try:
            private_folder(folder)
            descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".vault-check-")
            os.close(descriptor)
            os.unlink(probe)
        except OSError as exc:
            raise VaultError(f"coffre {self.path} : le dossier {folder} n'est pas accessible en écriture "
                             f"({exc.strerror})") from None  # fmt: skip
        try:
            with self._locked():
                pass
        except VaultWriteFailed as exc:  # before anything is reset: nothing done, the input to fix
            raise VaultError(str(exc)) from None

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            lock = os.fdopen(open_lock(self.lock_path), "r+")  # held for the whole block below
        except OSError as exc:
            raise _write_error(f"coffre {self.path} : verrou {self.lock_path} impossible", exc) from None
        with lock:
            _lock(lock, self.lock_path, self.path)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, entries: dict[str, Any]) -> None:
        data = json.dumps(entries, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
        replace_atomically(self.path, lambda handle: handle.write(self.cipher.encrypt(data) if self.cipher else data))


_KEPT = "il est laissé tel quel : réparez-le ou mettez-le de côté, rien n'a été réinitialisé"


def _entries(path: Path, text: str) -> dict[str, dict[str, Any]]:
    if not text.strip():
        return {}
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VaultError(f"coffre {path} : JSON invalide ligne {exc.lineno}, colonne {exc.colno} "
                         f"({exc.msg}) ; {_KEPT}") from None  # fmt: skip
    if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
        raise VaultError(f"coffre {path} : un objet JSON {{identifiant: {{login, password, …}}}} est attendu ; {_KEPT}")
    return entries


def _lock(lock: Any, path: Path, vault: Path) -> None:
    """The lock is held for milliseconds by each writer: wait for it, never forever. Ten writers taking turns
    can keep one waiting longer than LOCK_WAIT_S (flock is not fair), so the wait ends only when the lock is
    held LOCK_WAIT_S without the vault changing: a holder that hangs, not a busy vault."""
    deadline, seen = time.monotonic() + LOCK_WAIT_S, _version(vault)
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            now = _version(vault)
            if now != seen:  # another writer wrote meanwhile: the vault is busy, not stuck
                deadline, seen = time.monotonic() + LOCK_WAIT_S, now
            elif time.monotonic() > deadline:
                raise VaultError(f"verrou du coffre {path} tenu par un autre processus depuis plus de "
                                 f"{LOCK_WAIT_S:.0f} s sans écriture") from None  # fmt: skip
            time.sleep(random.uniform(0.005, 0.05))  # spread the retries: no waiter always loses the race


def _version(vault: Path) -> tuple[int, int] | None:
    """What changes at each write of the vault (a new file replaces it)."""
    try:
        found = vault.stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns

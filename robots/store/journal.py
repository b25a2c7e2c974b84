"""The journal: what the nightly job did, written to SQLite before anything else happens.

A new password is committed here (WAL, `synchronous=FULL`: the commit is on disk) before it is written
to the vault or delivered anywhere, so a run killed at any moment loses nothing: the next run finds
the deliveries still pending and the resets that were confirmed but whose password was never read.
A password stays here only until every delivery of it succeeded; the vault keeps the current one.
One connection per thread (sqlite3 objects are not shared between threads).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from robots.config import DEFAULT_JOURNAL
from robots.errors import JournalError, JournalWriteFailed, is_storage_failure
from robots.store.journal_file import SCHEMA, check_journal_file
from robots.store.vault import now_iso
from robots.support.private_files import private_folder, tighten_database

BUSY_TIMEOUT_MS = 30_000

# Delivery statuses: pending (to do), done, failed (retried next run), held (not to be delivered: the
# password holds a forbidden character or the API refused it; the structure is reset again), superseded,
# shown (portail de services: the password is shown in a form not submitted yet; it becomes pending when
# « Soumettre » is about to be clicked, and is abandoned if the form never was).
OPEN_STATUSES = ("pending", "failed")
_A_NIGHT = "command NOT LIKE 'run %'"  # `renew` runs; `run FLOW` (robots/jobs/run.py) shares the journal, no night
VAULT_TARGET = {"vault": True}  # older journals: the vault of the run that reads them


def vault_target(vault_path: Path) -> dict[str, Any]:
    """The vault a password must reach, by absolute path: `run` and `renew` may use different vaults."""
    return {"vault": str(Path(vault_path).resolve())}


@dataclass(frozen=True)
class Credential:
    id: int
    run_id: int
    account: str | None
    identifiant: str
    login: str | None
    password: str | None
    expires_at: str | None


@dataclass(frozen=True)
class PendingDelivery:
    id: int
    credential: Credential
    target: dict[str, Any]
    label: str
    status: str
    attempts: int


class Journal:
    def __init__(self, path: Path = DEFAULT_JOURNAL) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self.failure: str | None = None  # why the journal could not be written, once it could not
        check_journal_file(self.path)
        try:
            private_folder(self.path.parent)
            # Passwords pass through this file: 0600 before SQLite creates it (its -wal and -shm files follow).
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            tighten_database(self.path)
            with self.db:
                self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            self.close()
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            message = f"journal {self.path} : ouverture impossible ({reason}) ; rien n'a été réinitialisé"
            raise (JournalWriteFailed if is_storage_failure(exc) else JournalError)(message) from None

    @property
    def db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._local.connection = connection
            with self._guard:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._guard:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction; a full, read-only or failing disk becomes JournalWriteFailed (told once in the log)."""
        try:
            with self.db:
                yield
        except sqlite3.Error as exc:
            if not is_storage_failure(exc):
                raise
            first = self.failure is None
            self.failure = f"journal {self.path} : écriture impossible ({exc})"
            if first:
                logger.error("{}", self.failure)
            raise JournalWriteFailed(self.failure) from None

    def best_effort(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """History (an event, the operator's view, a run's end): a journal that cannot take it never stops the
        run (told once by `_writing`). Returns whether it was written."""
        try:
            write(*args, **kwargs)
        except JournalWriteFailed:
            return False
        return True

    # ------------------------------------------------------------ runs and events

    def start_run(self, command: str, dry_run: bool) -> int:
        with self._writing():
            cursor = self.db.execute(
                "INSERT INTO runs (started, pid, host, command, dry_run) VALUES (?, ?, ?, ?, ?)",
                (now_iso(), os.getpid(), socket.gethostname(), command, int(dry_run)),
            )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, result: str, summary: dict[str, Any]) -> None:
        with self._writing():
            self.db.execute(
                "UPDATE runs SET finished = ?, result = ?, summary = ? WHERE id = ?",
                (now_iso(), result, json.dumps(summary, ensure_ascii=False), run_id),
            )

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(row) for row in rows]

    def nights(self, limit: int = 20) -> list[dict[str, Any]]:
        """The `renew` runs, the newest first, each with `night`: its number among them (a `run` is no night)."""
        rows = self.db.execute(f"SELECT * FROM runs WHERE {_A_NIGHT} ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{**dict(row), "night": self.night_number(row["id"])} for row in rows]

    def night_number(self, run_id: int) -> int:
        """« Renouvellement n°N »: how many nights up to this run, this one included."""
        row = self.db.execute(f"SELECT COUNT(*) FROM runs WHERE {_A_NIGHT} AND id <= ?", (run_id,)).fetchone()
        return int(row[0])

    def event(self, run_id: int, account: str | None, identifiant: str | None, event: str, detail: str = "") -> None:
        with self._writing():
            self._event(run_id, account, identifiant, event, detail)

    def _event(self, run_id: int, account: str | None, identifiant: str | None, event: str, detail: str) -> None:
        self.db.execute(
            "INSERT INTO events (run_id, at, account, identifiant, event, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, now_iso(), account, identifiant, event, detail),
        )

    def events(self, identifiant: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM events WHERE identifiant = ? ORDER BY id", (identifiant,)).fetchall()
        return [dict(row) for row in rows]

    # ------------------------------------------------------------ credentials

    def capture(
        self, run_id: int, account: str | None, identifiant: str, login: str | None, password: str,
        targets: list[tuple[dict[str, Any], str]], hold: bool, vault: dict[str, Any] = VAULT_TARGET,
        shown: bool = False,
    ) -> int:  # fmt: skip
        """Commits a password just read, with its deliveries (the vault first), superseding older ones.

        `shown`: the password is displayed in a form not submitted yet: its deliveries wait (`submitted`)."""
        now = now_iso()
        with self._writing():
            self._supersede(identifiant)
            cursor = self.db.execute(
                "INSERT INTO credentials (run_id, account, identifiant, login, password, captured_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, account, identifiant, login, password, now),
            )
            credential_id = int(cursor.lastrowid or 0)
            rows = [(vault, "vault", "shown" if shown else "pending")]
            rows += [(target, label, "shown" if shown else "held" if hold else "pending") for target, label in targets]
            self.db.executemany(
                "INSERT INTO deliveries (credential_id, target, label, status, updated) VALUES (?, ?, ?, ?, ?)",
                [(credential_id, json.dumps(t, ensure_ascii=False), label, s, now) for t, label, s in rows],
            )
            self._event(run_id, account, identifiant, "password_captured", f"credential {credential_id}")
        return credential_id

    def _supersede(self, identifiant: str) -> None:
        older = "SELECT id FROM credentials WHERE identifiant = ?"
        self.db.execute(
            f"UPDATE deliveries SET status = 'superseded', updated = ? WHERE credential_id IN ({older})"
            " AND status != 'done'",
            (now_iso(), identifiant),
        )
        self.db.execute(
            "UPDATE credentials SET password = NULL, state = 'superseded'"
            " WHERE identifiant = ? AND state != 'superseded'",
            (identifiant,),
        )

    def set_expiry(self, credential_id: int, expires_at: str) -> None:
        with self._writing():
            self.db.execute("UPDATE credentials SET expires_at = ? WHERE id = ?", (expires_at, credential_id))

    def credential(self, credential_id: int) -> Credential:
        row = self.db.execute("SELECT * FROM credentials WHERE id = ?", (credential_id,)).fetchone()
        return _credential(row)

    def hold(self, credential_id: int, reason: str) -> None:
        """The password must not be delivered (refused by the API): the structure is reset again."""
        with self._writing():
            self.db.execute(
                "UPDATE deliveries SET status = 'held', last_error = ?, updated = ? WHERE credential_id = ?"
                " AND status IN ('pending', 'failed')",
                (reason, now_iso(), credential_id),
            )

    def submitted(self, credential_id: int) -> None:
        """The form showing this password is being submitted: its deliveries are due (the vault's at least)."""
        with self._writing():
            self.db.execute(
                "UPDATE deliveries SET status = 'pending', updated = ? WHERE credential_id = ? AND status = 'shown'",
                (now_iso(), credential_id),
            )

    def abandon(self, credential_id: int, reason: str) -> None:
        """A password shown in a form that was never submitted, or whose submission the portal did not take: it
        never was the account's; forget it (its deliveries too, whether still `shown` or already due)."""
        with self._writing():
            self.db.execute(
                "UPDATE deliveries SET status = 'superseded', last_error = ?, updated = ? WHERE credential_id = ?"
                " AND status IN ('shown', 'pending', 'failed', 'held')",
                (reason, now_iso(), credential_id),
            )
            self.db.execute(
                "UPDATE credentials SET password = NULL, state = 'abandoned' WHERE id = ?", (credential_id,)
            )

    def release(self, credential_id: int) -> None:
        """Held deliveries become pending (the password was found good after all)."""
        with self._writing():
            self.db.execute(
                "UPDATE deliveries SET status = 'pending', updated = ? WHERE credential_id = ? AND status = 'held'",
                (now_iso(), credential_id),
            )

    # ------------------------------------------------------------ deliveries

    def deliveries(self, credential_id: int) -> list[PendingDelivery]:
        rows = self.db.execute(
            "SELECT d.*, c.id AS cid FROM deliveries d JOIN credentials c ON c.id = d.credential_id"
            " WHERE d.credential_id = ? ORDER BY d.id",
            (credential_id,),
        ).fetchall()
        credential = self.credential(credential_id)
        return [_delivery(row, credential) for row in rows]

    def delivery_done(self, run_id: int, delivery: PendingDelivery) -> None:
        self._delivery_result(run_id, delivery, "done", None)

    def delivery_failed(self, run_id: int, delivery: PendingDelivery, error: str) -> None:
        self._delivery_result(run_id, delivery, "failed", error)

    def _delivery_result(self, run_id: int, delivery: PendingDelivery, status: str, error: str | None) -> None:
        credential = delivery.credential
        with self._writing():
            self.db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?, updated = ? WHERE id = ?",
                (status, error, now_iso(), delivery.id),
            )
            event = "delivered" if status == "done" else "delivery_failed"
            detail = delivery.label + (f": {error}" if error else "")
            self._event(run_id, credential.account, credential.identifiant, event, detail)
            self._erase_if_delivered(credential.id)

    def _erase_if_delivered(self, credential_id: int) -> None:
        left = self.db.execute(
            "SELECT COUNT(*) FROM deliveries WHERE credential_id = ? AND status NOT IN ('done', 'superseded')",
            (credential_id,),
        ).fetchone()[0]
        if not left:
            self.db.execute(
                "UPDATE credentials SET password = NULL, state = 'delivered' WHERE id = ?", (credential_id,)
            )

    # ------------------------------------------------------------ what an interrupted run left

    def unfinished_credentials(self) -> list[Credential]:
        """The latest password of each structure still waiting for a delivery (pending, failed or held)."""
        rows = self.db.execute(
            "SELECT c.* FROM credentials c WHERE c.password IS NOT NULL"
            " AND c.id = (SELECT MAX(id) FROM credentials WHERE identifiant = c.identifiant) ORDER BY c.id"
        ).fetchall()
        return [_credential(row) for row in rows]

    def lost_resets(self) -> list[dict[str, Any]]:
        """Structures whose last reset was requested (maybe confirmed) but whose password was never read."""
        rows = self.db.execute(
            "SELECT e.* FROM events e WHERE e.event = 'reset_requested' AND e.id = ("
            " SELECT MAX(id) FROM events WHERE identifiant = e.identifiant"
            " AND event IN ('reset_requested', 'password_captured')) ORDER BY e.id"
        ).fetchall()
        return [dict(row) for row in rows]

    def submission_in_doubt(self, identifiant: str) -> tuple[Credential, str | None] | None:
        """Portail de services: the structure's last password was shown, « Soumettre » was about to be clicked,
        and no run saw the submission taken (its vault delivery not done). Only the structure's expiry, read
        again, can tell whether it is the account's now: returns it with the expiry read before the submission
        (None when unknown)."""
        last = self._last_reset_event(identifiant)
        if last is None or last["event"] != "reset_submitted":
            return None
        row = self.db.execute(
            "SELECT * FROM credentials WHERE identifiant = ? ORDER BY id DESC LIMIT 1", (identifiant,)
        ).fetchone()
        if row is None or row["password"] is None:
            return None
        credential = _credential(row)
        vault = [d for d in self.deliveries(credential.id) if d.target.get("vault")]
        if not vault or vault[0].status not in OPEN_STATUSES:
            return None
        return credential, self._expiry_read_before(last)

    def expiry_before_unread_reset(self, identifiant: str) -> str | None:
        """When the structure's last reset was requested and no password was read after it: the expiry read in that
        run before the request (None otherwise, or when unknown). Read again on the portal and unchanged, it proves
        the reset never happened."""
        last = self._last_reset_event(identifiant)
        if last is None or last["event"] != "reset_requested":
            return None
        return self._expiry_read_before(last)

    def _last_reset_event(self, identifiant: str) -> Any:
        """The structure's last step of a reset: requested, submitted (portail de services) or password read."""
        return self.db.execute(
            "SELECT * FROM events WHERE identifiant = ? AND event IN ('reset_requested', 'reset_submitted',"
            " 'password_captured') ORDER BY id DESC LIMIT 1",
            (identifiant,),
        ).fetchone()

    def _expiry_read_before(self, event: Any) -> str | None:
        """The expiry read in the event's run before it (None when unknown)."""
        before = self.db.execute(
            "SELECT detail FROM events WHERE identifiant = ? AND event = 'expiry_read' AND run_id = ? AND id < ?"
            " ORDER BY id DESC LIMIT 1",
            (event["identifiant"], event["run_id"], event["id"]),
        ).fetchone()
        return before["detail"] if before and before["detail"] not in (None, "", "None") else None

    # ------------------------------------------------------------ pages kept for a person (password unread)

    def seal(self, run_id: int, account: str | None, identifiant: str, page_text: str) -> int:
        """Keeps the text of the page that holds a password the robot could not read, until a person has."""
        with self._writing():
            cursor = self.db.execute(
                "INSERT INTO sealed (run_id, at, account, identifiant, page_text) VALUES (?, ?, ?, ?, ?)",
                (run_id, now_iso(), account, identifiant, page_text),
            )
            self._event(run_id, account, identifiant, "password_sealed", f"scellé n°{cursor.lastrowid}")
        return int(cursor.lastrowid or 0)

    def open_seals(self, identifiant: str | None = None) -> list[dict[str, Any]]:
        """Sealed pages no person has released yet (all, or one structure's)."""
        query = "SELECT * FROM sealed WHERE released_at IS NULL" + (" AND identifiant = ?" if identifiant else "")
        rows = self.db.execute(query + " ORDER BY id", (identifiant,) if identifiant else ()).fetchall()
        return [dict(row) for row in rows]

    def release_seals(self, identifiant: str) -> int:
        """A person has read the page and kept the password: the structure may be reset again; text erased."""
        with self._writing():
            cursor = self.db.execute(
                "UPDATE sealed SET released_at = ?, page_text = NULL WHERE identifiant = ? AND released_at IS NULL",
                (now_iso(), identifiant),
            )
        return cursor.rowcount

    # ------------------------------------------------------------ the operator's view

    def note_structure(self, identifiant: str, account: str | None, **fields: Any) -> None:
        """Remembers what was last read or done on a structure (None leaves a field as it was)."""
        known = {k: v for k, v in fields.items() if v is not None}
        known["updated"] = now_iso()
        with self._writing():
            self.db.execute(
                "INSERT INTO structures (identifiant, account) VALUES (?, ?) ON CONFLICT (identifiant)"
                " DO UPDATE SET account = COALESCE(excluded.account, account)",
                (identifiant, account),
            )
            assignments = ", ".join(f"{name} = ?" for name in known)
            self.db.execute(
                f"UPDATE structures SET {assignments} WHERE identifiant = ?", (*known.values(), identifiant)
            )

    def structures(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT s.*, r.started AS last_run_started, r.result AS last_run_result FROM structures s"
            " LEFT JOIN runs r ON r.id = s.last_run_id ORDER BY s.account, s.identifiant"
        ).fetchall()
        return [dict(row) for row in rows]

    def open_deliveries(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT c.identifiant, d.label, d.status, d.attempts, d.last_error FROM deliveries d"
            " JOIN credentials c ON c.id = d.credential_id WHERE d.status IN ('pending', 'failed', 'held')"
            " ORDER BY d.id"
        ).fetchall()
        return [dict(row) for row in rows]


def _credential(row: sqlite3.Row) -> Credential:
    return Credential(
        id=row["id"], run_id=row["run_id"], account=row["account"], identifiant=row["identifiant"],
        login=row["login"], password=row["password"], expires_at=row["expires_at"],
    )  # fmt: skip


def _delivery(row: sqlite3.Row, credential: Credential) -> PendingDelivery:
    return PendingDelivery(
        id=row["id"], credential=credential, target=json.loads(row["target"]), label=row["label"],
        status=row["status"], attempts=row["attempts"],
    )  # fmt: skip

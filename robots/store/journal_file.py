"""The journal's file: its tables, and the check that a file named as a journal is one (before anything is written)."""

from __future__ import annotations

from pathlib import Path

from robots.errors import JournalError

SQLITE_HEADER = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, pid INTEGER, host TEXT,
    command TEXT, dry_run INTEGER NOT NULL DEFAULT 0, result TEXT, summary TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, at TEXT NOT NULL, account TEXT, identifiant TEXT,
    event TEXT NOT NULL, detail TEXT
);
CREATE INDEX IF NOT EXISTS events_structure ON events (identifiant, id);
CREATE TABLE IF NOT EXISTS credentials (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, account TEXT, identifiant TEXT NOT NULL,
    login TEXT, password TEXT, expires_at TEXT, captured_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'captured'
);
CREATE INDEX IF NOT EXISTS credentials_structure ON credentials (identifiant, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, credential_id INTEGER NOT NULL REFERENCES credentials (id), target TEXT NOT NULL,
    label TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sealed (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, at TEXT NOT NULL, account TEXT, identifiant TEXT NOT NULL,
    page_text TEXT, released_at TEXT
);
CREATE TABLE IF NOT EXISTS structures (
    identifiant TEXT PRIMARY KEY, account TEXT, raison_sociale TEXT, technical_login TEXT, expires_at TEXT,
    last_run_id INTEGER, last_action TEXT, last_error TEXT, last_renewed TEXT, updated TEXT
);
"""


def check_journal_file(path: Path) -> None:
    """A journal that exists must be a SQLite file; its folder must exist or be creatable. Writes nothing."""
    if path.is_dir():
        raise JournalError(f"journal {path} : c'est un dossier, un fichier SQLite est attendu")
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise JournalError(f"journal {path} : lecture impossible ({exc.strerror})") from None
    if header and header != SQLITE_HEADER:
        raise JournalError(
            f"journal {path} : ce n'est pas une base SQLite ; il est laissé tel quel : mettez-le de côté "
            "(ou donnez un autre --journal), rien n'a été réinitialisé"
        )

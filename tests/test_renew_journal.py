"""The journal and its sink without a browser: what is kept, what is erased, what a killed run leaves."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from pathlib import Path

from robots.errors import Locked
from robots.jobs.renewal.delivery import NewPassword, hook_environment, password_message
from robots.secrets import REDACTOR
from robots.store.journal import Journal
from robots.store.lock import exclusive
from robots.store.sink import Expected, JournalSink
from robots.store.vault import Vault

STRUCTURE = "25300096600023"
HOOK = ({"command": ["true"], "timeout_s": 5}, "command:true")


def sink_for(tmp_path: Path, run_id: int | None = None) -> tuple[Journal, JournalSink]:
    journal = Journal(tmp_path / "journal.sqlite")
    run = run_id or journal.start_run("renew", dry_run=False)
    sink = JournalSink(journal, Vault(tmp_path / "vault.json"), run, "/")
    sink.expect(STRUCTURE, Expected("siagep", [HOOK]))
    return journal, sink


def stored_passwords(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        return [row[0] for row in db.execute("SELECT password FROM credentials WHERE password IS NOT NULL")]


def test_the_password_is_on_disk_in_the_journal_and_the_vault_before_anything_else(tmp_path: Path):
    journal, sink = sink_for(tmp_path)
    sink.checkpoint(STRUCTURE, "reset_requested")
    assert [e["identifiant"] for e in journal.lost_resets()] == [STRUCTURE], "confirmed, not read yet"

    sink.store(STRUCTURE, {"login": "TECH_1@cpp", "password": "Clean123abc"})

    assert stored_passwords(tmp_path) == ["Clean123abc"]  # another connection sees it: committed
    assert json.loads((tmp_path / "vault.json").read_text())[STRUCTURE]["password"] == "Clean123abc"
    assert journal.lost_resets() == []
    statuses = {d.label: d.status for d in journal.deliveries(sink.latest[STRUCTURE])}
    assert statuses == {"vault": "done", "command:true": "pending"}
    assert stat.S_IMODE((tmp_path / "journal.sqlite").stat().st_mode) == 0o600
    assert "Clean123abc" in REDACTOR.values


def test_a_password_with_a_forbidden_character_is_held_then_superseded(tmp_path: Path):
    journal, sink = sink_for(tmp_path)
    sink.store(STRUCTURE, {"login": "TECH_1@cpp", "password": "ab/cdEF12gh"})
    held = sink.latest[STRUCTURE]
    assert {d.status for d in journal.deliveries(held)} == {"done", "held"}
    assert [c.id for c in journal.unfinished_credentials()] == [held]

    sink.store(STRUCTURE, {"login": "TECH_1@cpp", "password": "Clean123abc"})
    sink.store(STRUCTURE, {"expires_at": "2027-11-22T10:00:00"})

    assert stored_passwords(tmp_path) == ["Clean123abc"], "the slashed one no longer works: erased"
    assert {d.status for d in journal.deliveries(held)} == {"done", "superseded"}
    assert journal.credential(sink.latest[STRUCTURE]).expires_at == "2027-11-22T10:00:00"
    assert sink.captures[STRUCTURE] == 2


def test_the_password_is_erased_once_every_delivery_succeeded(tmp_path: Path):
    journal, sink = sink_for(tmp_path)
    sink.store(STRUCTURE, {"login": "TECH_1@cpp", "password": "Clean123abc"})
    hook = next(d for d in journal.deliveries(sink.latest[STRUCTURE]) if d.label == "command:true")

    journal.delivery_failed(sink.run_id, hook, "terminée avec le code 1")
    assert stored_passwords(tmp_path) == ["Clean123abc"], "kept for the next run's retry"
    journal.delivery_done(sink.run_id, hook)

    assert stored_passwords(tmp_path) == []
    assert journal.unfinished_credentials() == []
    assert json.loads((tmp_path / "vault.json").read_text())[STRUCTURE]["password"] == "Clean123abc"


def test_one_connection_per_thread(tmp_path: Path):
    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("renew", dry_run=False)
    threads = [
        threading.Thread(target=lambda i=i: [journal.event(run, "a", f"{i:014d}", "expiry_read") for _ in range(20)])
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(journal.events(f"{i:014d}")) for i in range(4)) == 80
    journal.close()


def test_a_second_holder_of_the_lock_is_told_who_holds_it(tmp_path: Path):
    lock = tmp_path / "renew.lock"
    with exclusive(lock, "renew"):
        try:
            with exclusive(lock, "renew"):
                raise AssertionError("two holders")
        except Locked as refused:
            assert refused.exit_code == 4
            assert "pid" in str(refused) and str(lock) in str(refused)
    with exclusive(lock, "renew"):
        pass  # released


def test_the_mail_and_the_hook_environment_hold_the_password_only_where_they_should():
    new = NewPassword(STRUCTURE, "TECH_1@cpp2017.fr", "Secret123xyz", "2027-11-22T10:00:00", "SIAGEP")
    message = password_message("robot@example.org", "dsi@example.org", new)
    assert "Secret123xyz" not in message["Subject"] and STRUCTURE in message["Subject"]
    assert "Nouveau mot de passe : Secret123xyz" in message.get_content()
    assert "22/11/2027 10:00:00" in message.get_content()
    REDACTOR.add("PortalPassw0rd")
    env = hook_environment(new, {"PATH": "/usr/bin", "SIAGEP_PASSWORD": "PortalPassw0rd", "X": "Secret123xyz"})
    assert env["PATH"] == "/usr/bin" and "SIAGEP_PASSWORD" not in env and "X" not in env
    assert env["CHORUS_EXPIRES_AT"] == "2027-11-22T10:00:00" and env["CHORUS_RAISON_SOCIALE"] == "SIAGEP"


def test_with_the_vault_as_only_delivery_the_journal_forgets_the_password_at_once(tmp_path: Path):
    journal, sink = sink_for(tmp_path)
    sink.expect(STRUCTURE, Expected("siagep", []))

    sink.store(STRUCTURE, {"login": "TECH_1@cpp", "password": "Clean123abc"})

    assert stored_passwords(tmp_path) == []
    assert sink.passwords[STRUCTURE] == "Clean123abc", "kept in memory for the API check"
    assert json.loads((tmp_path / "vault.json").read_text())[STRUCTURE]["password"] == "Clean123abc"

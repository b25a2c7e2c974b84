"""`chorus-robot status` for an operator — never wider than the terminal, one date format, problems first then
the most urgent, a reason, « livraison en attente », nights only, plain JSON, and nothing created by reading."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from robots.store.journal import Journal
from robots.store.sink import Expected, JournalSink
from robots.store.vault import Vault
from tests.conftest import robot

HOOK = ({"command": ["true"], "timeout_s": 5}, "command:true")


def in_days(days: int) -> str:
    return (datetime.now() + timedelta(days=days, hours=1)).replace(microsecond=0).isoformat()


def night(tmp_path: Path, hook_failed: bool = False) -> tuple[Path, Path]:
    """Three structures: one far off, one due soon whose renewal failed, one renewed whose hook is pending."""
    journal_path, vault_path = tmp_path / "journal.sqlite", tmp_path / "vault.json"
    journal = Journal(journal_path)
    run = journal.start_run("renew", dry_run=False)
    sink = JournalSink(journal, Vault(vault_path), run, "/")
    sink.expect("21300258600013", Expected("siagep", [HOOK]))
    sink.store("21300258600013", {"login": "TECH_1@cpp", "password": "Clean123abc"})
    if hook_failed:
        hook = next(d for d in journal.deliveries(sink.latest["21300258600013"]) if d.label == "command:true")
        journal.delivery_failed(run, hook, "terminée avec le code 1")
    journal.note_structure("21300258600013", "siagep", raison_sociale="COMMUNE DE SAINT-GILLES",
                           technical_login="TECH_1@cpp", expires_at=in_days(365), last_run_id=run,
                           last_action="failed", last_error="", last_renewed=in_days(0))  # fmt: skip
    journal.note_structure("21300321200015", "siagep", raison_sociale="COMMUNE DE VAUVERT " * 4,
                           technical_login="TECH_2@cpp", expires_at=in_days(12), last_run_id=run,
                           last_action="failed", last_error="l'écran « Accueil » était attendu " * 3)  # fmt: skip
    journal.note_structure("21300351900013", "siagep", raison_sociale="COMMUNE DE VILLENEUVE",
                           technical_login="TECH_3@cpp", expires_at=in_days(200), last_run_id=run,
                           last_action="skipped", last_error="")  # fmt: skip
    journal.finish_run(run, "failed", {"renewed": 1, "failed": 1, "skipped": 1})
    journal.close()
    return journal_path, vault_path


def table_of(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    return [line for line in lines[: lines.index("Dernières nuits :")] if re.search(r"\d{14}", line)]


def test_status_fits_the_terminal_problems_first_then_by_days_left(tmp_path: Path):
    journal, vault = night(tmp_path)
    done = robot("status", "--journal", str(journal), "--vault", str(vault), env={"COLUMNS": "100"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, done.stdout
    table = table_of(done.stdout)
    order = [re.search(r"\d{14}", line).group(0) for line in table]
    assert order == ["21300321200015", "21300258600013", "21300351900013"], "the failure, the delivery due, the rest"
    assert table[0].startswith("!"), "under 30 days: flagged"
    assert not table[1].startswith("!")
    assert "livraison en attente" in table[1] and "à livrer : command:true" in table[1]
    assert "l'écran « Accueil »" in table[0] or "l'écran" in table[0], "a short reason"
    assert not re.search(r"\d{4}-\d{2}-\d{2}", done.stdout), "one date format: JJ/MM/AAAA"
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", done.stdout)
    assert "failed" not in done.stdout and "skipped" not in done.stdout, "in French"


def test_status_creates_nothing_it_reads(tmp_path: Path):
    journal = tmp_path / "nowhere" / "journal.sqlite"
    vault = tmp_path / "nowhere" / "vault.json"
    done = robot("status", "--journal", str(journal), "--vault", str(vault))
    assert done.returncode == 0, done.stderr
    assert f"Pas de journal {journal}" in done.stdout
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("columns", [80, 60])
def test_status_never_overflows_a_narrow_terminal_and_keeps_the_result_readable(tmp_path: Path, columns: int):
    journal, vault = night(tmp_path)
    done = robot("status", "--journal", str(journal), "--vault", str(vault), env={"COLUMNS": str(columns)})
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= columns, done.stdout
    table = table_of(done.stdout)
    assert all(re.search(r"\d{14}", line) for line in table), "the identifiant is never cut"
    if columns == 80:
        assert "livraison en attente" in table[1] and "en échec" in table[0]


def test_a_run_of_one_flow_is_no_night(tmp_path: Path):
    """`run` shares the journal: it is not « Renouvellement n°2 », nor a line of « Dernières nuits »."""
    journal_path, vault = night(tmp_path)
    journal = Journal(journal_path)
    journal.finish_run(journal.start_run("run reset_technical_password", False), "ok", {})
    second = journal.start_run("renew --roster r.yaml", dry_run=True)
    journal.finish_run(second, "ok", {"dry_run": 2})
    assert journal.night_number(second) == 2
    journal.close()
    done = robot("status", "--journal", str(journal_path), "--vault", str(vault), env={"COLUMNS": "120"})
    nights = done.stdout.split("Dernières nuits :")[1].strip().splitlines()
    assert [line.split()[0] for line in nights] == ["n°2", "n°1"], done.stdout
    assert "(simulation)" in nights[0] and "reset_technical_password" not in done.stdout


def test_status_json_is_plain_json(tmp_path: Path):
    journal, vault = night(tmp_path)
    done = robot("status", "--journal", str(journal), "--vault", str(vault), "--json")
    data = json.loads(done.stdout)
    assert data["runs"][0]["summary"] == {"renewed": 1, "failed": 1, "skipped": 1}
    assert data["runs"][0]["night"] == 1


def test_a_delivery_that_failed_is_said_failed_not_waiting(tmp_path: Path):
    journal, vault = night(tmp_path, hook_failed=True)
    done = robot("status", "--journal", str(journal), "--vault", str(vault), env={"COLUMNS": "300"})
    row = next(line for line in table_of(done.stdout) if "21300258600013" in line)
    assert "livraison en échec" in row and "à livrer : command:true (terminée avec le code 1)" in row

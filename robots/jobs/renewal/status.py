"""`chorus-robot status`: the operator's view of every structure the journal or the vault knows.

Problems first (a failure, a delivery still due), then by days left (« ! » under 30 days), dates as the portal
writes them (JJ/MM/AAAA), a short reason, never wider than the terminal. Below, the last nights (`renew` runs;
a `run` of one flow is not a night). It reads: a journal or vault that does not exist is reported, never created.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from robots.config import load_config
from robots.errors import EXIT_OK
from robots.jobs.renewal.report import RUN_WORDS, WORDS, days_until, french_date
from robots.store.journal import Journal
from robots.store.vault import Vault
from robots.store.vaults import open_vault
from robots.support.parsers import short_moment

COLUMNS = ("account", "identifiant", "raison_sociale", "technical_login", "expires_at", "days_left", "last_run")


def structure_lines(journal: Journal | NoJournal, vault: Vault) -> list[dict[str, Any]]:
    lines: dict[str, dict[str, Any]] = {}
    for row in journal.structures():
        lines[row["identifiant"]] = {
            "account": row["account"], "identifiant": row["identifiant"], "raison_sociale": row["raison_sociale"],
            "technical_login": row["technical_login"], "expires_at": row["expires_at"],
            "last_run": row["last_run_id"], "last_run_started": row["last_run_started"],
            "last_result": row["last_action"], "last_error": row["last_error"] or None,
            "last_renewed": row["last_renewed"],
        }  # fmt: skip
    for identifiant, entry in vault.read().items():
        line = lines.setdefault(identifiant, {"identifiant": identifiant, "account": None, "last_result": None})
        if line.get("technical_login") in (None, entry.get("login")):
            line["technical_login"] = entry.get("login")
            line["expires_at"] = line.get("expires_at") or entry.get("expires_at")
        line["in_vault"] = True
    for line in lines.values():
        line["days_left"] = days_until(line.get("expires_at"))
        line.setdefault("in_vault", False)
    pending = journal.open_deliveries()
    for line in lines.values():
        line["open_deliveries"] = [
            {k: d[k] for k in ("label", "status", "attempts", "last_error")}
            for d in pending
            if d["identifiant"] == line["identifiant"]
        ]
    for line in lines.values():
        line["state"] = state_of(line)
    return sorted(lines.values(), key=_urgency)


def _urgency(line: dict[str, Any]) -> tuple[bool, bool, int, str, str]:
    days = line.get("days_left")
    return (not is_problem(line), days is None, days if days is not None else 0, line.get("account") or "~",
            line["identifiant"])  # fmt: skip


def is_problem(line: dict[str, Any]) -> bool:
    """What the operator must look at: a failure, or a password whose delivery is still due."""
    return line.get("last_result") == "failed" or bool(line.get("open_deliveries"))


def state_of(line: dict[str, Any]) -> str:
    """The last result in words, telling a renewal whose delivery is still due from a failure."""
    result = line.get("last_result")
    waiting = line.get("open_deliveries")
    if line.get("last_renewed") and waiting and result in ("renewed", "failed") and not line.get("last_error"):
        failed = any(d["status"] == "failed" for d in waiting)
        return "livraison en échec" if failed else "livraison en attente"
    return WORDS.get(result or "", result or "-")


class NoJournal:
    """Stands for a journal that does not exist yet: nothing was run, nothing is created."""

    def structures(self) -> list[dict[str, Any]]:
        return []

    def open_deliveries(self) -> list[dict[str, Any]]:
        return []

    def nights(self, limit: int = 20) -> list[dict[str, Any]]:
        return []

    def close(self) -> None:
        return None


def status(journal_path: Path, vault_path: Path, as_json: bool = False, runs: int = 10) -> int:
    journal: Journal | NoJournal = Journal(journal_path) if journal_path.exists() else NoJournal()
    try:
        structures = structure_lines(journal, open_vault(load_config(), vault_path))
        history = journal.nights(runs)
    finally:
        journal.close()
    for night in history:
        night["summary"] = json.loads(night["summary"]) if night["summary"] else {}
    if as_json:
        print(json.dumps({"structures": structures, "runs": history}, indent=2, ensure_ascii=False))
        return EXIT_OK
    if isinstance(journal, NoJournal):
        print(f"Pas de journal {journal_path} : aucune exécution de « chorus-robot renew » avec ce journal.")
    if not vault_path.exists():
        print(f"Pas de coffre {vault_path}.")
    width = shutil.get_terminal_size((120, 24)).columns
    if structures:
        print("\n".join(table_lines(structures, width)))
    if history:
        print()
        print("Dernières nuits :")
        print("\n".join(_fit(night_line(night), width) for night in history))
    return EXIT_OK


def night_line(night: dict[str, Any]) -> str:
    counts = ", ".join(f"{_count_word(k)} {v}" for k, v in night["summary"].items() if v)
    mode = " (simulation)" if night["dry_run"] else ""
    unknown = "en cours ou interrompue" if not night["finished"] else "?"
    result = RUN_WORDS.get(night["result"] or "", night["result"] or unknown)
    finished = short_moment(night["finished"]) if night["finished"] else "…"
    where = f"(pid {night['pid']} sur {night['host']})"
    return f"  n°{night['night']} {short_moment(night['started'])} → {finished} {result}{mode}, {counts} {where}"


def _count_word(key: str) -> str:
    return {"delivery_failed": "livraison en échec"}.get(key, WORDS.get(key, key))


HEADERS = ("", "Jours", "Expiration", "Identifiant", "Raison sociale", "Compte", "Utilisateur technique",
           "Dernier résultat", "Motif", "Dernier passage")  # fmt: skip
SHRINKABLE = {8: 14, 4: 14, 6: 10}  # column → narrowest: the reason, the name, the login give way first
DROPPABLE = (9, 5, 6, 2)  # then whole columns: last run, account, login, expiry date (days left stay)
LAST_RESORT = {7: 8, 8: 8, 4: 8}  # still too wide (a 60-column terminal): the result, the reason, the name
URGENT_DAYS = 30


def table_lines(structures: list[dict[str, Any]], width: int) -> list[str]:
    rows = [list(HEADERS)] + [_row(line) for line in structures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    shown = list(range(len(HEADERS)))

    def excess() -> int:
        return sum(widths[i] for i in shown) + 2 * (len(shown) - 1) - width

    for column, floor in SHRINKABLE.items():
        widths[column] -= max(0, min(excess(), widths[column] - floor))
    for column in DROPPABLE:
        if excess() <= 0:
            break
        shown.remove(column)
    for column, floor in LAST_RESORT.items():
        widths[column] -= max(0, min(excess(), widths[column] - floor))
    natural = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    for column in (*LAST_RESORT, *reversed(SHRINKABLE)):  # room left by a dropped column: the result first
        if column in shown:
            widths[column] += max(0, min(-excess(), natural[column] - widths[column]))
    return [_fit("  ".join(_cell(row[i], widths[i]) for i in shown).rstrip(), width) for row in rows]


def _row(line: dict[str, Any]) -> list[str]:
    days = line.get("days_left")
    flag = "!" if days is not None and days < URGENT_DAYS else ""
    pending = len(line.get("open_deliveries") or [])
    reason = line.get("last_error") or ""
    if not reason and pending:
        reason = "à livrer : " + ", ".join(_delivery(d) for d in line["open_deliveries"])
    run = short_moment(line.get("last_run_started")) if line.get("last_run") else "-"
    return [
        flag, "-" if days is None else str(days), _date(line.get("expires_at")),
        line["identifiant"], line.get("raison_sociale") or "-", line.get("account") or "-",
        line.get("technical_login") or "-", line["state"], reason or "-", run,
    ]  # fmt: skip


def _delivery(delivery: dict[str, Any]) -> str:
    """A delivery still due: its target, and why it failed when it did."""
    failed = delivery["status"] == "failed" and delivery.get("last_error")
    return f"{delivery['label']} ({delivery['last_error']})" if failed else delivery["label"]


def _date(value: str | None) -> str:
    return french_date(value) if value else "-"


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return (text[: width - 1] + "…" if len(text) > width else text).ljust(width)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

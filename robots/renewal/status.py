"""`chorus-robot status`: the operator's view of every structure the journal or the vault knows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from robots.errors import EXIT_OK
from robots.renewal.job import days_until
from robots.renewal.journal import Journal
from robots.vault import Vault

COLUMNS = ("account", "identifiant", "raison_sociale", "technical_login", "expires_at", "days_left", "last_run")


def structure_lines(journal: Journal, vault: Vault) -> list[dict[str, Any]]:
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
    return sorted(lines.values(), key=lambda line: (line.get("account") or "~", line["identifiant"]))


def status(journal_path: Path, vault_path: Path, as_json: bool = False, runs: int = 10) -> int:
    journal = Journal(journal_path)
    try:
        structures = structure_lines(journal, Vault(vault_path))
        history = journal.runs(runs)
    finally:
        journal.close()
    if as_json:
        print(json.dumps({"structures": structures, "runs": history}, indent=2, ensure_ascii=False))
        return EXIT_OK
    print_table(structures)
    print()
    print("Dernières exécutions :")
    for run in history:
        summary = json.loads(run["summary"]) if run["summary"] else {}
        counts = ", ".join(f"{k} {v}" for k, v in summary.items() if v)
        mode = " (simulation)" if run["dry_run"] else ""
        result = run["result"] or ("en cours ou interrompue" if not run["finished"] else "?")
        print(f"  n°{run['id']} {run['started']} → {run['finished'] or '…'} {result}{mode} {counts} "
              f"[pid {run['pid']} sur {run['host']}]")  # fmt: skip
    return EXIT_OK


def print_table(structures: list[dict[str, Any]]) -> None:
    headers = ["Compte", "Identifiant", "Raison sociale", "Utilisateur technique", "Expiration", "Jours",
               "Dernière exécution", "Résultat", "Renouvelé le"]  # fmt: skip
    rows = [headers]
    for line in structures:
        result = line.get("last_result") or "-"
        if line["open_deliveries"]:
            result += f" ({len(line['open_deliveries'])} livraison(s) en attente)"
        rows.append([
            line.get("account") or "-", line["identifiant"], line.get("raison_sociale") or "-",
            line.get("technical_login") or "-", (line.get("expires_at") or "-").replace("T", " "),
            "-" if line["days_left"] is None else str(line["days_left"]),
            f"n°{line['last_run']} {line.get('last_run_started') or ''}".strip() if line.get("last_run") else "-",
            result, (line.get("last_renewed") or "-")[:16].replace("T", " "),
        ])  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

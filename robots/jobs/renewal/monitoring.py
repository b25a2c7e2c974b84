"""Signals where IT looks: `status --check` is a monitoring plugin, `--metrics FILE` a Prometheus text file.

`chorus-robot status --check [--warn DAYS] [--critical DAYS] [--max-age HOURS]` follows the Nagios plugin
conventions (Centreon, Icinga, Zabbix and Shinken run such plugins as they are): one status line
« CHORUS-ROBOT OK|WARNING|CRITICAL|UNKNOWN - … | performance data », then one line per structure to look at,
exit 0/1/2/3. CRITICAL: a structure whose last renewal failed, a password whose delivery is still due, or a
password expiring within --critical days (expired included). WARNING: one within --warn days, the last night
interrupted, or no night for --max-age hours. UNKNOWN: the journal or the vault cannot be read.

`renew --metrics FILE` and `status --metrics FILE` write the same state in Prometheus' text exposition format
(made by prometheus_client, the format's reference implementation) for node_exporter's textfile collector,
atomically (a temporary file in the same folder, renamed over FILE: the collector never reads half a file).
The file is 0644: node_exporter runs as its own user and must read it, and nothing in it is secret — SIRET
identifiants (public), the roster's account names, days, times and counts; no login, password or e-mail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from robots.config import load_config
from robots.errors import BadInput
from robots.jobs.renewal.report import DRY_RUN, FAILED, RENEWED, SKIPPED, WORDS
from robots.jobs.renewal.status import NoJournal, structure_lines
from robots.store.journal import Journal
from robots.store.vaults import open_vault
from robots.support.private_files import replace_atomically

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_WORDS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
DEFAULT_WARN_DAYS = 21  # renew --within 30 renews from 30 days on: still under 21, nine nights went wrong
DEFAULT_CRITICAL_DAYS = 7
DEFAULT_MAX_AGE_H = 48  # the timer runs every night: two days without a night is a stopped timer
METRICS_MODE = 0o644
KINDS = (RENEWED, SKIPPED, FAILED, DRY_RUN, "delivery_failed")
NAMED = 3  # identifiants named on the status line per problem; all of them on the lines below


@dataclass
class Health:
    """What the journal and the vault say now: the structures (as `status` sees them) and the last night."""

    structures: list[dict[str, Any]]
    last_night: dict[str, Any] | None
    last_finished: dict[str, Any] | None


def read_health(journal_path: Path, vault_path: Path) -> Health:
    """Reads, creates nothing (as `status`)."""
    journal: Journal | NoJournal = Journal(journal_path) if journal_path.exists() else NoJournal()
    try:
        structures = structure_lines(journal, open_vault(load_config(), vault_path))
        nights = journal.nights(20)
    finally:
        journal.close()
    finished = next((night for night in nights if night["finished"]), None)
    return Health(structures, nights[0] if nights else None, finished)


# ---------------------------------------------------------------- the plugin


@dataclass(frozen=True)
class Thresholds:
    warn_days: int = DEFAULT_WARN_DAYS
    critical_days: int = DEFAULT_CRITICAL_DAYS
    max_age_h: float = DEFAULT_MAX_AGE_H

    def check(self) -> None:
        if self.critical_days < 0 or self.warn_days < self.critical_days:
            raise BadInput(f"--warn {self.warn_days} --critical {self.critical_days} : 0 ≤ critique ≤ alerte attendu")


def plugin(paths: Callable[[], tuple[Path, Path]], thresholds: Thresholds, metrics_path: str | None = None) -> int:
    """Prints the plugin's output and returns its exit code; whatever goes wrong (the configuration, the journal,
    the vault) is UNKNOWN (3), never 2. `paths`: the journal's and the vault's, found once inside that guard."""
    try:
        thresholds.check()
        health = read_health(*paths())
        if metrics_path:
            write_metrics(Path(metrics_path), health)
        code, lines = judge(health, thresholds)
    except Exception as exc:  # a plugin always answers: a journal or vault it cannot read is UNKNOWN
        code, lines = UNKNOWN, [f"CHORUS-ROBOT UNKNOWN - {_one_line(str(exc) or type(exc).__name__)}"]
    print("\n".join(lines))
    return code


def judge(health: Health, thresholds: Thresholds, now: datetime | None = None) -> tuple[int, list[str]]:
    """(exit code, output lines): the status line first, then one line per structure to look at."""
    lines = health.structures
    failed = [line for line in lines if is_failed(line)]
    undelivered = [line for line in lines if line.get("open_deliveries")]
    known_days = [line for line in lines if line.get("days_left") is not None]
    critical = [line for line in known_days if line["days_left"] <= thresholds.critical_days]
    warning = [line for line in known_days if thresholds.critical_days < line["days_left"] <= thresholds.warn_days]
    age_h = _age_hours(health.last_night, now)
    problems = [
        _named(failed, "en échec"), _named(undelivered, "livraison en attente"),
        _named(critical, f"expire sous {thresholds.critical_days} jours"),
        _named(warning, f"expire sous {thresholds.warn_days} jours"),
    ]  # fmt: skip
    stale = thresholds.max_age_h > 0 and (age_h is None or age_h > thresholds.max_age_h)
    interrupted = bool(health.last_night) and health.last_night.get("result") == "interrupted"  # type: ignore[union-attr]
    if not lines and health.last_night is None:
        return UNKNOWN, [f"CHORUS-ROBOT UNKNOWN - ni journal ni coffre à lire : rien à surveiller{_perf(health, None)}"]
    if failed or undelivered or critical:
        code = CRITICAL
    elif warning or stale or interrupted:
        code = WARNING
    else:
        code = OK
    if stale:
        problems.append(f"aucune nuit depuis {age_h:.0f} h" if age_h is not None else "aucune nuit au journal")
    if interrupted:
        problems.append(f"nuit n°{health.last_night['night']} interrompue")  # type: ignore[index]
    summary = " ; ".join(p for p in problems if p) or _all_good(known_days, health.last_finished)
    first = f"CHORUS-ROBOT {STATE_WORDS[code]} - {len(lines)} structures : {summary}"
    return code, [_one_line(first) + _perf(health, age_h, thresholds), *_details(failed, undelivered, critical)]


def is_failed(line: dict[str, Any]) -> bool:
    """The last renewal failed (a renewal whose delivery alone is due is « undelivered », not failed)."""
    return line.get("last_result") == FAILED and line.get("state") == WORDS[FAILED]


def _named(lines: list[dict[str, Any]], what: str) -> str:
    if not lines:
        return ""
    names = ", ".join(line["identifiant"] for line in lines[:NAMED]) + (", …" if len(lines) > NAMED else "")
    return f"{len(lines)} {what} ({names})"


def _all_good(known_days: list[dict[str, Any]], finished: dict[str, Any] | None) -> str:
    soonest = min((line["days_left"] for line in known_days), default=None)
    parts = [f"prochaine expiration dans {soonest} jours" if soonest is not None else "aucune expiration connue"]
    if finished:
        parts.append(f"nuit n°{finished['night']} {finished['result'] or '?'}")
    return ", ".join(parts)


def _details(*groups: list[dict[str, Any]]) -> list[str]:
    """The plugin's long output: each structure to look at once, with why."""
    seen: dict[str, str] = {}
    for line in (line for group in groups for line in group):
        if line["identifiant"] in seen:
            continue
        days = line.get("days_left")
        why = line.get("last_error") or line.get("state") or "-"
        when = f"expire dans {days} jours" if days is not None else "expiration inconnue"
        name = " ".join(p for p in (line.get("account"), line["identifiant"], line.get("raison_sociale")) if p)
        seen[line["identifiant"]] = _one_line(f"{name} : {why} ({when})")
    return list(seen.values())


def _perf(health: Health, age_h: float | None, thresholds: Thresholds | None = None) -> str:
    """« | » then label=value;warn;crit;min;max (Nagios' performance data)."""
    lines = health.structures
    days = [line["days_left"] for line in lines if line.get("days_left") is not None]
    warn = f"{thresholds.warn_days}:" if thresholds else ""
    crit = f"{thresholds.critical_days}:" if thresholds else ""
    values = [
        f"structures={len(lines)};;;0",
        f"failed={sum(1 for line in lines if is_failed(line))};;;0",
        f"undelivered={sum(len(line.get('open_deliveries') or []) for line in lines)};;;0",
        f"expired={sum(1 for d in days if d < 0)};;;0",
    ]
    if days:
        values.append(f"min_days_left={min(days)};{warn};{crit};;")
    if age_h is not None:
        values.append(f"last_night_age={round(age_h * 3600)}s;;;0")
    return " | " + " ".join(values)


def _age_hours(night: dict[str, Any] | None, now: datetime | None) -> float | None:
    if not night:
        return None
    started = datetime.fromisoformat(night["started"])
    now = now or datetime.now(started.tzinfo)
    return max(0.0, (now - started).total_seconds() / 3600)


def _one_line(text: str) -> str:
    """A plugin's line: no line break, and no « | » but the one before the performance data."""
    return " ".join(text.split()).replace("|", "/")


# ---------------------------------------------------------------- the metrics


def registry_of(health: Health) -> CollectorRegistry:
    registry = CollectorRegistry()
    by_structure = ["identifiant", "account"]
    days = Gauge("chorus_robot_technical_password_days_left", "Jours avant l'expiration du mot de passe technique "
                 "(négatif : expiré)", by_structure, registry=registry)  # fmt: skip
    expiry = Gauge("chorus_robot_technical_password_expiry_timestamp_seconds",
                   "Expiration du mot de passe technique (heure Unix)", by_structure, registry=registry)  # fmt: skip
    failing = Gauge("chorus_robot_structure_failed", "1 : le dernier renouvellement de la structure a échoué",
                    by_structure, registry=registry)  # fmt: skip
    for line in health.structures:
        labels = {"identifiant": line["identifiant"], "account": line.get("account") or ""}
        failing.labels(**labels).set(1 if is_failed(line) else 0)
        if line.get("days_left") is not None:
            days.labels(**labels).set(line["days_left"])
            expiry.labels(**labels).set(_timestamp(line["expires_at"]))
    renewed = [_timestamp(line["last_renewed"]) for line in health.structures if line.get("last_renewed")]
    if renewed:
        Gauge("chorus_robot_last_successful_renewal_timestamp_seconds",
              "Dernier renouvellement réussi d'un mot de passe technique (heure Unix)",
              registry=registry).set(max(renewed))  # fmt: skip
    _night_metrics(registry, health)
    Gauge("chorus_robot_deliveries_pending", "Livraisons de mots de passe encore dues (en attente ou en échec)",
          registry=registry).set(sum(len(line.get("open_deliveries") or []) for line in health.structures))  # fmt: skip
    return registry


def _night_metrics(registry: CollectorRegistry, health: Health) -> None:
    finished = health.last_finished
    outcomes = Gauge("chorus_robot_last_night_structures", "Structures de la dernière nuit terminée, par issue",
                     ["kind"], registry=registry)  # fmt: skip
    summary = _summary(finished)
    for kind in dict.fromkeys([*KINDS, *summary]):
        outcomes.labels(kind=kind).set(summary.get(kind, 0))
    if finished:
        Gauge("chorus_robot_last_night_end_timestamp_seconds", "Fin de la dernière nuit terminée (heure Unix)",
              registry=registry).set(_timestamp(finished["finished"]))  # fmt: skip
        Gauge("chorus_robot_last_night_success", "1 : la dernière nuit terminée a réussi (ok)",
              registry=registry).set(1 if finished["result"] == "ok" else 0)  # fmt: skip


def _summary(night: dict[str, Any] | None) -> dict[str, int]:
    if not night or not night.get("summary"):
        return {}
    summary = night["summary"] if isinstance(night["summary"], dict) else json.loads(night["summary"])
    return {str(kind): int(count) for kind, count in summary.items()}


def _timestamp(value: str) -> float:
    """An ISO moment (a naive one is local wall-clock time, as the portal writes it) as Unix time."""
    return datetime.fromisoformat(value).timestamp()


def check_metrics_path(path: Path) -> None:
    """Before a night: the folder of --metrics must exist (node_exporter's textfile folder) and take a file."""
    folder = path.parent
    if not folder.is_dir():
        raise BadInput(f"--metrics {path} : le dossier {folder} n'existe pas (celui du textfile collector de "
                       "node_exporter, p. ex. /var/lib/prometheus/node-exporter)")  # fmt: skip
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"--metrics {path} : le dossier {folder} n'est pas accessible en écriture")
    if path.is_dir():
        raise BadInput(f"--metrics {path} : c'est un dossier, un fichier .prom est attendu")


def write_metrics(path: Path, health: Health) -> None:
    """The text exposition, written atomically, 0644 (no secret in it: see the module's docstring)."""
    check_metrics_path(path)
    data = generate_latest(registry_of(health))
    replace_atomically(path, lambda handle: handle.write(data), mode=METRICS_MODE)


def metrics(journal_path: Path, vault_path: Path, path: Path) -> None:
    """`--metrics FILE`: the journal's and the vault's state now; a failure to write is said, in French."""
    try:
        write_metrics(path, read_health(journal_path, vault_path))
    except OSError as exc:
        raise BadInput(f"--metrics {path} : écriture impossible ({exc.strerror})") from None

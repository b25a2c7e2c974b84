"""One nightly run, start to finish: lock, journal, recovery, the pool, reports, operator e-mail."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from loguru import logger
from playwright.sync_api import Browser

from robots import logs
from robots.config import DEFAULT_JOURNAL
from robots.errors import DeliveryFailed, JournalWriteFailed
from robots.jobs.renewal.api_recheck import recheck_refused
from robots.jobs.renewal.delivery import SmtpSettings, send_email
from robots.jobs.renewal.plan import RenewOptions, plan_night, units_of
from robots.jobs.renewal.pool import run_pool
from robots.jobs.renewal.progress import Counted, Progress
from robots.jobs.renewal.recovery import recover
from robots.jobs.renewal.report import (
    RENEWED,
    RUN_WORDS,
    Outcome,
    RunReport,
    french_date,
    redact_except,
    sort_outcomes,
    summary_lines,
    write_json,
    write_junit,
)
from robots.secrets import REDACTOR
from robots.store import lock
from robots.store.crash_points import crash_point
from robots.store.journal import Journal
from robots.store.vault import now_iso

DEFAULT_LOG = Path("var/renewal/logs/renew.log")
URGENT_DAYS = 7


@dataclass
class Outputs:
    journal: Path = DEFAULT_JOURNAL
    lock: Path | None = None  # default: next to the journal
    report: Path | None = None
    junit: Path | None = None
    log_file: Path | None = DEFAULT_LOG
    log_rotation: str = "10 MB"
    notify: str | None = None

    @property
    def lock_path(self) -> Path:
        return self.lock or self.journal.with_name(self.journal.name + ".lock")


def run_renewal(options: RenewOptions, outputs: Outputs, browser: Browser | None = None) -> RunReport:
    checked = plan_night(options)
    handler = logs.add_file(outputs.log_file, rotation=outputs.log_rotation) if outputs.log_file else None
    try:
        with lock.exclusive(outputs.lock_path, "chorus-robot renew"):
            return _locked_run(checked, outputs, browser)
    finally:
        if handler is not None:
            logger.remove(handler)


def _locked_run(checked, outputs: Outputs, browser: Browser | None) -> RunReport:  # type: ignore[no-untyped-def]
    options = checked.options
    journal = Journal(outputs.journal)
    try:
        run_id = journal.start_run(" ".join(sys.argv[1:]) or "renew", options.dry_run)
    except JournalWriteFailed as exc:
        journal.close()
        raise JournalWriteFailed(f"{exc} ; renouvellement arrêté avant toute réinitialisation") from None
    started = now_iso()
    where = f", étapes dans {outputs.log_file}" if outputs.log_file else ""
    night = journal.night_number(run_id)
    logs.operator("Renouvellement n°{} : registre {}, journal {}{}", night, options.roster_path, outputs.journal,
                  where)  # fmt: skip
    try:
        try:
            recovered, forced = recover(checked, journal, run_id)
        except JournalWriteFailed as exc:
            raise JournalWriteFailed(f"{exc} ; renouvellement arrêté avant toute réinitialisation") from None
        units, chunk = units_of(checked)
        shared = Counted(checked, journal, run_id, forced, chunk, progress=Progress.of(units, options.jobs))
        run_pool(shared, units, browser)
        recheck_refused(shared)
        crash_point("before-report")
        report = RunReport(
            run_id=run_id, started=started, finished=now_iso(), env=options.env_name, roster=str(options.roster_path),
            within_days=options.within_days, jobs=options.jobs, shard=str(options.shard) if options.shard else None,
            dry_run=options.dry_run, recovered=recovered, night=night,
            outcomes=sort_outcomes(shared.outcomes, [a.name for a in checked.roster.accounts]),
            storage_failure=journal.failure,
        )  # fmt: skip
        _tell_storage_failure(journal, shared.kept)
        _name_from_journal(report.outcomes, journal)
        _write_outputs(report, outputs)
        journal.best_effort(journal.finish_run, run_id, report.result, report.counts())
        headline, *details = summary_lines(report)
        logger.info("{}", headline)  # the command prints it: the log file keeps it
        for line in details:  # each structure was told as it was done: the log file keeps the list again
            logger.bind(file_only=True).debug("{}", line)
        notify = outputs.notify or checked.roster.notify
        if notify and not options.dry_run:
            notify_operator(report, notify, outputs)
        return report
    except BaseException:
        journal.best_effort(journal.finish_run, run_id, "interrupted", {})  # never hides why the run stopped
        raise
    finally:
        journal.close()


def _tell_storage_failure(journal: Journal, kept: dict[str, str]) -> None:
    """The journal failed during the night: the operator reads where each new password is."""
    if journal.failure is None:
        return
    where = " ; ".join(f"structure {key} : {place}" for key, place in kept.items()) or "aucun"
    logger.error("Stockage en échec : {}. Mots de passe générés cette nuit : {}", journal.failure, where)


def _write_outputs(report: RunReport, outputs: Outputs) -> None:
    if outputs.report:
        write_json(report, outputs.report)
        logs.operator("Rapport JSON : {}", outputs.report)
    if outputs.junit:
        write_junit(report, outputs.junit)
        logs.operator("Rapport JUnit : {}", outputs.junit)


def _name_from_journal(outcomes: list[Outcome], journal: Journal) -> None:
    """A structure that failed before its page was read keeps the raison sociale an earlier night read."""
    names = {row["identifiant"]: row["raison_sociale"] for row in journal.structures() if row["raison_sociale"]}
    for outcome in outcomes:
        outcome.raison_sociale = outcome.raison_sociale or names.get(outcome.identifiant, "")


def needs_attention(report: RunReport) -> list[str]:
    """What an operator must look at, each problem once: the structures it hit listed under it."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in report.outcomes:
        if outcome.failed:
            groups.setdefault(_problem(outcome), []).append(outcome)
    lines = []
    for problem, hit in groups.items():
        urgent = any(o.days_left is not None and o.days_left <= URGENT_DAYS for o in hit)
        flag = " URGENT" if urgent else ""
        if len(hit) == 1:
            lines.append(f"-{flag} {_structure(hit[0])} : {problem}")
            continue
        lines.append(f"-{flag} {problem} — {len(hit)} structures :")
        lines.extend(f"    {_structure(o)}" for o in hit)
    for recovered in report.recovered:
        if recovered.failed:
            lines.append(f"- reprise {recovered.identifiant} : {recovered.action}")
    return lines


def _problem(outcome: Outcome) -> str:
    failed = [f"livraison {d['target']} : {d.get('error')}" for d in outcome.deliveries if d["result"] == "failed"]
    problem = outcome.error or "; ".join(failed)
    return redact_except(problem, outcome.failed_targets)


def _structure(outcome: Outcome) -> str:
    if outcome.action == RENEWED and outcome.new_expiry:  # renewed, its delivery failed: the new expiry
        when = f"nouveau mot de passe, expire le {french_date(outcome.new_expiry)}"
    elif outcome.days_left is not None:
        when = f"expire dans {outcome.days_left} jours"
    else:
        when = "expiration inconnue"
    name = " ".join(p for p in (outcome.account, outcome.identifiant, outcome.raison_sociale) if p)
    return REDACTOR.redact(f"{name} ({when})")


def notify_operator(report: RunReport, address: str, outputs: Outputs | None = None) -> None:
    problems = needs_attention(report)
    if not problems:
        return
    outputs = outputs or Outputs()
    message = EmailMessage()
    try:
        settings = SmtpSettings.from_env()
    except Exception as exc:  # noqa: BLE001 - the run's result stands; say why nobody was told
        logger.error("Courriel à l'exploitant impossible : {}", exc)
        return
    failed = sum(1 for o in report.outcomes if o.failed)
    message["From"], message["To"] = settings.sender, address
    message["Subject"] = f"chorus-robot : renouvellement n°{report.night} — {failed} structure(s) à voir"
    files = [f"- journal SQLite : {outputs.journal}"]
    if outputs.log_file:
        files.append(f"- fichier de log (les étapes) : {outputs.log_file}")
    reports = (("JSON", outputs.report), ("JUnit", outputs.junit))
    files += [f"- rapport {kind} : {path}" for kind, path in reports if path]
    result = RUN_WORDS.get(report.result, report.result)
    body = [
        f"Renouvellement n°{report.night} du {datetime.now():%d/%m/%Y %H:%M} ({report.env}) : {result}.", "",
        "À traiter :", *problems, "", "Résumé :", *summary_lines(report), "",
        f"Voir `chorus-robot status --journal {outputs.journal}` et :", *files,
    ]  # fmt: skip
    message.set_content("\n".join(body) + "\n")
    try:
        send_email(settings, message)
        logs.operator("Courriel de synthèse envoyé à {}", address)
    except DeliveryFailed as exc:
        logger.error("Courriel à l'exploitant en échec : {}", exc)

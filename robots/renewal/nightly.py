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
from robots.renewal import lock
from robots.renewal.delivery import DeliveryFailed, SmtpSettings, send_email
from robots.renewal.job import RenewOptions, Shared, plan, recover, run_pool, units_of
from robots.renewal.journal import DEFAULT_JOURNAL, Journal
from robots.renewal.report import RunReport, sort_outcomes, summary_lines, write_json, write_junit
from robots.secrets import REDACTOR
from robots.vault import now_iso

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
    checked = plan(options)
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
    run_id = journal.start_run(" ".join(sys.argv[1:]) or "renew", options.dry_run)
    started = now_iso()
    logger.info("Renouvellement n°{} : registre {}, journal {}", run_id, options.roster_path, outputs.journal)
    try:
        recovered, forced = recover(checked, journal, run_id)
        units, chunk = units_of(checked)
        shared = Shared(checked, journal, run_id, forced, chunk)
        run_pool(shared, units, browser)
        report = RunReport(
            run_id=run_id, started=started, finished=now_iso(), env=options.env_name, roster=str(options.roster_path),
            within_days=options.within_days, jobs=options.jobs, shard=str(options.shard) if options.shard else None,
            dry_run=options.dry_run, recovered=recovered,
            outcomes=sort_outcomes(shared.outcomes, [a.name for a in checked.roster.accounts]),
        )  # fmt: skip
        _write_outputs(report, outputs)
        journal.finish_run(run_id, report.result, report.counts())
        headline, *details = summary_lines(report)
        logger.info("{}", headline)
        for line in details:
            logger.debug("{}", line)
        notify = outputs.notify or checked.roster.notify
        if notify and not options.dry_run:
            notify_operator(report, notify)
        return report
    except BaseException:
        journal.finish_run(run_id, "interrupted", {})
        raise
    finally:
        journal.close()


def _write_outputs(report: RunReport, outputs: Outputs) -> None:
    if outputs.report:
        write_json(report, outputs.report)
        logger.info("Rapport JSON : {}", outputs.report)
    if outputs.junit:
        write_junit(report, outputs.junit)
        logger.info("Rapport JUnit : {}", outputs.junit)


def needs_attention(report: RunReport) -> list[str]:
    """What an operator must look at: failures, and the due structures that were not renewed."""
    lines = []
    for outcome in report.outcomes:
        if outcome.failed:
            days = outcome.days_left
            urgent = " URGENT" if days is not None and days <= URGENT_DAYS else ""
            when = f"expire dans {days} jours" if days is not None else "expiration inconnue"
            failed = [
                f"livraison {d['target']} : {d.get('error')}" for d in outcome.deliveries if d["result"] == "failed"
            ]
            lines.append(f"-{urgent} {outcome.account} {outcome.identifiant} {outcome.raison_sociale} ({when}) : "
                         f"{outcome.error or '; '.join(failed)}")  # fmt: skip
    for recovered in report.recovered:
        if recovered.failed:
            lines.append(f"- reprise {recovered.identifiant} : {recovered.action}")
    return lines


def notify_operator(report: RunReport, address: str) -> None:
    problems = needs_attention(report)
    if not problems:
        return
    message = EmailMessage()
    try:
        settings = SmtpSettings.from_env()
    except Exception as exc:  # noqa: BLE001 - the run's result stands; say why nobody was told
        logger.error("Courriel à l'exploitant impossible : {}", exc)
        return
    message["From"], message["To"] = settings.sender, address
    message["Subject"] = f"chorus-robot : renouvellement n°{report.run_id} — {len(problems)} structure(s) à voir"
    body = [
        f"Exécution n°{report.run_id} du {datetime.now():%d/%m/%Y %H:%M} ({report.env}) : {report.result}.", "",
        "À traiter :", *problems, "", "Résumé :", *summary_lines(report), "",
        "Voir `chorus-robot status` et le journal de la nuit (var/renewal/logs/renew.log).",
    ]  # fmt: skip
    message.set_content(REDACTOR.redact("\n".join(body)) + "\n")
    try:
        send_email(settings, message)
        logger.info("Courriel de synthèse envoyé à {}", address)
    except DeliveryFailed as exc:
        logger.error("Courriel à l'exploitant en échec : {}", exc)

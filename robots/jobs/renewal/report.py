"""What a run did, per structure: a JSON report and a JUnit XML file (CI dashboards), never a secret."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from robots.errors import EXIT_FAILURE, EXIT_OK
from robots.secrets import REDACTOR
from robots.support.private_files import make_parents, replace_atomically

RENEWED, SKIPPED, FAILED, DRY_RUN = "renewed", "skipped", "failed", "dry-run"
# What people read for each outcome (the keys stay English in JSON and the journal).
WORDS = {RENEWED: "renouvelée", SKIPPED: "rien à faire", DRY_RUN: "à renouveler (simulation)", FAILED: "en échec"}
API_NOT_CHECKED = {  # api_check's outcomes that leave the new password unchecked: said on the console too
    "impossible": "vérification API impossible",
    "bad_request": "vérification API non faite (requête du robot refusée)",
}
RUN_WORDS = {"ok": "réussie", "failed": "en échec", "interrupted": "interrompue"}


def redact_except(text: str, keep: list[str]) -> str:
    """Secrets hidden, except the delivery targets named (an address may also be a login: it is shown)."""
    targets = sorted({k for k in keep if k}, key=len, reverse=True)
    if not targets:
        return REDACTOR.redact(text)
    target, rest = targets[0], targets[1:]
    return target.join(redact_except(part, rest) for part in text.split(target))


@dataclass
class Outcome:
    account: str
    identifiant: str
    action: str = FAILED
    reason: str = ""
    raison_sociale: str = ""
    technical_login: str | None = None
    attempts: int = 0
    old_expiry: str | None = None
    new_expiry: str | None = None
    days_left: int | None = None
    api_check: dict[str, bool | None] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None  # login_refused, account_locked, second_factor: the account stopped for the run
    duration_s: float = 0.0

    @property
    def failed(self) -> bool:
        return self.action == FAILED or any(d.get("result") == "failed" for d in self.deliveries)

    @property
    def failed_targets(self) -> list[str]:
        return [d["target"] for d in self.deliveries if d.get("result") == "failed"]

    def describe(self) -> str:
        """« renouvelée, expire le 22/02/2027 », « en échec : … », in the words of the reports."""
        text = WORDS.get(self.action, self.action)
        if self.action == RENEWED and self.new_expiry:
            text += f", expire le {french_date(self.new_expiry)}"
        if self.action == RENEWED and self.api_check.get("result") in API_NOT_CHECKED:
            text += f", {API_NOT_CHECKED[str(self.api_check['result'])]}"
        elif self.reason:
            text += f" ({self.reason})"
        failed = [d for d in self.deliveries if d.get("result") == "failed"]
        if failed:
            text += ", livraison en échec : " + "; ".join(f"{d['target']} ({d.get('error')})" for d in failed)
        if self.error:
            text += f" — {self.error}"
        return redact_except(text, self.failed_targets)


def french_date(value: str | None) -> str:
    """2027-02-22T10:00:00 → 22/02/2027 (what the portal shows); anything else unchanged."""
    if not value:
        return "?"
    try:
        return datetime.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def days_until(expiry: str | None, now: datetime | None = None) -> int | None:
    """Whole days from now to an expiry read on the portal (its wall-clock time); negative once expired."""
    if not expiry:
        return None
    moment = datetime.fromisoformat(expiry).replace(tzinfo=None)
    return math.floor((moment - (now or datetime.now())).total_seconds() / 86400)


@dataclass
class Recovered:
    """What the run found left by an interrupted or failed run, and did about it."""

    account: str | None
    identifiant: str
    finding: str
    action: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(d.get("result") == "failed" for d in self.deliveries)


@dataclass
class RunReport:
    run_id: int
    started: str
    finished: str
    env: str
    roster: str
    within_days: int
    jobs: int
    shard: str | None
    dry_run: bool
    outcomes: list[Outcome]
    recovered: list[Recovered]
    night: int = 0  # « Renouvellement n°N »: the journal's Nth `renew` (run_id counts `run`s too)
    storage_failure: str | None = None  # the journal's disk full or read-only during the run (exit 1)

    @property
    def exit_code(self) -> int:
        failed = any(o.failed for o in self.outcomes) or any(r.failed for r in self.recovered)
        failed = failed or self.storage_failure is not None
        return EXIT_FAILURE if failed else EXIT_OK

    @property
    def result(self) -> str:
        return "failed" if self.exit_code else "ok"

    def counts(self) -> dict[str, int]:
        counts = {RENEWED: 0, SKIPPED: 0, DRY_RUN: 0, FAILED: 0, "delivery_failed": 0}
        for outcome in self.outcomes:
            counts[outcome.action] += 1
            if outcome.action != FAILED and outcome.failed:
                counts["delivery_failed"] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["result"], data["exit_code"], data["counts"] = self.result, self.exit_code, self.counts()
        return REDACTOR.redact_data(data)  # type: ignore[return-value]


def sort_outcomes(outcomes: list[Outcome], account_order: list[str]) -> list[Outcome]:
    rank = {name: i for i, name in enumerate(account_order)}
    return sorted(outcomes, key=lambda o: (rank.get(o.account, len(rank)), o.identifiant))


def write_json(report: RunReport, path: Path) -> None:
    _write_private(path, json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")


def junit_xml(report: RunReport) -> str:
    cases = [_testcase(o) for o in report.outcomes] + [_recovery_case(r) for r in report.recovered]
    suite = ET.Element(
        "testsuite", name="chorus-robot renew", tests=str(len(cases)),
        failures=str(sum(1 for c in cases if c.find("failure") is not None)),
        skipped=str(sum(1 for c in cases if c.find("skipped") is not None)),
        time=f"{sum(o.duration_s for o in report.outcomes):.1f}", timestamp=report.started,
    )  # fmt: skip
    properties = ET.SubElement(suite, "properties")
    for name, value in (("env", report.env), ("roster", report.roster), ("run", str(report.run_id))):
        ET.SubElement(properties, "property", name=name, value=value)
    suite.extend(cases)
    root = ET.Element("testsuites", name="chorus-robot")
    root.append(suite)
    ET.indent(root)
    targets = [t for o in report.outcomes for t in o.failed_targets]
    return redact_except(ET.tostring(root, encoding="unicode", xml_declaration=True), targets) + "\n"


def _testcase(outcome: Outcome) -> ET.Element:
    name = f"{outcome.identifiant} {outcome.raison_sociale}".strip()
    case = ET.Element("testcase", classname=f"renew.{outcome.account}", name=name, time=f"{outcome.duration_s:.1f}")
    if outcome.failed:
        problems = [outcome.error] if outcome.error else []
        failed = [d for d in outcome.deliveries if d["result"] == "failed"]
        problems += [f"livraison {d['target']} : {d.get('error')}" for d in failed]
        ET.SubElement(case, "failure", message="; ".join(p for p in problems if p) or "échec").text = _details(outcome)
    elif outcome.action in (SKIPPED, DRY_RUN):
        ET.SubElement(case, "skipped", message=outcome.reason or WORDS[outcome.action])
    ET.SubElement(case, "system-out").text = _details(outcome)
    return case


def _recovery_case(recovered: Recovered) -> ET.Element:
    case = ET.Element("testcase", classname="renew.recovery", name=recovered.identifiant, time="0")
    if recovered.failed:
        failed = [f"{d['target']} : {d.get('error')}" for d in recovered.deliveries if d["result"] == "failed"]
        ET.SubElement(case, "failure", message="; ".join(failed))
    ET.SubElement(case, "system-out").text = f"{recovered.finding} → {recovered.action}"
    return case


def _details(outcome: Outcome) -> str:
    lines = [
        f"résultat : {WORDS.get(outcome.action, outcome.action)} {outcome.reason}".rstrip(),
        f"utilisateur technique : {outcome.technical_login or '?'}",
        f"expiration : {french_date(outcome.old_expiry) if outcome.old_expiry else '?'} → "
        f"{french_date(outcome.new_expiry) if outcome.new_expiry else '-'}",
        f"réinitialisations : {outcome.attempts}",
    ]
    lines += [
        f"livraison {d['target']} : {'faite' if d['result'] == 'done' else 'en échec'}" for d in outcome.deliveries
    ]
    return "\n".join(lines)


def write_junit(report: RunReport, path: Path) -> None:
    _write_private(path, junit_xml(report), [t for o in report.outcomes for t in o.failed_targets])


def _write_private(path: Path, text: str, keep: list[str] | None = None) -> None:
    make_parents(path)
    data = redact_except(text, keep or []).encode("utf-8")
    replace_atomically(path, lambda handle: handle.write(data))


COUNT_WORDS = {**WORDS, DRY_RUN: "à renouveler", "delivery_failed": "livraison en échec"}


def _counted(report: RunReport) -> list[str]:
    """The counts a reader needs: « à renouveler » in a dry run only, a delivery failure only when there is one."""
    counts = report.counts()
    keys = [DRY_RUN, SKIPPED, FAILED] if report.dry_run else [RENEWED, SKIPPED, FAILED]
    return keys + (["delivery_failed"] if counts["delivery_failed"] else [])


def summary_lines(report: RunReport) -> list[str]:
    counts = report.counts()
    lines = [
        f"Renouvellement n°{report.night or report.run_id} ({report.env}{', simulation' if report.dry_run else ''}) : "
        + ", ".join(f"{COUNT_WORDS[key]} {counts[key]}" for key in _counted(report))
        + "."
    ]
    for recovered in report.recovered:
        lines.append(f"  reprise {recovered.identifiant} : {recovered.finding} → {recovered.action}")
    lines = [REDACTOR.redact(line) for line in lines]
    for outcome in report.outcomes:
        name = " ".join(p for p in (outcome.account, outcome.identifiant, outcome.raison_sociale) if p)
        lines.append(redact_except(f"  {name} : ", outcome.failed_targets) + outcome.describe())
    return lines

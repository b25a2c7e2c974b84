"""`chorus-robot accounts create FILE`: create, activate and log in every user of a file.

Per row: the password and the secret answer are generated and written to the user vault BEFORE the
portal sees them (a generated password is never lost); the account is created (flows/create_account),
the activation mail read and the link followed (flows/activate_account), then a first login proves
it (flows/first_login). The vault records how far each row got, so a rerun skips the rows
done and resumes the others without creating anything twice.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from loguru import logger
from playwright.sync_api import Browser

from robots.browser.portal_context import BrowserOptions, new_portal_context, open_browser
from robots.config import load_config, packaged
from robots.engine.runner import runner_on
from robots.engine.steps.context import NoCredentials
from robots.errors import EXIT_FAILURE, EXIT_OK, STORAGE_FAILED, RobotError, StorageFailed, labelled
from robots.integrations import account_services as services
from robots.integrations import second_factor
from robots.jobs.accounts.rows import AccountRow, read_rows
from robots.jobs.run import RunRequest, prepare
from robots.secrets import REDACTOR, SecretProvider
from robots.store.vault import Vault
from robots.store.vaults import open_vault
from robots.support.private_files import write_private

FLOWS = packaged("flows")
DEFAULT_USER_VAULT = Path("var/vault/user-accounts.json")
SECRET_QUESTION = "Code remis par l'équipe support"
PASSWORD_LENGTH = 16  # above every rule seen (8 in the seeds, 12 in newer screens)
_SPECIALS = "-_.:!?#%+="
OUTCOMES = {"gestionnaire_principal": "created", "rattachement_demande": "rattachement_requested",
            "sans_rattachement": "created"}  # fmt: skip
REASONS = {
    "gestionnaire_principal": "compte créé et activé, gestionnaire principal de la structure",
    "rattachement_demande": "compte créé et activé ; demande de rattachement transmise au gestionnaire",
    "sans_rattachement": "compte créé et activé sans rattachement : à demander depuis « Mon compte »",
    "repris": "compte créé par une exécution interrompue, activé par celle-ci",
}
SERVICES_PENDING = "structure_a_la_premiere_connexion"  # portail de services: the structure comes at first login


def generate_password(length: int = PASSWORD_LENGTH) -> str:
    """Upper, lower, digits and specials: meets « 3 kinds of 4 » whatever the minimum length asked."""
    kinds = (string.ascii_uppercase, string.ascii_lowercase, string.digits, _SPECIALS)
    chars = [secrets.choice(kind) for kind in kinds]
    chars += [secrets.choice("".join(kinds)) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def generate_answer() -> str:
    return "-".join(secrets.token_hex(3) for _ in range(3))


@dataclass
class RowResult:
    row: int
    email: str
    outcome: str  # created | rattachement_requested | skipped | failed
    reason: str


@dataclass
class OnboardingRequest:
    file: Path
    env_name: str = "mock"
    portal_url: str | None = None
    vault_path: Path = DEFAULT_USER_VAULT
    report_path: Path | None = None
    services: services.AccountServices = field(default_factory=services.AccountServices)
    browser: BrowserOptions = BrowserOptions()


@dataclass
class FlowRunner:
    """Runs account flows in one browser, each in a fresh context, with secrets that never touch os.environ."""

    browser: Browser
    env_name: str
    portal_url: str | None

    def run(self, flow: str, variables: dict[str, str], secret_values: dict[str, str] | None = None) -> dict:
        # The row's secrets are given here, never asked of the environment.
        given = {name: (lambda value=value: value) for name, value in (secret_values or {}).items()}
        request = RunRequest(flow=FLOWS / flow, env_name=self.env_name, portal_url=self.portal_url,
                             variables=variables, keeps_credentials=False, secret_sources=given)  # fmt: skip
        prepared = prepare(request)
        names = {name: f"ACCOUNT_{name.upper()}" for name in secret_values or {}}
        environ = {names[name]: value for name, value in (secret_values or {}).items()}
        for value in environ.values():
            REDACTOR.add(value)
        # A first login that asks the second factor: the code mailed to the new user, from the same mailbox.
        codes = second_factor.sources(second_factor.AccountMailboxCode(variables["email"])) if "email" in variables \
            else {}  # fmt: skip
        context = new_portal_context(self.browser)
        try:
            runner = runner_on(
                context, prepared.catalogue, prepared.config.settings, retry=False,
                secrets=SecretProvider(names, environ, sources=codes),
                sink=NoCredentials("les flows des comptes utilisateurs ne rangent rien dans le coffre technique"),
            )  # fmt: skip
            return runner.run(FLOWS / flow, prepared.scope).scope
        finally:
            context.close()


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def onboard_row(flows: FlowRunner, vault: Vault, row: AccountRow) -> RowResult:
    """One user, from wherever the vault says it stopped."""
    email = row.email
    entry = vault.get(email) or {}
    if entry.get("status") == "active":
        return RowResult(
            row.line, email, "skipped", f"déjà fait ({entry.get('outcome', '')}, {entry.get('updated_at')})"
        )
    if not entry:
        vault.put(email, password=generate_password(), question=SECRET_QUESTION, answer=generate_answer(),
                  status="generated", created_by_row=row.line)  # fmt: skip
        entry = vault.get(email) or {}
    if entry["status"] == "generated":
        _create(flows, vault, row, interrupted_before="requested_at" in entry)
        entry = vault.get(email) or {}
    if entry["status"] == "created":
        login = {"user_password": entry["password"], "secret_answer": entry["answer"]}
        flows.run("activate_account.yaml", {"email": email, "since": entry.get("requested_at", ""),
                                            "question": entry["question"]}, login)  # fmt: skip
        vault.put(email, status="activated")
    done = flows.run("first_login.yaml", {**row.flow_inputs(), "email": email}, {"user_password": entry["password"]})
    outcome = done.get("outcome") or entry["outcome"]  # the portail de services says it at the first login
    if outcome == SERVICES_PENDING:
        raise RobotError("première connexion sans la fenêtre « Votre structure » : structure ni créée ni demandée")
    vault.put(email, status="active", outcome=outcome)
    return RowResult(row.line, email, OUTCOMES.get(outcome, "created"), REASONS[outcome])


def _create(flows: FlowRunner, vault: Vault, row: AccountRow, interrupted_before: bool) -> None:
    email = row.email
    previous = (vault.get(email) or {}).get("requested_at")
    vault.put(email, requested_at=now_iso())
    structure_answer = {"reponse_structure": row.values.get("reponse_secrete", "")}
    try:
        outcome = flows.run("create_account.yaml", row.flow_inputs(), structure_answer)["outcome"]
    except RobotError as exc:
        if not (interrupted_before and "déjà utilisée" in str(exc)):
            raise
        # A previous run created it and stopped before writing it down: its activation mail is the one to read.
        vault.put(email, requested_at=previous)
        outcome = "repris"
    structure = row.values.get("siret") or row.values.get("identifiant")
    vault.put(email, status="created", outcome=outcome, structure=structure)


def onboard(request: OnboardingRequest) -> tuple[list[RowResult], int]:
    rows = read_rows(request.file)
    vault = open_vault(load_config(), request.vault_path)  # encrypted like the technical vault when the settings say so
    outcomes: list[RowResult] = []
    good = [row for row in rows if not row.problems]
    for row in rows:
        if row.problems:
            reason = f"{request.file}:{row.line}: " + " ; ".join(row.problems)
            logger.error("{}", reason)
            outcomes.append(RowResult(row.line, row.email, "failed", reason))
    if good:
        request.services.check()  # a wrong mailbox or captcha command stops here, before any account is created
        with services.using(request.services), open_browser(request.browser) as browser:
            flows = FlowRunner(browser, request.env_name, request.portal_url)
            for row in good:
                outcomes.append(_safely(flows, vault, row, request.file))
    outcomes.sort(key=lambda o: o.row)
    _write_report(request.report_path, outcomes)
    return outcomes, EXIT_OK if all(o.outcome != "failed" for o in outcomes) else EXIT_FAILURE


def _safely(flows: FlowRunner, vault: Vault, row: AccountRow, file: Path) -> RowResult:
    logger.info("Ligne {} : {}", row.line, row.email)
    try:
        outcome = onboard_row(flows, vault, row)
    except StorageFailed as exc:  # the vault's disk full or read-only: say where this account's password is
        reason = f"{labelled(STORAGE_FAILED, REDACTOR.redact(str(exc)))} ; {_password_whereabouts(vault, row.email)}"
        logger.error("{}:{}: {} : {}", file, row.line, row.email, reason)
        return RowResult(row.line, row.email, "failed", reason)
    except RobotError as exc:
        reason = REDACTOR.redact(str(exc))
        if "reponse_structure" in reason:
            reason = "la structure existe déjà sur Chorus Pro : renseignez « reponse_secrete » (sa question secrète)"
        logger.error("{}:{}: {} : {}", file, row.line, row.email, reason)
        return RowResult(row.line, row.email, "failed", reason)
    logger.info("  {} : {}", outcome.outcome, outcome.reason)
    return outcome


def _password_whereabouts(vault: Vault, email: str) -> str:
    """Where the account's password is after the vault failed (read back: a full disk still reads)."""
    try:
        entry = vault.get(email) or {}
    except RobotError:
        entry = {}
    if entry.get("password"):
        return (f"son mot de passe est dans le coffre {vault.path} (étape « {entry.get('status')} ») : la prochaine "
                "exécution reprend la ligne de là")  # fmt: skip
    return "aucun mot de passe n'a été gardé pour ce compte : rien n'a été créé au portail"


def _write_report(path: Path | None, outcomes: list[RowResult]) -> None:
    text = json.dumps([asdict(o) for o in outcomes], ensure_ascii=False, indent=2)
    if path is None:
        return
    write_private(path, REDACTOR.redact(text) + "\n")


def summary(outcomes: list[RowResult]) -> list[str]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    lines = [f"{len(outcomes)} ligne(s) : " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))]
    lines += [f"  ligne {o.row} {o.email or '?'} : {o.outcome} — {o.reason}" for o in outcomes]
    return lines

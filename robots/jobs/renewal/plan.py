"""`chorus-robot renew`, before a browser starts: the options, the checks (roster, credentials, flows, vault)
and the work units (one login each).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from robots.browser.pool import USEFUL_JOBS_PER_CPU, useful_jobs
from robots.browser.portal_context import BrowserOptions
from robots.config import Config, Environment, packaged
from robots.engine.preflight import preflight
from robots.engine.steps.context import StepObserver
from robots.errors import BadInput
from robots.integrations.api_check import CLIENT_SECRET_ENV
from robots.integrations.mailbox import PASSWORD_ENV as IMAP_PASSWORD_ENV
from robots.integrations.mailbox import open_mailbox
from robots.jobs.renewal.delivery import SmtpSettings, hide_variables
from robots.jobs.renewal.roster import Account, Roster, load_roster, missing_credentials
from robots.secrets import ENVIRON, REDACTOR
from robots.store.vault import Vault
from robots.store.vaults import open_vault

FLOWS = packaged("flows", "common")  # each replaced by the working directory's flow at the same place, if any
LOGIN_FLOW = FLOWS / "login.yaml"
LIST_FLOW = FLOWS / "list_structures.yaml"
READ_FLOW = FLOWS / "read_technical_user.yaml"
RESET_FLOW = FLOWS / "reset_until_clean.yaml"
FLOW_INPUTS = {
    LOGIN_FLOW: {"entry"},
    LIST_FLOW: set(),
    READ_FLOW: {"structure", "technical_login"},
    RESET_FLOW: {"structure", "technical_login"},
}
ALL_STRUCTURES = "(toutes)"


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, sep, count = text.partition("/")
        if not sep or not index.isdigit() or not count.isdigit() or not 1 <= int(index) <= int(count):
            raise BadInput(f"--shard « {text} » : K/N attendu avec 1 ≤ K ≤ N, p. ex. 2/4")
        return cls(int(index), int(count))

    def holds(self, identifiant: str) -> bool:
        digest = hashlib.sha256(identifiant.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class RenewOptions:
    roster_path: Path
    env_name: str = "mock"
    portal_url: str | None = None
    within_days: int = 30
    jobs: int = 1
    dry_run: bool = False
    shard: Shard | None = None
    browser: BrowserOptions = BrowserOptions()
    vault_path: Path | None = None
    failures_dir: Path = Path("recordings/failures")
    observers: list[StepObserver] = field(default_factory=list)
    api_recheck_delay_s: float | None = None  # None: settings.api_recheck_delay_s


@dataclass
class Plan:
    """Everything checked before a browser starts."""

    options: RenewOptions
    config: Config
    environment: Environment
    roster: Roster
    vault: Vault
    catalogue_folder: Path | None  # the working directory's screens over the packaged ones (None: none)


def plan_night(options: RenewOptions) -> Plan:
    checked = preflight(options.env_name, options.portal_url, FLOW_INPUTS)
    config, environment = checked.config, checked.environment
    roster = load_roster(options.roster_path)
    for account in roster.accounts:
        environment.check_entry(account.portal, options.env_name)
    missing = missing_credentials(roster)
    if missing:
        raise BadInput(
            f"registre {options.roster_path} : donnez la ou les variables"
            f" d'environnement {', '.join(missing)} (ou .env)"
        )
    hide_variables([a.password_env for a in roster.accounts] + [a.login_env for a in roster.accounts])
    hide_variables([a.totp_env for a in roster.accounts if a.totp_env] + [IMAP_PASSWORD_ENV, CLIENT_SECRET_ENV])
    for account in roster.accounts:
        if account.mailbox:
            open_mailbox(account.mailbox)  # a wrong URL is bad input, before anything runs
    for account in roster.accounts:  # redacted from the start, not only once its account logs in
        REDACTOR.add(ENVIRON.get(account.password_env))
        REDACTOR.add(ENVIRON.get(account.totp_env or ""))
    if roster.uses_email() and not options.dry_run:
        SmtpSettings.from_env()
    if options.jobs < 1:
        raise BadInput("--jobs vaut au moins 1")
    if options.jobs > useful_jobs():
        logger.warning(
            "--jobs {} : au-delà de {} ({} par processeur) les workers attendent le processeur au lieu du portail, "
            "la nuit n'en va pas plus vite (bench/renew_throughput.py)",
            options.jobs, useful_jobs(), USEFUL_JOBS_PER_CPU,
        )  # fmt: skip
    vault = open_vault(config, options.vault_path)
    vault.check()
    vault.describe(api_url=environment.api_url)
    return Plan(options, config, environment, roster, vault, checked.catalogue_folder)


@dataclass
class Unit:
    account: Account
    identifiants: list[str] | None  # None: list « Mes structures » first


def units_of(plan: Plan) -> tuple[list[Unit], int]:
    """The work units (chunks of at most chunk_size structures, one login each) and the chunk size."""
    shard = plan.options.shard
    listed: list[tuple[Account, list[str] | None]] = []
    for account in plan.roster.accounts:
        identifiants = account.listed()
        if identifiants is not None and shard:
            identifiants = [i for i in identifiants if shard.holds(i)]
        if identifiants != []:
            listed.append((account, identifiants))
    known = sum(len(ids) for _, ids in listed if ids is not None)
    unknown = sum(1 for _, ids in listed if ids is None)
    jobs = plan.options.jobs
    chunk = max(1, math.ceil(known / jobs)) if jobs > 1 and known else 10**9
    if jobs > 1 and not known and unknown:
        chunk = 0  # decided once « Mes structures » is read
    units = []
    for account, identifiants in listed:
        if identifiants is None:
            units.append(Unit(account, None))
        else:
            units.extend(Unit(account, part) for part in split(identifiants, chunk))
    return units, chunk


def split(items: list[str], size: int) -> list[list[str]]:
    if size <= 0:
        return [items]
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]

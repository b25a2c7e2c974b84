"""Sub-commands of the nightly job: renew, status."""

from __future__ import annotations

import argparse
from pathlib import Path

from robots.config import PROJECT_ROOT, load_config
from robots.errors import BadInput

DEFAULT_JOURNAL = "var/renewal/journal.sqlite"
DEFAULT_LOG = "var/renewal/logs/renew.log"


def _in_project(path: str) -> Path:
    """Relative defaults live in the project's var/, wherever the command is started from."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def _renew(args: argparse.Namespace) -> int:
    from robots.renewal.job import RenewOptions, Shard
    from robots.renewal.nightly import Outputs, run_renewal
    from robots.session import BrowserOptions

    if args.within < 0:
        raise BadInput("--within must be zero or more days")
    if args.step and args.jobs != 1:
        raise BadInput("--step needs --jobs 1: one operator answers one browser")
    observers = []
    if args.step:
        from robots.replay.stepper import Stepper

        observers.append(Stepper())
    options = RenewOptions(
        roster_path=Path(args.roster), env_name=args.env, portal_url=args.portal_url, within_days=args.within,
        jobs=args.jobs, dry_run=args.dry_run, shard=Shard.parse(args.shard) if args.shard else None,
        browser=BrowserOptions(headed=args.headed, slow_mo_ms=args.slow_mo, cdp_url=args.browser_cdp),
        vault_path=Path(args.vault) if args.vault else None, observers=observers,
    )  # fmt: skip
    outputs = Outputs(
        journal=Path(args.journal) if args.journal else _in_project(DEFAULT_JOURNAL),
        lock=Path(args.lock) if args.lock else None,
        report=Path(args.report) if args.report else None, junit=Path(args.junit) if args.junit else None,
        log_file=None if args.log_file == "-" else Path(args.log_file) if args.log_file else _in_project(DEFAULT_LOG),
        notify=args.notify,
    )  # fmt: skip
    report = run_renewal(options, outputs)
    from robots.renewal.report import summary_lines

    print("\n".join(summary_lines(report)))
    return report.exit_code


def _status(args: argparse.Namespace) -> int:
    from robots.renewal.status import status

    config = load_config()
    journal = Path(args.journal) if args.journal else _in_project(DEFAULT_JOURNAL)
    vault = Path(args.vault) if args.vault else config.resolve(config.settings.vault)
    return status(journal, vault, as_json=args.json, runs=args.runs)


def register(commands: argparse._SubParsersAction) -> None:
    """Adds this module's sub-commands to `chorus-robot`."""
    renew = commands.add_parser(
        "renew", help="renew the technical passwords of a roster's structures (the nightly job)",
        description="For each structure of the roster: read the technical user's expiry; when it is due, reset "
        "the password (never one holding a forbidden character), check it through the API, then deliver it. "
        "Exit 0: all good; 1: some structure failed; 2: bad input or configuration; 4: another run holds the lock.",
    )  # fmt: skip
    renew.add_argument("--roster", required=True, help="the roster YAML file (accounts, structures, deliveries)")
    renew.add_argument("--env", default="mock", help="environment of config/robot.yaml (mock, qualif, production)")
    renew.add_argument("--portal-url", help="base URL of the portal (overrides the environment's)")
    renew.add_argument("--within", type=int, default=30, metavar="DAYS", help="renew when expiring within DAYS (30)")
    renew.add_argument("--jobs", type=int, default=1, metavar="N", help="parallel browsers (1)")
    renew.add_argument("--report", metavar="PATH", help="write a JSON report")
    renew.add_argument("--junit", metavar="PATH", help="write a JUnit XML report")
    renew.add_argument("--dry-run", action="store_true", help="read and report; reset and deliver nothing")
    renew.add_argument("--shard", metavar="K/N", help="take only the K-th of N stable parts of the structures")
    renew.add_argument("--browser-cdp", metavar="URL", help="use a remote Chromium (DevTools endpoint)")
    renew.add_argument("--headed", action="store_true", help="show the browser")
    renew.add_argument("--slow-mo", type=float, default=0, metavar="MS", help="pause between actions")
    renew.add_argument("--step", action="store_true", help="before each step: Enter runs it, s skips it, q stops")
    renew.add_argument("--vault", help="vault file (default: settings.vault)")
    renew.add_argument("--journal", help=f"SQLite journal (default: {DEFAULT_JOURNAL})")
    renew.add_argument("--lock", help="lock file (default: the journal's path + .lock)")
    renew.add_argument("--log-file", help=f"rotating log file (default: {DEFAULT_LOG}; - for none)")
    renew.add_argument("--notify", metavar="EMAIL", help="operator address for a summary when something failed")
    renew.set_defaults(handler=_renew)

    status = commands.add_parser("status", help="expiry and last renewal of every structure known to the journal")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--journal", help=f"SQLite journal (default: {DEFAULT_JOURNAL})")
    status.add_argument("--vault", help="vault file (default: settings.vault)")
    status.add_argument("--runs", type=int, default=10, help="how many past runs to list (10)")
    status.set_defaults(handler=_status)

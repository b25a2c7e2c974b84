"""`chorus-robot accounts create FILE`: bulk onboarding of Chorus Pro users."""

from __future__ import annotations

import argparse
from pathlib import Path

from robots.accounts import services
from robots.config import PROJECT_ROOT

DEFAULT_VAULT = "var/vault/user-accounts.json"


def _create(args: argparse.Namespace) -> int:
    from robots.accounts.onboarding import OnboardingRequest, onboard, summary
    from robots.session import BrowserOptions

    vault = Path(args.vault) if args.vault else PROJECT_ROOT / DEFAULT_VAULT
    request = OnboardingRequest(
        file=Path(args.file), env_name=args.env, portal_url=args.portal_url, vault_path=vault,
        report_path=Path(args.report) if args.report else None, services=services.from_args(args),
        browser=BrowserOptions(headed=args.headed),
    )  # fmt: skip
    outcomes, exit_code = onboard(request)
    print("\n".join(summary(outcomes)))
    if args.report:
        print(f"Rapport : {args.report}")
    return exit_code


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    accounts = commands.add_parser("accounts", help="Chorus Pro user accounts (create in bulk)")
    actions = accounts.add_subparsers(dest="accounts_command", required=True)
    create = actions.add_parser("create", help="create, activate and log in every user of a CSV or YAML file")
    create.add_argument("file", help="CSV (UTF-8, ; or ,) or YAML: email, nom, prenom, siret, type, identifiant…")
    create.add_argument("--env", default="mock", help="environment of config/robot.yaml")
    create.add_argument("--portal-url", help="base URL of the portal (overrides the environment's)")
    services.add_options(create)
    create.add_argument("--vault", help=f"user vault (default: {DEFAULT_VAULT})")
    create.add_argument("--report", metavar="FILE", help="JSON report, one entry per row")
    create.add_argument("--recordings", default="recordings", metavar="DIR", help="where captcha images go")
    create.add_argument("--headed", action="store_true", help="show the browser (and the captcha)")
    create.set_defaults(handler=_create)

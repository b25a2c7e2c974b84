"""`chorus-robot accounts create FILE`: bulk onboarding of Chorus Pro users."""

from __future__ import annotations

import argparse
from pathlib import Path

from robots.cli import options
from robots.config import DEFAULT_ACCOUNTS_VAULT, working_dir
from robots.integrations import account_services as services


def _create(args: argparse.Namespace) -> int:
    from robots.browser.portal_context import BrowserOptions
    from robots.jobs.accounts.onboarding import OnboardingRequest, onboard, summary

    vault = Path(args.vault) if args.vault else working_dir() / DEFAULT_ACCOUNTS_VAULT
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
    accounts = commands.add_parser("accounts", help="comptes utilisateurs Chorus Pro (création en série)")
    actions = accounts.add_subparsers(dest="accounts_command", required=True)
    create = actions.add_parser(
        "create", help="créer, activer et connecter chaque utilisateur d'un fichier CSV ou YAML"
    )
    create.add_argument("file", help="CSV (UTF-8, ; ou ,) ou YAML : email, nom, prenom, siret, type, identifiant…")
    options.add_environment(create)
    services.add_options(create)
    options.add_vault(create, help=f"coffre des comptes utilisateurs (défaut : {DEFAULT_ACCOUNTS_VAULT})")
    create.add_argument("--report", metavar="FILE", help="rapport JSON, une entrée par ligne")
    create.add_argument("--recordings", default="recordings", metavar="DIR", help="dossier des images de captcha")
    create.add_argument(
        "--headed", action="store_true", help="montrer le navigateur (et le captcha) ; demande un écran"
    )
    create.set_defaults(handler=_create)

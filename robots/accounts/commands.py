"""`chorus-robot accounts create FILE`: bulk onboarding of Chorus Pro users."""

from __future__ import annotations

import argparse
from pathlib import Path

from robots.accounts import services
from robots.config import working_dir

DEFAULT_VAULT = "var/vault/user-accounts.json"


def _create(args: argparse.Namespace) -> int:
    from robots.accounts.onboarding import OnboardingRequest, onboard, summary
    from robots.session import BrowserOptions

    vault = Path(args.vault) if args.vault else working_dir() / DEFAULT_VAULT
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
    create.add_argument("--env", default="mock", help="environnement de config/robot.yaml (mock, qualif, production)")
    create.add_argument("--portal-url", help="URL de base du portail (remplace celle de l'environnement)")
    services.add_options(create)
    create.add_argument("--vault", help=f"coffre des comptes utilisateurs (défaut : {DEFAULT_VAULT})")
    create.add_argument("--report", metavar="FILE", help="rapport JSON, une entrée par ligne")
    create.add_argument("--recordings", default="recordings", metavar="DIR", help="dossier des images de captcha")
    create.add_argument(
        "--headed", action="store_true", help="montrer le navigateur (et le captcha) ; demande un écran"
    )
    create.set_defaults(handler=_create)

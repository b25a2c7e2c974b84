"""The options several commands share, declared once (names, defaults and French help stay the same everywhere)."""

from __future__ import annotations

import argparse

from robots.config import DEFAULT_JOURNAL

GENERATION_HELP = (
    "services (défaut) : le « portail de services », Chorus Pro depuis 2022 ; legacy : le Chorus Pro des guides "
    "(2016–2020)"
)


def add_environment(parser: argparse.ArgumentParser) -> None:
    """--env and --portal-url: which portal."""
    parser.add_argument("--env", default="mock", help="environnement de config/robot.yaml (mock, qualif, production)")
    parser.add_argument("--portal-url", help="URL de base du portail (remplace celle de l'environnement)")


def add_vault(parser: argparse.ArgumentParser, help: str = "fichier du coffre (défaut : settings.vault)") -> None:  # noqa: A002
    parser.add_argument("--vault", help=help)


def add_journal(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--journal", help=f"journal SQLite, partagé par run et renew (défaut : settings.journal, {DEFAULT_JOURNAL})"
    )


def add_browser(parser: argparse.ArgumentParser, *, slow_mo: bool = False, step: bool = False) -> None:
    """--headed, and for the commands a person watches, --slow-mo and --step."""
    parser.add_argument("--headed", action="store_true", help="montrer le navigateur (demande un écran)")
    if slow_mo:
        parser.add_argument(
            "--slow-mo", type=float, default=0, metavar="MS", help="pause entre les actions, en millisecondes"
        )
    if step:
        parser.add_argument(
            "--step", action="store_true", help="avant chaque étape : Entrée l'exécute, s la passe, q arrête"
        )


def add_generation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--generation", choices=("services", "legacy"), default="services", help=GENERATION_HELP)


def add_verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    said = parser.add_mutually_exclusive_group()
    said.add_argument("-v", "--verbose", action="store_true", default=default, help="tout afficher, étapes comprises")
    said.add_argument("-q", "--quiet", action="store_true", default=default, help="n'afficher que les erreurs")


def leaves_say(commands: argparse._SubParsersAction) -> None:
    """-v/-q after the sub-command too (`renew --quiet`, `vault show X -q`)."""
    for sub in commands.choices.values():
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            leaves_say(nested[0])
        else:
            add_verbosity(sub, argparse.SUPPRESS)

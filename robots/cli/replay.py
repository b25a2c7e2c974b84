"""Sub-commands for support teams: probe, procedure, survey."""

from __future__ import annotations

import argparse
from pathlib import Path

from robots.cli import options


def _probe(args: argparse.Namespace) -> int:
    from robots.jobs.replay.probe import ProbeRequest, probe
    from robots.jobs.run import parse_assignments

    request = ProbeRequest(
        screen=args.screen, env_name=args.env, portal_url=args.portal_url, path=args.path,
        login_flow=Path(args.login_flow) if args.login_flow else None, variables=parse_assignments(args.var),
        ignore={name for value in args.ignore for name in value.split(",") if name}, headed=args.headed,
    )  # fmt: skip
    return probe(request)


def _procedure(args: argparse.Namespace) -> int:
    from robots.jobs.replay.procedure import regenerate

    return regenerate(Path(args.recording))


def _survey(args: argparse.Namespace) -> int:
    from robots.jobs.replay.survey import SurveyRequest, survey

    return survey(SurveyRequest(
        roster=Path(args.roster), out=Path(args.out), account=args.account, env_name=args.env,
        portal_url=args.portal_url, headed=args.headed,
    ))  # fmt: skip


def register(commands: argparse._SubParsersAction) -> None:
    """Adds this module's sub-commands to `chorus-robot`."""
    survey = commands.add_parser(
        "survey", help="premier contact sans rien changer : chaque écran des flows, comparé au catalogue"
    )
    survey.add_argument("--roster", required=True, metavar="FILE", help="le registre de renew (comptes, structures)")
    survey.add_argument("--account", metavar="NAME", help="un seul compte du registre (défaut : tous)")
    survey.add_argument("--out", required=True, metavar="DIR", help="dossier du relevé (survey.json, survey.md…)")
    options.add_environment(survey)
    options.add_browser(survey)
    survey.set_defaults(handler=_survey)

    probe = commands.add_parser(
        "probe", help="quel sélecteur de chaque élément d'un écran trouve encore l'élément sur le portail"
    )
    probe.add_argument("screen", help="un écran du catalogue (chorus-robot screens)")
    options.add_environment(probe)
    probe.add_argument(
        "--path",
        help="page à ouvrir, p. ex. /cpp/gestionnaire/activites, ou une URL complète (défaut : le url: de l'écran)",
    )
    probe.add_argument("--login-flow", metavar="FLOW", help="se connecter d'abord, p. ex. flows/common/login.yaml")
    probe.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="une entrée du flow de connexion"
    )
    probe.add_argument(
        "--ignore", action="append", default=[], metavar="ELEMENT",
        help="éléments affichés seulement dans certains cas (p. ex. erreur) : signalés, pas comptés comme manquants",
    )  # fmt: skip
    options.add_browser(probe)
    probe.set_defaults(handler=_probe)

    procedure = commands.add_parser("procedure", help="refaire procedure.html et .pdf d'un enregistrement")
    procedure.add_argument("recording", help="un dossier d'enregistrement, p. ex. recordings/20250101-120000-…")
    procedure.set_defaults(handler=_procedure)

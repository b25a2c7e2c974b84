"""Sub-commands for support teams: probe, procedure."""

from __future__ import annotations

import argparse
from pathlib import Path


def _probe(args: argparse.Namespace) -> int:
    from robots.replay.probe import ProbeRequest, probe
    from robots.run_flow import parse_assignments

    request = ProbeRequest(
        screen=args.screen, env_name=args.env, portal_url=args.portal_url, path=args.path,
        login_flow=Path(args.login_flow) if args.login_flow else None, variables=parse_assignments(args.var),
        ignore={name for value in args.ignore for name in value.split(",") if name}, headed=args.headed,
    )  # fmt: skip
    return probe(request)


def _procedure(args: argparse.Namespace) -> int:
    from robots.replay.procedure import regenerate

    return regenerate(Path(args.recording))


def register(commands: argparse._SubParsersAction) -> None:
    """Adds this module's sub-commands to `chorus-robot`."""
    probe = commands.add_parser("probe", help="which selector of each element of a screen still matches on the portal")
    probe.add_argument("screen", help="a screen of the catalogue (chorus-robot screens)")
    probe.add_argument("--portal-url", help="base URL of the portal (default: the environment's)")
    probe.add_argument("--env", default="mock", help="environment of config/robot.yaml (mock, qualif, production)")
    probe.add_argument("--path", help="page to open, e.g. /cpp/gestionnaire/activites (or a full URL)")
    probe.add_argument("--login-flow", metavar="FLOW", help="log in first, e.g. flows/common/login.yaml")
    probe.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="an input of the login flow")
    probe.add_argument(
        "--ignore", action="append", default=[], metavar="ELEMENT",
        help="elements shown only in some cases (e.g. erreur): reported, not counted as missing",
    )  # fmt: skip
    probe.add_argument("--headed", action="store_true", help="show the browser")
    probe.set_defaults(handler=_probe)

    procedure = commands.add_parser("procedure", help="regenerate procedure.html and .pdf of a recording")
    procedure.add_argument("recording", help="a recording folder, e.g. recordings/20250101-120000-…")
    procedure.set_defaults(handler=_procedure)

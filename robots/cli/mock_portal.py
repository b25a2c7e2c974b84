"""`chorus-robot mock-portal`: serve the mock portal until Ctrl-C. The mock (fixtures/mock_portal) is imported only
when this command is asked for: its options are added to the parser then, and it is started by the handler."""

from __future__ import annotations

import argparse
import errno
import socket
from pathlib import Path

from robots.cli import options
from robots.config import packaged
from robots.errors import EXIT_OK, BadInput

MARKUPS = ("standard", "variants", "ordre_tuiles", "bouton_lien", "casse_accents", "sans_ids", "enveloppe", "radios",
           "titres_div")  # fmt: skip


def register(commands: argparse._SubParsersAction, *, with_options: bool) -> None:
    mock = commands.add_parser("mock-portal", help="servir le portail simulé jusqu'à Ctrl-C")
    mock.set_defaults(handler=_mock_portal)
    if with_options:
        _add_options(mock)


def _add_options(mock: argparse.ArgumentParser) -> None:
    from fixtures.mock_portal.faults import add_fault_options
    from fixtures.mock_portal.options import add_account_options, add_login_options

    mock.add_argument("--host", default="127.0.0.1", help="adresse d'écoute")
    mock.add_argument("--port", type=_port, default=8400, help="port d'écoute (0 : un port libre)")
    mock.add_argument(
        "--data", default=str(packaged("fixtures", "demo-portal.yaml")), help="données du portail simulé (YAML)"
    )
    add_login_options(mock)
    options.add_generation(mock)
    mock.add_argument(
        "--markup", default="standard", choices=MARKUPS,
        help="variants : toutes les variantes de balisage à la fois (annexe A de la revue, et celles du portail de"
        " services) ; ordre_tuiles, bouton_lien, casse_accents, sans_ids, enveloppe, radios, titres_div : une seule"
        " (portail de services)",
    )  # fmt: skip
    add_account_options(mock)
    add_fault_options(mock)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"« {text} » : un port de 0 à 65535 est attendu")
    return int(text)


def _mock_portal(args: argparse.Namespace) -> int:
    from fixtures.mock_portal import serve
    from fixtures.mock_portal.accounts import settings_from_options
    from fixtures.mock_portal.faults import rules_from_options
    from fixtures.mock_portal.options import options_from
    from robots.support.yamlfile import load_yaml

    try:
        load_yaml(Path(args.data))  # a folder, a file not in UTF-8, broken YAML: said with --data, before serving
    except BadInput as exc:
        raise BadInput(f"--data {exc}") from None
    faults = rules_from_options(args)
    _require_free_port(args.host, args.port)
    serve(args.host, args.port, Path(args.data), 0, settings_from_options(args), faults, **options_from(args),
          generation=args.generation, markup=args.markup)  # fmt: skip
    return EXIT_OK


def _require_free_port(host: str, port: int) -> None:
    """Werkzeug says a busy port in English and exits 1: the port is tried first, as the server will bind it."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise BadInput(f"--host {host} --port {port} : écoute impossible ({exc.strerror})") from None
            raise BadInput(f"--port {port} : le port est déjà pris sur {host} (un autre portail simulé ?) ; "
                           "choisissez-en un autre, ou --port 0 pour un port libre") from None  # fmt: skip

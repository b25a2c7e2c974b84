# PYTHON_ARGCOMPLETE_OK
"""`chorus-robot`: the command line. Each sub-command lives in its own module; this file only parses."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from fixtures.mock_portal.faults import add_fault_options
from fixtures.mock_portal.options import add_account_options, add_login_options
from robots import conventions, install, logs, sealed, vault_show
from robots.accounts import commands as accounts_commands
from robots.accounts import services as accounts_services
from robots.config import CONFIG_ENV, packaged
from robots.error_kinds import kind_of, labelled
from robots.errors import EXIT_FAILURE, EXIT_OK, BadInput, RobotError, StepFailed, StorageFailed, is_storage_failure
from robots.parametrage import commands as parametrage_commands
from robots.renewal import commands as renewal_commands
from robots.replay import commands as replay_commands
from robots.secrets import REDACTOR, load_env_file, sealed_environment


def _run(args: argparse.Namespace) -> int:
    from robots import second_factor
    from robots.accounts import services
    from robots.replay.recording import RecordOptions
    from robots.replay.stepper import Stepper
    from robots.run_flow import RunRequest, parse_assignments, run, summary
    from robots.session import BrowserOptions

    variables = parse_assignments(args.var)
    flow = conventions.flow_path(args.flow)
    conventions.check_variables(flow, variables)
    request = RunRequest(
        flow=flow, env_name=args.env, portal_url=args.portal_url,
        variables=variables, vault_path=Path(args.vault) if args.vault else None,
        journal_path=Path(args.journal) if args.journal else None,
        browser=BrowserOptions(headed=args.headed, slow_mo_ms=args.slow_mo),
        observers=[Stepper()] if args.step else [],
        record=RecordOptions.parse(args.record, Path(args.recordings)),
        secret_sources=second_factor.sources_for_run(
            args.mailbox, mail_environ=services.mail_environ(args.insecure_mail)
        ),
    )  # fmt: skip
    with services.using(services.from_args(args)):  # the account flows' captcha and mailbox
        prepared, result = run(request)
    print("\n".join(summary(result, prepared.vault)))
    return EXIT_OK


def _mock_portal(args: argparse.Namespace) -> int:
    from fixtures.mock_portal import serve
    from fixtures.mock_portal.accounts import settings_from_options
    from fixtures.mock_portal.faults import rules_from_options
    from fixtures.mock_portal.options import options_from
    from robots.yamlfile import load_yaml

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


def _demo(args: argparse.Namespace) -> int:
    from robots.demo import demo

    return demo(headed=args.headed, generation=args.generation)


def _validate(args: argparse.Namespace) -> int:
    from robots.tooling import validate

    return validate(
        [Path(p) for p in args.paths], Path(args.catalogue) if args.catalogue else None,
        warnings="none" if args.quiet else "all" if args.all_warnings else "own",
    )  # fmt: skip


def _schema(args: argparse.Namespace) -> int:
    from robots.tooling import write_schema

    if not args.output:
        print(f"wrote {parametrage_commands.write_schema()}")
    return write_schema(Path(args.output) if args.output else None)


def _reference(args: argparse.Namespace) -> int:
    from robots.reference import write_reference

    return write_reference(build_parser(), Path(args.output) if args.output else None)


def _screens(args: argparse.Namespace) -> int:
    from robots.tooling import list_screens

    return list_screens()


def build_parser() -> argparse.ArgumentParser:
    conventions.speak_french()
    parser = argparse.ArgumentParser(
        prog="chorus-robot", description="Pilote les portails DGFiP et Chorus Pro à partir de flows YAML."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--config", metavar="FICHIER",
        help="configuration à lire (défaut : robot.yaml du dossier courant, sinon celle livrée avec le robot ; "
        "les selectors/ et flows/ du dossier courant servent toujours)",
    )  # fmt: skip
    _add_verbosity(parser, False)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="exécuter un flow")
    run.add_argument("flow", help="fichier de flow, ou son nom : reset_technical_password (cherché dans flows/)")
    run.add_argument("--env", default="mock", help="environnement de config/robot.yaml (mock, qualif, production)")
    run.add_argument("--portal-url", help="URL de base du portail (remplace celle de l'environnement)")
    run.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="une entrée du flow (répétable)")
    run.add_argument("--vault", help="fichier du coffre (défaut : settings.vault)")
    run.add_argument("--journal", help="journal SQLite, partagé avec renew (défaut : settings.journal)")
    run.add_argument("--headed", action="store_true", help="montrer le navigateur (demande un écran)")
    run.add_argument("--slow-mo", type=float, default=0, metavar="MS", help="pause entre les actions, en millisecondes")
    run.add_argument("--step", action="store_true", help="avant chaque étape : Entrée l'exécute, s la passe, q arrête")
    run.add_argument(
        "--record", metavar="KINDS", help="trace,video,screenshots (ou all) : les garder, avec la procédure illustrée"
    )
    run.add_argument("--recordings", default="recordings", metavar="DIR", help="dossier des enregistrements")
    accounts_services.add_options(
        run, mailbox_help=" ; elle reçoit aussi le code du second facteur (sinon CHORUS_TOTP_SECRET, sinon le code "
        "est demandé au terminal)",
    )  # fmt: skip
    run.set_defaults(handler=_run)

    mock = commands.add_parser("mock-portal", help="servir le portail simulé jusqu'à Ctrl-C")
    mock.add_argument("--host", default="127.0.0.1", help="adresse d'écoute")
    mock.add_argument("--port", type=int, default=8400, help="port d'écoute")
    mock.add_argument(
        "--data",
        default=str(packaged("fixtures", "demo-portal.yaml")),
        help="données du portail simulé (YAML)",
    )
    add_login_options(mock)
    mock.add_argument(
        "--generation", choices=("services", "legacy"), default="services",
        help="services (défaut) : le « portail de services », Chorus Pro depuis 2022 ; legacy : le Chorus Pro des "
        "guides (2016–2020)",
    )  # fmt: skip
    mock.add_argument(
        "--markup", default="standard",
        choices=("standard", "variants", "ordre_tuiles", "bouton_lien", "casse_accents", "sans_ids", "enveloppe",
                 "radios", "titres_div"),
        help="variants : toutes les variantes de balisage à la fois (annexe A de la revue, et celles du portail de"
        " services) ; ordre_tuiles, bouton_lien, casse_accents, sans_ids, enveloppe, radios, titres_div : une seule"
        " (portail de services)",
    )  # fmt: skip
    add_account_options(mock)
    add_fault_options(mock)
    mock.set_defaults(handler=_mock_portal)

    demo = commands.add_parser("demo", help="réinitialiser un mot de passe technique sur le portail simulé embarqué")
    demo.add_argument("--headed", action="store_true", help="montrer le navigateur (demande un écran)")
    demo.add_argument(
        "--generation", choices=("services", "legacy"), default="services",
        help="services (défaut) : le « portail de services » d'aujourd'hui ; legacy : le Chorus Pro des guides",
    )  # fmt: skip
    demo.set_defaults(handler=_demo)

    validate = commands.add_parser("validate", help="vérifier les flows et le catalogue de sélecteurs")
    validate.add_argument(
        "paths", nargs="*", default=[],
        help="fichiers ou dossiers de flows (défaut : les flows livrés, chacun remplacé par celui de même chemin dans "
        "flows/ du dossier courant, et les flows propres de ce dossier)",
    )  # fmt: skip
    validate.add_argument(
        "--catalogue", metavar="DIR",
        help="écrans qui remplacent ceux du catalogue livré (défaut : settings.catalogue, le dossier selectors/ du "
        "dossier courant)",
    )  # fmt: skip
    validate.add_argument(
        "--all-warnings", action="store_true",
        help="les avertissements (étape sans label) des flows livrés avec le robot aussi ; par défaut, ceux de vos "
        "flows seulement (-q : aucun)",
    )  # fmt: skip
    validate.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="écrire le JSON Schema des flows")
    schema.add_argument(
        "--output", help="fichier à écrire (défaut : schema/flow.schema.json ; - pour la sortie standard)"
    )
    schema.set_defaults(handler=_schema)

    screens = commands.add_parser("screens", help="lister les écrans et éléments du catalogue")
    screens.set_defaults(handler=_screens)

    reference = commands.add_parser("reference", help="écrire la page de référence docs/reference.md")
    reference.add_argument("--output", help="fichier à écrire (défaut : docs/reference.md ; - pour la sortie standard)")
    reference.set_defaults(handler=_reference)

    renewal_commands.register(commands)
    replay_commands.register(commands)
    parametrage_commands.register(commands)
    sealed.register(commands)
    accounts_commands.register(commands)
    vault_show.register(commands)
    install.register(commands)
    _leaves_say(commands)
    conventions.dress(parser)
    return parser


def _leaves_say(commands: argparse._SubParsersAction) -> None:
    """-v/-q after the sub-command too (`renew --quiet`, `vault show X -q`)."""
    for sub in commands.choices.values():
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            _leaves_say(nested[0])
        else:
            _add_verbosity(sub, argparse.SUPPRESS)


def _add_verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    said = parser.add_mutually_exclusive_group()
    said.add_argument("-v", "--verbose", action="store_true", default=default, help="tout afficher, étapes comprises")
    said.add_argument("-q", "--quiet", action="store_true", default=default, help="n'afficher que les erreurs")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chorus-robot")
    except PackageNotFoundError:
        return "(non installé)"


def main(argv: list[str] | None = None) -> int:
    umask = logs.restrict_umask()  # everything written from here on, by children too: 0600 / 0700
    try:
        with sealed_environment():  # from here on no child process (driver, Chromium, hooks…) sees a secret
            try:
                load_env_file(Path.cwd() / ".env")
            except BadInput as exc:  # said once the command is known: --version and --help still answer
                return _main(argv, env_problem=exc)
            return _main(argv)
    finally:
        os.umask(umask)  # a caller in the same process (a test, the mock serving Dovecot's mail) keeps its own


def _main(argv: list[str] | None, env_problem: BadInput | None = None) -> int:
    parser = build_parser()
    conventions.complete(parser)
    args = parser.parse_args(argv)
    if env_problem is not None:
        print(f"chorus-robot: {env_problem}", file=sys.stderr)
        return env_problem.exit_code
    steps = args.command == "run" and not getattr(args, "step", False)  # one flow: its steps are the story
    logs.setup(verbose=args.verbose, quiet=args.quiet, steps=steps)
    handler: Callable[[argparse.Namespace], int] = args.handler
    if args.config:  # robots/config.py reads it, as it reads CHORUS_ROBOT_CONFIG
        os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
    try:
        conventions.require_display(getattr(args, "headed", False))
        code = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        return conventions.quiet_broken_pipe()
    except RobotError as exc:
        labelled_first = isinstance(exc, (StepFailed, StorageFailed))
        message = labelled(kind_of(exc), str(exc)) if labelled_first else str(exc)  # its kind first
        print(f"chorus-robot: {REDACTOR.redact(message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("chorus-robot: interrompu", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a person gets a sentence, not a traceback
        if is_storage_failure(exc):  # a disk full or read-only that no command named better
            print(f"chorus-robot: {labelled(kind_of(exc), REDACTOR.redact(str(exc)))}", file=sys.stderr)
            return EXIT_FAILURE
        print(f"chorus-robot: erreur interne : {type(exc).__name__}: {REDACTOR.redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

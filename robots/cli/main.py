# PYTHON_ARGCOMPLETE_OK
"""`chorus-robot`: the command line. Each command lives in its own module of robots/cli/ (`register` declares it,
its handler runs it); this file builds the parser and maps every error to its message and exit code, once."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from robots import logs
from robots.cli import (
    accounts,
    demo,
    flow_tools,
    init,
    mock_portal,
    options,
    parametrage,
    reference,
    renew,
    replay,
    run,
    sealed,
    vault,
)
from robots.config import CONFIG_ENV
from robots.errors import (
    EXIT_FAILURE,
    BadInput,
    RobotError,
    StepFailed,
    StorageFailed,
    is_storage_failure,
    kind_of,
    labelled,
)
from robots.language import conventions
from robots.secrets import REDACTOR, load_env_file, sealed_environment
from robots.support import private_files

FULL_PARSER_COMMANDS = ("mock-portal", "reference")  # the mock's options are imported only for these


def build_parser(full: bool = True) -> argparse.ArgumentParser:
    """Every command; the mock portal's options only when `full` (mock-portal or reference asked for, completion)."""
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
    options.add_verbosity(parser, False)
    commands = parser.add_subparsers(dest="command", required=True)
    run.register(commands)
    mock_portal.register(commands, with_options=full)
    demo.register(commands)
    flow_tools.register(commands)
    reference.register(commands, parser)
    renew.register(commands)
    replay.register(commands)
    parametrage.register(commands)
    sealed.register(commands)
    accounts.register(commands)
    vault.register(commands)
    init.register(commands)
    options.leaves_say(commands)
    conventions.dress(parser)
    return parser


def _needs_full_parser(argv: list[str]) -> bool:
    """Any word naming mock-portal or reference (not only the first that is not an option: `--config FILE` comes
    before the command), or shell completion."""
    return bool(os.environ.get("_ARGCOMPLETE")) or any(word in FULL_PARSER_COMMANDS for word in argv)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chorus-robot")
    except PackageNotFoundError:
        return "(non installé)"


def main(argv: list[str] | None = None) -> int:
    umask = private_files.restrict_umask()  # everything written from here on, by children too: 0600 / 0700
    config_before = os.environ.get(CONFIG_ENV)  # --config sets it for the command only
    try:
        with sealed_environment():  # from here on no child process (driver, Chromium, hooks…) sees a secret
            try:
                load_env_file(Path.cwd() / ".env")
            except BadInput as exc:  # said once the command is known: --version and --help still answer
                return _main(argv, env_problem=exc)
            return _main(argv)
    finally:
        os.umask(umask)  # a caller in the same process (a test, the mock serving Dovecot's mail) keeps its own
        if config_before is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = config_before


def _main(argv: list[str] | None, env_problem: BadInput | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(full=_needs_full_parser(words))
    conventions.complete(parser)
    args = parser.parse_args(words)
    if env_problem is not None:
        print(f"chorus-robot: {env_problem}", file=sys.stderr)
        return env_problem.exit_code
    steps = args.command == "run" and not getattr(args, "step", False)  # one flow: its steps are the story
    logs.setup(verbose=args.verbose, quiet=args.quiet, steps=steps)
    handler: Callable[[argparse.Namespace], int] = args.handler
    if args.config:  # robots/config.py reads it, as it reads CHORUS_ROBOT_CONFIG (restored when the command ends)
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

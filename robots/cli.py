"""`chorus-robot`: the command line. Each sub-command lives in its own module; this file only parses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from dotenv import load_dotenv

from robots import logs
from robots.errors import EXIT_FAILURE, EXIT_OK, RobotError
from robots.renewal import commands as renewal_commands
from robots.replay import commands as replay_commands
from robots.secrets import REDACTOR


def _run(args: argparse.Namespace) -> int:
    from robots.replay.recording import RecordOptions
    from robots.replay.stepper import Stepper
    from robots.run_flow import RunRequest, parse_assignments, run, summary
    from robots.session import BrowserOptions

    request = RunRequest(
        flow=Path(args.flow), env_name=args.env, portal_url=args.portal_url,
        variables=parse_assignments(args.var), vault_path=Path(args.vault) if args.vault else None,
        browser=BrowserOptions(headed=args.headed, slow_mo_ms=args.slow_mo),
        observers=[Stepper()] if args.step else [],
        record=RecordOptions.parse(args.record, Path(args.recordings)),
    )  # fmt: skip
    prepared, result = run(request)
    print("\n".join(summary(result, prepared.vault)))
    return EXIT_OK


def _mock_portal(args: argparse.Namespace) -> int:
    from fixtures.mock_portal import serve

    serve(args.host, args.port, Path(args.data), args.latency_ms)
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from robots.demo import demo

    return demo(headed=args.headed)


def _validate(args: argparse.Namespace) -> int:
    from robots.tooling import validate

    return validate([Path(p) for p in args.paths], Path(args.catalogue) if args.catalogue else None)


def _schema(args: argparse.Namespace) -> int:
    from robots.tooling import write_schema

    return write_schema(Path(args.output) if args.output else None)


def _screens(args: argparse.Namespace) -> int:
    from robots.tooling import list_screens

    return list_screens()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chorus-robot", description="Drives the DGFiP and Chorus Pro portals from YAML flows."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a flow")
    run.add_argument("flow", help="flow file, e.g. flows/reset_technical_password.yaml")
    run.add_argument("--env", default="mock", help="environment of config/robot.yaml (mock, qualif, production)")
    run.add_argument("--portal-url", help="base URL of the portal (overrides the environment's)")
    run.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a flow input")
    run.add_argument("--vault", help="vault file (default: settings.vault)")
    run.add_argument("--headed", action="store_true", help="show the browser")
    run.add_argument("--slow-mo", type=float, default=0, metavar="MS", help="pause between actions")
    run.add_argument("--step", action="store_true", help="before each step: Enter runs it, s skips it, q stops")
    run.add_argument(
        "--record", metavar="KINDS", help="trace,video,screenshots (or all): keep them, with the procedure"
    )
    run.add_argument("--recordings", default="recordings", metavar="DIR", help="where recordings go")
    run.set_defaults(handler=_run)

    mock = commands.add_parser("mock-portal", help="serve the mock portal until stopped")
    mock.add_argument("--host", default="127.0.0.1")
    mock.add_argument("--port", type=int, default=8400)
    mock.add_argument("--data", default=str(Path(__file__).resolve().parent.parent / "fixtures" / "demo-portal.yaml"))
    mock.add_argument("--latency-ms", type=int, default=0, help="added to every page (the real portal is slow)")
    mock.set_defaults(handler=_mock_portal)

    demo = commands.add_parser("demo", help="reset a technical password on the embedded mock portal")
    demo.add_argument("--headed", action="store_true")
    demo.set_defaults(handler=_demo)

    validate = commands.add_parser("validate", help="check flows and the selector catalogue")
    validate.add_argument("paths", nargs="*", default=["flows"], help="flow files or folders (default: flows)")
    validate.add_argument("--catalogue", metavar="DIR", help="selector catalogue (default: settings.catalogue)")
    validate.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="write the flows' JSON Schema")
    schema.add_argument("--output", help="file to write (default: schema/flow.schema.json; - for stdout)")
    schema.set_defaults(handler=_schema)

    screens = commands.add_parser("screens", help="list the screens and elements of the catalogue")
    screens.set_defaults(handler=_screens)

    renewal_commands.register(commands)
    replay_commands.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    load_dotenv(Path.cwd() / ".env", override=False)
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.setup(verbose=args.verbose)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except RobotError as exc:
        print(f"chorus-robot: {REDACTOR.redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("chorus-robot: interrompu", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a person gets a sentence, not a traceback
        print(f"chorus-robot: erreur interne : {type(exc).__name__}: {REDACTOR.redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

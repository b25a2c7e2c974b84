"""`chorus-robot run FLOW`: one flow, from start to finish (or step by step with --step)."""

from __future__ import annotations

import argparse
from pathlib import Path

from robots.cli import options
from robots.errors import EXIT_OK
from robots.integrations import account_services
from robots.language import conventions


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="exécuter un flow")
    run.add_argument("flow", help="fichier de flow, ou son nom : reset_technical_password (cherché dans flows/)")
    options.add_environment(run)
    run.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="une entrée du flow (répétable)")
    options.add_vault(run)
    options.add_journal(run)
    options.add_browser(run, slow_mo=True, step=True)
    run.add_argument(
        "--record", metavar="KINDS", help="trace,video,screenshots (ou all) : les garder, avec la procédure illustrée"
    )
    run.add_argument("--recordings", default="recordings", metavar="DIR", help="dossier des enregistrements")
    account_services.add_options(
        run, mailbox_help=" ; elle reçoit aussi le code du second facteur (sinon CHORUS_TOTP_SECRET, sinon le code "
        "est demandé au terminal)",
    )  # fmt: skip
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from robots.browser.portal_context import BrowserOptions
    from robots.integrations import second_factor
    from robots.jobs.replay.recording import RecordOptions
    from robots.jobs.replay.stepper import Stepper
    from robots.jobs.run import RunRequest, parse_assignments, run, summary

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
            args.mailbox, mail_environ=account_services.mail_environ(args.insecure_mail)
        ),
    )  # fmt: skip
    with account_services.using(account_services.from_args(args)):  # the account flows' captcha and mailbox
        prepared, result = run(request)
    print("\n".join(summary(result, prepared.vault)))
    return EXIT_OK

"""Sub-commands of the nightly job: renew, status."""

from __future__ import annotations

import argparse
from pathlib import Path

from robots.cli import options
from robots.config import load_config, working_dir
from robots.errors import BadInput

DEFAULT_LOG = "var/renewal/logs/renew.log"


def _in_project(path: str) -> Path:
    """Relative defaults live in the working directory's var/ (robot.yaml's settings say the same)."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else working_dir() / candidate


def _journal(given: str | None) -> Path:
    if given:
        return Path(given)
    config = load_config()
    return config.resolve(config.settings.journal)


def _renew(args: argparse.Namespace) -> int:
    from robots.browser.portal_context import BrowserOptions
    from robots.jobs.renewal.nightly import Outputs, run_renewal
    from robots.jobs.renewal.plan import RenewOptions, Shard

    if args.within < 0:
        raise BadInput("--within : un nombre de jours, zéro ou plus")
    if args.step and args.jobs != 1:
        raise BadInput("--step demande --jobs 1 : un exploitant répond à un seul navigateur")
    observers = []
    if args.step:
        from robots.jobs.replay.stepper import Stepper

        observers.append(Stepper())
    options = RenewOptions(
        roster_path=Path(args.roster), env_name=args.env, portal_url=args.portal_url, within_days=args.within,
        jobs=args.jobs, dry_run=args.dry_run, shard=Shard.parse(args.shard) if args.shard else None,
        browser=BrowserOptions(headed=args.headed, slow_mo_ms=args.slow_mo, cdp_url=args.browser_cdp),
        vault_path=Path(args.vault) if args.vault else None, observers=observers,
        api_recheck_delay_s=args.api_recheck_delay,
    )  # fmt: skip
    outputs = Outputs(
        journal=_journal(args.journal),
        lock=Path(args.lock) if args.lock else None,
        report=Path(args.report) if args.report else None, junit=Path(args.junit) if args.junit else None,
        log_file=None if args.log_file == "-" else Path(args.log_file) if args.log_file else _in_project(DEFAULT_LOG),
        notify=args.notify,
    )  # fmt: skip
    if args.metrics:
        from robots.jobs.renewal.monitoring import check_metrics_path

        check_metrics_path(Path(args.metrics))  # before the night, not after it
    report = run_renewal(options, outputs)
    from robots.jobs.renewal.report import summary_lines

    if not getattr(args, "quiet", False) or report.exit_code:
        print(summary_lines(report)[0])  # the structures were told one by one as they were done
    if args.metrics:
        return _metrics_after(args, outputs.journal, report.exit_code)
    return report.exit_code


def _metrics_after(args: argparse.Namespace, journal: Path, exit_code: int) -> int:
    """The night's state for Prometheus; a file that cannot be written is said and makes the exit at least 1."""
    from loguru import logger

    from robots.errors import RobotError
    from robots.jobs.renewal.monitoring import metrics

    try:
        metrics(journal, _vault(args), Path(args.metrics))
    except RobotError as exc:
        logger.error("Métriques non écrites : {}", exc)
        return exit_code or 1
    return exit_code


def _vault(args: argparse.Namespace) -> Path:
    config = load_config()
    return Path(args.vault) if args.vault else config.resolve(config.settings.vault)


def _status(args: argparse.Namespace) -> int:
    from robots.jobs.renewal import monitoring
    from robots.jobs.renewal.status import status

    if args.check:  # a monitoring plugin: whatever goes wrong, even the configuration, is UNKNOWN (3)
        thresholds = monitoring.Thresholds(args.warn, args.critical, args.max_age)
        return monitoring.plugin(lambda: (_journal(args.journal), _vault(args)), thresholds, args.metrics)
    journal, vault = _journal(args.journal), _vault(args)
    if args.metrics:
        monitoring.metrics(journal, vault, Path(args.metrics))
    return status(journal, vault, as_json=args.json, runs=args.runs)


def register(commands: argparse._SubParsersAction) -> None:
    """Adds this module's sub-commands to `chorus-robot`."""
    renew = commands.add_parser(
        "renew", help="renouveler les mots de passe techniques des structures d'un registre (le travail de nuit)",
        description="Pour chaque structure du registre : lire l'expiration de l'utilisateur technique ; quand elle "
        "est proche, réinitialiser le mot de passe (jamais un contenant un caractère interdit), le vérifier par "
        "l'API, puis le livrer.",
    )  # fmt: skip
    renew.add_argument("--roster", required=True, help="le registre YAML (comptes, structures, livraisons)")
    options.add_environment(renew)
    renew.add_argument(
        "--within",
        type=int,
        default=30,
        metavar="JOURS",
        help="renouveler quand l'expiration est dans JOURS jours ou moins",
    )
    renew.add_argument("--jobs", type=int, default=1, metavar="N", help="navigateurs en parallèle")
    renew.add_argument("--report", metavar="FICHIER", help="écrire un rapport JSON")
    renew.add_argument("--junit", metavar="FICHIER", help="écrire un rapport JUnit XML")
    renew.add_argument("--dry-run", action="store_true", help="lire et rendre compte ; ne rien réinitialiser ni livrer")
    renew.add_argument("--shard", metavar="K/N", help="ne prendre que la K-ième de N parts stables des structures")
    renew.add_argument("--browser-cdp", metavar="URL", help="utiliser un Chromium distant (point d'accès DevTools)")
    options.add_browser(renew)
    renew.add_argument(
        "--slow-mo", type=float, default=0, metavar="MS", help="pause entre les actions, en millisecondes"
    )
    renew.add_argument(
        "--step", action="store_true", help="avant chaque étape : Entrée l'exécute, s la passe, q arrête"
    )
    options.add_vault(renew)
    options.add_journal(renew)
    renew.add_argument("--lock", help="fichier de verrou (défaut : le chemin du journal + .lock)")
    renew.add_argument(
        "--log-file", help=f"fichier de log tournant, avec les étapes (défaut : {DEFAULT_LOG} ; - pour aucun)"
    )
    renew.add_argument(
        "--notify", metavar="EMAIL", help="adresse de l'exploitant, pour un résumé quand quelque chose a échoué"
    )
    renew.add_argument("--api-recheck-delay", type=float, metavar="S",
                       help="secondes avant de revérifier un mot de passe refusé par l'API (300)")  # fmt: skip
    renew.add_argument(
        "--metrics", metavar="FICHIER", help="écrire l'état en fin de nuit pour Prometheus (textfile de node_exporter)"
    )
    renew.set_defaults(handler=_renew)

    status = commands.add_parser(
        "status", help="expiration et dernier renouvellement de chaque structure connue du journal"
    )
    status.add_argument("--json", action="store_true", help="sortie JSON, pour un programme")
    options.add_journal(status)
    options.add_vault(status)
    status.add_argument("--runs", type=int, default=10, help="nombre d'exécutions passées à lister")
    status.add_argument(
        "--check", action="store_true", help="sonde de supervision (Nagios, Centreon, Icinga, Zabbix) : code 0/1/2/3"
    )
    status.add_argument("--warn", type=int, default=21, metavar="JOURS",
                        help="--check : WARNING sous JOURS jours avant une expiration (21)")  # fmt: skip
    status.add_argument("--critical", type=int, default=7, metavar="JOURS",
                        help="--check : CRITICAL sous JOURS jours avant une expiration (7)")  # fmt: skip
    status.add_argument("--max-age", type=float, default=48, metavar="HEURES",
                        help="--check : WARNING sans nuit depuis HEURES heures (48 ; 0 : jamais)")  # fmt: skip
    status.add_argument("--metrics", metavar="FICHIER",
                        help="écrire l'état pour Prometheus (textfile collector de node_exporter)")  # fmt: skip
    status.set_defaults(handler=_status)

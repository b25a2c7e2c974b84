"""Sub-commands of the parametrisation: plan, apply, export (and the desired-state JSON Schema)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from robots.cli import options
from robots.config import packaged
from robots.errors import EXIT_FAILURE, EXIT_OK, BadInput, StorageFailed, is_storage_failure, storage_reason
from robots.support.private_files import write_private

SCHEMA_FILE = packaged("schema", "desired-state.schema.json")


def _options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from robots.browser.portal_context import BrowserOptions
    from robots.jobs.parametrage.jobs import Options

    return Options(
        env_name=args.env,
        portal_url=args.portal_url,
        browser=BrowserOptions(headed=args.headed, slow_mo_ms=args.slow_mo),
    )


def _load(path: str):  # type: ignore[no-untyped-def]
    from robots.jobs.parametrage.model import load_desired_state

    return load_desired_state(Path(path))[0]


def _plan(args: argparse.Namespace) -> int:
    from robots.jobs.parametrage import diff, jobs

    desired = _load(args.file)
    options = _options(args)
    prepared = jobs.prepare(desired, options)
    with jobs.portal_session(prepared, options) as session:
        outcome = jobs.plan(session, desired)
    if args.json:
        body = {"changes": [c.as_dict() for c in outcome.changes], "errors": _errors(outcome)}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(f"Plan du compte « {desired.account.name} » : {len(desired.structures)} structure(s)")
        for change in outcome.changes:
            print(f"  ~ {change.describe()}")
        for failed in outcome.failed:
            print(f"  ! {failed.identifiant} : {failed.error}")
        print(f"{len(outcome.changes)} changement(s) à faire ; rien n'a été modifié.")
        notes = diff.advice(desired)
        if notes:
            print("Conseils de la procédure :")
            print("\n".join(f"  - {note}" for note in notes))
    return EXIT_FAILURE if outcome.failed else EXIT_OK


def _errors(outcome) -> list[dict[str, str | None]]:  # type: ignore[no-untyped-def]
    return [{"structure": r.identifiant, "error": r.error} for r in outcome.failed]


def _apply(args: argparse.Namespace) -> int:
    from robots.jobs.parametrage import jobs

    desired = _load(args.file)
    options = _options(args)
    prepared = jobs.prepare(desired, options)
    with jobs.portal_session(prepared, options) as session:
        outcome = jobs.apply(session, desired)
    parts = [p for p in [outcome.mon_compte, *outcome.structures, outcome.requests] if p]
    for part in parts:
        line = f"{part.identifiant} : {part.result}"
        line += f" ({len(part.changes)} changement(s))" if part.changes else ""
        print(line + (f" — {part.error}" if part.error else ""))
    changed, failed = sum(1 for p in parts if p.result == "changed"), len(outcome.failed)
    print(f"{changed} modifiée(s), {failed} en échec, {len(parts) - changed - failed} inchangée(s).")
    if args.report:  # after what was done is said: a full disk cannot hide it
        _write_report(Path(args.report), outcome.as_dict())
    return EXIT_FAILURE if outcome.failed else EXIT_OK


def _write_report(report: Path, data: dict) -> None:
    try:
        write_private(report, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    except OSError as exc:
        if not is_storage_failure(exc):
            raise
        raise StorageFailed(f"rapport {report} : écriture impossible ({storage_reason(exc)}) ; le portail a été "
                            "modifié comme dit ci-dessus, aucun mot de passe n'est en jeu") from None  # fmt: skip


def _export(args: argparse.Namespace) -> int:
    from robots.jobs.parametrage import jobs
    from robots.jobs.parametrage.model import AccountRef, DesiredState
    from robots.support.yamlfile import load_yaml

    raw = load_yaml(Path(args.file))
    if not isinstance(raw, dict) or "account" not in raw:
        raise BadInput(f"{args.file}: export needs an `account:` block")
    from pydantic import ValidationError

    from robots.support.yamlfile import problems_from

    try:
        desired = DesiredState(account=AccountRef.model_validate(raw["account"]))
    except ValidationError as exc:
        raise BadInput(
            f"{args.file}: `account:` is invalid", problems_from(exc, raw["account"], Path(args.file))
        ) from None
    options = _options(args)
    prepared = jobs.prepare(desired, options)
    with jobs.portal_session(prepared, options) as session:
        document = jobs.export(session, desired)
    text = export_text(document, args.out)
    if args.out:
        write_private(Path(args.out), text)
        print(f"état actuel de {len(document['structures'])} structure(s) écrit dans {args.out}", file=sys.stderr)
    else:
        print(text, end="")
    return EXIT_OK


def export_text(document: dict, out: str | None) -> str:
    """The exported desired state as `export` writes it: the schema reference, then the YAML."""
    text = "# yaml-language-server: $schema=" + _schema_reference(out) + "\n"
    return text + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def _schema_reference(out: str | None) -> str:
    if not out:
        return str(SCHEMA_FILE)
    import os

    return Path(os.path.relpath(SCHEMA_FILE, Path(out).resolve().parent)).as_posix()


def write_schema() -> Path:
    from robots.jobs.parametrage.model import desired_state_schema

    SCHEMA_FILE.write_text(json.dumps(desired_state_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return SCHEMA_FILE


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="fichier YAML de l'état voulu (examples/parametrage.yaml)")
    options.add_environment(parser)
    options.add_browser(parser)
    parser.add_argument(
        "--slow-mo", type=float, default=0, metavar="MS", help="pause entre les actions, en millisecondes"
    )


def register(commands: argparse._SubParsersAction) -> None:
    """Adds this module's sub-commands to `chorus-robot`."""
    plan = commands.add_parser(
        "plan", help="montrer ce que apply changerait dans les structures et le compte (ne change rien)",
        description="Lit l'état actuel sur le portail et affiche ses différences avec le fichier d'état voulu "
        "(structure, bloc, champ, actuel → voulu). Codes de sortie : 0 ; 1 une structure n'a pu être lue ; 2 entrée "
        "invalide.",
    )  # fmt: skip
    _common(plan)
    plan.add_argument(
        "--json", action="store_true", help='en JSON : {"changes": [{structure, block, field, current, desired}]}'
    )
    plan.set_defaults(handler=_plan)

    apply = commands.add_parser(
        "apply", help="changer sur le portail ce qui diffère du fichier d'état voulu",
        description="Ne change que ce qui diffère, enregistre, relit. Un refus du portail arrête cette structure avec "
        "son message, les autres continuent. Codes de sortie : 0 tout fait ; 1 une structure en échec ; 2 entrée "
        "invalide.",
    )  # fmt: skip
    _common(apply)
    apply.add_argument("--report", metavar="PATH", help="écrire un rapport JSON")
    apply.set_defaults(handler=_apply)

    export = commands.add_parser(
        "export", help="écrire l'état actuel de chaque structure du compte au format de l'état voulu",
        description="FILE n'a besoin que de son bloc `account:`. Le résultat est une sauvegarde, un audit, un point "
        "de départ ; `apply` dessus ne change rien.",
    )  # fmt: skip
    _common(export)
    export.add_argument("--out", metavar="PATH", help="fichier à écrire (défaut : la sortie standard)")
    export.set_defaults(handler=_export)

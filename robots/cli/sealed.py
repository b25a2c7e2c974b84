"""`chorus-robot sealed`: the pages kept because a generated password could not be read; `--release` once a person
has taken the password in hand."""

from __future__ import annotations

import argparse
from pathlib import Path

from robots.cli import options
from robots.errors import EXIT_OK
from robots.store.sealed import SEALED_FIELD
from robots.store.vault import now_iso
from robots.store.vaults import open_vault


def _command(args: argparse.Namespace) -> int:
    from robots.config import load_config
    from robots.store.journal import Journal

    config = load_config()
    vault = open_vault(config, Path(args.vault) if args.vault else None)
    journal_path = Path(args.journal) if args.journal else config.resolve(config.settings.journal)
    journal = Journal(journal_path) if journal_path.exists() else None
    seals = [("journal", s["identifiant"], s["at"], s["page_text"]) for s in (journal.open_seals() if journal else [])]
    seals += [
        ("coffre", k, e.get("sealed_at", "?"), e[SEALED_FIELD]) for k, e in vault.read().items() if e.get(SEALED_FIELD)
    ]
    if args.release:
        released = journal.release_seals(args.release) if journal else 0
        if (vault.get(args.release) or {}).get(SEALED_FIELD):
            vault.put(args.release, **{SEALED_FIELD: "", "sealed_released_at": now_iso()})
            released += 1
        print(f"structure {args.release} : {released} page(s) scellée(s) libérée(s)")
        return EXIT_OK
    for where, key, at, text in seals:
        if args.show in (None, key):
            print(f"{key} — {where}, scellé le {at}")
            if args.show:
                print(text)
    if not seals:
        print("aucune page scellée")
    return EXIT_OK


def register(commands: argparse._SubParsersAction) -> None:
    sealed = commands.add_parser("sealed", help="pages gardées parce qu'un mot de passe généré n'a pu être lu")
    sealed.add_argument(
        "--show", metavar="IDENTIFIANT", help="afficher le texte de la page (il contient le mot de passe)"
    )
    sealed.add_argument(
        "--release",
        metavar="IDENTIFIANT",
        help="le mot de passe a été pris en charge : la réinitialisation est de nouveau permise",
    )
    options.add_journal(sealed)
    options.add_vault(sealed)
    sealed.set_defaults(handler=_command)

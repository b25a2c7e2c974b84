"""Pages sealed because the generated password on them could not be read after the point of no return.

The text of such a page is kept (journal for `renew`, vault for `run`; both 0600) and the structure is
not reset again until a person has read it: `chorus-robot sealed` lists them, `--show ID` prints the text
(the password is in it), `--release ID` says the password was taken care of.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from robots.errors import EXIT_OK, SealedPage
from robots.store.vault import Vault, now_iso, open_vault

if TYPE_CHECKING:
    from robots.store.journal import Journal

SEALED_FIELD = "sealed_page"
HOW_TO = "`chorus-robot sealed --show {key}` montre le texte ; une fois le mot de passe relevé : `--release {key}`"


def refuse_if_sealed(vault: Vault, key: str | None, journal: Journal | None = None) -> None:
    """Stops a reset of a structure whose last page is sealed, in the vault or in the journal."""
    seals = journal.open_seals(key) if journal is not None and key else []
    if seals:
        raise SealedPage(f"structure {key} : " + waiting_message(str(key), seals))
    entry = vault.get(key) if key else None
    if entry and entry.get(SEALED_FIELD):
        raise SealedPage(
            f"structure {key} : le dernier mot de passe généré n'a pas pu être lu ; le texte de la page est "
            f"scellé dans le coffre {vault.path} depuis le {entry.get('sealed_at', '?')}. Pas de nouvelle "
            f"réinitialisation avant qu'une personne l'ait relevé : " + HOW_TO.format(key=key)
        )


def waiting_message(key: str, seals: list[dict]) -> str:
    first = seals[0]
    return (
        f"mot de passe non relu après la réinitialisation du {first['at']} (exécution n°{first['run_id']}) : "
        f"le texte de la page est scellé dans le journal (scellé n°{first['id']}) ; pas de nouvelle "
        f"réinitialisation avant qu'une personne l'ait relevé : " + HOW_TO.format(key=key)
    )


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
    sealed.add_argument("--journal", help="journal de renew (défaut : var/renewal/journal.sqlite)")
    sealed.add_argument("--vault", help="coffre (défaut : settings.vault)")
    sealed.set_defaults(handler=_command)

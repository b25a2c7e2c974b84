"""`chorus-robot vault show STRUCTURE` and `vault get STRUCTURE`: one entry of the vault, for a person.

The technical login, the expiry (JJ/MM/AAAA HH:MM, days left) and when the entry was written; the
password only with --password (on its last line). `get` is for the person who needs the password now: the
same lines with the password and whatever else the vault holds for the structure, on stdout only (never in a
log: the password is added to the redactor first, so a log line that would name it shows « *** »).
Reads through robots.config/robots.store.vault, so an encrypted vault is opened as `run` opens it; a missing vault
or entry is a clear message and exit 2, nothing is created.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robots.cli import options
from robots.errors import EXIT_OK, BadInput
from robots.secrets import REDACTOR
from robots.store.vault import Vault
from robots.store.vaults import open_vault
from robots.support.parsers import short_moment


def show(vault: Vault, identifiant: str, with_password: bool = False) -> list[str]:
    vault_path = vault.path
    if not vault_path.is_file():
        raise BadInput(f"{vault_path} : pas de coffre à cet endroit (--vault, ou settings.vault)")
    try:
        entry = vault.get(identifiant)
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise BadInput(f"{vault_path} : ce n'est pas un coffre (objet JSON attendu)") from None
    if entry is None:
        raise BadInput(f"{vault_path} : aucune entrée pour la structure {identifiant}")
    lines = [
        f"Structure             : {identifiant}",
        f"Utilisateur technique : {entry.get('login') or '-'}",
        f"Expiration            : {short_moment(entry.get('expires_at'))}{_days_left(entry.get('expires_at'))}",
        f"Écrite le             : {short_moment(entry.get('updated_at'))}",
    ]
    if with_password:
        lines.append(f"Mot de passe          : {entry.get('password') or '-'}")
    else:
        lines.append("Mot de passe          : (masqué ; --password pour l'afficher)")
    return lines


KNOWN_FIELDS = ("login", "password", "expires_at", "updated_at")


def get(vault: Vault, identifiant: str) -> list[str]:
    """Every field of the structure's entry, the password included."""
    lines = show(vault, identifiant, with_password=True)
    entry = vault.get(identifiant) or {}
    REDACTOR.add(str(entry.get("password") or ""))
    lines += [f"{name:<22}: {value}" for name, value in entry.items() if name not in KNOWN_FIELDS]
    return lines


def _days_left(value: str | None) -> str:
    from robots.jobs.renewal.report import days_until

    try:
        days = days_until(value)
    except ValueError:
        return ""
    return "" if days is None else f" (dans {days} jours)" if days >= 0 else f" (expiré depuis {-days} jours)"


def _show(args: argparse.Namespace) -> int:
    from robots.config import load_config

    config = load_config()  # the vault may be encrypted: the configuration says how to open it
    vault = open_vault(config, Path(args.vault) if args.vault else None)
    print("\n".join(show(vault, args.structure, args.password)))
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    from robots.config import load_config

    vault = open_vault(load_config(), Path(args.vault) if args.vault else None)
    print("\n".join(get(vault, args.structure)))
    return EXIT_OK


def register(commands: argparse._SubParsersAction) -> None:
    """Adds `vault show` to `chorus-robot`."""
    vault = commands.add_parser("vault", help="lire le coffre des mots de passe techniques")
    actions = vault.add_subparsers(dest="vault_command", required=True, metavar="ACTION")
    shown = actions.add_parser("show", help="une entrée du coffre, le mot de passe seulement sur demande")
    shown.add_argument("structure", help="identifiant (SIRET) de la structure")
    options.add_vault(shown)
    shown.add_argument("--password", action="store_true", help="afficher aussi le mot de passe")
    shown.set_defaults(handler=_show)
    got = actions.add_parser(
        "get", help="le mot de passe d'une structure et tout ce que le coffre en sait (sortie standard seulement)"
    )
    got.add_argument("structure", help="identifiant (SIRET) de la structure")
    options.add_vault(got)
    got.set_defaults(handler=_get)

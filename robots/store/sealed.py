"""Pages sealed because the generated password on them could not be read after the point of no return.

The text of such a page is kept (journal for `renew`, vault for `run`; both 0600) and the structure is
not reset again until a person has read it: `chorus-robot sealed` lists them, `--show ID` prints the text
(the password is in it), `--release ID` says the password was taken care of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robots.errors import SealedPage
from robots.store.vault import Vault

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

"""The screens `chorus-robot survey` visits, per portal generation, and how it reaches each without changing anything.

A visit is a path from any connected page: flow steps whose model is `repeatable` (fill, check, read_table,
pick_row…) and `follow:` — the opening of a link of the catalogue (a GET: nothing is submitted), or of a search
button named in SEARCHES. Nothing else runs: a `click:` of a flow, « Soumettre », « Valider », a reset never do
(`check_walk` refuses them, and a test runs it on every walk).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from robots.language.catalogue import Catalogue
from robots.language.model import Flow, Step

# Buttons that only search (the portal answers with a list or a structure's page, nothing is recorded).
SEARCHES = frozenset({"services_gerer_structure.rechercher"})
# Words of an element that acts: never followed, whatever its kind says.
_ACTS = re.compile(r"soumettre|valider|enregistr|reinitialis|réinitialis|supprim|confirm|creer|créer|desactiv|activer")
# Elements shown only in some cases (an error, a confirmation, a locked account): reported, never counted missing.
CONDITIONAL = frozenset({"erreur", "erreurs", "enregistre", "compte_bloque", "avertissement", "message"})
# Frame elements inside a menu that opens on a click: the visit that follows them says whether they match.
IN_MENUS = frozenset({"services_connecte.mon_compte"})


@dataclass(frozen=True)
class Visit:
    """One screen: the moves that reach it, and its elements that depend on the data (reported, not counted)."""

    screen: str
    moves: tuple[dict[str, Any], ...] = ()
    optional: frozenset[str] = frozenset()
    frames: tuple[str, ...] = ()  # frame screens (menus) also surveyed on this page
    needs_structure: bool = False


_S_ORGANISATION = ({"follow": "services_connecte.organisation"},)
_S_STRUCTURES = (*_S_ORGANISATION, {"follow": "services_organisation.structures"})
_S_GERER = (*_S_STRUCTURES, {"follow": "services_structures.gerer_une_structure"})
_S_TECHNICAL = ("utilisateur_technique", "statut_utilisateur_technique", "expiration_mot_de_passe",
                "creer_utilisateur_technique", "comptes_techniques")  # fmt: skip


def _search(kind: str) -> tuple[dict[str, Any], ...]:
    return (
        *_S_GERER,
        {"check": {"element": f"services_gerer_structure.{kind}"}},
        {"fill": {"element": "services_gerer_structure.identifiant", "value": "${structure}"}},
        {"follow": "services_gerer_structure.rechercher"},
    )


# « Mon compte » first: the user's own name and addresses, read there, are masked on every screen after it.
SERVICES = (
    Visit(
        "services_mon_compte",
        ({"follow": "services_connecte.menu_utilisateur"}, {"follow": "services_connecte.mon_compte"}),
    ),
    Visit("services_accueil", ({"follow": "services_connecte.accueil"},), frames=("services_connecte",)),
    Visit("services_organisation", _S_ORGANISATION),
    Visit("services_structures", _S_STRUCTURES),
    Visit("services_gerer_structure", _S_GERER),
    Visit("services_fiche_structure", _search("consulter"), frozenset(_S_TECHNICAL), needs_structure=True),
    Visit("services_modifier_structure", _search("modifier"), needs_structure=True),
    # « Désactiver une structure » › « Rechercher » shows the structure and « Soumettre », never pressed here
    Visit("services_statut_structure", _search("desactiver"), needs_structure=True),
    Visit("services_raccordements", ({"follow": "services_connecte.raccordements"},)),
    Visit(
        "services_compte_technique",  # the form as it opens: no type of request chosen, no password proposed
        ({"follow": "services_connecte.raccordements"}, {"follow": "services_raccordements.compte_technique"}),
        frozenset({"compte_technique", "nouveau_mot_de_passe", "creer_utilisateur_technique", "soumettre"}),
    ),
)

_L_ACTIVITES = ({"follow": "chorus_connecte.activites_du_gestionnaire"},)
LEGACY = (
    Visit("mon_compte", ({"follow": "chorus_connecte.mon_compte"},)),
    Visit("chorus_accueil", ({"follow": "chorus_connecte.accueil_connecte"},), frames=("chorus_connecte",)),
    Visit("activites_gestionnaire", _L_ACTIVITES, frozenset({"demandes_de_rattachement", "demandes_d_abonnement"})),
    Visit(
        "modification_structure",  # the structure's page, technical user included: « Réinitialiser » is not pressed
        (
            *_L_ACTIVITES,
            {
                "pick_row": {
                    "table": "activites_gestionnaire.mes_structures",
                    "where": {"Identifiant structure": "${structure}"},
                    "click": "modifier",
                }
            },
        ),  # fmt: skip
        frozenset(
            {
                "creer_utilisateur_technique",
                "utilisateur_technique",
                "statut_utilisateur_technique",
                "expiration_mot_de_passe",
                "reinitialiser_mot_de_passe",
            }
        ),  # fmt: skip
        needs_structure=True,
    ),
)
WALKS = {"services_connecte": SERVICES, "chorus_connecte": LEGACY}
# How the survey finds a structure when the roster says `structures: all`: the first row of « Mes structures ».
FIRST_STRUCTURE = {
    "services_connecte": (*_S_STRUCTURES, {"read_table": {"element": "services_structures.mes_structures",
                                                          "into": "structures", "all_pages": False}}),
    "chorus_connecte": (*_L_ACTIVITES, {"read_table": {"element": "activites_gestionnaire.mes_structures",
                                                       "into": "structures", "all_pages": False}}),
}  # fmt: skip


@dataclass(frozen=True)
class Follow:
    """Opens a link of the catalogue (or a search button of SEARCHES)."""

    ref: str

    def title(self) -> str:
        return f"ouvrir {self.ref}"


def moves_of(raw: tuple[dict[str, Any], ...], catalogue: Catalogue) -> list[Step | Follow]:
    """The moves as objects; a move that may change something is refused (ValueError)."""
    moves: list[Step | Follow] = []
    for entry in raw:
        if "follow" in entry:
            moves.append(Follow(_followable(entry["follow"], catalogue)))
            continue
        (step,) = Flow.model_validate({"name": "survey", "steps": [entry]}).steps
        if not step.repeatable:
            raise ValueError(f"étape « {step.title()} » : son modèle n'est pas `repeatable`")
        moves.append(step)
    return moves


def _followable(ref: str, catalogue: Catalogue) -> str:
    handle = catalogue.element(ref)
    if handle is None:
        raise ValueError(f"élément « {ref} » inconnu du catalogue")
    words = " ".join([handle.name, handle.element.description, *(s.describe() for s in handle.element.find)])
    if _ACTS.search(words.lower()) or (handle.element.kind != "link" and ref not in SEARCHES):
        raise ValueError(f"« {ref} » n'est ni un lien ni une recherche : la visite ne le suit pas")
    return ref


def check_walk(catalogue: Catalogue) -> None:
    """Every walk's moves are safe (ValueError otherwise): what a test runs on the shipped catalogue."""
    for walk in WALKS.values():
        for visit in walk:
            moves_of(visit.moves, catalogue)
    for moves in FIRST_STRUCTURE.values():
        moves_of(moves, catalogue)

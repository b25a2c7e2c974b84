"""Portal generations: where their parametrisation flows are and how their screens' values become the file's.

The desired-state file and the commands do not change from one generation to the next: a generation
brings its flows (`flows/parametrage/<name>/`, same file names, same `ecrire` input, same outputs),
its catalogue screens, and here a small reader turning what its flows read into desired-state keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robots.config import PROJECT_ROOT

FLOWS = PROJECT_ROOT / "flows" / "parametrage"
COMMON = PROJECT_ROOT / "flows" / "common"
GP_ROLE = "Gestionnaire Principal"
EMAIL_IN_TEXT = re.compile(r"[^\s(<>@]+@[^\s)<>@]+\.[^\s)<>@]+")


@dataclass(frozen=True)
class Generation:
    """The legacy Chorus Pro (« cpp », the seeds' screens)."""

    name: str = "legacy"

    @property
    def folder(self) -> Path:
        return FLOWS / self.name

    def flow(self, name: str) -> Path:
        return self.folder / f"{name}.yaml"

    login_flow: Path = COMMON / "login.yaml"
    list_flow: Path = COMMON / "list_structures.yaml"

    # -------------------------------------------------------- reading

    def structure(self, scope: dict[str, Any]) -> dict[str, Any]:
        """What `lire_structure` read, under the desired-state keys."""
        general = dict(scope["informations_generales"])
        current: dict[str, Any] = {
            "statut": str(general.pop("statut", "")).upper(),
            "libelle": general.pop("libelle", ""),
            "email": general.pop("email", ""),
            "informations": general,
            "adresse": _address(scope["adresse_postale"]),
            "coordonnees_bancaires": dict(scope["coordonnees_bancaires"]),
            "services": [
                {"code": row["Code"], "libelle": row["Libellé"], "actif": row["Statut"].upper() == "ACTIF"}
                for row in scope["services"]
            ],
            "espaces": [row["Espace"] for row in scope["espaces"] if row["Statut"].upper() == "ACTIVE"],
            "utilisateurs": [
                {
                    "email": row["Adresse de connexion"],
                    "role": row["Rôle"],
                    "actif": row["Statut du rattachement"].casefold() == "validé",
                }
                for row in scope["utilisateurs"]
                if row["Rôle"].casefold() != GP_ROLE.casefold()
            ],
            "parametres": dict(scope["parametres"]),
        }
        return current

    def mon_compte(self, scope: dict[str, Any]) -> dict[str, Any]:
        read = dict(scope["mon_compte"])
        address = {k: read.pop(k) for k in list(read) if k in ADDRESS_KEYS}
        return {**read, "adresse": _address(address)}

    def requests(self, scope: dict[str, Any], table: str, id_column: str) -> list[dict[str, str]]:
        pending = []
        for row in scope[table]:
            found = EMAIL_IN_TEXT.search(row.get("Demandeur", ""))
            pending.append(
                {"demandeur": row["Demandeur"], "identifiant": row[id_column], "email": found.group(0) if found else ""}
            )
        return pending

    def pending_requests(self, scope: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
        return {
            "rattachements": self.requests(scope, "demandes_de_rattachement", "Identifiant structure"),
            "abonnements": self.requests(scope, "demandes_d_abonnement", "Identifiant Structure"),
        }

    # -------------------------------------------------------- writing

    def structure_writes(self, ecrire: dict[str, Any]) -> dict[str, Any]:
        """The `ecrire` mapping in this generation's words: a service's state is a list « Actif »/« Inactif »."""
        out = dict(ecrire)
        out["services_a_ajouter"] = [_service_statut(s) for s in ecrire["services_a_ajouter"]]
        out["services_a_modifier"] = [
            {"code": s["code"], "champs": _service_statut(s["champs"])} for s in ecrire["services_a_modifier"]
        ]
        return out

    def mon_compte_writes(self, changes: dict[str, Any]) -> dict[str, Any]:
        return dict(changes)  # the address fields sit on the same screen, under the same keys


ADDRESS_KEYS = ("adresse", "complement1", "complement2", "code_postal", "ville", "pays", "telephone", "fax")


def _address(read: dict[str, Any]) -> dict[str, Any]:
    address = {k: read.get(k, "") for k in ADDRESS_KEYS}
    address["pays"] = str(address["pays"]).upper()
    return address


def _service_statut(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "actif" in out:
        out["actif"] = "Actif" if out["actif"] else "Inactif"
    return out


GENERATIONS = {"legacy": Generation()}


def generation_named(name: str) -> Generation:
    return GENERATIONS[name]

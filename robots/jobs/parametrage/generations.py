"""Portal generations: where their parametrisation flows are and how their screens' values become the file's.

The desired-state file and the commands do not change from one generation to the next: a generation
brings its flows (`flows/parametrage/<name>/`, same file names, same `ecrire` input, same outputs),
its catalogue screens, and here a small reader turning what its flows read into desired-state keys
(and the `ecrire` mapping into its screens' words). Which generation a portal is, is seen after the
login (`flows/parametrage/generation.yaml`: the frame of the connected pages), as the reset flows do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robots.config import packaged

FLOWS = packaged("flows", "parametrage")
COMMON = packaged("flows", "common")
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
                    "role": self.user_role(row),
                    "actif": row["Statut du rattachement"].casefold() == "validé",
                }
                for row in scope["utilisateurs"]
                if row["Rôle"].casefold() != GP_ROLE.casefold()
            ],
            "parametres": dict(scope["parametres"]),
        }
        return current

    def user_role(self, row: dict[str, str]) -> str:
        return row["Rôle"]

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

    def mon_compte_writes(self, changes: dict[str, Any]) -> Any:
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


SECONDARY, SIMPLE = "Gestionnaire Secondaire", "Utilisateur simple"
PROFILE = "Organisation modification"
# « Mon compte » of the portail de services: the label of each row, in the page's order.
ACCOUNT_LABELS = {
    "email": "Adresse électronique de contact", "nom": "Nom", "prenom": "Prénom", "adresse": "Adresse",
    "complement1": "Complément adresse 1", "complement2": "Complément adresse 2", "code_postal": "Code postal",
    "ville": "Ville", "pays": "Pays", "telephone": "Téléphone", "fax": "Fax", "langue": "Langue",
    "notifications": "Notification Facturation",
}  # fmt: skip


@dataclass(frozen=True)
class ServicesGeneration(Generation):
    """The 2022 « portail de services »: « Gérer une structure » › « Modifier une structure » › « Soumettre ».

    Its words differ from the file's in three places, translated here: the roles (« Utilisateur », with or
    without the profile « Organisation modification », stand for « Utilisateur simple » and « Gestionnaire
    Secondaire »), the statut (its own requests « Activer / Désactiver une structure »), and « Mon compte »
    (one value at a time, notifications « VRAI » / « FAUX »).
    """

    name: str = "services"

    def user_role(self, row: dict[str, str]) -> str:
        return SECONDARY if PROFILE.casefold() in row.get("Profils", "").casefold() else SIMPLE

    def mon_compte(self, scope: dict[str, Any]) -> dict[str, Any]:
        by_label = {" ".join(r["Champ"].split()).casefold(): r["Valeur"] for r in scope["informations_personnelles"]}
        read: dict[str, Any] = {key: by_label.get(label.casefold(), "") for key, label in ACCOUNT_LABELS.items()}
        read["notifications"] = str(read["notifications"]).strip().upper() == "VRAI"
        address = {k: read.pop(k) for k in list(read) if k in ADDRESS_KEYS}
        return {**read, "adresse": _address(address)}

    def structure_writes(self, ecrire: dict[str, Any]) -> dict[str, Any]:
        out = super().structure_writes(ecrire)
        general = dict(out["informations_generales"])
        statut = general.pop("statut", None)
        out["informations_generales"] = general
        out["statut_demande"] = {"ACTIF": "activer", "INACTIF": "desactiver"}.get(str(statut).upper(), "")
        out["utilisateurs_a_rattacher"] = [
            {"email": u["email"], "organisation_modification": u["role"] == SECONDARY}
            for u in out["utilisateurs_a_rattacher"]
        ]
        out["utilisateurs_a_modifier"] = [
            {"email": u["email"], "champs": {"organisation_modification": u["champs"]["role"] == SECONDARY}}
            for u in out["utilisateurs_a_modifier"]
        ]
        rest = [v for k, v in out.items() if k not in ("statut_demande", "formulaire")]
        out["formulaire"] = "oui" if any(rest) else "non"
        return out

    def mon_compte_writes(self, changes: dict[str, Any]) -> Any:
        """One value at a time: [{libelle, valeurs: {valeur}}], in the page's order."""
        return [
            {"libelle": label, "valeurs": {"valeur": changes[key]}}
            for key, label in ACCOUNT_LABELS.items()
            if key in changes
        ]


GENERATIONS: dict[str, Generation] = {"legacy": Generation(), "services": ServicesGeneration()}
# The frame of the connected pages, as `flows/parametrage/generation.yaml` sees it, and its generation.
BY_FRAME = {"chorus_connecte": "legacy", "services_connecte": "services"}
DETECT_FLOW = FLOWS / "generation.yaml"


def generation_named(name: str) -> Generation:
    return GENERATIONS[name]

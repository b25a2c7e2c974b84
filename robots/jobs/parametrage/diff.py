"""Desired state against what the portal shows: the changes, what to write, and the procedure's advice.

The current state of a structure is a mapping with the desired-state file's keys (a generation's
reader builds it from its flows), so everything here is the same whatever portal generation is driven.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from robots.jobs.parametrage.model import DEFAULT_SERVICE, DesiredState, MonCompte, RequestPolicy, StructureState

FIELD_BLOCKS = ("informations_generales", "adresse", "coordonnees_bancaires", "parametres")
CASE_FREE = {"statut", "pays"}  # lists whose option labels the portals write in their own case


@dataclass(frozen=True)
class Change:
    structure: str | None  # None: the account itself (« Mon Compte »)
    block: str
    field: str
    current: Any
    desired: Any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        where = self.structure or "Mon Compte"
        return f"{where}  {self.block}.{self.field} : {_shown(self.current)} → {_shown(self.desired)}"


def _shown(value: Any) -> str:
    if value is None:
        return "(absent)"
    if value == "":
        return "(vide)"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return f"« {value} »"


def _same(field: str, current: Any, desired: Any) -> bool:
    if isinstance(desired, str) and isinstance(current, str):
        if field in CASE_FREE:
            return current.strip().casefold() == desired.strip().casefold()
        return current.strip() == desired.strip()
    return current == desired


def _field_changes(structure: str | None, block: str, desired: dict[str, Any], current: dict[str, Any]) -> list[Change]:
    return [
        Change(structure, block, key, current.get(key), value)
        for key, value in desired.items()
        if not _same(key, current.get(key), value)
    ]


def _given(model: Any) -> dict[str, Any]:
    return model.model_dump(exclude_none=True) if model is not None else {}


def structure_changes(desired: StructureState, current: dict[str, Any]) -> list[Change]:
    ident = desired.identifiant
    general = {k: v for k in ("statut", "libelle", "email") if (v := getattr(desired, k)) is not None}
    general |= _given(desired.informations)
    current_general = {k: current.get(k) for k in ("statut", "libelle", "email")} | current.get("informations", {})
    changes = _field_changes(ident, "informations_generales", general, current_general)
    for block in ("adresse", "coordonnees_bancaires", "parametres"):
        changes += _field_changes(ident, block, _given(getattr(desired, block)), current.get(block) or {})
    if desired.services is not None:
        changes += _service_changes(ident, desired, current.get("services") or [])
    if desired.espaces is not None:
        have, want = set(current.get("espaces") or []), set(desired.espaces)
        changes += [Change(ident, "espaces", e, False, True) for e in desired.espaces if e not in have]
        changes += [Change(ident, "espaces", e, True, False) for e in sorted(have - want)]
    if desired.utilisateurs is not None:
        changes += _user_changes(ident, desired, current.get("utilisateurs") or [])
    return changes


def _service_changes(ident: str, desired: StructureState, current: list[dict[str, Any]]) -> list[Change]:
    have = {s["code"]: {"libelle": s["libelle"], "actif": s["actif"]} for s in current}
    changes = []
    wanted = {s.code: {"libelle": s.libelle, "actif": s.actif} for s in desired.services or []}
    for code, values in wanted.items():
        if code != DEFAULT_SERVICE and have.get(code) != values:
            changes.append(Change(ident, "services", code, have.get(code), values))
    for code, values in have.items():
        if code not in wanted and code != DEFAULT_SERVICE:
            changes.append(Change(ident, "services", code, values, None))
    return changes


def _user_changes(ident: str, desired: StructureState, current: list[dict[str, Any]]) -> list[Change]:
    have = {u["email"].casefold(): {"role": u["role"], "actif": u["actif"]} for u in current}
    changes = []
    for user in desired.utilisateurs or []:
        values = {"role": user.role, "actif": user.actif}
        if have.get(user.email.casefold()) != values:
            changes.append(Change(ident, "utilisateurs", user.email, have.get(user.email.casefold()), values))
    return changes


def mon_compte_changes(desired: MonCompte | None, current: dict[str, Any]) -> list[Change]:
    if desired is None:
        return []
    given = _given(desired)
    address = given.pop("adresse", {})
    changes = _field_changes(None, "mon_compte", given, current)
    return changes + _field_changes(None, "mon_compte.adresse", address, current.get("adresse") or {})


def request_decisions(
    policy: RequestPolicy | None, kind: str, pending: list[dict[str, str]]
) -> list[tuple[dict[str, str], str]]:
    """The pending requests the policy decides ({demandeur, identifiant, email}), with « valider » or « refuser »."""
    if policy is None:
        return []
    decided = []
    for request in pending:
        decision = policy.decision(request.get("email", ""))
        if decision:
            decided.append((request, decision))
    return decided


def request_changes(kind: str, decided: list[tuple[dict[str, str], str]]) -> list[Change]:
    answer = {"valider": "validée", "refuser": "refusée"}
    return [Change(r["identifiant"], kind, r["demandeur"], "en attente", answer[d]) for r, d in decided]


# ---------------------------------------------------------------- what to write


def writes_for(changes: list[Change]) -> dict[str, Any]:
    """The `ecrire` mapping the write flows take: per block, only what differs."""
    ecrire: dict[str, Any] = {block: {} for block in FIELD_BLOCKS}
    lists = (
        "services_a_ajouter", "services_a_modifier", "services_a_supprimer", "espaces_a_ajouter",
        "espaces_a_supprimer", "utilisateurs_a_rattacher", "utilisateurs_a_modifier", "utilisateurs_a_desactiver",
        "utilisateurs_a_reactiver",
    )  # fmt: skip
    ecrire |= {name: [] for name in lists}
    for change in changes:
        if change.block in FIELD_BLOCKS:
            ecrire[change.block][change.field] = change.desired
        elif change.block == "services":
            _service_write(ecrire, change)
        elif change.block == "espaces":
            ecrire["espaces_a_ajouter" if change.desired else "espaces_a_supprimer"].append(change.field)
        elif change.block == "utilisateurs":
            _user_write(ecrire, change)
    return ecrire


def _service_write(ecrire: dict[str, Any], change: Change) -> None:
    if change.current is None:
        ecrire["services_a_ajouter"].append({"code": change.field, **change.desired})
    elif change.desired is None:
        ecrire["services_a_supprimer"].append({"code": change.field})
    else:
        champs = {k: v for k, v in change.desired.items() if change.current.get(k) != v}
        ecrire["services_a_modifier"].append({"code": change.field, "champs": champs})


def _user_write(ecrire: dict[str, Any], change: Change) -> None:
    email, desired, current = change.field, change.desired, change.current
    if current is None:
        ecrire["utilisateurs_a_rattacher"].append({"email": email, "role": desired["role"]})
        current = {"role": desired["role"], "actif": True}
    elif current["role"] != desired["role"]:
        ecrire["utilisateurs_a_modifier"].append({"email": email, "champs": {"role": desired["role"]}})
    if current["actif"] != desired["actif"]:
        ecrire["utilisateurs_a_desactiver" if current["actif"] else "utilisateurs_a_reactiver"].append(email)


def mon_compte_writes(changes: list[Change]) -> dict[str, Any]:
    return {c.field: c.desired for c in changes if c.block.startswith("mon_compte")}


# ---------------------------------------------------------------- the procedure's advice


def advice(desired: DesiredState) -> list[str]:
    """The seed procedure's advice, where the file goes against it (warnings: nothing is refused)."""
    notes = []
    compte = desired.mon_compte
    if compte and compte.notifications is False:
        notes.append("Mon Compte : cochez « Recevoir des notifications » pour recevoir celles de Chorus Pro.")
    for s in desired.structures:
        where = f"structure {s.identifiant}"
        if s.libelle is not None and len(s.libelle) < 4:
            notes.append(f"{where} : le libellé sert aux recherches dans l'annuaire (ex : « Commune de XXX »).")
        p = s.parametres
        if p and p.engagement_obligatoire:
            notes.append(
                f"{where} : « Le numéro d'engagement doit être renseigné par le fournisseur » : non conseillé."
            )
        if p and p.mise_en_paiement_non_remontee:
            notes.append(
                f"{where} : « Mise en paiement non remontée » : les collectivités Hélios ne sont pas concernées."
            )
        if s.coordonnees_bancaires and any(_given(s.coordonnees_bancaires).values()):
            notes.append(f"{where} : coordonnées bancaires : seulement si la structure dépose elle-même des factures.")
    return notes

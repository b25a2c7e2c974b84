"""The bulk onboarding file: CSV (UTF-8, `;` or `,`) or YAML, one row per user, each row checked.

Every row is validated before the portal is touched (e-mail, SIRET with its Luhn key, the fields
each type of structure requires); a bad row is reported with its line and the others go on.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from robots.errors import BadInput
from robots.support.parsers import siret_problem

COLUMNS = (
    "email", "nom", "prenom", "siret", "type", "identifiant", "raison_sociale", "libelle", "adresse",
    "code_postal", "ville", "pays", "espaces", "categorie_prestataire", "dume", "reponse_secrete",
)  # fmt: skip
REQUIRED_COLUMNS = ("email", "nom", "prenom", "siret")
STRUCTURE_TYPES = (
    "Structure européenne hors France", "Structure hors union européenne", "Structure avec numéro TAHITI",
    "Structure avec un RIDET", "Particulier", "En cours d'immatriculation",
)  # fmt: skip
ESPACES = {
    "Demande de remboursement TIC": "demande_de_remboursement_tic",
    "Engagements": "engagements",
    "Factures à valider": "factures_a_valider",
    "Factures de travaux": "factures_de_travaux",
    "Factures émises": "factures_emises",
    "Mémoires de frais de justice": "memoires_de_frais_de_justice",
    "Raccordement EDI et API": "raccordement_edi_et_api",
    "Suivi des flux": "suivi_des_flux",
}
DEFAULT_ESPACES = "Factures émises"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TVA_INTRA = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,13}$")
_TRUE = {"true", "oui", "yes", "1", "x"}


@dataclass
class AccountRow:
    line: int
    values: dict[str, str]
    problems: list[str] = field(default_factory=list)

    @property
    def email(self) -> str:
        return self.values.get("email", "")

    def espaces(self) -> list[str]:
        return [e.strip() for e in (self.values.get("espaces") or DEFAULT_ESPACES).split(";") if e.strip()]

    def flow_inputs(self) -> dict[str, str]:
        """The inputs of flows/create_account.yaml."""
        keep = ("email", "nom", "prenom", "siret", "type", "identifiant", "raison_sociale", "libelle", "adresse",
                "code_postal", "ville", "pays", "categorie_prestataire")  # fmt: skip
        inputs = {k: self.values.get(k, "") for k in keep}
        chosen = set(self.espaces())
        inputs |= {f"espace_{slug}": str(name in chosen).lower() for name, slug in ESPACES.items()}
        inputs["dume"] = str(self.values.get("dume", "").strip().casefold() in _TRUE).lower()
        return inputs


def check_row(row: AccountRow) -> None:
    v = row.values
    problems = row.problems
    if not _EMAIL.match(v.get("email", "")):
        problems.append(f"adresse électronique « {v.get('email', '')} » invalide")
    problems += [f"« {name} » manquant" for name in ("nom", "prenom") if not v.get(name)]
    siret = v.get("siret", "")
    if siret:
        problem = siret_problem(siret)
        if problem == "format":
            problems.append(f"SIRET « {siret} » : 14 chiffres attendus")
        elif problem == "key":
            problems.append(f"SIRET « {siret} » : clé de contrôle fausse")
    else:
        _check_without_siret(v, problems)
    unknown = [e for e in row.espaces() if e not in ESPACES]
    if unknown:
        problems.append(f"espace(s) inconnu(s) : {', '.join(unknown)} (connus : {', '.join(ESPACES)})")
    if "Mémoires de frais de justice" in row.espaces() and not v.get("categorie_prestataire"):
        problems.append("« Mémoires de frais de justice » demande une « categorie_prestataire »")


def _check_without_siret(v: dict[str, str], problems: list[str]) -> None:
    kind = v.get("type", "")
    if kind not in STRUCTURE_TYPES:
        problems.append(f"sans SIRET, « type » doit être l'un de : {' · '.join(STRUCTURE_TYPES)} (reçu « {kind} »)")
        return
    needed = ("identifiant", "raison_sociale", "adresse", "code_postal", "ville", "pays")
    problems += [f"sans SIRET, « {name} » manquant" for name in needed if not v.get(name)]
    identifiant = v.get("identifiant", "")
    if kind == "Structure européenne hors France" and identifiant and not _TVA_INTRA.match(identifiant):
        problems.append(f"« {identifiant} » n'est pas un numéro de TVA intracommunautaire (ex. DE811907980)")


def read_rows(path: Path) -> list[AccountRow]:
    """Every row, checked; BadInput (exit 2) when the file cannot be read at all."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot be read ({exc})") from None
    rows = _yaml_rows(path, text) if path.suffix.lower() in (".yaml", ".yml") else _csv_rows(path, text)
    seen: dict[str, int] = {}
    for row in rows:
        check_row(row)
        email = row.email.casefold()
        if email in seen:
            row.problems.append(f"adresse déjà présente ligne {seen[email]}")
        seen.setdefault(email, row.line)
    return rows


def _normalise(raw: dict[object, object]) -> dict[str, str]:
    values = {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in raw.items() if k is not None}
    if values.get("espaces"):
        values["espaces"] = ";".join(e.strip() for e in re.split(r"[;,]", values["espaces"]) if e.strip())
    values["siret"] = re.sub(r"\s", "", values.get("siret", ""))
    return values


def _csv_rows(path: Path, text: str) -> list[AccountRow]:
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    missing = [c for c in REQUIRED_COLUMNS if c not in [h.strip().lower() for h in reader.fieldnames or []]]
    if missing:
        raise BadInput(f"{path}:1: column(s) missing: {', '.join(missing)} (columns: {', '.join(COLUMNS)})")
    rows = []
    for record in reader:
        if not any((value or "").strip() for key, value in record.items() if key is not None):
            continue
        rows.append(AccountRow(reader.line_num, _normalise(record)))
    return rows


def _yaml_rows(path: Path, text: str) -> list[AccountRow]:
    try:
        data = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: not valid YAML ({exc})") from None
    if data is None or not isinstance(data, yaml.SequenceNode):
        raise BadInput(f"{path}: expected a YAML list of users (one mapping per user)")
    loaded = yaml.safe_load(text)
    rows = []
    for node, item in zip(data.value, loaded, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(item, dict):
            row = AccountRow(line, {})
            row.problems.append("une ligne doit être un dictionnaire (email, nom, prenom…)")
            rows.append(row)
            continue
        rows.append(AccountRow(line, _normalise(item)))
    return rows

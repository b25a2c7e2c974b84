"""The desired-state file: one account, its « Mon Compte », its policy for requests, its structures.

```yaml
account: {name: siagep, portal: dgfip, login_env: SIAGEP_LOGIN, password_env: SIAGEP_PASSWORD}
mon_compte: {email: …, notifications: true}                               # optional
rattachements: {accept_domains: [siagep30.fr], refuse_others: false}      # optional policy
structures:
  - identifiant: "21300351900013"
    libelle: Commune de Villeneuve-lès-Avignon
    adresse: {adresse: …, code_postal: "30400", ville: …, pays: FRANCE, telephone: "+33 490000000"}
```

Only what the file says is managed: a key left out is left as the portal has it. Lists (`services`,
`espaces`) are the whole list when given; `utilisateurs` manages the users it names. Everything is
checked before the portal is touched; every problem is reported with its file and line (exit 2).
The JSON Schema for editors (`schema/desired-state.schema.json`) is generated from these models.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, field_validator, model_validator

from robots.errors import BadInput, Problem
from robots.jobs.renewal.roster import EMAIL, ENV_NAME
from robots.support.frozen_model import Model
from robots.support.parsers import siret_problem
from robots.support.yamlfile import line_of, load_yaml, problems_from

DEFAULT_SERVICE = "FACTURES_PUBLIQUES"
DEFAULT_SERVICE_LIBELLE = "Service par défaut de la structure"
ESPACES = (
    "Demande de remboursement TIC", "Engagements", "Factures à valider", "Factures de travaux", "Factures émises",
    "Factures reçues", "Mémoires de frais de justice", "Raccordement EDI et API", "Suivi des flux",
)  # fmt: skip
ROLES = ("Gestionnaire Secondaire", "Utilisateur simple")
PHONE = re.compile(r"^\+\d{1,3} ?\d{4,14}$")
POSTAL_CODE_FR = re.compile(r"^\d{5}$")
BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")


def _text(value: Any) -> Any:
    # A postal code or a SIRET written without quotes is read by YAML as a number.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_text)]


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact):
        return False
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def _email(value: str) -> str:
    if not EMAIL.fullmatch(value):
        raise ValueError(f"« {value} » n'est pas une adresse électronique valide")
    return value


Email = Annotated[str, AfterValidator(_email)]


class AccountRef(Model):
    name: str = Field(min_length=1, description="A name for logs and reports")
    portal: Literal["dgfip", "chorus"] = Field(description="dgfip: through the Portail de la Gestion Publique")
    login_env: str = Field(description="Environment variable holding the login")
    password_env: str = Field(description="Environment variable holding the password")

    @field_validator("login_env", "password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not ENV_NAME.fullmatch(value):
            raise ValueError(f"« {value} » is not an environment variable name")
        return value

    def secret_env(self) -> dict[str, str]:
        return {f"{self.portal}_login": self.login_env, f"{self.portal}_password": self.password_env}


class Adresse(Model):
    """« Adresse postale du siège » (structure) or « Adresse postale » (Mon Compte)."""

    adresse: Text | None = None
    complement1: Text | None = Field(None, description="Complément adresse 1")
    complement2: Text | None = Field(None, description="Complément adresse 2")
    code_postal: Text | None = Field(None, description="5 digits in France")
    ville: Text | None = None
    pays: Text | None = Field(None, description="e.g. FRANCE")
    telephone: Text | None = Field(None, description="International format: +33 545222040")
    fax: Text | None = Field(None, description="International format: +33 545234963")

    @field_validator("telephone", "fax")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value and not PHONE.fullmatch(value):
            raise ValueError(f"« {value} » : téléphone au format international attendu (+33 545XXXXXX)")
        return value

    @field_validator("adresse", "ville")
    @classmethod
    def _required(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("champ obligatoire sur le portail : ne le videz pas")
        return value

    @model_validator(mode="before")
    @classmethod
    def _postal_code(cls, data: Any) -> Any:
        # Before the fields: reported together with a wrong phone number of the same address.
        if isinstance(data, dict) and data.get("code_postal") is not None:
            code, pays = str(_text(data["code_postal"])), str(data.get("pays") or "FRANCE")
            if pays.upper() == "FRANCE" and not POSTAL_CODE_FR.fullmatch(code):
                raise ValueError(f"code_postal « {code} » : un code postal français a 5 chiffres")
        return data


class Informations(Model):
    """The other fields of « Informations générales »."""

    emetteur_edi: bool | None = Field(None, description="« Est émetteur de flux EDI »")
    cycles_de_vie_edi: bool | None = Field(None, description="« Recevoir les cycles de vies en EDI »")
    raccordement_actif: bool | None = Field(None, description="« Demande de raccordement active »")
    structure_privee: bool | None = Field(None, description="« Structure Privée » (else « Structure Publique »)")
    numero_rcs: Text | None = Field(None, description="« Numéro RCS »")
    numero_tva: Text | None = Field(None, description="« Numéro TVA intracommunautaire », FRkk999999999")

    @field_validator("numero_tva")
    @classmethod
    def _tva(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"FR[0-9A-Z]{2}\d{9}", value):
            raise ValueError(f"« {value} » n'est pas un numéro de TVA intracommunautaire français")
        return value


class CoordonneesBancaires(Model):
    """Only for structures that deposit invoices themselves in Chorus Pro (régies), per the procedure."""

    titulaire: Text | None = Field(None, description="« Titulaire du compte »")
    iban: Text | None = None
    bic: Text | None = None

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        if value and not iban_valid(value):
            raise ValueError(f"IBAN « {value} » invalide (clé de contrôle)")
        return value

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str | None) -> str | None:
        if value and not BIC.fullmatch(value):
            raise ValueError(f"BIC « {value} » invalide (8 ou 11 caractères)")
        return value


class Service(Model):
    code: Text = Field(pattern=r"^[A-Z0-9_-]{1,100}$", description="Code of the service (capitals, digits, _ -)")
    libelle: Text = Field(min_length=1)
    actif: bool = True


class Utilisateur(Model):
    email: Email = Field(description="« Adresse de connexion » of a user of the portal")
    role: Literal["Gestionnaire Secondaire", "Utilisateur simple"] = Field(
        description="Gestionnaire Secondaire: invoices, requests, structures and users; Utilisateur simple: "
        "invoices and requests only"
    )
    actif: bool = Field(True, description="false: the user's attachment is deactivated")


class Parametres(Model):
    """« Paramètres » of the structure; the procedure's advice is given by `chorus-robot plan`."""

    recevoir_edi: bool | None = Field(None, description="« L'entité peut recevoir des données via EDI »")
    code_service_obligatoire: bool | None = Field(
        None, description="« Le code service doit être renseigné par le fournisseur »"
    )
    mise_en_paiement_non_remontee: bool | None = Field(
        None, description='« Le statut de "Mise en paiement" n\'est pas remonté au fournisseur »'
    )
    engagement_obligatoire: bool | None = Field(
        None, description="« Le numéro d'engagement doit être renseigné par le fournisseur » (non conseillé)"
    )
    engagement_ou_service_obligatoire: bool | None = Field(
        None, description="« Le numéro d'engagement ou le code service est obligatoire »"
    )


Espace = Literal[
    "Demande de remboursement TIC", "Engagements", "Factures à valider", "Factures de travaux", "Factures émises",
    "Factures reçues", "Mémoires de frais de justice", "Raccordement EDI et API", "Suivi des flux",
]  # fmt: skip


class StructureState(Model):
    identifiant: Text = Field(description="SIRET, 14 digits (quote it)")
    statut: Literal["ACTIF", "INACTIF"] | None = None
    libelle: Text | None = Field(None, description="Used by directory searches, e.g. « Commune de XXX »")
    email: Email | None = Field(None, description="« Adresse électronique »: must be valid")
    informations: Informations | None = None
    adresse: Adresse | None = Field(None, description="« Adresse postale du siège »")
    coordonnees_bancaires: CoordonneesBancaires | None = None
    services: list[Service] | None = Field(
        None, description=f"The whole list; {DEFAULT_SERVICE} is always kept and must not be changed"
    )
    espaces: list[Espace] | None = Field(None, description="The espaces that must be active, the whole list")
    utilisateurs: list[Utilisateur] | None = Field(None, description="Users named here are attached as described")
    parametres: Parametres | None = None

    @field_validator("identifiant")
    @classmethod
    def _siret(cls, value: str) -> str:
        problem = siret_problem(value)
        if problem == "format":
            raise ValueError(f"identifiant « {value} » : un SIRET a 14 chiffres (mettez-le entre guillemets)")
        if problem == "key":
            raise ValueError(f"identifiant « {value} » : la clé de contrôle du SIRET est fausse")
        return value

    @field_validator("libelle")
    @classmethod
    def _libelle(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("le libellé de la structure est obligatoire")
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[Service] | None) -> list[Service] | None:
        codes = [s.code for s in value or []]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"service(s) listed twice: {', '.join(twice)}")
        for service in value or []:
            if service.code == DEFAULT_SERVICE and (service.libelle, service.actif) != (DEFAULT_SERVICE_LIBELLE, True):
                raise ValueError(
                    f"{DEFAULT_SERVICE} est le service par défaut des factures intra sphères publiques : "
                    f"ne surtout pas le modifier / supprimer (libelle « {DEFAULT_SERVICE_LIBELLE} », actif)"
                )
        return value

    @field_validator("espaces")
    @classmethod
    def _espaces(cls, value: list[str] | None) -> list[str] | None:
        twice = sorted({e for e in value or [] if (value or []).count(e) > 1})
        if twice:
            raise ValueError(f"espace(s) listed twice: {', '.join(twice)}")
        return value

    @field_validator("utilisateurs")
    @classmethod
    def _users(cls, value: list[Utilisateur] | None) -> list[Utilisateur] | None:
        emails = [u.email.casefold() for u in value or []]
        twice = sorted({e for e in emails if emails.count(e) > 1})
        if twice:
            raise ValueError(f"user(s) listed twice: {', '.join(twice)}")
        return value


class MonCompte(Model):
    """« Mon Compte » of the account that logs in."""

    email: Email | None = Field(None, description="« Adresse électronique de contact »: every notification goes there")
    nom: Text | None = None
    prenom: Text | None = None
    adresse: Adresse | None = Field(None, description="« Adresse postale »")
    langue: Literal["Français", "English"] | None = None
    notifications: bool | None = Field(None, description="« Recevoir des notifications »: keep it checked")


class RequestPolicy(Model):
    """Pending requests of « Activités du gestionnaire »: accepted when the requester's address is in a domain."""

    accept_domains: list[str] = Field(default_factory=list, description="e.g. [siagep30.fr]")
    refuse_others: bool = Field(False, description="true: every other request is refused; false: left pending")

    def decision(self, email: str) -> str | None:
        domain = email.rpartition("@")[2].casefold()
        if domain and domain in {d.casefold().lstrip("@") for d in self.accept_domains}:
            return "valider"
        return "refuser" if self.refuse_others else None


class DesiredState(Model):
    account: AccountRef
    mon_compte: MonCompte | None = None
    rattachements: RequestPolicy | None = Field(None, description="« Les demandes de rattachement à une structure »")
    abonnements: RequestPolicy | None = Field(None, description="« Les demandes d'abonnement aux espaces »")
    structures: list[StructureState] = Field(default_factory=list)


def load_desired_state(path: Path, need_structures: bool = False) -> tuple[DesiredState, Any]:
    """The file, validated: every problem with its file and line (BadInput, exit 2). Also its raw YAML."""
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        shape = "a desired-state file is a mapping with `account:` and `structures:`"
        raise BadInput(f"desired state {path} is invalid", [Problem(path, getattr(raw, "line", None), shape)])
    try:
        desired = DesiredState.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(f"desired state {path} is invalid", problems_from(_French(exc), raw, path)) from None
    problems = []
    seen: set[str] = set()
    for index, structure in enumerate(desired.structures):
        if structure.identifiant in seen:
            line = line_of(raw, ("structures", index, "identifiant"))
            problems.append(Problem(path, line, f"structure {structure.identifiant} is listed twice"))
        seen.add(structure.identifiant)
    if problems:
        raise BadInput(f"desired state {path} is invalid", problems)
    return desired, raw


class _French:
    """pydantic's messages without their « Value error, » prefix."""

    def __init__(self, error: ValidationError) -> None:
        self.error = error

    def errors(self) -> list[dict[str, Any]]:
        items = []
        for item in self.error.errors():
            message = str(item["msg"]).removeprefix("Value error, ")
            if item["type"] == "literal_error":
                message = f"« {item['input']} » is not a known value: {message[0].lower()}{message[1:]}"
            items.append({**item, "msg": message})
        return items


def desired_state_schema() -> dict:
    schema = DesiredState.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "chorus-robot desired state (plan, apply, export)"
    return schema

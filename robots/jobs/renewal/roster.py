"""The roster: the accounts the nightly job logs in with, their structures and where each new password goes.

```yaml
notify: exploitation@example.org        # optional: summary e-mail when something failed
accounts:
  - name: siagep
    portal: dgfip                        # or chorus (direct Chorus Pro login)
    login_env: SIAGEP_LOGIN              # credentials by environment-variable name
    password_env: SIAGEP_PASSWORD
    deliver: [{email: dsi@example.org}]  # optional: default deliveries of the account's structures
    structures:                          # or: all (every structure of « Mes structures »)
      - identifiant: "25300096600023"
        technical_login: TECH_1_25300096600023@cpro.fr   # optional: when the structure has several
        deliver:
          - email: service.informatique@example.org
          - command: ["/usr/local/bin/push-to-corail", "--budget", "00"]
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from robots.errors import BadInput, Problem
from robots.integrations import second_factor
from robots.secrets import ENVIRON
from robots.support.frozen_model import Model
from robots.support.parsers import SIRET_KEY_WRONG, siret_problem
from robots.support.yamlfile import line_of, load_yaml, problems_from

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _identifiant_text(value: Any) -> Any:
    # An unquoted identifiant is read by YAML as a number: accept it, the pattern check follows.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _check_identifiant(value: str) -> str:
    # The project's one SIRET check (robots.support.parsers.siret_problem): 14 digits and the key (Luhn, or La Poste's).
    problem = siret_problem(value)
    if problem == "format":
        raise ValueError(
            f"identifiant « {value} » : un identifiant de structure (SIRET) a 14 chiffres (entre guillemets en YAML)"
        )
    if problem == "key":
        raise ValueError(f"identifiant « {value} » : {SIRET_KEY_WRONG}")
    return value


Identifiant = Annotated[str, BeforeValidator(_identifiant_text)]


class EmailDelivery(Model):
    email: str = Field(description="Address of the IT service that runs the connector")

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        if not EMAIL.fullmatch(value):
            raise ValueError(f"« {value} » n'est pas une adresse électronique")
        return value

    def describe(self) -> str:
        return f"email:{self.email}"


class CommandDelivery(Model):
    command: list[str] = Field(min_length=1, description="Program and arguments; the password comes on stdin")
    timeout_s: float = Field(60, gt=0)

    @field_validator("command")
    @classmethod
    def _program(cls, value: list[str]) -> list[str]:
        if not value[0].strip():
            raise ValueError("le programme de la commande est vide")
        return value

    def describe(self) -> str:
        return "command:" + " ".join(self.command)


def _delivery_kind(value: Any) -> str | None:
    if isinstance(value, dict | EmailDelivery | CommandDelivery):
        keys = set(value) if isinstance(value, dict) else set(type(value).model_fields)
        return "§email" if "email" in keys else "§command" if "command" in keys else None
    return None


# Tags start with « § » so that error locations can drop them (they are no key of the file).
Delivery = Annotated[
    Annotated[EmailDelivery, Tag("§email")] | Annotated[CommandDelivery, Tag("§command")],
    Discriminator(
        _delivery_kind,
        custom_error_type="delivery",
        custom_error_message="une livraison est {email: ADRESSE} ou {command: [PROGRAMME, ARGUMENT...]}",
    ),
]


class StructureEntry(Model):
    identifiant: Identifiant
    technical_login: str | None = Field(
        None, description="The technical account to renew when the structure has several (portail de services)"
    )
    deliver: list[Delivery] = Field(default_factory=list)

    @field_validator("identifiant")
    @classmethod
    def _siret(cls, value: str) -> str:
        return _check_identifiant(value)

    @field_validator("technical_login")
    @classmethod
    def _technical_login(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or re.search(r"\s", value.strip())):
            raise ValueError(f"technical_login « {value} » : le login d'un compte technique, sans espace"
                             " (TECH_1_<SIRET>@cpro.fr)")  # fmt: skip
        return value.strip() if value else value


class Account(Model):
    name: str = Field(min_length=1)
    portal: Literal["dgfip", "chorus"]
    login_env: str
    password_env: str
    second_factor: Literal["email", "totp", "ask"] | None = Field(
        None, description="email (with mailbox), totp (with totp_env), ask (attended runs: the person types it)"
    )
    mailbox: str | None = Field(None, description="maildir:///PATH or imaps://USER@HOST/FOLDER (the login's mail)")
    totp_env: str | None = Field(None, description="Environment variable holding the authenticator secret (base32)")
    deliver: list[Delivery] = Field(default_factory=list)
    structures: Annotated[
        Annotated[Literal["all"], Tag("§all")] | Annotated[list[StructureEntry], Tag("§list")],
        Discriminator(lambda v: "§list" if isinstance(v, list) else "§all"),
    ] = Field(description="`all`, or a list of {identifiant, deliver}")

    @field_validator("login_env", "password_env", "totp_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.fullmatch(value):
            raise ValueError(f"« {value} » n'est pas un nom de variable d'environnement")
        return value

    @field_validator("mailbox")
    @classmethod
    def _mailbox(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(maildir:///|imaps?://[^@/\s]+@[^/\s]+)", value):
            raise ValueError(f"mailbox « {value} » : maildir:///CHEMIN ou imaps://UTILISATEUR@HÔTE/DOSSIER attendu")
        return value

    @model_validator(mode="after")
    def _second_factor(self) -> Account:
        if self.second_factor == "email" and not self.mailbox:
            raise ValueError(
                "second_factor: email demande `mailbox:` (maildir:///CHEMIN ou imaps://UTILISATEUR@HÔTE/DOSSIER)"
            )
        if self.second_factor == "totp" and not self.totp_env:
            raise ValueError(
                "second_factor: totp demande `totp_env:` (la variable qui tient le secret de l'application)"
            )
        return self

    def secret_env(self) -> dict[str, str]:
        """The login flows' secret names, renamed to this account's environment variables."""
        return {f"{self.portal}_login": self.login_env, f"{self.portal}_password": self.password_env}

    def deliveries_of(self, identifiant: str) -> list[Delivery]:
        """The structure's own deliveries, else the account's."""
        if isinstance(self.structures, list):
            for entry in self.structures:
                if entry.identifiant == identifiant and entry.deliver:
                    return list(entry.deliver)
        return list(self.deliver)

    def technical_login_of(self, identifiant: str) -> str:
        """The technical account the roster names for the structure; empty: the structure's only one."""
        if isinstance(self.structures, list):
            for entry in self.structures:
                if entry.identifiant == identifiant:
                    return (entry.technical_login or "").strip()
        return ""

    def listed(self) -> list[str] | None:
        """The identifiants written in the roster; None for `structures: all`."""
        return None if self.structures == "all" else [s.identifiant for s in self.structures]


class Roster(Model):
    notify: str | None = Field(None, description="Operator address for the summary e-mail")
    accounts: list[Account] = Field(min_length=1)

    @field_validator("notify")
    @classmethod
    def _notify(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.fullmatch(value):
            raise ValueError(f"« {value} » n'est pas une adresse électronique")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Roster:
        names = [a.name for a in self.accounts]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"nom(s) de compte utilisé(s) deux fois : {', '.join(twice)}")
        return self

    def account(self, name: str) -> Account:
        return next(a for a in self.accounts if a.name == name)

    def uses_email(self) -> bool:
        return any(
            isinstance(d, EmailDelivery)
            for a in self.accounts
            for d in [*a.deliver, *(d for s in (a.structures if a.structures != "all" else []) for d in s.deliver)]
        )


def load_roster(path: Path) -> Roster:
    """The roster, validated; every problem is reported with its file and line (BadInput, exit 2)."""
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise BadInput(f"registre {path} invalide", [Problem(path, getattr(raw, "line", None), _SHAPE)])
    try:
        roster = Roster.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(f"registre {path} invalide", problems_from(_Untagged(exc), raw, path)) from None
    problems = _duplicates(roster, raw, path)
    if problems:
        raise BadInput(f"registre {path} invalide", problems)
    return roster


_SHAPE = "un registre est un dictionnaire avec `accounts:` (une liste de comptes, chacun avec ses `structures`)"


def _duplicates(roster: Roster, raw: Any, path: Path) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for a_index, account in enumerate(roster.accounts):
        for s_index, identifiant in enumerate(account.listed() or []):
            if identifiant in seen:
                line = line_of(raw, ("accounts", a_index, "structures", s_index))
                message = f"la structure {identifiant} est déjà listée sous le compte « {seen[identifiant]} »"
                problems.append(Problem(path, line, message))
            seen[identifiant] = account.name
    return problems


class _Untagged:
    """A ValidationError whose locations no longer hold the union tags."""

    def __init__(self, error: ValidationError) -> None:
        self.error = error

    def errors(self) -> list[dict[str, Any]]:
        items = []
        for item in self.error.errors():
            location = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("§")))
            message = str(item["msg"]).removeprefix("Value error, ")
            if location and location[-1] == "structures" and item["type"] == "literal_error":
                message = '`structures` vaut `all` ou une liste de structures ({identifiant: "…", deliver: […]})'
                item = {**item, "type": "roster"}
            items.append({**item, "loc": location, "msg": message})
        return items


def missing_credentials(roster: Roster, environ: Mapping[str, str] | None = None) -> list[str]:
    """The environment variables the roster names that are not set."""
    environ = ENVIRON if environ is None else environ
    names = [n for a in roster.accounts for n in (a.login_env, a.password_env, a.totp_env) if n]
    if any(a.second_factor == "email" and (a.mailbox or "").startswith("imap") for a in roster.accounts):
        names.append("CHORUS_ROBOT_IMAP_PASSWORD")
    return [n for n in dict.fromkeys(names) if not environ.get(n)]


def code_source(account: Account) -> second_factor.CodeSource | None:
    """Where the account's second-factor code comes from (None: no second factor, or `ask` with nobody to ask)."""
    if account.second_factor == "ask" and not second_factor.attended():
        return None
    return second_factor.source_for(
        account.second_factor, address=ENVIRON.get(account.login_env, ""), mailbox_url=account.mailbox,
        totp_secret=ENVIRON.get(account.totp_env or "", ""),
    )  # fmt: skip

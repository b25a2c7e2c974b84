"""Environments (URLs of the portals) and settings, from `robot.yaml` of the working directory (else the
packaged `config/robot.yaml`); `packaged()` says where the files shipped with the robot are."""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from robots.errors import BadInput
from robots.support.frozen_model import Model
from robots.support.yamlfile import load_yaml, problems_from

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout; files shipped with the robot: packaged()
CONFIG_ENV = "CHORUS_ROBOT_CONFIG"  # another configuration file (e.g. /etc/chorus-robot/robot.yaml); also --config
CONFIG_NAME = "robot.yaml"  # a working directory's own configuration (chorus-robot init writes it)
DEFAULT_VAULT = Path("var/vault/technical-accounts.json")  # relative to the working directory, like every setting's
DEFAULT_JOURNAL = Path("var/renewal/journal.sqlite")
DEFAULT_ACCOUNTS_VAULT = Path("var/vault/user-accounts.json")  # `accounts create`'s vault of user accounts


def packaged(*parts: str) -> Path:
    """Where a file shipped with the robot is: `packaged("flows", "common", "login.yaml")`, `packaged("selectors")`,
    `packaged("config", "robot.yaml")`, `packaged("schema", …)`, `packaged("fixtures", "demo-portal.yaml")`.
    In a checkout (or an editable install), the repository's folders; in an installed wheel, robots/_data/<folder>
    (setup.py puts them there) and the `fixtures` package (the mock portal and its demo data)."""
    if parts and parts[0] == "fixtures":
        return _mock_portal_root().joinpath(*parts[1:])
    return _data_root().joinpath(*parts)


@lru_cache(maxsize=1)
def _mock_portal_root() -> Path:
    """The `fixtures` package's folder, found without importing it: only mock-portal and demo load the mock."""
    found = find_spec("fixtures")
    if found is None or not found.submodule_search_locations:
        return PROJECT_ROOT / "fixtures"
    return Path(next(iter(found.submodule_search_locations)))


@lru_cache(maxsize=1)
def _data_root() -> Path:
    inside = Path(str(files("robots"))) / "_data"
    return inside if inside.is_dir() else PROJECT_ROOT


def working_dir() -> Path:
    """The directory a command runs in: its robot.yaml, selectors/, flows/ and var/ come first (language/layers.py)."""
    return Path.cwd()


class Environment(Model):
    portal_url: str
    dgfip_url: str | None = Field(None, description="None: no DGFiP entry in this environment")
    dgfip_refused: str = Field("", description="Why there is no DGFiP entry, for the message")
    chorus_url: str
    api_url: str
    piste_token_url: str = Field("", description="PISTE OAuth2 token endpoint (client credentials)")

    def with_portal_url(self, portal_url: str | None) -> Environment:
        base = (portal_url or self.portal_url).rstrip("/")
        return self.model_copy(
            update={
                name: value.format(portal_url=base)
                for name in ("dgfip_url", "chorus_url", "api_url", "piste_token_url")
                if (value := getattr(self, name))
            }
            | {"portal_url": base}
        )

    def check_entry(self, entry: str, name: str) -> None:
        """The DGFiP entry exists only where the DGFiP portal opens this environment's Chorus Pro."""
        if entry == "dgfip" and not self.dgfip_url:
            why = self.dgfip_refused or "cet environnement n'a pas de portail DGFiP"
            raise BadInput(f"environnement « {name} » : l'entrée par la DGFiP est refusée : {why}")


class Settings(Model):
    forbidden_characters: str = "/"
    max_attempts: int = Field(5, ge=1)
    timeout_s: float = Field(15, gt=0)
    # A new technical password can take minutes to reach the API: a refusal is checked again after this delay.
    api_recheck_delay_s: float = Field(300, ge=0)
    vault: Path = DEFAULT_VAULT
    journal: Path = DEFAULT_JOURNAL
    vault_encryption: Literal["none", "age"] = "none"
    vault_key_file: Path | None = None
    catalogue: Path = Path("selectors")
    # renew: pages fetch no images, fonts or media (not in step mode, where a person watches).
    block_resources: bool = True
    # A step safe to repeat (navigation, reads) after a fault of the portal: how many more times, first pause.
    retry_attempts: int = Field(3, ge=0)
    retry_backoff_s: float = Field(1.0, ge=0)


class Config(Model):
    environments: dict[str, Environment]
    settings: Settings = Settings()

    def environment(self, name: str, portal_url: str | None = None) -> Environment:
        if name not in self.environments:
            known = ", ".join(self.environments)
            raise BadInput(f"environnement inconnu « {name} » (connus : {known}) dans {config_path()}")
        return self.environments[name].with_portal_url(portal_url)

    def resolve(self, path: Path) -> Path:
        """Relative paths of the settings are relative to the working directory (var/…, selectors)."""
        return path if path.is_absolute() else working_dir() / path


def config_path() -> Path:
    """--config (or CHORUS_ROBOT_CONFIG), else the working directory's robot.yaml, else the packaged one."""
    if named := os.environ.get(CONFIG_ENV):
        return Path(named)
    own = working_dir() / CONFIG_NAME
    return own if own.is_file() else packaged("config", CONFIG_NAME)


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    raw = load_yaml(path)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(f"configuration {path} invalide", problems_from(exc, raw, path)) from None

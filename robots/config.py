"""Environments (URLs of the portals) and settings, from `config/robot.yaml`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError

from robots.errors import BadInput
from robots.flow_model import Model
from robots.yamlfile import load_yaml, problems_from

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "robot.yaml"


class Environment(Model):
    portal_url: str
    dgfip_url: str
    chorus_url: str
    api_url: str

    def with_portal_url(self, portal_url: str | None) -> Environment:
        base = (portal_url or self.portal_url).rstrip("/")
        return Environment(
            portal_url=base,
            dgfip_url=self.dgfip_url.format(portal_url=base),
            chorus_url=self.chorus_url.format(portal_url=base),
            api_url=self.api_url.format(portal_url=base),
        )


class Settings(Model):
    forbidden_characters: str = "/"
    max_attempts: int = Field(5, ge=1)
    timeout_s: float = Field(15, gt=0)
    vault: Path = Path("var/vault/technical-accounts.json")
    catalogue: Path = Path("selectors")


class Config(Model):
    environments: dict[str, Environment]
    settings: Settings = Settings()

    def environment(self, name: str, portal_url: str | None = None) -> Environment:
        if name not in self.environments:
            known = ", ".join(self.environments)
            raise BadInput(f"unknown environment « {name} » (known: {known}) in {DEFAULT_CONFIG}")
        return self.environments[name].with_portal_url(portal_url)

    def resolve(self, path: Path) -> Path:
        """Relative paths of the settings are relative to the project."""
        return path if path.is_absolute() else PROJECT_ROOT / path


def load_config(path: Path = DEFAULT_CONFIG) -> Config:
    raw = load_yaml(path)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(f"configuration {path} is invalid", problems_from(exc, raw, path)) from None

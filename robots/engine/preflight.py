"""What every job checks before a browser starts, in one place: the configuration, the environment (which portal),
the selector catalogue, and the flows it will run — valid against that catalogue, their secrets kept out of every
child process's environment. A job adds its own checks (inputs, credentials, vault) after this."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from robots.config import Config, Environment, load_config
from robots.language.catalogue import Catalogue, own_catalogue
from robots.language.files import secret_variables
from robots.language.validation import require_valid
from robots.secrets import withhold


@dataclass(frozen=True)
class Preflight:
    config: Config
    environment: Environment
    catalogue: Catalogue
    catalogue_folder: Path


def preflight(
    env_name: str, portal_url: str | None = None, flows: Mapping[Path, set[str] | None] | None = None
) -> Preflight:
    """`flows`: each flow the job runs, with the variables it is given (None: the flow's own inputs)."""
    config = load_config()
    environment = config.environment(env_name, portal_url)
    folder = own_catalogue(config)  # the working directory's screens over the packaged ones
    catalogue = Catalogue.load(folder)
    for flow, known in (flows or {}).items():
        require_valid(flow, catalogue, known=known)
        withhold(secret_variables(flow))
    return Preflight(config, environment, catalogue, folder)

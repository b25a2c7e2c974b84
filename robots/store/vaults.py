"""Which vault the settings or `--vault` name: a KeePass database (.kdbx), or the JSON file (age-encrypted when the
settings say so)."""

from __future__ import annotations

from pathlib import Path

from robots.config import Config
from robots.store.keepass_vault import open_vault_file
from robots.store.vault import Vault


def open_vault(config: Config, path: Path | None = None) -> Vault:
    """The vault at `path` (default: the settings' vault), as the settings say to open it."""
    key_file = config.settings.vault_key_file
    where = path or config.resolve(config.settings.vault)
    return open_vault_file(where, config.settings.vault_encryption, config.resolve(key_file) if key_file else None)

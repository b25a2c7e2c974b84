"""Which vault the settings or `--vault` name: a KeePass database (.kdbx), or the JSON file (age-encrypted when the
settings say so)."""

from __future__ import annotations

from pathlib import Path

from robots.config import Config
from robots.errors import BadInput
from robots.store.vault import Vault, load_cipher

KEEPASS_SUFFIX = ".kdbx"


def open_vault(config: Config, path: Path | None = None) -> Vault:
    """The vault at `path` (default: the settings' vault), as the settings say to open it."""
    key_file = config.settings.vault_key_file
    where = path or config.resolve(config.settings.vault)
    return open_vault_file(where, config.settings.vault_encryption, config.resolve(key_file) if key_file else None)


def is_keepass(path: Path) -> bool:
    return path.suffix.lower() == KEEPASS_SUFFIX


def open_vault_file(path: Path, encryption: str = "none", key_file: Path | None = None) -> Vault:
    """The vault at `path`, chosen by its suffix: a KeePass database for .kdbx, else the JSON file of
    robots/store/vault.py (age-encrypted when `encryption` says so)."""
    if is_keepass(path):
        if encryption != "none":
            raise BadInput(f"coffre {path} : une base KeePass est chiffrée par KeePass ; retirez vault_encryption: "
                           f"{encryption}")  # fmt: skip
        # Here, not at the top: pykeepass brings lxml and two ciphers (about 10 MB) that a JSON vault never needs.
        from robots.store.keepass_vault import KeePassVault

        return KeePassVault(path)
    return Vault(path, load_cipher(encryption, key_file))

"""The runner's credential sink for the nightly job: the journal first (committed, on disk), then the vault."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from robots.renewal.journal import VAULT_TARGET, Journal
from robots.secrets import REDACTOR
from robots.vault import Vault


@dataclass
class Expected:
    """What the sink must know of a structure before its reset: where its password goes."""

    account: str
    targets: list[tuple[dict[str, Any], str]]


@dataclass
class JournalSink:
    journal: Journal
    vault: Vault
    run_id: int
    forbidden_characters: str
    expected: dict[str, Expected] = field(default_factory=dict)
    previous: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    latest: dict[str, int] = field(default_factory=dict)
    captures: dict[str, int] = field(default_factory=dict)
    # The last password read, in memory: the journal erases it as soon as its deliveries are done.
    passwords: dict[str, str] = field(default_factory=dict)

    def expect(self, identifiant: str, expected: Expected) -> None:
        self.expected[identifiant] = expected
        self.captures[identifiant] = 0
        self.latest.pop(identifiant, None)

    def checkpoint(self, key: str, event: str) -> None:
        self.journal.event(self.run_id, self._account(key), key, event)
        logger.debug("  journal : {} {}", key, event)

    def store(self, key: str, fields: dict[str, Any]) -> None:
        if "password" in fields:
            self._capture(key, fields)
        elif "expires_at" in fields and key in self.latest:
            self.journal.set_expiry(self.latest[key], fields["expires_at"])
            self.journal.event(self.run_id, self._account(key), key, "expiry_read", fields["expires_at"])
            self.vault.put(key, expires_at=fields["expires_at"])
        else:
            self.vault.put(key, **fields)

    def _capture(self, key: str, fields: dict[str, Any]) -> None:
        password = str(fields["password"])
        REDACTOR.add(password)
        if key not in self.previous:
            # The password in use before this run: the API check verifies it is refused afterwards.
            self.previous[key] = self.vault.get(key)
        expected = self.expected.get(key, Expected(account="", targets=[]))
        hold = any(c in password for c in self.forbidden_characters)
        credential = self.journal.capture(
            self.run_id, expected.account or None, key, fields.get("login"), password, expected.targets, hold
        )
        self.latest[key] = credential
        self.passwords[key] = password
        self.captures[key] = self.captures.get(key, 0) + 1
        self.vault.put(key, login=fields.get("login"), password=password)
        vault_delivery = next(d for d in self.journal.deliveries(credential) if d.target == VAULT_TARGET)
        self.journal.delivery_done(self.run_id, vault_delivery)
        logger.info("  mot de passe noté au journal puis rangé dans le coffre (structure {})", key)

    def old_password(self, key: str, login: str | None) -> str | None:
        entry = self.previous.get(key) or {}
        if entry.get("login") == login and entry.get("password"):
            return str(entry["password"])
        return None

    def _account(self, key: str) -> str | None:
        expected = self.expected.get(key)
        return expected.account if expected else None

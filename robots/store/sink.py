"""The runner's credential sink for `run` and `renew`: the journal first (committed, on disk), then the vault.

Whatever fails after the portal generated a password, the password is kept somewhere a person can find:
the journal when the vault cannot be written (the next `run` or `renew` finishes the storing), the vault
when the journal cannot, a rescue file when neither can — and only then does the run stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from robots.errors import JournalWriteFailed, NowhereToKeep, PasswordAtRisk, VaultError
from robots.secrets import REDACTOR
from robots.store import crash_points
from robots.store.crash_points import crash_point
from robots.store.journal import OPEN_STATUSES, Credential, Journal, PendingDelivery, vault_target
from robots.store.rescue import rescue
from robots.store.vault import Vault


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
    # Structures whose password is in the journal but not (yet) in the vault: key → why.
    vault_failures: dict[str, str] = field(default_factory=dict)
    # Other fields (the expiry) the vault could not take: key → why.
    vault_errors: dict[str, str] = field(default_factory=dict)
    # Structures whose last password was shown in a form not submitted yet (portail de services).
    shown: set[str] = field(default_factory=set)
    # Structures whose last password is in the vault only: the journal could not take it.
    vault_only: set[str] = field(default_factory=set)
    # Where the last password of each structure is, for a person (« coffre … », « fichier de secours … »).
    where: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vault.describe(run=self.run_id)  # a KeePass entry's notes name the run that wrote it

    def expect(self, identifiant: str, expected: Expected) -> None:
        self.expected[identifiant] = expected
        self.captures[identifiant] = 0
        self.latest.pop(identifiant, None)

    def checkpoint(self, key: str, event: str) -> None:
        if event in ("reset_requested", "reset_submitted"):
            crash_points.reset_started(key)
        if event == "reset_requested":
            crash_point("before-reset-requested")
        try:
            self.journal.event(self.run_id, self._account(key), key, event)
            if event == "reset_submitted" and key in self.latest:
                # « Soumettre » is about to be clicked: from now on the password shown may be the account's.
                self.journal.submitted(self.latest[key])
        except JournalWriteFailed as exc:
            self._journal_down_before(key, event, exc)
        if event == "reset_submitted" and key in self.latest:
            crash_point("services-before-submit")
        logger.debug("  journal : {} {}", key, event)

    def _journal_down_before(self, key: str, event: str, error: JournalWriteFailed) -> None:
        """The journal cannot note that a reset is about to be confirmed: the reset goes on only if the vault
        has room for its password; a form of the portail de services is never submitted."""
        if event == "reset_submitted":
            crash_points.reset_ended(key)
            raise NowhereToKeep(f"structure {key} : {error} ; « Soumettre » n'est pas cliqué : le mot de passe "
                                f"affiché n'est pas celui du compte, l'ancien reste valable") from None  # fmt: skip
        if event != "reset_requested":
            return
        try:
            self.vault.room_for_a_write()
        except VaultError as exc:
            crash_points.reset_ended(key)
            raise NowhereToKeep(f"structure {key} : {error} et {exc} : aucune réinitialisation, son mot de passe "
                                f"ne pourrait être gardé nulle part{self._so_far()}") from None  # fmt: skip
        logger.warning("  {} : structure {} réinitialisée quand même, son mot de passe ira directement dans le "
                       "coffre {}", error, key, self.vault.path)  # fmt: skip

    def seal(self, key: str, page_text: str) -> str:
        try:
            seal_id = self.journal.seal(self.run_id, self._account(key), key, page_text)
        except JournalWriteFailed as exc:
            where = rescue(key, {"page_text": page_text})
            if where is None:
                raise PasswordAtRisk(f"structure {key} : {exc} ; la page qui montre le mot de passe n'a pu être "
                                     "gardée nulle part : il reste affiché au portail") from None  # fmt: skip
            self.where[key] = f"sur une page scellée dans le fichier de secours {where}"
            return f"le fichier de secours {where} (0600 ; le journal est en échec : {exc})"
        return f"le journal {self.journal.path} (0600), scellé n°{seal_id}"

    def store(self, key: str, fields: dict[str, Any]) -> None:
        if fields.get("shown"):
            self._capture(key, fields, shown=True)
            return
        if "password" in fields and self._confirms_shown(key, str(fields["password"])):
            crash_point("services-after-submit")
            self._to_vault(key, fields)
            return
        if "password" in fields:
            self._capture(key, fields)
            return
        if "expires_at" in fields and key in self.latest:
            self.journal.best_effort(self.journal.set_expiry, self.latest[key], fields["expires_at"])
            self.journal.best_effort(self.journal.event, self.run_id, self._account(key), key, "expiry_read",
                                     fields["expires_at"])  # fmt: skip
        try:
            self.vault.put(key, **fields)
        except VaultError as exc:
            self.vault_errors[key] = str(exc)
            logger.error("  {} ({} non noté dans le coffre)", exc, ", ".join(sorted(fields)))

    def _confirms_shown(self, key: str, password: str) -> bool:
        """The password shown before « Soumettre », now confirmed: it goes to the vault, not journaled twice."""
        return key in self.shown and self.passwords.get(key) == password

    def _capture(self, key: str, fields: dict[str, Any], shown: bool = False) -> None:
        """Journals a password read. `shown`: displayed in a form not yet submitted (portail de services): it
        is not the account's until « Soumettre », so it goes to the vault only once the submission is confirmed."""
        password = str(fields["password"])
        REDACTOR.add(password)
        if key not in self.previous:
            # The password in use before this run: the API check verifies it is refused afterwards.
            self.previous[key] = self._vault_entry(key)
        expected = self.expected.get(key, Expected(account="", targets=[]))
        hold = any(c in password for c in self.forbidden_characters)
        crash_point("before-journal")
        try:
            credential = self.journal.capture(
                self.run_id, expected.account or None, key, fields.get("login"), password, expected.targets, hold,
                vault=vault_target(self.vault.path), shown=shown,
            )  # fmt: skip
        except JournalWriteFailed as exc:
            crash_points.reset_ended(key)
            if shown:
                raise NowhereToKeep(f"structure {key} : {exc} ; le mot de passe affiché n'est pas noté, « Soumettre »"
                                    " n'est pas cliqué : l'ancien mot de passe reste valable") from None  # fmt: skip
            self._without_journal(key, fields, exc)
            return
        crash_points.reset_ended(key)
        crash_point("after-journal-commit")
        self.latest[key] = credential
        self.passwords[key] = password
        self.captures[key] = self.captures.get(key, 0) + 1
        self.vault_only.discard(key)
        if shown:
            self.shown.add(key)
            logger.info("  mot de passe affiché noté au journal, avant « Soumettre » (structure {})", key)
            crash_point("services-password-shown")
            return
        self.shown.discard(key)
        self.where[key] = f"dans le journal {self.journal.path}"
        self._to_vault(key, fields)
        if hold:  # the « / » loop resets again next
            crash_point("in-slash-loop")

    def adopt(self, key: str, credential: Credential) -> None:
        """A password an earlier run journaled, found to be the account's (portail de services: its submission
        was taken): it is this session's latest, as if just read."""
        REDACTOR.add(credential.password)
        self.previous.setdefault(key, self._vault_entry(key))
        self.latest[key] = credential.id
        self.passwords[key] = credential.password or ""
        self.captures[key] = self.captures.get(key, 0) + 1

    def _to_vault(self, key: str, fields: dict[str, Any]) -> None:
        delivery = next(d for d in self.journal.deliveries(self.latest[key]) if d.target.get("vault"))
        try:
            self.vault.put(key, login=fields.get("login"), password=str(fields["password"]))
        except VaultError as exc:
            self.journal.best_effort(self.journal.delivery_failed, self.run_id, delivery, str(exc))
            self._vault_failed(key, str(exc))
            return
        crash_point("after-vault-write")
        self.vault_failures.pop(key, None)
        self.where[key] = f"dans le coffre {self.vault.path}"
        self.shown.discard(key)
        if self.journal.best_effort(self.journal.delivery_done, self.run_id, delivery):
            logger.info("  mot de passe noté au journal puis rangé dans le coffre (structure {})", key)
        else:  # the next run stores it in the vault again (the same password), then erases it from the journal
            logger.warning("  mot de passe de la structure {} rangé dans le coffre {} ; le journal n'a pu noter que "
                           "c'est fait ({})", key, self.vault.path, self.journal.failure)  # fmt: skip

    def _vault_entry(self, key: str) -> dict[str, Any] | None:
        try:
            return self.vault.get(key)
        except VaultError:
            return None

    def _vault_failed(self, key: str, error: str) -> None:
        self.vault_failures[key] = error
        self.where[key] = f"dans le journal {self.journal.path} (pas dans le coffre {self.vault.path})"
        logger.error("  {} — le mot de passe de la structure {} est noté au journal {} ; la prochaine exécution de "
                     "« run » ou « renew » le rangera dans le coffre", error, key, self.journal.path)  # fmt: skip

    def _without_journal(self, key: str, fields: dict[str, Any], error: JournalWriteFailed) -> None:
        """The journal failed after the portal generated the password: the vault, else a rescue file."""
        password = str(fields["password"])
        self.latest.pop(key, None)  # the journal's latest credential of this structure is not this password
        self.passwords[key] = password
        self.captures[key] = self.captures.get(key, 0) + 1
        try:
            self.vault.put(key, **fields)
        except VaultError as exc:
            where = rescue(key, fields)
            kept = f"mis à l'abri dans {where} (0600)" if where else "gardé nulle part : il reste affiché au portail"
            self.where[key] = f"dans le fichier de secours {where}" if where else kept
            logger.error("  {} ; {} : le nouveau mot de passe de la structure {} est {}", error, exc, key, kept)
            raise PasswordAtRisk(f"structure {key} : ni le journal ({error}) ni le coffre ({exc}) n'ont pu garder le "
                                 f"nouveau mot de passe ; il est {kept}. Aucune autre réinitialisation n'est faite"
                                 f"{self._so_far(key)}") from None  # fmt: skip
        self.vault_only.add(key)
        self.where[key] = f"dans le coffre {self.vault.path}"
        logger.error("  {} : le nouveau mot de passe de la structure {} est rangé directement dans le coffre {} "
                     "(pas au journal)", error, key, self.vault.path)  # fmt: skip

    def whereabouts(self, but: str | None = None) -> str:
        """« structure A : dans le coffre … ; structure B : dans le fichier de secours … »: this session's passwords."""
        return " ; ".join(f"structure {key} : {where}" for key, where in self.where.items() if key != but)

    def _so_far(self, but: str | None = None) -> str:
        others = self.whereabouts(but)
        return f". Mots de passe générés jusque-là : {others}" if others else ""

    def old_password(self, key: str, login: str | None) -> str | None:
        entry = self.previous.get(key) or {}
        if entry.get("login") == login and entry.get("password"):
            return str(entry["password"])
        return None

    def _account(self, key: str) -> str | None:
        expected = self.expected.get(key)
        return expected.account if expected else None


def stores_to(delivery: PendingDelivery, vault: Vault) -> bool:
    """Whether an open delivery of the journal is meant for this vault (older journals: any vault)."""
    target = delivery.target.get("vault")
    if delivery.status not in OPEN_STATUSES or not target:
        return False
    return target is True or target == vault_target(vault.path)["vault"]


def store_pending(journal: Journal, run_id: int, vault: Vault) -> tuple[list[str], dict[str, str]]:
    """Finishes storing in this vault the passwords an earlier run left in the journal only.

    Returns the structures stored, and those still failing with why.
    """
    stored, failing = [], {}
    for credential in journal.unfinished_credentials():
        if journal.submission_in_doubt(credential.identifiant):
            logger.warning("Reprise : le mot de passe de la structure {} a été affiché puis « Soumettre » cliqué sans "
                           "confirmation vue : il reste au journal ; « chorus-robot renew » relira l'expiration de la "
                           "structure pour savoir s'il est celui du compte", credential.identifiant)  # fmt: skip
            continue
        for delivery in journal.deliveries(credential.id):
            if not stores_to(delivery, vault):
                continue
            try:
                vault.put(credential.identifiant, login=credential.login, password=credential.password,
                          expires_at=credential.expires_at)  # fmt: skip
            except VaultError as exc:
                journal.best_effort(journal.delivery_failed, run_id, delivery, str(exc))
                failing[credential.identifiant] = str(exc)
                continue
            journal.best_effort(journal.delivery_done, run_id, delivery)
            stored.append(credential.identifiant)
            logger.warning("Reprise : le mot de passe de la structure {} laissé au journal (exécution n°{}) est rangé "
                           "dans le coffre {}", credential.identifiant, credential.run_id, vault.path)  # fmt: skip
    return stored, failing

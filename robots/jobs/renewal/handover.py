"""A new technical password handed over: checked through the API (`tauxtva`: new one accepted, old one
refused), then delivered (vault, e-mail, hook) as the journal says.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from robots.errors import BadInput, DeliveryFailed
from robots.integrations.api_check import BAD_REQUEST, PisteClient, check_technical_account
from robots.jobs.renewal.delivery import NewPassword, deliver
from robots.secrets import REDACTOR
from robots.store.journal import OPEN_STATUSES, Credential, Journal
from robots.store.vault import Vault


def api_check(
    api_url: str, credential: Credential, old_password: str | None, piste: PisteClient | None
) -> dict[str, Any]:
    """The `tauxtva` check: new password accepted, old one refused (None: could not be checked)."""
    login = credential.login or ""
    new = check_technical_account(api_url, login, credential.password or "", piste)
    result: dict[str, Any] = {"new_accepted": new.accepted, "old_refused": None, "result": new.outcome}
    if new.detail:
        result["detail"] = new.detail
    if new.outcome == BAD_REQUEST:
        logger.warning("  vérification API non faite : l'API juge notre requête mal formée ({}) ; un défaut du "
                       "robot à signaler, le mot de passe n'est pas en cause : il est livré", new.detail)  # fmt: skip
    elif new.accepted is None:
        logger.warning("  vérification API impossible : {}", new.detail)
    if old_password and old_password != credential.password and new.accepted is not None:
        REDACTOR.add(old_password)
        old = check_technical_account(api_url, login, old_password, piste)
        result["old_refused"] = None if old.accepted is None else not old.accepted
    return result


def api_problem(check: dict[str, Any]) -> str | None:
    """What makes the check a failure (a refusal), or None (accepted; impossible or bad_request: a warning)."""
    if check.get("new_accepted") is False:
        return f"le nouveau mot de passe est refusé par l'API (tauxtva) : {check.get('detail', '')}".rstrip(" :")
    if check.get("old_refused") is False:
        return "l'ancien mot de passe est encore accepté par l'API"
    return None


def api_detail(check: dict[str, bool | None]) -> str:
    return ", ".join(f"{k}={v}" for k, v in check.items())


def deliver_open(
    journal: Journal, run_id: int, credential: Credential, vault: Vault, raison_sociale: str
) -> list[dict[str, Any]]:
    """Delivers every pending or failed delivery of a credential; returns each delivery's result."""
    new = NewPassword(
        credential.identifiant, credential.login or "", credential.password or "", credential.expires_at,
        raison_sociale,
    )  # fmt: skip
    results = []
    for delivery in journal.deliveries(credential.id):
        if delivery.status not in OPEN_STATUSES:
            if delivery.status == "done":
                results.append({"target": delivery.label, "result": "done"})
            continue
        try:
            deliver(delivery.target, new, vault)
        except (DeliveryFailed, BadInput) as exc:
            error = REDACTOR.redact(str(exc))
            journal.best_effort(journal.delivery_failed, run_id, delivery, error)
            logger.error("  livraison {} de {} en échec : {}", delivery.label, credential.identifiant, error)
            results.append({"target": delivery.label, "result": "failed", "error": error})
            continue
        if journal.best_effort(journal.delivery_done, run_id, delivery):
            logger.info("  livré : {} ({})", delivery.label, credential.identifiant)
        else:  # the journal still says it is due: the next run delivers the same password again
            logger.warning("  livré : {} ({}), le journal n'a pu le noter", delivery.label, credential.identifiant)
        results.append({"target": delivery.label, "result": "done"})
    return results


def deliver_untracked(
    targets: list[tuple[dict[str, Any], str]], new: NewPassword, vault: Vault
) -> list[dict[str, Any]]:
    """The deliveries of a password the journal could not take (it is in the vault): made now, not retried."""
    results = []
    for target, label in targets:
        try:
            deliver(target, new, vault)
        except (DeliveryFailed, BadInput) as exc:
            error = REDACTOR.redact(str(exc)) + " (non notée au journal : à refaire à la main)"
            logger.error("  livraison {} de {} en échec : {}", label, new.identifiant, error)
            results.append({"target": label, "result": "failed", "error": error})
            continue
        logger.info("  livré : {} ({})", label, new.identifiant)
        results.append({"target": label, "result": "done"})
    return results

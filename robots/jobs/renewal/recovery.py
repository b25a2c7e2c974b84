"""What an interrupted run left, found at the start of the next: deliveries finished, lost passwords reset again."""

from __future__ import annotations

from loguru import logger

from robots.integrations.api_check import PisteClient
from robots.jobs.renewal.handover import api_check, deliver_open
from robots.jobs.renewal.plan import Plan
from robots.jobs.renewal.report import Recovered
from robots.store.journal import OPEN_STATUSES, Credential, Journal


def recover(plan: Plan, journal: Journal, run_id: int) -> tuple[list[Recovered], dict[str, str]]:
    """Finishes the deliveries left pending; returns what was found and the structures to reset again."""
    found: list[Recovered] = []
    forced: dict[str, str] = {}
    names = journal_names(journal)
    for lost in journal.lost_resets():
        identifiant = lost["identifiant"]
        if journal.open_seals(identifiant):  # decided once the structure is read again (expiry unchanged: released)
            found.append(Recovered(lost["account"], identifiant, "mot de passe non relu, page scellée",
                                   "en attente d'une personne (chorus-robot sealed)"))  # fmt: skip
            continue
        why = f"réinitialisation demandée le {lost['at']} (exécution n°{lost['run_id']}) sans mot de passe relevé"
        forced[identifiant] = "mot de passe perdu : réinitialisée à nouveau"
        found.append(Recovered(lost["account"], identifiant, why, "réinitialisée à nouveau"))
        logger.warning("Reprise : {} : {}", identifiant, why)
    for credential in journal.unfinished_credentials():
        item = _recover_credential(plan, journal, run_id, credential, names.get(credential.identifiant, ""), forced)
        if item:
            found.append(item)
    return found, forced


def journal_names(journal: Journal) -> dict[str, str]:
    return {s["identifiant"]: s["raison_sociale"] or "" for s in journal.structures()}


def _recover_credential(
    plan: Plan, journal: Journal, run_id: int, credential: Credential, raison_sociale: str, forced: dict[str, str]
) -> Recovered | None:
    deliveries = journal.deliveries(credential.id)
    statuses = {d.status for d in deliveries}
    identifiant, account = credential.identifiant, credential.account
    if journal.submission_in_doubt(identifiant):
        # Portail de services: « Soumettre » was being clicked when the run stopped. Delivering now could put a
        # password that never was the account's in place of one that still works: the structure decides.
        finding = "mot de passe affiché, « Soumettre » cliqué sans confirmation vue"
        logger.warning("Reprise : {} : {} ; l'expiration relue sur la structure dira s'il est celui du compte",
                       identifiant, finding)  # fmt: skip
        return Recovered(account, identifiant, finding, "tranché à la relecture de la structure (expiration)")
    if statuses == {"shown"}:
        # Portail de services: the run stopped between the password shown and « Soumettre »: never submitted.
        if not plan.options.dry_run:
            journal.abandon(credential.id, "formulaire jamais soumis")
        finding = "mot de passe affiché mais demande jamais soumise"
        return Recovered(account, identifiant, finding, "abandonné : l'ancien mot de passe reste valable")
    if "held" in statuses:
        forced[identifiant] = "le dernier mot de passe relevé n'est pas utilisable : réinitialisée à nouveau"
        finding = "mot de passe non livré (caractère interdit ou refusé par l'API)"
        return Recovered(account, identifiant, finding, "réinitialisée à nouveau")
    if not statuses & set(OPEN_STATUSES):
        return None
    waiting = sum(d.status in OPEN_STATUSES for d in deliveries)
    finding = f"{waiting} livraison(s) en attente (exécution n°{credential.run_id})"
    if plan.options.dry_run:
        return Recovered(account, identifiant, finding, "à livrer (simulation : rien fait)")
    piste = PisteClient.from_env(plan.environment.piste_token_url)
    check = api_check(plan.environment.api_url, credential, None, piste)
    if check["new_accepted"] is False:  # delivered all the same: it is the only password that can work
        finding += f", refusé par l'API ({check.get('detail', '')})"
    logger.info("Reprise : {} : {}", identifiant, finding)
    results = deliver_open(journal, run_id, credential, plan.vault, raison_sociale)
    if credential.expires_at:
        plan.vault.put(identifiant, expires_at=credential.expires_at)
    done = all(r["result"] == "done" for r in results)
    if any(c in (credential.password or "") for c in plan.config.settings.forbidden_characters):
        # Left by `run`, stopped inside its « / » loop: stored now, but not a password to keep.
        forced[identifiant] = "le dernier mot de passe relevé contient un caractère interdit : réinitialisée à nouveau"
    return Recovered(account, identifiant, finding, "livrées" if done else "livraison(s) encore en échec", results)

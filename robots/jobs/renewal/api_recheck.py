"""A new technical password the API refused is checked again after a delay: it can take minutes to propagate.

It was delivered all the same (the old password is already dead); the structure stays failed in the report
(exit 1) only if the API still refuses it after the delay.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from loguru import logger

from robots.jobs.renewal.handover import api_check, api_problem
from robots.jobs.renewal.report import RENEWED

if TYPE_CHECKING:
    from robots.jobs.renewal.pool import Shared


def recheck_refused(shared: Shared) -> None:
    if not shared.rechecks:
        return
    options, settings = shared.plan.options, shared.plan.config.settings
    delay = settings.api_recheck_delay_s if options.api_recheck_delay_s is None else options.api_recheck_delay_s
    logger.info("Vérification API à nouveau dans {:g} s pour {} structure(s)", delay, len(shared.rechecks))
    time.sleep(delay)
    for outcome, credential, old in shared.rechecks:
        check = api_check(shared.plan.environment.api_url, credential, old, shared.piste)
        outcome.api_check = {**check, "rechecked_after_s": delay}
        problem = api_problem(check)
        if problem:
            outcome.error = f"{problem} (encore après {delay:g} s)"
            logger.error("  {} : {}", outcome.identifiant, outcome.error)
        else:
            outcome.action, outcome.error = RENEWED, None
            logger.info("  {} : accepté par l'API à la seconde vérification", outcome.identifiant)
        shared.journal.best_effort(
            shared.journal.event,
            shared.run_id,
            outcome.account,
            outcome.identifiant,
            "api_rechecked",
            ", ".join(f"{k}={v}" for k, v in check.items() if k != "detail"),
        )

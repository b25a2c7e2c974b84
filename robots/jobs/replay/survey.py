"""`chorus-robot survey --roster FILE [--account NAME] --out DIR`: a safe first contact with the real portal.

Logs in once per account of the roster (renew's login flow, second factor included), walks the screens the
flows use that can be reached without changing anything (robots/jobs/replay/survey_walk.py), and for each writes
into DIR a screenshot and Playwright's ARIA snapshot — secrets and personal data masked — and what `probe`
finds of the catalogue there; survey.json and survey.md say, for each element not found, the snapshot's
nearest elements as `find:` entries ready for a selectors/ override. Exit 0: everything matched; 1: not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from robots.browser.portal_context import BrowserOptions, new_portal_context, open_browser
from robots.config import Config, Environment
from robots.engine import locate
from robots.engine.preflight import preflight
from robots.engine.runner import Runner, sensitive_locators
from robots.engine.steps.context import NoCredentials, StepContext
from robots.errors import EXIT_FAILURE, EXIT_OK, BadInput, RobotError
from robots.integrations import second_factor
from robots.integrations.mailbox import PASSWORD_ENV as IMAP_PASSWORD_ENV
from robots.integrations.mailbox import open_mailbox
from robots.jobs.renewal.plan import LOGIN_FLOW
from robots.jobs.renewal.roster import Account, Roster, code_source, load_roster, missing_credentials
from robots.jobs.replay import survey_privacy
from robots.jobs.replay.probe import probe_screen
from robots.jobs.replay.scrub import scrub_folder
from robots.jobs.replay.survey_bundle import ScreenResult, element_results, write_bundle
from robots.jobs.replay.survey_walk import CONDITIONAL, FIRST_STRUCTURE, IN_MENUS, WALKS, Follow, Visit, moves_of
from robots.language.catalogue import Catalogue
from robots.secrets import ENVIRON, REDACTOR, SecretProvider, withhold
from robots.support.private_files import private_folder

RECOGNISE_S = 5  # how long a screen reached is waited for before it is said not recognised


@dataclass
class SurveyRequest:
    roster: Path
    out: Path
    account: str | None = None
    env_name: str = "mock"
    portal_url: str | None = None
    headed: bool = False


@dataclass
class _Walker:
    """One account's survey: its runner (logged in), the values to mask, the screens surveyed."""

    account: Account
    runner: Runner
    out: Path
    known: set[str] = field(default_factory=set)
    results: list[ScreenResult] = field(default_factory=list)

    @property
    def page(self) -> Page:
        return self.runner.page

    def context(self, scope: dict[str, Any]) -> StepContext:
        return StepContext(
            page=self.page, catalogue=self.runner.catalogue, scope=scope, secrets=self.runner.secrets,
            sink=self.runner.sink, timeout_s=self.runner.timeout_s, flow_file=Path("survey"), runner=self.runner,
        )  # fmt: skip

    def move(self, scope: dict[str, Any], moves: tuple[dict[str, Any], ...]) -> None:
        ctx = self.context(scope)
        for move in moves_of(moves, self.runner.catalogue):
            if isinstance(move, Follow):
                logger.info("▶ {}", move.title())
                ctx.locate(move.ref)[1].click()
                ctx.page_changed()
            else:
                self.runner.run_step(ctx, move)
        self.page.wait_for_load_state()

    def survey(self, visit: Visit, scope: dict[str, Any]) -> None:
        catalogue = self.runner.catalogue
        name = visit.screen
        try:
            self.move(scope, visit.moves)
            for name in (visit.screen, *visit.frames):
                in_menus = {ref.partition(".")[2] for ref in IN_MENUS if ref.startswith(f"{name}.")}
                self.capture(name, (set(visit.optional) if name == visit.screen else set()) | CONDITIONAL | in_menus)
        except (RobotError, PlaywrightError, ValueError) as exc:  # ValueError: a walk's element the catalogue lacks
            reason = survey_privacy.scrub_text(str(exc).strip().splitlines()[0], self.known)
            title = catalogue.screens[name].title
            logger.warning("Écran « {} » non atteint : {}", title, reason)
            self.results.append(ScreenResult(name, self.account.name, title, False, None, None, error=reason))

    def capture(self, name: str, optional: set[str]) -> None:
        screen = self.runner.catalogue.screens[name]
        report = probe_screen(self.page, screen, RECOGNISE_S)
        stem = f"{_slug(self.account.name)}-{len(self.results) + 1:02d}-{name}"
        self.known |= survey_privacy.labelled_values(self.page) | self._secrets_shown()
        raw = self.page.locator("body").aria_snapshot()
        values = survey_privacy.personal_values(raw, self.known)
        self.known |= values
        snapshot = survey_privacy.scrub_text(raw, self.known)
        (self.out / f"{stem}.aria.yaml").write_text(snapshot + "\n", encoding="utf-8")
        masks = survey_privacy.screenshot_masks(self.page, self.known, self._sensitive())
        self.page.screenshot(path=str(self.out / f"{stem}.png"), full_page=True, mask=masks)
        recognised = all(ok for _, ok in report.recognised)
        result = ScreenResult(name, self.account.name, screen.title, recognised, f"{stem}.aria.yaml", f"{stem}.png",
                              element_results(report, snapshot, optional))  # fmt: skip
        logger.info("Écran « {} » : {}, {} élément(s) introuvable(s)", screen.title,
                    "reconnu" if recognised else "NON reconnu", len(result.missing))  # fmt: skip
        self.results.append(result)

    def _sensitive(self) -> list[Any]:
        return sensitive_locators(self.context({}))

    def _secrets_shown(self) -> set[str]:
        """The text of the catalogue's sensitive elements on the page (a password shown), masked like a secret."""
        shown = set()
        for locator in self._sensitive():
            try:
                if locator.count():
                    shown.add(locator.inner_text(timeout=1000).strip())
            except PlaywrightError:
                continue
        return {text for text in shown if text}


@dataclass
class _Prepared:
    config: Config
    environment: Environment
    roster: Roster
    catalogue_folder: Path


def _prepare(request: SurveyRequest) -> _Prepared:
    """renew's checks before a browser starts (robots/jobs/renewal/plan.py), but the vault's: a survey stores nothing,
    and runs while a night holds the vault's lock."""
    checked = preflight(request.env_name, request.portal_url, {LOGIN_FLOW: {"entry"}})
    config, environment = checked.config, checked.environment
    roster = _chosen(load_roster(request.roster), request)
    for account in roster.accounts:
        environment.check_entry(account.portal, request.env_name)
    missing = missing_credentials(roster)
    if missing:
        raise BadInput(f"registre {request.roster} : donnez la ou les variables d'environnement "
                       f"{', '.join(missing)} (ou .env)")  # fmt: skip
    withhold([n for a in roster.accounts for n in (a.login_env, a.password_env, a.totp_env) if n] + [IMAP_PASSWORD_ENV])
    for account in roster.accounts:
        if account.mailbox:
            open_mailbox(account.mailbox)  # a wrong URL is bad input, before anything runs
        REDACTOR.add(ENVIRON.get(account.password_env))
        REDACTOR.add(ENVIRON.get(account.totp_env or ""))
    return _Prepared(config, environment, roster, checked.catalogue_folder)


def survey(request: SurveyRequest) -> int:
    """The command: the bundle in `request.out`; exit 1 when a screen or an element did not match."""
    prepared = _prepare(request)
    accounts = prepared.roster.accounts
    private_folder(request.out)
    catalogue = Catalogue.load(prepared.catalogue_folder)
    results: list[ScreenResult] = []
    with open_browser(BrowserOptions(headed=request.headed)) as browser:
        for account in accounts:
            context = new_portal_context(browser)
            try:
                results += _survey_account(prepared, account, catalogue, context.new_page(), request.out)
            finally:
                context.close()
    write_bundle(request.out, results)
    scrub_folder(request.out)  # a last net: no secret the process knows, in any file of the bundle
    complete = all(r.complete for r in results)
    print(f"Relevé écrit dans {request.out} : {len(results)} écran(s), "
          + ("tout correspond au catalogue" if complete else f"{sum(not r.complete for r in results)} à revoir "
             f"(voir {request.out / 'survey.md'})"))  # fmt: skip
    return EXIT_OK if complete else EXIT_FAILURE


def _chosen(roster: Roster, request: SurveyRequest) -> Roster:
    """The roster, or only the account `--account` names (only its credentials are then needed)."""
    if request.account is None:
        return roster
    chosen = [a for a in roster.accounts if a.name == request.account]
    if not chosen:
        names = ", ".join(a.name for a in roster.accounts)
        raise BadInput(f"--account « {request.account} » : pas de tel compte dans {request.roster} (comptes : {names})")
    return roster.model_copy(update={"accounts": chosen})


def _survey_account(
    prepared: _Prepared, account: Account, catalogue: Catalogue, page: Page, out: Path
) -> list[ScreenResult]:
    runner = Runner(
        page, catalogue, sink=NoCredentials("un relevé ne range aucun mot de passe"),
        timeout_s=prepared.config.settings.timeout_s,
        secrets=SecretProvider(account.secret_env(), sources=second_factor.sources(code_source(account))),
    )  # fmt: skip
    scope = {"entry": account.portal, "env": prepared.environment.model_dump(),
             "settings": prepared.config.settings.model_dump(mode="json")}  # fmt: skip
    logger.info("Connexion du compte « {} » ({}) : une seule tentative", account.name, account.portal)
    try:
        runner.run(LOGIN_FLOW, scope)
    except RobotError as exc:
        reason = f"connexion impossible : {REDACTOR.redact(str(exc).splitlines()[0])}"
        return [ScreenResult("connexion", account.name, "Connexion", False, None, None, error=reason)]
    frame = _generation(page, catalogue)
    walker = _Walker(account, runner, out)
    walk = WALKS[frame]
    scope["structure"] = _structure(walker, frame, scope)
    for visit in walk:
        if visit.needs_structure and not scope["structure"]:
            walker.results.append(ScreenResult(visit.screen, account.name, catalogue.screens[visit.screen].title,
                                               False, None, None, error="aucune structure à consulter"))  # fmt: skip
            continue
        walker.survey(visit, scope)
    return walker.results


def _generation(page: Page, catalogue: Catalogue) -> str:
    frames = [catalogue.screens[name] for name in WALKS]
    shown = locate.wait_for_any_screen(page, frames, RECOGNISE_S)
    return shown.name if shown else "services_connecte"  # the walk says then which screens it did not find


def _structure(walker: _Walker, frame: str, scope: dict[str, Any]) -> str:
    """The structure whose pages are surveyed: the roster's first, else the first of « Mes structures »."""
    listed = walker.account.listed()
    if listed:
        return listed[0]
    try:
        walker.move(scope, FIRST_STRUCTURE[frame])
    except RobotError as exc:
        logger.warning("« Mes structures » illisible : {}", exc)
        return ""
    rows = scope.pop("structures", None) or []
    return str(rows[0].get("Identifiant structure", "")).strip() if rows else ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "compte"

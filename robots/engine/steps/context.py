"""What a step works with: `StepContext`, and the small types the steps and the runner share.

The runner imports the steps, never the other way round: a step that runs sub-steps (if, repeat, call…)
goes through `StepContext.run_steps`, and reaches the runner only through the `StepRunner` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

from loguru import logger
from playwright.sync_api import Locator as PwLocator
from playwright.sync_api import Page, Response

from robots.engine import locate, ride_through
from robots.errors import BadInput, StepFailed
from robots.language.catalogue import Catalogue, ElementHandle
from robots.language.model import Step
from robots.language.variables import UnknownVariable, interpolate
from robots.secrets import REDACTOR, SecretProvider

Decision = Literal["run", "skip", "quit"]


class CredentialSink(Protocol):
    """Where a captured technical password goes, the instant it is read (vault, journal)."""

    def store(self, key: str, fields: dict[str, Any]) -> None: ...

    def checkpoint(self, key: str, event: str) -> None: ...

    def seal(self, key: str, page_text: str) -> str:
        """Keeps the text of a page holding a password that could not be read; says where (for a person)."""
        ...


class NoCredentials:
    """A sink for flows that capture no password (parametrisation, probes, surveys, user accounts): a `store` or a
    `seal` is refused with the job's words, checkpoints are ignored."""

    def __init__(self, refusal: str = "ce flow ne doit ranger aucun mot de passe") -> None:
        self.refusal = refusal

    def store(self, key: str, fields: dict[str, Any]) -> None:
        raise BadInput(self.refusal)

    def checkpoint(self, key: str, event: str) -> None:
        return None

    def seal(self, key: str, page_text: str) -> str:
        raise BadInput(self.refusal)


class StepObserver(Protocol):
    # An observer may define `wants_target(step) -> bool`: the runner locates the step's target only
    # when one of them says yes (an observer without it is always given the target).
    def before_step(self, ctx: StepContext, step: Step, target: PwLocator | None) -> Decision: ...

    def after_step(self, ctx: StepContext, step: Step, error: BaseException | None) -> None: ...


@dataclass(frozen=True)
class KeptPage:
    """A table's page where a row was found and its link followed (`Runner.kept_pages`): the next lookup starts
    there; the same row asked for again (the reset after the reading) is followed again without the table."""

    address: str  # the table's page
    row: tuple[dict[str, str], str]  # the row sought (column → value), the action followed
    cells: dict[str, str]
    link: str  # where the action's link led


class StepRunner(Protocol):
    """What a step reaches of the runner running it (robots/engine/runner.py's `Runner`)."""

    page: Page
    checked: set[str]  # screens seen on the page as it is now
    table_tabs: bool  # a row's link is followed, the table's page kept by its address in `kept_pages`
    kept_pages: dict[str, KeptPage]
    new_tabs_due: bool
    addresses: dict[str, str]  # remember_address → reopen, for the runner's life (one account's session)
    retry: ride_through.RetryPolicy

    def watch(self, page: Page) -> None: ...

    def new_tabs(self, address: str | None = None, referer: str | None = None) -> Response | None: ...

    def run_steps(self, ctx: StepContext, steps: list[Step]) -> None: ...


@dataclass
class StepContext:
    """What a step implementation works with."""

    page: Page
    catalogue: Catalogue
    scope: dict[str, Any]
    secrets: SecretProvider
    sink: CredentialSink
    timeout_s: float
    flow_file: Path
    runner: StepRunner
    screen_titles: list[str] = field(default_factory=list)

    def run_steps(self, steps: list[Step]) -> None:
        """Runs sub-steps (a branch, a loop's body, a called flow) as the runner runs any step."""
        self.runner.run_steps(self, steps)

    def page_changed(self) -> None:
        """The page may show another screen now: the next step that needs one checks it again."""
        self.runner.checked.clear()

    def text(self, template: str) -> str:
        try:
            return interpolate(template, self.scope, self.secrets.get)
        except UnknownVariable as exc:
            raise BadInput(f"{self.flow_file} : variable inconnue « {exc.args[0]} »") from None

    def handle(self, ref: str) -> ElementHandle:
        handle = self.catalogue.element(ref)
        if handle is None:
            raise BadInput(f"{self.flow_file} : élément « {ref} » inconnu du catalogue")
        return handle

    def locate(self, ref: str) -> tuple[ElementHandle, PwLocator]:
        """The element, after checking that its screen is the one shown."""
        handle = self.handle(ref)
        self.expect_screen(handle.screen.name)
        found = locate.resolve(self.page, handle.element, self.timeout_s)
        if found is None:
            tried = "; ".join(spec.describe() for spec in handle.element.find)
            raise StepFailed(f"élément « {ref} » introuvable sur l'écran « {handle.screen.title} »"
                             f"{self.catalogue.file_of(handle.screen.name)} (essayé : {tried})")  # fmt: skip
        return handle, found

    def expect_screen(self, name: str) -> None:
        screen = self.catalogue.screen(name)
        if screen is None:
            raise BadInput(f"{self.flow_file} : écran inconnu « {name} »")
        if name in self.runner.checked:
            return
        gave_up = partial(ride_through.answered_with_failure, self.page)
        if not locate.wait_for_screen(self.page, screen, self.timeout_s, self.catalogue.error_screens(), gave_up):
            raise StepFailed(f"l'écran « {screen.title} » était attendu{self.catalogue.file_of(name)}")
        self.runner.checked.add(name)
        if not self.screen_titles or self.screen_titles[-1] != screen.title:
            self.screen_titles.append(screen.title)

    def expect_any_screen(self, names: list[str]) -> str:
        """The name of the first of `names` to show (a portal generation, a logged-out landing…)."""
        screens = []
        for name in names:
            screen = self.catalogue.screen(name)
            if screen is None:
                raise BadInput(f"{self.flow_file} : écran inconnu « {name} »")
            screens.append(screen)
        gave_up = partial(ride_through.answered_with_failure, self.page)
        shown = locate.wait_for_any_screen(self.page, screens, self.timeout_s, self.catalogue.error_screens(), gave_up)
        if shown is None:
            raise StepFailed(
                "un de ces écrans était attendu : "
                + ", ".join(f"« {s.title} »{self.catalogue.file_of(s.name)}" for s in screens)
            )
        self.runner.checked.add(shown.name)  # seen whole: the steps that act on it need not look again
        if not self.screen_titles or self.screen_titles[-1] != shown.title:
            self.screen_titles.append(shown.title)
        return shown.name

    def screen_seen(self) -> str:
        shown = locate.identify(self.page, self.catalogue)
        known = f"« {shown.title} »{self.catalogue.file_of(shown.name)}" if shown else None
        seen = known or f"aucun écran connu du catalogue (titre « {self.page.title()} »)"
        alert = self.page.get_by_role("alert").first
        if alert.count() and alert.is_visible():
            seen += f", message du portail « {' '.join(alert.inner_text().split())} »"
        return f"{seen} ({self.page.url})"

    def open_address(self, address: str, referer: str | None = None) -> Response | None:
        """The work tab opens `address`; in a new tab when the runner has one due (Runner.new_tabs: a new renderer,
        for no page more), where the steps go on even if the portal did not answer."""
        if not self.runner.new_tabs_due:
            return self.page.goto(address, referer=referer, wait_until="load", timeout=self.timeout_s * 1000)
        try:
            return self.runner.new_tabs(address, referer=referer)
        finally:
            self.switch_to(self.runner.page, quiet=True)

    def switch_to(self, page: Page, quiet: bool = False) -> None:
        """Carries on in another tab; the runner keeps it for the flows that follow."""
        (logger.debug if quiet else logger.info)("  nouvel onglet : {}", page.url)
        self.page = self.runner.page = page
        self.runner.watch(page)

    def remember_secret(self, value: str) -> None:
        REDACTOR.add(value)

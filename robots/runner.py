"""The Playwright runner: executes a flow's steps through the selector catalogue.

Before acting on an element the runner checks the page shows that element's screen — once per page:
a screen seen stays checked until the page may have changed (a navigation, a click, a new tab), so a
step on the wrong screen still fails, with the screen seen, without paying for a check before every
step. When a step fails it reports the step's label and the screen it found, and saves a screenshot
(secrets masked). Observers (step mode, recordings) are told before and after each step; the step's
target is located for them only if one wants it (`wants_target`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator as PwLocator
from playwright.sync_api import Page

from robots import flow_model as m
from robots import locate, ride_through
from robots.catalogue import Catalogue, ElementHandle
from robots.errors import BadInput, RobotError, RunStopped, StepFailed
from robots.flow_model import Flow, Step
from robots.flowfile import load_flow
from robots.private_files import private_folder
from robots.secrets import REDACTOR, SecretProvider
from robots.variables import UnknownVariable, interpolate

Decision = Literal["run", "skip", "quit"]
# Steps that leave the page as it was: the screen checked before them is still the one shown.
KEEP_THE_PAGE = (
    m.Fill, m.Read, m.ReadBlock, m.ExpectScreen, m.SetVars, m.Log, m.Store, m.Checkpoint, m.If, m.Repeat, m.Call,
)  # fmt: skip


class CredentialSink(Protocol):
    """Where a captured technical password goes, the instant it is read (vault, journal)."""

    def store(self, key: str, fields: dict[str, Any]) -> None: ...

    def checkpoint(self, key: str, event: str) -> None: ...

    def seal(self, key: str, page_text: str) -> str:
        """Keeps the text of a page holding a password that could not be read; says where (for a person)."""
        ...


class StepObserver(Protocol):
    # An observer may define `wants_target(step) -> bool`: the runner locates the step's target only
    # when one of them says yes (an observer without it is always given the target).
    def before_step(self, ctx: StepContext, step: Step, target: PwLocator | None) -> Decision: ...

    def after_step(self, ctx: StepContext, step: Step, error: BaseException | None) -> None: ...


# How long the runner looks for a step's target for its observers (a highlight, a probe) before the step runs.
TARGET_WAIT_S = 2.0


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
    runner: Runner
    screen_titles: list[str] = field(default_factory=list)

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
            raise StepFailed(f"élément « {ref} » introuvable sur l'écran « {handle.screen.title} » (essayé : {tried})")
        return handle, found

    def expect_screen(self, name: str) -> None:
        screen = self.catalogue.screen(name)
        if screen is None:
            raise BadInput(f"{self.flow_file} : écran inconnu « {name} »")
        if name in self.runner.checked:
            return
        gave_up = partial(ride_through.answered_with_failure, self.page)
        if not locate.wait_for_screen(self.page, screen, self.timeout_s, self.catalogue.error_screens(), gave_up):
            raise StepFailed(f"l'écran « {screen.title} » était attendu")
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
            raise StepFailed("un de ces écrans était attendu : " + ", ".join(f"« {s.title} »" for s in screens))
        self.runner.checked.add(shown.name)  # seen whole: the steps that act on it need not look again
        if not self.screen_titles or self.screen_titles[-1] != shown.title:
            self.screen_titles.append(shown.title)
        return shown.name

    def screen_seen(self) -> str:
        shown = locate.identify(self.page, self.catalogue)
        seen = f"« {shown.title} »" if shown else f"aucun écran connu du catalogue (titre « {self.page.title()} »)"
        alert = self.page.get_by_role("alert").first
        if alert.count() and alert.is_visible():
            seen += f", message du portail « {' '.join(alert.inner_text().split())} »"
        return f"{seen} ({self.page.url})"

    def switch_to(self, page: Page, quiet: bool = False) -> None:
        """Carries on in another tab; the runner keeps it for the flows that follow."""
        (logger.debug if quiet else logger.info)("  nouvel onglet : {}", page.url)
        self.page = self.runner.page = page
        self.runner.watch(page)

    def remember_secret(self, value: str) -> None:
        REDACTOR.add(value)


@dataclass
class RunResult:
    flow: Flow
    scope: dict[str, Any]
    steps_run: int


class Runner:
    def __init__(
        self,
        page: Page,
        catalogue: Catalogue,
        *,
        secrets: SecretProvider,
        sink: CredentialSink,
        timeout_s: float = 15,
        failures_dir: Path = Path("recordings/failures"),
        observers: list[StepObserver] | None = None,
        table_tabs: bool = False,
        retry: ride_through.RetryPolicy | None = None,
    ) -> None:
        self.page = page
        self.catalogue = catalogue
        self.secrets = secrets
        self.sink = sink
        self.timeout_s = timeout_s
        self.failures_dir = failures_dir
        self.observers = observers or []
        self.steps_run = 0
        self.checked: set[str] = set()  # screens seen on the page as it is now
        # table_tabs: a row's action opens in a new tab and the table's tab stays on its page, kept
        # here (table → tab) for the next lookup (robots/steps/tables.py); for jobs that walk a table.
        self.table_tabs = table_tabs
        self.kept_tabs: dict[str, Page] = {}
        self.retry = retry or ride_through.RetryPolicy()  # repeatable steps after a fault of the portal
        self.watch(page)

    def watch(self, page: Page) -> None:
        """Forgets the screens checked whenever `page` navigates (a link, a redirect, a script)."""
        self.checked.clear()
        ride_through.track(page)
        page.on("framenavigated", lambda frame: self.checked.clear() if frame == page.main_frame else None)

    def run(self, flow_file: Path, variables: dict[str, Any]) -> RunResult:
        flow = load_flow(flow_file)
        ctx = StepContext(
            page=self.page, catalogue=self.catalogue, scope=dict(variables),
            secrets=self.secrets.with_defaults(flow.secrets), sink=self.sink, timeout_s=self.timeout_s,
            flow_file=flow_file, runner=self,
        )  # fmt: skip
        logger.info("Flow « {} » ({})", flow.title or flow.name, flow_file)
        self.run_steps(ctx, flow.steps)
        return RunResult(flow, ctx.scope, self.steps_run)

    def run_steps(self, ctx: StepContext, steps: list[Step]) -> None:
        for step in steps:
            self.run_step(ctx, step)

    def run_step(self, ctx: StepContext, step: Step) -> None:
        from robots.steps import implementation_of

        logger.info("▶ {}", step.title())
        try:
            if self.observers and self._ask_observers(ctx, step) == "skip":
                logger.info("  étape passée par l'opérateur")
                return
            ride_through.attempt(ctx, step, lambda: implementation_of(step)(ctx, step))
            self.steps_run += 1
            if not isinstance(step, KEEP_THE_PAGE):  # a click, a page of a table, a navigation
                self.checked.clear()
        except (StepFailed, PlaywrightError, TimeoutError) as exc:
            failure = self._failure(ctx, step, exc)
            self._tell_observers(ctx, step, failure)
            raise failure from None
        except RobotError as exc:
            self._tell_observers(ctx, step, exc)
            raise
        self._tell_observers(ctx, step, None)

    def _ask_observers(self, ctx: StepContext, step: Step) -> Decision:
        target = self._target_of(ctx, step) if any(_wants_target(o, step) for o in self.observers) else None
        decisions = [o.before_step(ctx, step, target) for o in self.observers]
        if "quit" in decisions:
            raise RunStopped(f"arrêt demandé avant l'étape « {step.title()} »")
        return "skip" if "skip" in decisions else "run"

    def _target_of(self, ctx: StepContext, step: Step) -> PwLocator | None:
        ref = target_ref(step)
        if ref is None:
            return None
        kept = self.kept_tabs.get(ref)
        try:
            if kept is None or kept.is_closed():
                # An observer's highlight is not worth a step's whole wait: when the screen does not come (the
                # operator skipped the click that leads to it), the step itself waits, then says what it saw.
                return replace(ctx, timeout_s=min(ctx.timeout_s, TARGET_WAIT_S)).locate(ref)[1]
            # The table lives in a tab kept aside: the step's own tab shows another screen.
            handle = ctx.handle(ref)
            found = locate.first_matching(kept, handle.element.find) if locate.is_shown(kept, handle.screen) else None
            return found[1] if found else None
        except (RobotError, PlaywrightError):
            return None

    def _tell_observers(self, ctx: StepContext, step: Step, error: BaseException | None) -> None:
        for observer in self.observers:
            observer.after_step(ctx, step, error)

    def _failure(self, ctx: StepContext, step: Step, exc: BaseException) -> StepFailed:
        if isinstance(exc, StepFailed) and exc.screenshot:
            return exc
        reason = exc.reason if isinstance(exc, StepFailed) else _first_line(str(exc))
        screen_seen = _safely(ctx.screen_seen, "écran inconnu (page indisponible)")
        screenshot = _safely(lambda: self.screenshot(ctx, step), None)
        failure = StepFailed(
            REDACTOR.redact(reason), step_label=step.title(), screen_seen=screen_seen, screenshot=screenshot,
            exit_code=exc.exit_code if isinstance(exc, StepFailed) else 1,
            kind=exc.kind if isinstance(exc, StepFailed) else None,
        )  # fmt: skip
        logger.error("{}", failure)
        return failure

    def screenshot(self, ctx: StepContext, step: Step) -> Path:
        private_folder(self.failures_dir)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", step.title())[:60].strip("-")
        path = self.failures_dir / f"{stamp}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True, mask=sensitive_locators(ctx))
        return path


def sensitive_locators(ctx: StepContext) -> list[PwLocator]:
    return [locate.build(ctx.page, spec) for h in ctx.catalogue.sensitive_elements() for spec in h.element.find]


def target_ref(step: Step) -> str | None:
    """The catalogue element a step acts on, if any."""
    args = step.args
    if isinstance(args, str):
        return args if step.command == "click" else None
    for name in ("element", "table"):
        ref = getattr(args, name, None)
        if isinstance(ref, str):
            return ref
    return None


def _wants_target(observer: StepObserver, step: Step) -> bool:
    wants = getattr(observer, "wants_target", None)
    return True if wants is None else bool(wants(step))


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text


def _safely(action, default):  # type: ignore[no-untyped-def]
    try:
        return action()
    except Exception:  # noqa: BLE001 - reporting a failure must not fail
        return default

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
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import BrowserContext, Page, Response
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator as PwLocator

from robots.engine import locate, ride_through
from robots.engine.steps import implementation_of
from robots.engine.steps.context import (
    CredentialSink,
    Decision,
    KeptPage,
    NoCredentials,
    StepContext,
    StepObserver,
)
from robots.errors import RobotError, RunStopped, StepFailed
from robots.language import model as m
from robots.language.catalogue import Catalogue
from robots.language.files import load_flow
from robots.language.layers import effective_flow
from robots.language.model import Flow, Step
from robots.secrets import REDACTOR, SecretProvider
from robots.support.private_files import private_folder

# Steps that leave the page as it was: the screen checked before them is still the one shown.
KEEP_THE_PAGE = (
    m.Fill, m.Read, m.ReadBlock, m.ExpectScreen, m.SetVars, m.Log, m.Store, m.Checkpoint, m.If, m.Repeat, m.Call,
    m.RememberAddress,
)  # fmt: skip


# How long the runner looks for a step's target for its observers (a highlight, a probe) before the step runs.
TARGET_WAIT_S = 2.0


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
        # table_tabs: a row's link is followed in the work tab, the address of the table's page where the row was
        # found kept here (table → address) for the next lookup (robots/engine/steps/tables.py); for jobs that walk
        # a table.
        self.table_tabs = table_tabs
        self.kept_pages: dict[str, KeptPage] = {}
        self.addresses: dict[str, str] = {}  # pages noted by `remember_address`, opened again by `reopen`
        self.retry = retry or ride_through.RetryPolicy()  # repeatable steps after a fault of the portal
        # Set by a job (renew: robots/browser/pool.py, FRESH_TAB_EVERY): the next navigation to an address (`reopen`,
        # a table's kept page reopened, a row's link followed) happens in a new tab (`new_tabs`): no page more.
        self.new_tabs_due = False
        self.new_tabs_opened = 0
        self.watch(page)

    def watch(self, page: Page) -> None:
        """Forgets the screens checked whenever `page` navigates (a link, a redirect, a script)."""
        self.checked.clear()
        ride_through.track(page)
        page.on("framenavigated", lambda frame: self.checked.clear() if frame == page.main_frame else None)

    def new_tabs(self, address: str | None = None, referer: str | None = None) -> Response | None:
        """Carries on in a new tab of the same context (same login), which opens `address` (the navigation due
        anyway), else the address the work tab showed. The old tab is closed first, so that its renderer ends and
        memory goes back to where it started (a renderer grows with every page, whatever is freed). Returns the
        new tab's answer."""
        old = self.page
        work_address, context = address or old.url, old.context
        old.close()
        new = context.new_page()
        self.page, self.new_tabs_due, self.new_tabs_opened = new, False, self.new_tabs_opened + 1
        self.watch(new)
        logger.debug("  nouvel onglet (nouveau processus de rendu) : {}", work_address)
        return new.goto(work_address, referer=referer, wait_until="load", timeout=self.timeout_s * 1000)

    def run(self, flow_file: Path, variables: dict[str, Any]) -> RunResult:
        flow_file = effective_flow(flow_file)  # the working directory's flow at the same place, if it has one
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
        if ref in self.kept_pages:  # the table's kept page: the step reopens it, the tab shows another screen
            return None
        try:
            # An observer's highlight is not worth a step's whole wait: when the screen does not come (the
            # operator skipped the click that leads to it), the step itself waits, then says what it saw.
            return replace(ctx, timeout_s=min(ctx.timeout_s, TARGET_WAIT_S)).locate(ref)[1]
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


def runner_on(
    context: BrowserContext,
    catalogue: Catalogue,
    settings: Any,
    *,
    secrets: SecretProvider,
    sink: CredentialSink | None = None,
    retry: bool = True,
    **options: Any,
) -> Runner:
    """A new page of `context` and the runner on it, as every job makes them: the settings' timeout, and (`retry`)
    their policy for riding through a portal's faults; `options`: the Runner's others (observers, failures_dir…)."""
    return Runner(
        context.new_page(), catalogue, secrets=secrets, sink=sink or NoCredentials(), timeout_s=settings.timeout_s,
        retry=ride_through.RetryPolicy.of(settings) if retry else None, **options,
    )  # fmt: skip

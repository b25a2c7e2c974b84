"""Recordings of a run: `recordings/<YYYYmmdd-HHMMSS>-<flow>-<subject>/`.

`--record trace,video,screenshots` keeps a Playwright trace (`trace.zip`, opens with
`playwright show-trace`), a video, a screenshot per step (`NN-<label>.png`, secrets masked), the
run's log, `steps.json` and the illustrated procedure. Without `--record`, the trace and a
screenshot are kept only when the run fails. Before the run ends, every secret the process knows is
scrubbed from every file of the recording, trace entries included.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import Browser, BrowserContext
from playwright.sync_api import Locator as PwLocator

from robots import logs
from robots.browser.portal_context import VIEWPORT
from robots.engine import locate
from robots.engine.runner import target_ref
from robots.engine.steps.context import Decision, StepContext
from robots.errors import BadInput, RobotError, RunStopped
from robots.jobs.replay.page_queries import (
    BLOCK_AROUND,
    FREE_SIDE,
    element_box,
    known_screen,
    row_action,
    safely,
    sensitive_texts,
)
from robots.jobs.replay.privacy import init_script, mark_secret, mask_locators, secret_field_script
from robots.jobs.replay.procedure import write_procedure
from robots.jobs.replay.recording_folder import (
    LOG_FILE,
    PAGE_COMMANDS,
    SHOT_AFTER,
    SHOT_INSIDE,
    STEPS_FILE,
    TRACE_FILE,
    VIDEO_FILE,
)
from robots.jobs.replay.scrub import scrub_file, scrub_folder, secret_forms
from robots.jobs.replay.step_words import row_summary
from robots.jobs.replay.video_encoder import ensure_video_encoder
from robots.language import model as m
from robots.language.catalogue import Catalogue, ElementHandle
from robots.language.files import load_flow
from robots.language.layers import sub_flow
from robots.language.model import Flow, Step
from robots.language.variables import UnknownVariable, interpolate
from robots.secrets import MASK, REDACTOR
from robots.support.private_files import private_folder

KINDS = ("trace", "video", "screenshots")


@dataclass(frozen=True)
class RecordOptions:
    """What to keep of a run. No kind: only a failed run's trace and screenshot."""

    kinds: frozenset[str] = frozenset()
    root: Path = Path("recordings")

    @classmethod
    def parse(cls, text: str | None, root: Path = Path("recordings")) -> RecordOptions:
        kinds = {k.strip() for k in (text or "").split(",") if k.strip()}
        if "all" in kinds:
            kinds = set(KINDS)
        unknown = kinds - set(KINDS)
        if unknown:
            choices = ", ".join(KINDS)
            raise BadInput(f"--record « {text} » : {', '.join(sorted(unknown))} inconnu (au choix : {choices})")
        return cls(frozenset(kinds), root)


@dataclass
class _Open:
    step: Step
    entry: dict[str, Any]
    children: set[int] = field(default_factory=set)


class Recorder:
    """Records one run; a StepObserver. `start` before the first page, `finish` instead of closing."""

    def __init__(self, options: RecordOptions, flow: Flow, scope: dict[str, Any], catalogue: Catalogue) -> None:
        self.options = options
        self.catalogue = catalogue
        self.started = datetime.now()
        self.subject = run_subject(flow, scope)
        name = "-".join(p for p in (self.started.strftime("%Y%m%d-%H%M%S"), slug(flow.name), slug(self.subject)) if p)
        self.dir = _unique(options.root / name)
        self.meta = {
            "flow": flow.name, "title": flow.title or flow.name, "description": flow.description.strip(),
            "subject": self.subject, "started_at": self.started.isoformat(timespec="seconds"),
            "portal_url": REDACTOR.redact(str(scope.get("env", {}).get("portal_url", ""))),
            "viewport": dict(VIEWPORT), "record": sorted(options.kinds),
        }  # fmt: skip
        self.entries: list[dict[str, Any]] = []
        self._stack: list[_Open] = []
        self._shots = 0
        self._screen: tuple[str | None, str | None, str | None] = (None, None, None)
        self._log_sink: int | None = None
        self._log_context: Any = None
        self._uncaptured: list[str] = []
        self._blurred: set[str] = set()
        self.video = "video" in options.kinds and ensure_video_encoder()

    @property
    def detailed(self) -> bool:
        return bool(self.options.kinds)

    @property
    def screenshots(self) -> bool:
        return "screenshots" in self.options.kinds

    # ------------------------------------------------------------ lifecycle

    def context_options(self) -> dict[str, Any]:
        """Extra `browser.new_context` options: the video, when asked for."""
        if not self.video:
            return {}
        return {"record_video_dir": str(self.dir / ".video"), "record_video_size": dict(VIEWPORT)}

    def start(self, context: BrowserContext) -> None:
        """Before the first page: secrets blurred from the first paint, tracing on, the log file."""
        private_folder(self.options.root)  # an older recordings/ made 0755 is brought back to 0700
        private_folder(self.dir)
        self._log_context = logger.contextualize(run=self.dir.name)
        self._log_context.__enter__()
        self._log_sink = logs.add_file(self.dir / LOG_FILE)
        context.add_init_script(script=init_script(self.catalogue))
        # A failure-only trace keeps DOM snapshots but no screencast: about 0.9 s less per run (issue 9).
        context.tracing.start(title=self.dir.name, screenshots=self.detailed, snapshots=True, sources=False)

    def finish(self, context: BrowserContext, error: BaseException | None, browser: Browser | None) -> Path | None:
        """Stops tracing, closes the context, scrubs the secrets; the recording's folder, if kept."""
        try:
            return self._finish(context, error, browser)
        except Exception as exc:  # noqa: BLE001 - the run's own outcome matters more than its recording
            # Never keep a recording whose secrets may not all have been scrubbed.
            shutil.rmtree(self.dir, ignore_errors=True)
            logger.error("enregistrement supprimé ({}) : {}", self.dir, _first_line(str(exc)))
            return None
        finally:
            self._stop_log()

    def _finish(self, context: BrowserContext, error: BaseException | None, browser: Browser | None) -> Path | None:
        self._close_open()
        keep = self.detailed or error is not None
        self._stop_tracing(context, keep and ("trace" in self.options.kinds or error is not None))
        if error is not None:
            # A run stopped between showing a password and reading it: what the page shows is secret too.
            self._uncaptured = sensitive_texts(context, self.catalogue)
        videos = [page.video for page in context.pages if page.video]
        _quietly(context.close)
        if keep and self.video and videos:
            _quietly(lambda: shutil.move(videos[0].path(), self.dir / VIDEO_FILE))
        shutil.rmtree(self.dir / ".video", ignore_errors=True)
        if keep:
            logger.info("Enregistrement : {}", self.dir)
        self._stop_log()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            return None
        self._write_steps(error)
        secrets = [*REDACTOR.values, *self._uncaptured]
        scrub_folder(self.dir, secrets)
        if self.screenshots:
            written: list[Path] = []
            _quietly(lambda: written.extend(write_procedure(self.dir, browser)))
            forms = secret_forms(secrets)
            for path in written:
                scrub_file(path, forms)
        return self.dir

    def _stop_tracing(self, context: BrowserContext, keep: bool) -> None:
        try:
            context.tracing.stop(path=str(self.dir / TRACE_FILE) if keep else None)
        except Exception as exc:  # noqa: BLE001 - a lost trace must not hide the run's own outcome
            logger.warning("trace non enregistrée : {}", _first_line(str(exc)))

    def _stop_log(self) -> None:
        if self._log_sink is not None:
            logger.remove(self._log_sink)
            self._log_sink = None
        if self._log_context is not None:
            self._log_context.__exit__(None, None, None)
            self._log_context = None

    def _write_steps(self, error: BaseException | None) -> None:
        status = "ok" if error is None else "stopped" if isinstance(error, RunStopped) else "failed"
        meta = {**self.meta, "finished_at": datetime.now().isoformat(timespec="seconds"), "status": status}
        if error is not None:
            meta["error"] = _first_line(str(error)) if not isinstance(error, RobotError) else str(error)
        meta["trace"] = TRACE_FILE if (self.dir / TRACE_FILE).exists() else None
        meta["video"] = VIDEO_FILE if (self.dir / VIDEO_FILE).exists() else None
        data = REDACTOR.redact_data({**meta, "steps": self.entries})
        text = json.dumps(data, indent=2, ensure_ascii=False)
        (self.dir / STEPS_FILE).write_text(text + "\n", encoding="utf-8")

    # ------------------------------------------------------------ observer

    def wants_target(self, step: Step) -> bool:
        """The target is needed to blur a secret typed into it, or to frame it on a screenshot."""
        if isinstance(step, m.Fill) and "${secret." in step.fill.value:
            return True
        return self.screenshots and step.command in PAGE_COMMANDS and step.command not in SHOT_AFTER

    def before_step(self, ctx: StepContext, step: Step, target: PwLocator | None) -> Decision:
        self._close_skipped(step)
        entry: dict[str, Any] = {
            "index": len(self.entries) + 1, "label": REDACTOR.redact(step.title()), "command": step.command,
            "depth": len(self._stack), "element": target_ref(step), "screen": None, "screen_name": None,
            "portal": None, "box": None, "screenshot": None, "status": "running",
        }  # fmt: skip
        self.entries.append(entry)
        self._stack.append(_Open(step, entry, _children(ctx, step)))
        if target is not None and isinstance(step, m.Fill) and "${secret." in step.fill.value:
            _quietly(lambda: mark_secret(target))
            _quietly(lambda: self._keep_blurred(ctx, step.fill.element))
        if self.detailed and step.command in PAGE_COMMANDS and step.command not in SHOT_AFTER:
            self._note_screen(ctx, entry, step)
            if self.screenshots and step.command not in SHOT_INSIDE:
                self._shoot(ctx, step.title(), entry, target)
        return "run"

    def _keep_blurred(self, ctx: StepContext, ref: str) -> None:
        """The field a secret is typed in stays blurred on the pages that follow (init script, once)."""
        handle = ctx.catalogue.element(ref)
        script = secret_field_script(handle.element) if handle and ref not in self._blurred else None
        if script:
            ctx.page.context.add_init_script(script=script)
            self._blurred.add(ref)

    def after_step(self, ctx: StepContext, step: Step, error: BaseException | None) -> None:
        entry = self._pop(step)
        if entry is None:
            return
        if error is None:
            entry["status"] = "ok"
            if self.detailed and step.command in SHOT_AFTER:
                self._note_screen(ctx, entry, step)
                if step.command == "goto":
                    entry["url"] = REDACTOR.redact(ctx.page.url)
                if self.screenshots:
                    self._shoot(ctx, step.title(), entry, None)
        else:
            self._failed(entry, error)
        if entry["screen"] is None:
            entry["screen_name"], entry["screen"], entry["portal"] = self._screen

    # ------------------------------------------------------------ inside pick_row (robots.engine.observe)

    def on_next_page(self, ctx: StepContext, step: Step, table: ElementHandle, page_number: int) -> None:
        """A page turn is a step of its own for people: the page without the row, the arrow outlined."""
        if not self.detailed:
            return
        found = safely(lambda: locate.first_matching(ctx.page, table.element.next_page))
        if not found or not safely(found[1].is_enabled):
            return
        name = table.element.description or table.ref
        label = f"« {name} », page {page_number} : la ligne n'y est pas, passez à la page suivante (flèche « > »)"
        entry = self._insert_before(step, label, "page_turn", table)
        entry["table_page"] = page_number
        if self.screenshots:
            self._shoot(ctx, label, entry, found[1], around=safely(lambda: locate.resolve(ctx.page, table.element, 1)))

    def on_row_found(
        self, ctx: StepContext, step: Step, table: ElementHandle, row: PwLocator, cells: dict[str, str], page: int
    ) -> None:
        """The step's text names the row; its picture is the page holding it, the row's action outlined."""
        opened = next((o for o in reversed(self._stack) if o.step is step), None)
        if opened is None:
            return
        entry = opened.entry
        shown = row_summary(step, cells)
        label = f"{step.title()} : {shown} (page {page} du tableau)" if shown else step.title()
        entry["label"] = REDACTOR.redact(label)
        entry["table_page"] = page
        if self.detailed:
            entry["row"] = REDACTOR.redact_data(cells)
        if self.screenshots:
            self._shoot(ctx, step.title(), entry, row_action(table, row, step) or row, around=row)

    def _insert_before(self, step: Step, label: str, command: str, table: ElementHandle) -> dict[str, Any]:
        """A step of the procedure shown before the open step `step` (whose entry is already written)."""
        opened = next((o for o in reversed(self._stack) if o.step is step), None)
        at = self.entries.index(opened.entry) if opened else len(self.entries)
        depth = opened.entry["depth"] if opened else len(self._stack)
        entry: dict[str, Any] = {
            "index": 0, "label": REDACTOR.redact(label), "command": command, "depth": depth, "element": table.ref,
            "screen": table.screen.title, "screen_name": table.screen.name, "portal": table.screen.portal,
            "box": None, "screenshot": None, "status": "ok",
        }  # fmt: skip
        self.entries.insert(at, entry)
        for number, each in enumerate(self.entries, start=1):
            each["index"] = number
        return entry

    def _failed(self, entry: dict[str, Any], error: BaseException) -> None:
        entry["status"] = "stopped" if isinstance(error, RunStopped) else "failed"
        children_failed = any(e.get("error") for e in self.entries[entry["index"] :])
        if children_failed:
            return
        entry["error"] = REDACTOR.redact(getattr(error, "reason", None) or _first_line(str(error)))
        shot = getattr(error, "screenshot", None)
        if isinstance(shot, Path) and shot.parent.resolve() == self.dir.resolve():
            entry["failure_screenshot"] = shot.name

    def _close_skipped(self, step: Step) -> None:
        """Steps the operator skipped were never told `after_step`: close them now."""
        while self._stack and id(step) not in self._stack[-1].children:
            self._skipped(self._stack.pop().entry)

    def _pop(self, step: Step) -> dict[str, Any] | None:
        if not any(o.step is step for o in self._stack):
            return None
        while self._stack[-1].step is not step:
            self._skipped(self._stack.pop().entry)
        return self._stack.pop().entry

    def _close_open(self) -> None:
        while self._stack:
            self._skipped(self._stack.pop().entry)

    @staticmethod
    def _skipped(entry: dict[str, Any]) -> None:
        if entry["status"] == "running":
            entry["status"] = "skipped"

    def _note_screen(self, ctx: StepContext, entry: dict[str, Any], step: Step) -> None:
        shown = known_screen(ctx, step) or safely(lambda: locate.identify(ctx.page, ctx.catalogue))
        if shown is not None:
            self._screen = (shown.name, shown.title, shown.portal)
        entry["screen_name"], entry["screen"], entry["portal"] = self._screen

    def _shoot(
        self, ctx: StepContext, title: str, entry: dict[str, Any], target: PwLocator | None, around: Any = None
    ) -> None:
        """`around`: what the picture must show besides the target (the row, the table), not outlined."""
        self._shots += 1
        name = f"{self._shots:02d}-{slug(title)[:60] or entry['command']}.png"
        page = ctx.page
        try:
            if around is not None:
                safely(lambda: around.scroll_into_view_if_needed(timeout=2000))
            if target is not None:
                target.scroll_into_view_if_needed(timeout=2000)
                entry["box"] = element_box(target)
                entry["badge"] = safely(lambda: target.evaluate(FREE_SIDE))
            if around is not None:
                entry["context_box"] = safely(lambda: element_box(around))
            elif target is not None:
                entry["context_box"] = safely(lambda: target.evaluate(BLOCK_AROUND))
            page.screenshot(path=str(self.dir / name), mask=mask_locators(ctx), mask_color="#6b6b6b", timeout=10000)
            entry["scroll"] = page.evaluate("() => [Math.round(scrollX), Math.round(scrollY)]")
            entry["page_url"] = REDACTOR.redact(page.url)
            entry["screenshot"] = name
        except Exception as exc:  # noqa: BLE001 - a missing picture must not fail the procedure itself
            logger.debug("capture impossible pour « {} » : {}", title, _first_line(str(exc)))


# ---------------------------------------------------------------- helpers


def run_subject(flow: Flow, scope: dict[str, Any]) -> str:
    """The flow's `subject` (e.g. the structure), never a secret."""
    if not flow.subject:
        return ""
    try:
        return REDACTOR.redact(interpolate(flow.subject, scope, lambda _: MASK))
    except UnknownVariable:
        return ""


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_]+", "-", ascii_text).strip("-")


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _children(ctx: StepContext, step: Step) -> set[int]:
    """Identities of the steps a compound step runs directly (the runner reuses these very objects)."""
    if isinstance(step, m.If):
        return {id(s) for s in (*step.if_.then, *step.if_.else_)}
    if isinstance(step, m.Repeat):
        return {id(s) for s in step.repeat.steps}
    if isinstance(step, m.Call):
        try:
            return {id(s) for s in load_flow(sub_flow(ctx.flow_file, step.call.flow)).steps}
        except BadInput:
            return set()
    return set()


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return REDACTOR.redact(lines[0] if lines else text)


def _quietly(action) -> None:  # type: ignore[no-untyped-def]
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - recording is a help: it never breaks the run
        logger.debug("enregistrement : {}", _first_line(str(exc)))

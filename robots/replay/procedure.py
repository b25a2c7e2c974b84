"""The illustrated procedure of a recorded run: `procedure.html` (self-contained) and `procedure.pdf`.

It reads like the procedures support teams send today (`shared/seeds/`): one section per screen
titled « Ecran « … » », the steps' labels as the flows word them, and the screenshot with the
element to act on outlined and numbered like the step.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import Browser

from robots.errors import EXIT_OK, BadInput
from robots.replay.recording import PAGE_COMMANDS, STEPS_FILE
from robots.secrets import REDACTOR

HTML_FILE = "procedure.html"
PDF_FILE = "procedure.pdf"
SHOWN_COMMANDS = PAGE_COMMANDS | {"store"}
STATUS_NOTES = {"skipped": "étape passée", "failed": "échec", "stopped": "arrêt demandé ici", "running": "non terminée"}


@dataclass
class Figure:
    screenshot: str
    scroll: list[int] | None
    page_url: str | None
    boxes: list[tuple[int, dict[str, float]]] = field(default_factory=list)


@dataclass
class Item:
    number: int
    step: dict[str, Any]


@dataclass
class Section:
    screen_name: str | None
    title: str | None
    items: list[Item] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


def is_heading(step: dict[str, Any]) -> bool:
    """`expect_screen` steps labelled « Ecran « X » » are the sections' titles, not steps."""
    return step["command"] == "expect_screen" and re.match(r"^\s*[EÉ]cran\b", step["label"], re.IGNORECASE) is not None


def leaf_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps a person does on the portal, in order (compound steps and bookkeeping left out)."""
    return [s for s in steps if s["command"] in SHOWN_COMMANDS]


def sections(steps: list[dict[str, Any]]) -> list[Section]:
    """Consecutive steps on the same screen make one section."""
    result: list[Section] = []
    for step in leaf_steps(steps):
        current = result[-1] if result else None
        new_screen = step.get("screen_name") and (current is None or current.screen_name != step["screen_name"])
        if current is None or (new_screen and step["command"] != "store"):
            current = Section(step.get("screen_name"), step.get("screen"))
            result.append(current)
        number = None
        if not is_heading(step):
            number = len(current.items) + 1
            current.items.append(Item(number, step))
        _add_figure(current, step, number)
    for section in result:
        # A picture without any outlined element only helps when the section has no other.
        if any(f.boxes for f in section.figures):
            section.figures = [f for f in section.figures if f.boxes]
    return [s for s in result if s.items or s.figures]


def _add_figure(section: Section, step: dict[str, Any], number: int | None) -> None:
    """Steps shot at the same place (page and scroll) share one picture: the latest, boxes numbered."""
    if not step.get("screenshot"):
        return
    last = section.figures[-1] if section.figures else None
    if last is None or last.page_url != step.get("page_url") or last.scroll != step.get("scroll"):
        last = Figure(step["screenshot"], step.get("scroll"), step.get("page_url"))
        section.figures.append(last)
    last.screenshot = step["screenshot"]
    if step.get("box") and number is not None:
        last.boxes.append((number, step["box"]))


# ---------------------------------------------------------------- HTML

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1e1e1e; max-width: 960px; margin: 2em auto; }
h1 { font-size: 1.45em; text-transform: uppercase; border-bottom: 3px solid #000091; padding-bottom: .3em; }
h2 { font-size: 1.15em; color: #000091; margin-top: 1.8em; }
.intro { color: #444; }
ol { padding-left: 1.6em; }
li { margin: .35em 0; }
li.skipped, li.running { color: #777; }
li.failed, li.stopped, .failure { color: #b60000; }
.note { font-style: italic; margin-left: .4em; }
figure { margin: 1em 0 1.5em; break-inside: avoid; }
.shot { position: relative; display: inline-block; width: 100%; border: 1px solid #bbb; }
.shot img { display: block; width: 100%; }
.box { position: absolute; border: 3px solid #e4003a; border-radius: 4px; box-sizing: border-box; }
.box span { position: absolute; top: -0.9em; left: -0.9em; background: #e4003a; color: #fff; font-weight: bold;
  border-radius: 50%; width: 1.5em; height: 1.5em; line-height: 1.5em; text-align: center; font-size: .85em; }
section { break-before: auto; }
@page { size: A4; margin: 14mm 12mm; }
"""


def render(data: dict[str, Any], folder: Path) -> str:
    viewport = data.get("viewport") or {"width": 1280, "height": 900}
    body = [f"<h1>{_e(data.get('title') or data.get('flow', 'Procédure'))}</h1>", _intro(data)]
    for section in sections(data.get("steps", [])):
        body.append(_section(section, folder, viewport))
    if data.get("status") != "ok" and data.get("error"):
        body.append(f'<h2 class="failure">Déroulé interrompu</h2><p class="failure">{_e(data["error"])}</p>')
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>{_e(data.get('title', 'Procédure'))}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _intro(data: dict[str, Any]) -> str:
    when = data.get("started_at", "")
    with contextlib.suppress(ValueError):
        when = datetime.fromisoformat(when).strftime("le %d/%m/%Y à %H:%M")
    subject = f" — {_e(data['subject'])}" if data.get("subject") else ""
    text = f"Déroulé enregistré par le robot {_e(when)}{subject}. Suivez les écrans dans l'ordre ; "
    text += "l'élément sur lequel agir est encadré en rouge et numéroté comme l'étape."
    return f'<p class="intro">{text}</p>'


def _section(section: Section, folder: Path, viewport: dict[str, int]) -> str:
    parts = [f"<section><h2>Ecran « {_e(section.title or 'suivant')} »</h2>"]
    if section.items:
        parts.append("<ol>" + "".join(_item(item) for item in section.items) + "</ol>")
    parts.extend(_figure(figure, folder, viewport) for figure in section.figures)
    parts.append("</section>")
    return "\n".join(parts)


def _item(item: Item) -> str:
    step = item.step
    text = _e(step["label"])
    if step["command"] == "goto" and step.get("url"):
        text += f' <a href="{_e(step["url"])}">{_e(step["url"])}</a>'
    status = step.get("status", "ok")
    note = STATUS_NOTES.get(status)
    if note:
        detail = f" : {_e(step['error'])}" if step.get("error") else ""
        text += f'<span class="note">({note}{detail})</span>'
    return f'<li value="{item.number}" class="{_e(status)}">{text}</li>'


def _figure(figure: Figure, folder: Path, viewport: dict[str, int]) -> str:
    image = folder / figure.screenshot
    if not image.is_file():
        return ""
    data = base64.b64encode(image.read_bytes()).decode()
    width, height = viewport["width"], viewport["height"]
    boxes = "".join(
        f'<div class="box" style="left:{_pct(box["x"], width)};top:{_pct(box["y"], height)};'
        f'width:{_pct(box["width"], width)};height:{_pct(box["height"], height)}"><span>{number}</span></div>'
        for number, box in figure.boxes
    )
    return f'<figure><div class="shot"><img alt="" src="data:image/png;base64,{data}">{boxes}</div></figure>'


def _pct(value: float, total: int) -> str:
    return f"{max(0.0, min(100.0, 100 * value / total)):.2f}%"


def _e(text: Any) -> str:
    return html.escape(REDACTOR.redact(str(text)))


# ---------------------------------------------------------------- files


def load_steps(folder: Path) -> dict[str, Any]:
    path = folder / STEPS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: not found — is {folder} a recording (chorus-robot run --record …)?") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def write_procedure(folder: Path, browser: Browser | None = None) -> list[Path]:
    """procedure.html, and procedure.pdf when a browser is at hand; the files written."""
    target = folder / HTML_FILE
    target.write_text(render(load_steps(folder), folder), encoding="utf-8")
    written = [target]
    if browser is not None:
        pdf = print_pdf(browser, target, folder / PDF_FILE)
        if pdf:
            written.append(pdf)
    return written


def print_pdf(browser: Browser, source: Path, target: Path) -> Path | None:
    """Chromium prints the page; a headed browser cannot, so a headless one is started for it."""
    try:
        _print_with(browser, source, target)
        return target
    except Exception as exc:  # noqa: BLE001 - headed Chromium: try a headless one
        logger.debug("impression par le navigateur de la session impossible : {}", str(exc).splitlines()[0])
    try:
        headless = _launch_headless(browser)
        try:
            _print_with(headless, source, target)
        finally:
            headless.close()
        return target
    except Exception as exc:  # noqa: BLE001 - the HTML is there; the PDF is a convenience
        logger.warning("procedure.pdf non produit : {}", str(exc).splitlines()[0])
        return None


def _launch_headless(browser: Browser) -> Browser:
    from robots import browser as chromium

    override = os.environ.get("CHORUS_ROBOT_CHROMIUM")
    own = Path(browser.browser_type.executable_path)
    executable = override or (None if own.exists() else str(chromium.SYSTEM_CHROMIUM))
    return browser.browser_type.launch(headless=True, executable_path=executable, args=chromium.LAUNCH_ARGS)


def _print_with(browser: Browser, source: Path, target: Path) -> None:
    page = browser.new_page()
    try:
        page.goto(source.resolve().as_uri())
        page.pdf(path=str(target), format="A4", print_background=True)
    finally:
        page.close()


def regenerate(folder: Path) -> int:
    """`chorus-robot procedure RECORDING_DIR`."""
    from robots.session import BrowserOptions, open_browser

    load_steps(folder)
    with open_browser(BrowserOptions()) as browser:
        written = write_procedure(folder, browser)
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK

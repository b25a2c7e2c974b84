"""The illustrated procedure of a recorded run: `procedure.html` (self-contained) and `procedure.pdf`.

It reads like the procedures support teams send today (`shared/seeds/`): one section per screen
titled « Écran « … » » (with the portal's name when two portals have a screen of that name), the
steps' labels as the flows word them, and the screenshot cropped to the area acted on, each element
outlined (outside its edges) and numbered like the step (the badge beside the outline, not on the
text). A section's heading, steps and pictures print on one page. `pick_row` reads as a person
does it: each page turn of the table is a step with its picture, then the page holding the row with
the row's action outlined. Steps only the robot does (`store`) are marked as such.
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
from robots.private_files import tighten_file, write_private
from robots.replay.recording import PAGE_COMMANDS, STEPS_FILE
from robots.secrets import REDACTOR

HTML_FILE = "procedure.html"
PDF_FILE = "procedure.pdf"
SHOWN_COMMANDS = PAGE_COMMANDS | {"store"}
ROBOT_ONLY = {"store"}
PORTALS = {"dgfip": "Portail de la Gestion Publique", "chorus": "Chorus Pro"}
CROP_MARGIN = (160, 110)  # viewport pixels kept around the elements acted on (x, y)
CROP_MIN = (820, 380)  # no smaller than this: the reader must recognise where on the page it is
OUTLINE_GAP = 4  # pixels between an element and its outline, so the outline never covers the element
STATUS_NOTES = {"skipped": "étape passée", "failed": "échec", "stopped": "arrêt demandé ici", "running": "non terminée"}


@dataclass
class Figure:
    screenshot: str
    scroll: list[int] | None
    page_url: str | None
    boxes: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    context: list[dict[str, float]] = field(default_factory=list)  # shown (the row, the table), not outlined


@dataclass
class Item:
    number: int
    step: dict[str, Any]


@dataclass
class Section:
    screen_name: str | None
    title: str | None
    portal: str | None = None
    items: list[Item] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    heading: str = ""


def is_heading(step: dict[str, Any]) -> bool:
    """`expect_screen` steps labelled « Écran « X » » (or « Ecran ») are the sections' titles, not steps."""
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
            current = Section(step.get("screen_name"), step.get("screen"), _portal(step))
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
    kept = [s for s in result if s.items or s.figures]
    _name_headings(kept)
    return kept


def _portal(step: dict[str, Any]) -> str | None:
    """The portal of the step's screen; recordings made before it was noted: the screen's prefix."""
    if step.get("portal"):
        return step["portal"]
    prefix = (step.get("screen_name") or "").split("_")[0]
    return prefix if prefix in PORTALS else None


def _name_headings(found: list[Section]) -> None:
    """« Écran « Accueil » » twice for two portals is ambiguous: the portal's name tells them apart."""
    portals: dict[str, set[str | None]] = {}
    for section in found:
        if section.title:
            portals.setdefault(section.title, set()).add(section.portal)
    previous = None
    for section in found:
        if not section.title:
            # A run stopped before any screen was known: carry on with the last one named.
            section.heading = previous.heading if previous else "Étapes suivantes"
            continue
        heading = f"Écran « {section.title} »"
        if len(portals[section.title]) > 1 and section.portal in PORTALS:
            heading += f" — {PORTALS[section.portal]}"
        section.heading = heading
        previous = section


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
        last.boxes.append((number, {**step["box"], "badge": step.get("badge") or ""}))
        if step.get("context_box"):
            last.context.append(step["context_box"])


# ---------------------------------------------------------------- HTML

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1e1e1e; max-width: 960px; margin: 2em auto; }
h1 { font-size: 1.45em; text-transform: uppercase; border-bottom: 3px solid #000091; padding-bottom: .3em; }
h2 { font-size: 1.15em; color: #000091; margin-top: 1.8em; break-after: avoid; }
.intro { color: #444; }
ol { padding-left: 1.6em; }
li { margin: .35em 0; }
li.skipped, li.running, li.robot { color: #777; }
li.failed, li.stopped, .failure { color: #b60000; }
.note { font-style: italic; margin-left: .4em; }
figure { margin: 1em 0 1.5em; break-inside: avoid; }
.shot { position: relative; width: 100%; border: 1px solid #bbb; overflow: hidden; }
.shot img { position: absolute; display: block; max-width: none; }
.box { position: absolute; border: 3px solid #e4003a; border-radius: 4px; box-sizing: border-box; }
.box span { position: absolute; top: 50%; left: 100%; margin-left: 5px; transform: translateY(-50%);
  background: #e4003a; color: #fff; font-weight: bold; border: 2px solid #fff; border-radius: 50%;
  width: 1.6em; height: 1.6em; line-height: 1.6em; text-align: center; font-size: .85em; }
.box.badge-left span { left: auto; right: 100%; margin-left: 0; margin-right: 5px; }
.box.badge-above span { left: 0; top: auto; bottom: 100%; transform: none; margin: 0 0 3px 0; }
.box.badge-below span { left: 0; top: 100%; transform: none; margin: 3px 0 0 0; }
section { break-inside: avoid; }
ol { break-after: avoid; }
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
    parts = [f"<section><h2>{_e(section.heading)}</h2>"]
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
    if step["command"] in ROBOT_ONLY:
        text += '<span class="note">(fait par le robot : rien à faire à l\'écran)</span>'
        status = "robot" if status == "ok" else status
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
    x, y, w, h = crop_area([box for _, box in figure.boxes] + figure.context, width, height)
    picture = (
        f'<img alt="" src="data:image/png;base64,{data}" style="width:{_pct(width, w, 1e6)};'
        f'left:{_pct(-x, w, 1e6)};top:{_pct(-y, h, 1e6)}">'
    )
    boxes = "".join(_outline(number, box, (x, y, w, h)) for number, box in figure.boxes)
    shot = f'<div class="shot" style="aspect-ratio:{w:.0f}/{h:.0f}">{picture}{boxes}</div>'
    return f'<figure data-crop="{x:.0f},{y:.0f},{w:.0f},{h:.0f}">{shot}</figure>'


def crop_area(boxes: list[dict[str, float]], width: int, height: int) -> tuple[float, float, float, float]:
    """x, y, width, height of the part of the screenshot to show: the elements acted on and around.

    Boxes are clipped to the screenshot first (a table taller than the window was partly shot).
    """
    boxes = [_clip(b, width, height) for b in boxes]
    boxes = [b for b in boxes if b["width"] > 0 and b["height"] > 0]
    if not boxes:
        return 0, 0, width, height
    left = min(b["x"] for b in boxes) - CROP_MARGIN[0]
    right = max(b["x"] + b["width"] for b in boxes) + CROP_MARGIN[0]
    top = min(b["y"] for b in boxes) - CROP_MARGIN[1]
    bottom = max(b["y"] + b["height"] for b in boxes) + CROP_MARGIN[1]
    left, right = _span(left, right, CROP_MIN[0], width)
    top, bottom = _span(top, bottom, CROP_MIN[1], height)
    return left, top, right - left, bottom - top


def _clip(box: dict[str, float], width: int, height: int) -> dict[str, float]:
    x, y = max(0.0, box["x"]), max(0.0, box["y"])
    right, bottom = min(float(width), box["x"] + box["width"]), min(float(height), box["y"] + box["height"])
    return {"x": x, "y": y, "width": right - x, "height": bottom - y}


def _span(start: float, end: float, least: float, limit: int) -> tuple[float, float]:
    """[start, end] widened to `least` around its middle, then moved (not shrunk) inside [0, limit]."""
    if end - start < least:
        middle = (start + end) / 2
        start, end = middle - least / 2, middle + least / 2
    if start < 0:
        start, end = 0, end - start
    if end > limit:
        start, end = max(0.0, start - (end - limit)), limit
    return start, end


def _outline(number: int, box: dict[str, float], crop: tuple[float, float, float, float]) -> str:
    x, y, w, h = crop
    left, top = box["x"] - OUTLINE_GAP - x, box["y"] - OUTLINE_GAP - y
    right = left + box["width"] + 2 * OUTLINE_GAP
    side = {"left": " badge-left", "above": " badge-above", "below": " badge-below"}.get(str(box.get("badge")), "")
    if not side and right > w - 40:
        side = " badge-left"
    return (
        f'<div class="box{side}" style="left:{_pct(left, w)};top:{_pct(top, h)};'
        f'width:{_pct(box["width"] + 2 * OUTLINE_GAP, w)};height:{_pct(box["height"] + 2 * OUTLINE_GAP, h)}">'
        f"<span>{number}</span></div>"
    )


def _pct(value: float, total: float, most: float = 100.0) -> str:
    return f"{max(-most, min(most, 100 * value / total)):.3f}%"


def _e(text: Any) -> str:
    return html.escape(REDACTOR.redact(str(text)))


# ---------------------------------------------------------------- files


def load_steps(folder: Path) -> dict[str, Any]:
    path = folder / STEPS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(
            f"{path} : introuvable — {folder} est-il un enregistrement (chorus-robot run --record …) ?"
        ) from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno} : JSON invalide ({exc.msg})") from None


def write_procedure(folder: Path, browser: Browser | None = None) -> list[Path]:
    """procedure.html, and procedure.pdf when a browser is at hand; the files written."""
    target = folder / HTML_FILE
    write_private(target, render(load_steps(folder), folder))
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
    executable = override or (None if own.exists() else str(chromium.system_chromium()))
    return browser.browser_type.launch(headless=True, executable_path=executable, args=chromium.LAUNCH_ARGS)


def _print_with(browser: Browser, source: Path, target: Path) -> None:
    page = browser.new_page()
    try:
        page.goto(source.resolve().as_uri())
        page.pdf(path=str(target), format="A4", print_background=True)
        tighten_file(target)  # written again over an older, wider one
    finally:
        page.close()


def regenerate(folder: Path) -> int:
    """`chorus-robot procedure RECORDING_DIR`."""
    from robots.session import BrowserOptions, open_browser

    load_steps(folder)
    with open_browser(BrowserOptions()) as browser:
        written = write_procedure(folder, browser)
    for path in written:
        print(f"écrit : {path}")
    return EXIT_OK

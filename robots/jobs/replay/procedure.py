"""The illustrated procedure of a recorded run: `procedure.html` (self-contained) and `procedure.pdf`.

It reads like the procedures support teams send today (`shared/seeds/`): one section per screen
(`procedure_sections`), the steps' labels as the flows word them, and the screenshot cropped to the
area acted on, each element outlined (outside its edges) and numbered like the step, the badge
beside the outline (`procedure_layout`: sizes, badges, pages). The HTML is cut into A4 sheets the
way the PDF prints: a section on one page, or continued « (suite) » when taller than a page.
`pick_row` reads as a person does it: each page turn of the table is a step with its picture, then
the page holding the row with the row's action outlined. Steps only the robot does (`store`) are
marked as such.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import Browser

from robots.errors import EXIT_OK, BadInput
from robots.jobs.replay.procedure_layout import (
    CONTENT_W_PT,
    PAGE_MARGIN_MM,
    PT_PER_CSS_PX,
    Block,
    Picture,
    Placed,
    paginate,
    pictures,
    text_height,
)
from robots.jobs.replay.procedure_sections import ROBOT_ONLY, Item, Section, sections
from robots.jobs.replay.recording_folder import STEPS_FILE
from robots.jobs.replay.typography import html_text
from robots.secrets import REDACTOR
from robots.support.private_files import tighten_file, write_private

HTML_FILE = "procedure.html"
PDF_FILE = "procedure.pdf"
STATUS_NOTES = {"skipped": "étape passée", "failed": "échec", "stopped": "arrêt demandé ici", "running": "non terminée"}
ROBOT_NOTE = "(fait par le robot : rien à faire à l'écran)"
LIST_INDENT_PT = 22

# Sizes in pt, as `procedure_layout` estimates them: change both together.
_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1e1e1e; font-size: 10pt; line-height: 14pt;
  margin: 0; }
@media screen { body { max-width: 186mm; margin: 2em auto; } .sheet { border-bottom: 1px dashed #bbb; } }
.sheet { break-after: page; }
.sheet:last-child { break-after: auto; }
h1 { font-size: 15pt; line-height: 19pt; margin: 0 0 6pt; text-transform: uppercase;
  border-bottom: 2pt solid #000091; padding-bottom: 3pt; }
.intro { color: #444; margin: 0 0 8pt; }
h2 { font-size: 12pt; line-height: 16pt; color: #000091; margin: 10pt 0 5pt; }
ol { margin: 0 0 4pt; padding-left: 22pt; }
li { margin: 0 0 3pt; }
li.skipped, li.running, li.robot { color: #777; }
li.failed, li.stopped, .failure { color: #b60000; }
.note { font-style: italic; margin-left: .4em; }
.q { white-space: nowrap; }
figure { margin: 4pt 0 8pt; }
.shot { position: relative; overflow: hidden; border: .75pt solid #bbb; }
.shot img { position: absolute; display: block; max-width: none; }
.box { position: absolute; border: 2.4pt solid #e4003a; border-radius: 3pt; box-sizing: border-box; }
.badge { position: absolute; background: #e4003a; color: #fff; font-weight: bold; font-size: 9pt;
  border: 1.5pt solid #fff; border-radius: 8pt; box-sizing: border-box; text-align: center; white-space: nowrap; }
@page { size: A4; margin: 14mm 12mm; }
"""


def layout(data: dict[str, Any], folder: Path) -> list[list[Placed]]:
    """The sheets of the procedure: on each, the parts of sections it prints (steps, pictures)."""
    viewport = data.get("viewport") or {"width": 1280, "height": 900}
    found: list[tuple[Any, float, list[Block]]] = []
    for section in sections(data.get("steps", [])):
        found.append((section, _heading_height(section.heading + " (suite)"), _blocks(section, folder, viewport)))
    if data.get("status") != "ok" and data.get("error"):
        failure = str(data["error"])
        found.append(("Déroulé interrompu", _heading_height("Déroulé interrompu"), [Block(_para(failure), [failure])]))
    return paginate(found, _title_height(data))


def _blocks(section: Section, folder: Path, viewport: dict[str, int]) -> list[Block]:
    """The section in pieces that stay together: the steps a picture shows, then that picture. A section
    continued on the next page goes on with its next steps and their picture, never apart from them."""
    shown = [p for f in section.figures if (folder / f.screenshot).is_file() for p in pictures(f, viewport)]
    items = list(section.items)
    blocks: list[Block] = []
    for picture in shown:
        last = max((int(n) for b in picture.badges for n in b.text.split(", ")), default=0)
        steps = []
        while items and items[0].number <= last:
            steps.append(items.pop(0))
        height = sum(_item_height(item) for item in steps) + picture.height_pt + 14
        blocks.append(Block(height, [*steps, picture]))
    return blocks + [Block(_item_height(item), [item]) for item in items]


def render(data: dict[str, Any], folder: Path) -> str:
    sheets = []
    for number, sheet in enumerate(layout(data, folder)):
        body = [f"<h1>{_e(_title(data))}</h1>", _intro(data)] if number == 0 else []
        body += [_part(part, folder) for part in sheet]
        sheets.append('<div class="sheet">\n' + "\n".join(body) + "\n</div>")
    if not sheets:
        sheets = [f'<div class="sheet"><h1>{_e(_title(data))}</h1>{_intro(data)}</div>']
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>{_e(data.get('title', 'Procédure'))}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(sheets)
        + "\n</body></html>\n"
    )


def _title(data: dict[str, Any]) -> str:
    return str(data.get("title") or data.get("flow", "Procédure"))


def _intro_text(data: dict[str, Any]) -> str:
    when = data.get("started_at", "")
    with contextlib.suppress(ValueError):
        when = datetime.fromisoformat(when).strftime("le %d/%m/%Y à %H:%M")
    subject = f" — {data['subject']}" if data.get("subject") else ""
    text = f"Déroulé enregistré par le robot {when}{subject}. Suivez les écrans dans l'ordre ; "
    return text + "l'élément sur lequel agir est encadré en rouge et numéroté comme l'étape."


def _intro(data: dict[str, Any]) -> str:
    return f'<p class="intro">{_e(_intro_text(data))}</p>'


def _title_height(data: dict[str, Any]) -> float:
    title = text_height(_title(data).upper(), CONTENT_W_PT, 15 * 1.15, 19) + 11
    return title + text_height(_intro_text(data), CONTENT_W_PT, 10, 14) + 8


def _heading_height(heading: str) -> float:
    return text_height(heading, CONTENT_W_PT, 12 * 1.1, 16) + 15 + 4  # margins; 4: the list's own


def _item_height(item: Item) -> float:
    return text_height(_item_text(item), CONTENT_W_PT - LIST_INDENT_PT, 10, 14) + 3


def _para(text: str) -> float:
    return text_height(text, CONTENT_W_PT, 10, 14) + 20


def _part(part: Placed, folder: Path) -> str:
    if isinstance(part.section, str):  # the run's failure
        text = "".join(f'<p class="failure">{_e(c)}</p>' for b in part.blocks for c in b.content)
        return f'<section><h2 class="failure">{_e(part.section)}</h2>{text}</section>'
    section: Section = part.section
    heading = section.heading + (" (suite)" if part.continued else "")
    html = [f"<section><h2>{_e(heading)}</h2>"]
    items: list[str] = []
    for content in (c for block in part.blocks for c in block.content):
        if isinstance(content, Item):
            items.append(_item(content))
            continue
        if items:
            html.append("<ol>" + "".join(items) + "</ol>")
            items = []
        html.append(_figure(content, folder))
    if items:
        html.append("<ol>" + "".join(items) + "</ol>")
    html.append("</section>")
    return "\n".join(html)


def _item_text(item: Item) -> str:
    """The step as printed, in plain text (for its height)."""
    step = item.step
    text = step["label"]
    if step["command"] == "goto" and step.get("url"):
        text += " " + step["url"]
    if step["command"] in ROBOT_ONLY:
        text += " " + ROBOT_NOTE
    note = STATUS_NOTES.get(step.get("status", "ok"))
    if note:
        text += f" ({note}" + (f" : {step['error']})" if step.get("error") else ")")
    return text


def _item(item: Item) -> str:
    step = item.step
    text = _e(step["label"])
    if step["command"] == "goto" and step.get("url"):
        url = REDACTOR.redact(step["url"])
        text += f' <a href="{_attr(url)}">{_attr(url)}</a>'
    status = step.get("status", "ok")
    if step["command"] in ROBOT_ONLY:
        text += f'<span class="note">{_e(ROBOT_NOTE)}</span>'
        status = "robot" if status == "ok" else status
    note = STATUS_NOTES.get(status)
    if note:
        detail = f" : {step['error']}" if step.get("error") else ""
        text += f'<span class="note">{_e(f"({note}{detail})")}</span>'
    return f'<li value="{item.number}" class="{_attr(status)}">{text}</li>'


def _figure(picture: Picture, folder: Path) -> str:
    data = base64.b64encode((folder / picture.screenshot).read_bytes()).decode()
    crop, scale = picture.crop, PT_PER_CSS_PX
    image = (
        f'<img alt="" src="data:image/png;base64,{data}" style="width:{_pt(picture.image_w * scale)};'
        f'left:{_pt(-crop.x * scale)};top:{_pt(-crop.y * scale)}">'
    )
    marks = [f'<div class="box" style="{_place(o)}"></div>' for o in picture.outlines]
    marks += [
        f'<div class="badge" style="{_place(b.rect)};line-height:{_pt(b.rect.h * scale - 3)}">{_e(b.text)}</div>'
        for b in picture.badges
    ]
    size = f"width:{_pt(picture.width_pt)};height:{_pt(picture.height_pt)}"
    shot = f'<div class="shot" style="{size}">{image}{"".join(marks)}</div>'
    return f'<figure data-crop="{crop.x:.0f},{crop.y:.0f},{crop.w:.0f},{crop.h:.0f}">{shot}</figure>'


def _place(rect: Any) -> str:
    s = PT_PER_CSS_PX
    return f"left:{_pt(rect.x * s)};top:{_pt(rect.y * s)};width:{_pt(rect.w * s)};height:{_pt(rect.h * s)}"


def _pt(value: float) -> str:
    return f"{value:.2f}pt"


def _e(text: Any) -> str:
    """Text for the page: no secret, French spaces, short quotations never broken across lines."""
    return html_text(REDACTOR.redact(str(text)))


def _attr(text: Any) -> str:
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
    from robots.browser import launch as chromium

    override = os.environ.get("CHORUS_ROBOT_CHROMIUM")
    own = Path(browser.browser_type.executable_path)
    executable = override or (None if own.exists() else str(chromium.system_chromium()))
    return browser.browser_type.launch(headless=True, executable_path=executable, args=chromium.LAUNCH_ARGS)


def _print_with(browser: Browser, source: Path, target: Path) -> None:
    page = browser.new_page()
    try:
        page.goto(source.resolve().as_uri())
        top, side = (f"{m}mm" for m in PAGE_MARGIN_MM)
        margin = {"top": top, "bottom": top, "left": side, "right": side}
        page.pdf(path=str(target), format="A4", print_background=True, margin=margin)
        tighten_file(target)  # written again over an older, wider one
    finally:
        page.close()


def regenerate(folder: Path) -> int:
    """`chorus-robot procedure RECORDING_DIR`."""
    from robots.browser.portal_context import BrowserOptions, open_browser

    load_steps(folder)
    with open_browser(BrowserOptions()) as browser:
        written = write_procedure(folder, browser)
    for path in written:
        print(f"écrit : {path}")
    return EXIT_OK

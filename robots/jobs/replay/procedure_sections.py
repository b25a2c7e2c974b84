"""What the procedure says, screen by screen: the sections, their numbered steps and their pictures.

One section per screen titled « Écran « … » » (with the portal's name when two portals have a screen
of that name), the steps' labels as the flows word them. Steps shot at the same place share one
picture; a page of a table (`table_page`) is a place of its own: each page turn keeps its picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from robots.jobs.replay.recording_folder import PAGE_COMMANDS

SHOWN_COMMANDS = PAGE_COMMANDS | {"store"}
ROBOT_ONLY = {"store"}
PORTALS = {"dgfip": "Portail de la Gestion Publique", "chorus": "Chorus Pro"}


@dataclass
class Figure:
    screenshot: str
    scroll: list[int] | None
    page_url: str | None
    table_page: int | None = None
    boxes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
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
    """Steps shot at the same place (page, scroll, page of a table) share one picture: the latest."""
    if not step.get("screenshot"):
        return
    last = section.figures[-1] if section.figures else None
    place = (step.get("page_url"), step.get("scroll"), step.get("table_page"))
    if last is None or (last.page_url, last.scroll, last.table_page) != place:
        last = Figure(step["screenshot"], step.get("scroll"), step.get("page_url"), step.get("table_page"))
        section.figures.append(last)
    last.screenshot = step["screenshot"]
    if step.get("box") and number is not None:
        last.boxes.append((number, {**step["box"], "badge": step.get("badge") or ""}))
        if step.get("context_box"):
            last.context.append(step["context_box"])

"""`chorus-robot survey`'s bundle: per screen what matched, and for an element not found the nearest elements of the
ARIA snapshot, each as a `find:` entry ready for a selectors/ override file; written as survey.json and survey.md.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import yaml

from robots.jobs.replay.probe import Match, ProbeReport
from robots.jobs.replay.survey_privacy import PERSONAL
from robots.language.catalogue import Element, Locator
from robots.secrets import MASK

# What role a catalogue element of each kind has in an ARIA snapshot.
_KIND_ROLES = {
    "field": ("textbox", "searchbox", "combobox", "spinbutton"), "button": ("button", "link"),
    "link": ("link", "button", "menuitem", "tab"), "checkbox": ("checkbox", "radio", "switch"),
    "select": ("combobox", "listbox", "radiogroup", "group"), "table": ("table", "grid"),
    "dialog": ("dialog", "alertdialog"), "block": ("region", "group", "heading"), "text": (),
}  # fmt: skip
_LINE = re.compile(r'^\s*- (?P<role>[a-z]+)(?: "(?P<name>(?:[^"\\]|\\.)*)")?')
_SKIPPED_ROLES = {"text", "img", "generic", "list", "listitem", "rowgroup", "paragraph", "separator", "none"}
MAX_CANDIDATES = 3


@dataclass
class Candidate:
    role: str
    name: str
    yaml: str


@dataclass
class ElementResult:
    element: str
    found: bool
    selector: str | None
    candidates: list[Candidate] = field(default_factory=list)
    conditional: bool = False  # shown only in some cases (an error, data): not counted missing


@dataclass
class ScreenResult:
    screen: str
    account: str
    title: str
    recognised: bool
    snapshot: str | None
    screenshot: str | None
    elements: list[ElementResult] = field(default_factory=list)
    error: str | None = None  # the screen could not be reached

    @property
    def missing(self) -> list[ElementResult]:
        return [e for e in self.elements if not e.found and not e.conditional]

    @property
    def complete(self) -> bool:
        return self.error is None and self.recognised and not self.missing


def locator_yaml(spec: Locator | dict[str, Any]) -> str:
    """A locator as a one-line YAML `find:` entry: `- {role: link, name: Structures}`."""
    data = spec.model_dump(exclude_defaults=True) if isinstance(spec, Locator) else spec
    return "- " + yaml.safe_dump(data, default_flow_style=True, allow_unicode=True, sort_keys=False, width=1000).strip()


def element_results(report: ProbeReport, snapshot: str, optional: set[str]) -> list[ElementResult]:
    entries = aria_entries(snapshot)
    return [_result(match, entries, optional) for match in report.matches]


def _result(match: Match, entries: list[tuple[str, str]], optional: set[str]) -> ElementResult:
    if match.index is not None:
        return ElementResult(match.name, True, locator_yaml(match.element.find[match.index]))
    candidates = nearest(match.name, match.element, entries)
    return ElementResult(match.name, False, None, candidates, match.name in optional)


def aria_entries(snapshot: str) -> list[tuple[str, str]]:
    """(role, name) of every named element of an ARIA snapshot, in order, once each."""
    seen: dict[tuple[str, str], None] = {}
    for line in snapshot.splitlines():
        found = _LINE.match(line)
        if not found or found.group("role") in _SKIPPED_ROLES:
            continue
        name = json.loads(f'"{found.group("name")}"') if found.group("name") is not None else ""
        seen.setdefault((found.group("role"), name), None)
    return list(seen)


def nearest(element_name: str, element: Element, entries: list[tuple[str, str]]) -> list[Candidate]:
    """Up to three (role, name) of the snapshot nearest to what the catalogue looks for."""
    roles, name = _wanted(element_name, element)
    scored = []
    for role, shown in entries:
        similarity = _similarity(name, shown) if shown else 0.0
        score = similarity + (0.3 if role in roles else 0.0)
        if score >= 0.6 and (shown or role in roles) and not _masked(shown):
            scored.append((score, role, shown))
    scored.sort(key=lambda item: -item[0])
    return [Candidate(role, shown, locator_yaml(_spec(role, shown))) for _, role, shown in scored[:MAX_CANDIDATES]]


def _masked(name: str) -> bool:
    return PERSONAL in name or MASK in name


def _spec(role: str, name: str) -> dict[str, Any]:
    return {"role": role, "name": name} if name else {"role": role}


def _wanted(element_name: str, element: Element) -> tuple[tuple[str, ...], str]:
    roles = tuple(spec.role for spec in element.find if spec.role) or _KIND_ROLES.get(element.kind, ())
    for spec in element.find:
        words = spec.name or spec.label or spec.text or spec.placeholder or spec.title or spec.block
        if words:
            return roles, words
    return roles, element_name.replace("_", " ")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'").split())


def _similarity(wanted: str, shown: str) -> float:
    a, b = _fold(wanted), _fold(shown)
    ratio = SequenceMatcher(None, a, b).ratio()
    words_a, words_b = set(re.findall(r"\w+", a)), set(re.findall(r"\w+", b))
    overlap = len(words_a & words_b) / len(words_a) if words_a else 0.0
    return max(ratio, overlap)


# ---------------------------------------------------------------- the files


def write_bundle(out: Path, screens: list[ScreenResult]) -> None:
    document = {"screens": [_screen_json(s) for s in screens]}
    (out / "survey.json").write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "survey.md").write_text("\n".join(markdown(screens)) + "\n", encoding="utf-8")


def _screen_json(screen: ScreenResult) -> dict[str, Any]:
    data = asdict(screen)
    data.pop("title")
    if data["error"] is None:
        data.pop("error")
    for element in data["elements"]:
        if not element["conditional"]:
            element.pop("conditional")
    return data


def markdown(screens: list[ScreenResult]) -> list[str]:
    missing = sum(len(s.missing) for s in screens)
    lines = ["# Relevé des écrans du portail (chorus-robot survey)", ""]
    lines.append(
        "Tout correspond au catalogue." if all(s.complete for s in screens)
        else f"{sum(not s.complete for s in screens)} écran(s) à revoir, {missing} élément(s) introuvable(s)."
    )  # fmt: skip
    for screen in screens:
        lines += ["", f"## {screen.screen} — {screen.title} (compte « {screen.account} »)", ""]
        if screen.error:
            lines += [f"Non atteint : {screen.error}"]
            continue
        lines.append(f"Reconnu : {'oui' if screen.recognised else 'NON'} — instantané `{screen.snapshot}`, "
                     f"capture `{screen.screenshot}`")  # fmt: skip
        lines.append("")
        for element in screen.elements:
            lines += _element_lines(screen.screen, element)
    return lines


def _element_lines(screen: str, element: ElementResult) -> list[str]:
    if element.found:
        return [f"- ✔ `{element.element}` : `{element.selector}`"]
    if element.conditional:
        return [f"- · `{element.element}` non affiché ici (seulement dans certains cas, ou dans un menu)"]
    lines = [f"- ✘ `{element.element}` introuvable"]
    if element.candidates:
        lines.append(f"  candidats, à mettre sous `elements.{element.element}.find:` de selectors/{screen}.yaml :")
        lines += ["", "  ```yaml", *(f"  {c.yaml}" for c in element.candidates), "  ```", ""]
    return lines

"""The selector catalogue: for each screen, how to recognise it and how to find each element.

One YAML file per screen in `selectors/` (one folder per portal generation). Elements are found by
role and accessible name, label text or visible text, in French, with ordered fallbacks; raw CSS is
allowed only here, as a last resort. Flows name `screen.element` and never see how it is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from robots.config import Config, packaged
from robots.errors import BadInput, Problem
from robots.language.layers import own_folder, same_place, shown
from robots.support.frozen_model import Model
from robots.support.yamlfile import load_yaml, problems_from

STRATEGIES = ("role", "label", "text", "placeholder", "title", "block", "css")
DEFAULT_CATALOGUE = packaged("selectors")


class Locator(Model):
    """One way to find an element. Exactly one of role, label, text, placeholder, title, block, css."""

    role: str | None = None
    name: str | None = Field(None, description="Accessible name, with role")
    label: str | None = None
    text: str | None = None
    placeholder: str | None = None
    title: str | None = None
    block: str | None = Field(None, description="The block (panel, dialog, section) titled by this heading")
    css: str | None = Field(None, description="Last resort only: CSS that the real portal also has")
    exact: bool = False
    within: str | None = Field(None, description="Heading of the block (panel, dialog) to search in")
    nth: int | None = None

    @model_validator(mode="after")
    def _one_strategy(self) -> Locator:
        strategies = [k for k in STRATEGIES if getattr(self, k)]
        if len(strategies) != 1:
            raise ValueError("a locator needs exactly one of " + ", ".join(STRATEGIES))
        if self.name and not self.role:
            raise ValueError("`name` goes with `role`")
        return self

    def describe(self) -> str:
        if self.role:
            what = f"role={self.role}" + (f" name=« {self.name} »" if self.name else "")
        else:
            key = next(k for k in STRATEGIES if getattr(self, k))
            what = f"{key}=« {getattr(self, key)} »"
        return what + (f" dans « {self.within} »" if self.within else "")


class Element(Model):
    find: list[Locator] = Field(min_length=1, description="Ordered fallbacks: the first that matches wins")
    description: str = ""
    kind: Literal["field", "button", "link", "text", "table", "block", "dialog", "checkbox", "select"] = "text"
    sensitive: bool = Field(False, description="Displays a secret: masked in screenshots and recordings")
    read_from: Literal["self", "parent"] = "self"
    extract: str | None = Field(None, description="Regular expression; its first group is the value read")
    next_page: list[Locator] = Field(default_factory=list, description="Tables: the pager's next button")
    first_page: list[Locator] = Field(
        default_factory=list, description="Tables: the pager's first-page button (⏮), to search a kept table again"
    )
    row_actions: dict[str, list[Locator]] = Field(default_factory=dict, description="Tables: per-row buttons")
    columns: list[str] = Field(
        default_factory=list,
        description="Tables: the column headers as the portal prints them; `validate` checks a flow's "
        "`where:` and `${row.column}` against them",
    )

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, value: object) -> object:
        return {"find": value} if isinstance(value, list) else value


class Screen(Model):
    screen: str
    title: str = Field(description="The screen's name as the procedures print it, in French")
    portal: Literal["dgfip", "chorus"]
    url: str | None = Field(None, description="Regular expression on the URL (informative)")
    kind: Literal["page", "dialog", "frame", "error"] = Field(
        "page",
        description="dialog: shown over a page; frame: the part common to many pages (menus); "
        "error: the portal's error page — a step waiting for another screen stops at once",
    )
    recognise: list[Locator | list[Locator]] = Field(
        min_length=1,
        description="All must be visible on this screen; an entry that is a list is satisfied by any of its "
        "locators (labels that changed between versions of the portal)",
    )
    elements: dict[str, Element] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.screen

    @property
    def signs(self) -> list[list[Locator]]:
        """What recognises the screen: each entry a list of alternatives, one of which must be visible."""
        return [entry if isinstance(entry, list) else [entry] for entry in self.recognise]


@dataclass(frozen=True)
class ElementHandle:
    """An element of the catalogue together with its screen."""

    screen: Screen
    name: str
    element: Element

    @property
    def ref(self) -> str:
        return f"{self.screen.name}.{self.name}"


class Catalogue:
    def __init__(
        self, screens: dict[str, Screen], folder: Path, files: dict[str, Path] | None = None,
        overrides: set[str] | None = None,
    ) -> None:  # fmt: skip
        self.screens = screens
        self.folder = folder
        self.files = files or {}  # screen name → the file it was read from
        self.overrides = overrides or set()  # screens read from the working directory's selectors/, not the package

    @classmethod
    def load(cls, folder: Path | None = DEFAULT_CATALOGUE) -> Catalogue:
        """The packaged catalogue, each screen replaced by the file of the same name in `folder` when it has one."""
        layered = load_layered(folder)
        if layered.problems:
            raise BadInput(f"catalogue de sélecteurs {layered.folder} invalide", layered.problems)
        return layered.catalogue()

    def screen(self, name: str) -> Screen | None:
        return self.screens.get(name)

    def file_of(self, screen: str) -> str:
        """« (selectors/x.yaml) » for a message naming the screen or one of its elements: the file it came from."""
        path = self.files.get(screen)
        return f" ({shown(path)})" if path else ""

    def element(self, ref: str) -> ElementHandle | None:
        screen_name, _, element_name = ref.partition(".")
        screen = self.screens.get(screen_name)
        if screen is None or element_name not in screen.elements:
            return None
        return ElementHandle(screen, element_name, screen.elements[element_name])

    def error_screens(self) -> list[Screen]:
        return [s for s in self.screens.values() if s.kind == "error"]

    def sensitive_elements(self) -> list[ElementHandle]:
        return [
            ElementHandle(s, name, e) for s in self.screens.values() for name, e in s.elements.items() if e.sensitive
        ]


def load_screens(folder: Path) -> tuple[list[tuple[Screen, Path]], list[Problem]]:
    """Every screen file of the folder, and every problem found in them (all, not only the first)."""
    if not folder.is_dir():
        return [], [Problem(folder, None, "dossier du catalogue de sélecteurs introuvable")]
    screens: list[tuple[Screen, Path]] = []
    problems: list[Problem] = []
    for path in sorted(folder.rglob("*.yaml")):  # selectors/services/: the 2022 « portail de services »
        try:
            raw = load_yaml(path)
            screen = Screen.model_validate(raw)
        except BadInput as exc:
            problems.extend(exc.problems)
            continue
        except ValidationError as exc:
            problems.extend(problems_from(exc, raw, path))
            continue
        if screen.screen != path.stem:
            message = f"screen « {screen.screen} » must be named like its file « {path.stem} »"
            problems.append(Problem(path, raw.key_lines.get("screen"), message))
            continue
        screens.append((screen, path))
    return screens, problems


SELECTORS = "selectors"


@dataclass(frozen=True)
class Layered:
    screens: list[tuple[Screen, Path]]
    problems: list[Problem]
    folder: Path  # the working directory's folder, or the packaged one when there is none
    overrides: dict[str, Path]  # screen name → the own file that replaces the packaged screen

    def catalogue(self) -> Catalogue:
        files = {screen.name: path for screen, path in self.screens}
        return Catalogue({s.name: s for s, _ in self.screens}, self.folder, files, set(self.overrides))


def load_layered(own: Path | None) -> Layered:
    """The packaged catalogue with `own`'s screen files over it (`own` None or the packaged folder: none)."""
    base = packaged(SELECTORS)
    screens, problems = load_screens(base)
    if own is None or same_place(own, base):
        return Layered(screens, problems, base, {})
    own_screens, own_problems = load_screens(own)
    replaced = {path.stem for path in own.rglob("*.yaml")} if own.is_dir() else set()
    shipped = {screen.name for screen, _ in screens}
    overrides = {screen.name: path for screen, path in own_screens if screen.name in shipped}
    own_by_name = {screen.name: (screen, path) for screen, path in own_screens}
    merged: list[tuple[Screen, Path]] = []
    for screen, path in screens:  # in the package's order; a broken override leaves no screen of that name
        if screen.name in own_by_name:
            merged.append(own_by_name.pop(screen.name))
        elif screen.name not in replaced:
            merged.append((screen, path))
    return Layered(merged + list(own_by_name.values()), problems + own_problems, own, overrides)


def own_catalogue(config: Config) -> Path | None:
    """The folder whose screens replace the packaged ones: `settings.catalogue`; its default, the working
    directory's selectors/, counts when it exists; a folder the settings name otherwise must exist."""
    if config.settings.catalogue == Path(SELECTORS):
        return own_folder(SELECTORS)
    return config.resolve(config.settings.catalogue)

"""`chorus-robot probe SCREEN`: which selector of each element's fallbacks still finds it on the portal.

What a support person runs when the portal changed: it opens the page (after a login flow for the
connected screens) and, for every element of the screen, names the fallback that matched — or none.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass, field, replace
from pathlib import Path

from playwright.sync_api import Page

from robots.browser.portal_context import new_portal_context
from robots.engine import locate
from robots.engine.preflight import preflight
from robots.errors import EXIT_FAILURE, EXIT_OK, BadInput
from robots.language.catalogue import Catalogue, Element, Screen
from robots.secrets import REDACTOR


@dataclass
class Match:
    """One element of the screen: the fallback that matched (index from 0), or None."""

    name: str
    element: Element
    index: int | None = None
    visible: bool = False
    tried: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.index is not None

    def describe(self) -> str:
        total = len(self.element.find)
        if self.index is None:
            return f"✘ {self.name} : aucun sélecteur ne correspond (essayé : {' ; '.join(self.tried)})"
        spec = self.element.find[self.index].describe()
        hidden = "" if self.visible else " — présent mais masqué"
        text = f"✔ {self.name} : sélecteur {self.index + 1}/{total} {spec}{hidden}"
        if self.index:
            text += f" (plus trouvé par : {' ; '.join(self.tried[: self.index])})"
        return text


@dataclass
class ProbeReport:
    screen: Screen
    url: str
    recognised: list[tuple[str, bool]]
    matches: list[Match]
    source: str = ""  # « (selectors/x.yaml) »: the file the screen came from, an override's when it is one

    def missing(self, ignored: Set[str] = frozenset()) -> list[Match]:
        return [m for m in self.matches if not m.found and m.name not in ignored]

    def lines(self, ignored: Set[str] = frozenset()) -> list[str]:
        shown = "reconnu" if all(ok for _, ok in self.recognised) else "NON reconnu"
        lines = [
            f"Écran « {self.screen.title} » ({self.screen.name}){self.source} — {REDACTOR.redact(self.url)} : {shown}"
        ]
        lines += [f"  reconnaissance : {'✔' if ok else '✘'} {what}" for what, ok in self.recognised]
        for match in self.matches:
            note = "  (ignoré)" if match.name in ignored and not match.found else ""
            lines.append(f"  {match.describe()}{note}")
        missing = self.missing(ignored)
        if missing:
            lines.append(f"{len(missing)} élément(s) introuvable(s) : {', '.join(m.name for m in missing)}")
        else:
            lines.append(f"OK : les {len(self.matches)} éléments sont trouvés")
        return lines


def probe_element(page: Page, name: str, element: Element) -> Match:
    """The first fallback that finds a visible element, else the first that finds a hidden one."""
    match = Match(name, element, tried=[spec.describe() for spec in element.find])
    present: int | None = None
    for index, spec in enumerate(element.find):
        locator = locate.build(page, spec)
        try:
            if not locator.count():
                continue
            if locator.is_visible():
                match.index, match.visible = index, True
                return match
        except Exception:  # noqa: BLE001 - a detached frame counts as not found
            continue
        present = index if present is None else present
    match.index = present
    return match


def probe_screen(page: Page, screen: Screen, timeout_s: float = 5) -> ProbeReport:
    locate.wait_for_screen(page, screen, timeout_s)
    recognised = [
        (" | ".join(spec.describe() for spec in signs), locate.first_matching(page, signs) is not None)
        for signs in screen.signs
    ]
    matches = [probe_element(page, name, element) for name, element in screen.elements.items()]
    return ProbeReport(screen, page.url, recognised, matches)


@dataclass
class ProbeRequest:
    screen: str
    env_name: str = "mock"
    portal_url: str | None = None
    path: str | None = None
    login_flow: Path | None = None
    variables: dict[str, str] = field(default_factory=dict)
    ignore: set[str] = field(default_factory=set)
    headed: bool = False


def probe(request: ProbeRequest) -> int:
    """The command: prints the report; exit 1 when an element matches nothing."""
    from robots.browser.portal_context import BrowserOptions, open_browser

    checked = preflight(request.env_name, request.portal_url)
    catalogue = checked.catalogue
    screen = catalogue.screen(request.screen)
    if screen is None:
        raise BadInput(f"écran inconnu « {request.screen} » (connus : {', '.join(sorted(catalogue.screens))})")
    unknown = request.ignore - set(screen.elements)
    if unknown:
        raise BadInput(f"--ignore : l'écran « {screen.name} »{catalogue.file_of(screen.name)} n'a pas d'élément "
                       f"{', '.join(sorted(unknown))}")  # fmt: skip
    base = checked.environment.portal_url
    with open_browser(BrowserOptions(headed=request.headed)) as browser:
        context = new_portal_context(browser)
        try:
            page = context.new_page()
            if request.login_flow:
                _log_in(page, request, catalogue)
            path = request.path or (None if request.login_flow else page_of(screen))
            if path or not request.login_flow:
                page.goto(_url(base, path))
            report = replace(
                probe_screen(page, screen, checked.config.settings.timeout_s), source=catalogue.file_of(screen.name)
            )
        finally:
            context.close()
    print("\n".join(report.lines(request.ignore)))
    return EXIT_FAILURE if report.missing(request.ignore) else EXIT_OK


def page_of(screen: Screen) -> str | None:
    """The screen's `url:` when it is a plain path (it may be a regular expression: then none)."""
    url = screen.url or ""
    return url if re.fullmatch(r"/[A-Za-z0-9/_.~-]*", url) else None


def _url(base: str, path: str | None) -> str:
    if path and path.startswith(("http://", "https://", "file://")):
        return path
    return base.rstrip("/") + "/" + (path or "").lstrip("/")


def _log_in(page: Page, request: ProbeRequest, catalogue: Catalogue) -> None:
    from robots.engine.runner import Runner
    from robots.engine.steps.context import NoCredentials
    from robots.jobs.run import RunRequest, prepare
    from robots.secrets import SecretProvider

    run = RunRequest(
        flow=request.login_flow, env_name=request.env_name, portal_url=request.portal_url,
        variables=request.variables, keeps_credentials=False,
    )  # fmt: skip
    prepared = prepare(run)
    runner = Runner(
        page,
        catalogue,
        secrets=SecretProvider({}),
        sink=NoCredentials("le flow de connexion d'une sonde ne doit rien ranger dans le coffre"),
        timeout_s=prepared.config.settings.timeout_s,
    )
    runner.run(run.flow, prepared.scope)

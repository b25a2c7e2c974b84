"""`plan`, `apply`, `export`: one login for the account, then its structures one by one.

plan reads and compares, changing nothing. apply writes only what differs, saves, reads back and
fails the structure if the portal does not show what was asked; a refusal of the portal stops that
structure with its message and the others go on. export reads everything into the file's format.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import Browser

from robots.catalogue import Catalogue, own_catalogue
from robots.config import Config, Environment, load_config
from robots.errors import BadInput, RobotError
from robots.parametrage import diff
from robots.parametrage.generations import BY_FRAME, DETECT_FLOW, GENERATIONS, Generation, generation_named
from robots.parametrage.model import DesiredState, StructureState
from robots.runner import Runner
from robots.secrets import ENVIRON, REDACTOR, SecretProvider, withhold
from robots.session import BrowserOptions, new_portal_context, open_browser
from robots.validation import require_valid

FLOW_INPUTS = {
    "lire_structure": {"structure"},
    "ecrire_structure": {"structure", "ecrire"},
    "mon_compte": {"action", "ecrire"},
    "demandes": {"action", "ecrire"},
}


class NoCredentials:
    """Parametrisation captures no password: nothing goes to the vault."""

    def store(self, key: str, fields: dict[str, Any]) -> None:
        raise BadInput("les flows de paramétrage ne rangent aucun mot de passe")

    def checkpoint(self, key: str, event: str) -> None:
        return None


@dataclass
class Options:
    env_name: str = "mock"
    portal_url: str | None = None
    browser: BrowserOptions = BrowserOptions()
    generation: str = "auto"  # or "legacy", "services": otherwise seen after the login


@dataclass
class Prepared:
    desired: DesiredState
    config: Config
    environment: Environment
    catalogue: Catalogue
    generation: Generation | None  # None: seen after the login


def prepare(desired: DesiredState, options: Options) -> Prepared:
    """Everything checked before a browser starts: configuration, catalogue, flows, credentials."""
    config = load_config()
    environment = config.environment(options.env_name, options.portal_url)
    catalogue = Catalogue.load(own_catalogue(config))
    generation = None if options.generation == "auto" else generation_named(options.generation)
    require_valid(DETECT_FLOW, catalogue, known=set())
    for each in [generation] if generation else GENERATIONS.values():
        require_valid(each.login_flow, catalogue, known={"entry"})
        require_valid(each.list_flow, catalogue, known=set())
        for name, known in FLOW_INPUTS.items():
            require_valid(each.flow(name), catalogue, known=known)
    account = desired.account
    withhold([account.login_env, account.password_env])  # no child process (driver, Chromium) sees them
    missing = [n for n in (account.login_env, account.password_env) if not ENVIRON.get(n)]
    if missing:
        raise BadInput(
            f"donnez la ou les variables d'environnement {', '.join(missing)} (ou .env) du compte « {account.name} »"
        )
    REDACTOR.add(ENVIRON.get(account.password_env))
    return Prepared(desired, config, environment, catalogue, generation)


class PortalSession:
    """The account logged in once; each method runs one of the generation's flows."""

    def __init__(self, prepared: Prepared, runner: Runner) -> None:
        self.prepared = prepared
        self.generation: Generation = prepared.generation or GENERATIONS["legacy"]
        self.runner = runner

    def _scope(self, **values: Any) -> dict[str, Any]:
        return {
            "entry": self.prepared.desired.account.portal,
            "env": self.prepared.environment.model_dump(),
            "settings": self.prepared.config.settings.model_dump(mode="json"),
            **values,
        }

    def _run(self, flow: Path, **values: Any) -> dict[str, Any]:
        return self.runner.run(flow, self._scope(**values)).scope

    def login(self) -> None:
        self._run(self.generation.login_flow)
        if self.prepared.generation is None:
            frame = self._run(DETECT_FLOW).get("portal_frame")
            self.generation = GENERATIONS[BY_FRAME[str(frame)]]
            logger.info("Génération du portail : {}", self.generation.name)

    def identifiants(self) -> list[str]:
        rows = self._run(self.generation.list_flow).get("structures") or []
        return [str(row.get("Identifiant structure", "")).strip() for row in rows]

    def read_structure(self, identifiant: str) -> dict[str, Any]:
        scope = self._run(self.generation.flow("lire_structure"), structure=identifiant)
        return self.generation.structure(scope)

    def write_structure(self, identifiant: str, changes: list[diff.Change]) -> None:
        ecrire = self.generation.structure_writes(diff.writes_for(changes))
        self._run(self.generation.flow("ecrire_structure"), structure=identifiant, ecrire=ecrire)

    def mon_compte(self, changes: list[diff.Change] | None = None) -> dict[str, Any]:
        ecrire = {"mon_compte": self.generation.mon_compte_writes(diff.mon_compte_writes(changes or []))}
        scope = self._run(self.generation.flow("mon_compte"), action="write" if changes else "read", ecrire=ecrire)
        return self.generation.mon_compte(scope)

    def requests(self, answers: dict[str, list[dict[str, str]]] | None = None) -> dict[str, list[dict[str, str]]]:
        scope = self._run(self.generation.flow("demandes"), action="write" if answers else "read", ecrire=answers or {})
        return self.generation.pending_requests(scope)


@contextmanager
def portal_session(prepared: Prepared, options: Options, browser: Browser | None = None) -> Iterator[PortalSession]:
    """A browser context logged in to the file's account (a caller's browser, or one of our own)."""
    with _browser(options, browser) as chosen:
        context = new_portal_context(chosen)
        try:
            runner = Runner(
                context.new_page(), prepared.catalogue,
                secrets=SecretProvider(prepared.desired.account.secret_env()), sink=NoCredentials(),
                timeout_s=prepared.config.settings.timeout_s,
            )  # fmt: skip
            session = PortalSession(prepared, runner)
            logger.info(
                "Connexion du compte « {} » ({})", prepared.desired.account.name, prepared.desired.account.portal
            )
            session.login()
            yield session
        finally:
            context.close()


@contextmanager
def _browser(options: Options, browser: Browser | None) -> Iterator[Browser]:
    if browser is not None:
        yield browser
    else:
        with open_browser(options.browser) as own:
            yield own


# ---------------------------------------------------------------- plan


@dataclass
class StructureResult:
    identifiant: str
    result: str = "unchanged"  # unchanged | changed | failed | planned
    changes: list[diff.Change] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "identifiant": self.identifiant, "result": self.result,
            "changes": [c.as_dict() for c in self.changes], "error": self.error,
        }  # fmt: skip


@dataclass
class Outcome:
    account: str
    structures: list[StructureResult] = field(default_factory=list)
    mon_compte: StructureResult | None = None
    requests: StructureResult | None = None

    @property
    def changes(self) -> list[diff.Change]:
        parts = [self.mon_compte, *self.structures, self.requests]
        return [c for part in parts if part for c in part.changes]

    @property
    def failed(self) -> list[StructureResult]:
        return [r for r in [self.mon_compte, *self.structures, self.requests] if r and r.result == "failed"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "changes": [c.as_dict() for c in self.changes],
            "mon_compte": self.mon_compte.as_dict() if self.mon_compte else None,
            "structures": [s.as_dict() for s in self.structures],
            "requests": self.requests.as_dict() if self.requests else None,
            "failed": len(self.failed),
        }


def _error(exc: BaseException) -> str:
    return " ".join(REDACTOR.redact(str(exc)).split())


def _each(label: str, action: Any) -> StructureResult:
    """Runs one part; a failure is that part's, the others go on."""
    result = StructureResult(label)
    try:
        action(result)
    except RobotError as exc:
        result.result, result.error = "failed", _error(exc)
        logger.error("{} : {}", label, result.error)
    return result


def plan(session: PortalSession, desired: DesiredState) -> Outcome:
    outcome = Outcome(desired.account.name)

    def compare_mon_compte(result: StructureResult) -> None:
        result.changes = diff.mon_compte_changes(desired.mon_compte, session.mon_compte())
        result.result = "planned" if result.changes else "unchanged"

    def compare_requests(result: StructureResult) -> None:
        result.changes = _request_plan(desired, session.requests())[1]
        result.result = "planned" if result.changes else "unchanged"

    if desired.mon_compte is not None:
        outcome.mon_compte = _each("mon_compte", compare_mon_compte)
    for structure in desired.structures:
        outcome.structures.append(_each(structure.identifiant, lambda r, s=structure: _plan_one(session, s, r)))
    if desired.rattachements or desired.abonnements:
        outcome.requests = _each("demandes", compare_requests)
    return outcome


def _plan_one(session: PortalSession, structure: StructureState, result: StructureResult) -> None:
    result.changes = diff.structure_changes(structure, session.read_structure(structure.identifiant))
    result.result = "planned" if result.changes else "unchanged"


def _request_plan(
    desired: DesiredState, pending: dict[str, list[dict[str, str]]]
) -> tuple[dict[str, list[dict[str, str]]], list[diff.Change]]:
    answers: dict[str, list[dict[str, str]]] = {}
    changes: list[diff.Change] = []
    for kind, policy in (("rattachements", desired.rattachements), ("abonnements", desired.abonnements)):
        decided = diff.request_decisions(policy, kind, pending[kind])
        changes += diff.request_changes(kind, decided)
        for decision in ("valider", "refuser"):
            answers[f"{kind}_a_{decision}"] = [r for r, d in decided if d == decision]
    return answers, changes


# ---------------------------------------------------------------- apply


def apply(session: PortalSession, desired: DesiredState) -> Outcome:
    outcome = Outcome(desired.account.name)

    def apply_mon_compte(result: StructureResult) -> None:
        result.changes = diff.mon_compte_changes(desired.mon_compte, session.mon_compte())
        if not result.changes:
            return
        after = session.mon_compte(result.changes)
        _verify(diff.mon_compte_changes(desired.mon_compte, after))
        result.result = "changed"

    def apply_requests(result: StructureResult) -> None:
        answers, result.changes = _request_plan(desired, session.requests())
        if result.changes:
            session.requests(answers)
            result.result = "changed"

    if desired.mon_compte is not None:
        outcome.mon_compte = _each("mon_compte", apply_mon_compte)
    for structure in desired.structures:
        outcome.structures.append(_each(structure.identifiant, lambda r, s=structure: _apply_one(session, s, r)))
    if desired.rattachements or desired.abonnements:
        outcome.requests = _each("demandes", apply_requests)
    return outcome


def _apply_one(session: PortalSession, structure: StructureState, result: StructureResult) -> None:
    result.changes = diff.structure_changes(structure, session.read_structure(structure.identifiant))
    if not result.changes:
        logger.info("{} : rien à changer", structure.identifiant)
        return
    logger.info("{} : {} changement(s)", structure.identifiant, len(result.changes))
    session.write_structure(structure.identifiant, result.changes)
    _verify(diff.structure_changes(structure, session.read_structure(structure.identifiant)))
    result.result = "changed"


def _verify(remaining: list[diff.Change]) -> None:
    if remaining:
        shown = "; ".join(c.describe() for c in remaining)
        raise RobotError(f"le portail n'affiche pas ce qui a été demandé après l'enregistrement : {shown}")


# ---------------------------------------------------------------- export


def export(session: PortalSession, desired: DesiredState) -> dict[str, Any]:
    """The account's current state, in the desired-state format (empty fields left out)."""
    document: dict[str, Any] = {"account": desired.account.model_dump()}
    document["mon_compte"] = _without_empty(session.mon_compte())
    document["structures"] = []
    for identifiant in session.identifiants():
        current = session.read_structure(identifiant)
        document["structures"].append({"identifiant": identifiant, **_without_empty(current)})
    return document


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ("", None, {})}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value

"""`chorus-robot run`: one flow, one browser context, the captured passwords into the journal, then the vault.

Nothing is reset that cannot be kept: before a browser starts, the vault must be readable (valid or absent)
and writable with its lock, and the journal must open. Passwords an earlier run left in the journal only
are stored in the vault first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger
from playwright.sync_api import Browser

from robots.browser.portal_context import BrowserOptions, new_portal_context, open_browser
from robots.config import Config, Environment
from robots.engine.preflight import preflight
from robots.engine.runner import RunResult, runner_on
from robots.engine.steps.context import CredentialSink, StepObserver
from robots.errors import BadInput, JournalWriteFailed, PasswordNotInVault, RobotError, StorageFailed
from robots.language.catalogue import Catalogue
from robots.language.files import load_flow, secret_variables
from robots.language.layers import effective_flow
from robots.language.model import Flow
from robots.language.secret_needs import needed_secrets
from robots.language.validation import require_valid
from robots.secrets import SecretProvider, withhold
from robots.store.journal import Journal
from robots.store.sealed import refuse_if_sealed
from robots.store.sink import JournalSink, store_pending
from robots.store.vault import Vault
from robots.store.vaults import open_vault
from robots.support.parsers import SIRET_KEY_WRONG, siret_problem

if TYPE_CHECKING:
    from robots.jobs.replay.recording import Recorder, RecordOptions


@dataclass
class RunRequest:
    flow: Path
    env_name: str = "mock"
    portal_url: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    vault_path: Path | None = None
    journal_path: Path | None = None
    # False for commands that only look (probe): no vault or journal is needed.
    keeps_credentials: bool = True
    secret_env: dict[str, str] = field(default_factory=dict)
    # Secrets obtained when a step uses them (the second-factor code): name → function.
    secret_sources: dict[str, Callable[[], str]] = field(default_factory=dict)
    browser: BrowserOptions = BrowserOptions()
    observers: list[StepObserver] = field(default_factory=list)
    # None: nothing recorded; RecordOptions(): a failed run keeps its trace and screenshot.
    record: RecordOptions | None = None


@dataclass
class Prepared:
    config: Config
    environment: Environment
    catalogue: Catalogue
    flow: Flow
    scope: dict[str, Any]
    vault: Vault
    journal_path: Path


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise BadInput(f"--var « {pair} » : nom=valeur attendu (un nom en minuscules)")
        values[name] = value
    return values


def flow_inputs(flow: Flow, given: dict[str, str], flow_file: Path) -> dict[str, str]:
    """The flow's inputs: given values checked against their pattern, defaults for the rest."""
    values = dict(given)
    for name, spec in flow.inputs.items():
        if name not in values:
            if spec.default is None:
                raise BadInput(
                    f"{flow_file} : l'entrée « {name} » est obligatoire : --var {name}=… ({spec.description})"
                )
            values[name] = spec.default
        if spec.pattern and not re.fullmatch(spec.pattern, values[name]):
            hint = spec.pattern_message or f"motif attendu {spec.pattern}"
            raise BadInput(f"{flow_file} : l'entrée « {name} » = « {values[name]} » n'est pas valide : {hint}")
        if spec.siret and (problem := siret_problem(values[name])):
            hint = SIRET_PROBLEMS[problem]
            raise BadInput(f"{flow_file} : l'entrée « {name} » = « {values[name]} » n'est pas valide : {hint}")
    return values


SIRET_PROBLEMS = {
    "format": "un SIRET a 14 chiffres",
    "key": SIRET_KEY_WRONG,
}


def require_secrets(flow: Flow, inputs: dict[str, str], request: RunRequest) -> None:
    """Every secret the run will certainly type is there, before a browser starts or the journal notes a run."""
    missing = []
    for name, declared_env in needed_secrets(flow, request.flow, inputs):
        if name in request.secret_sources:
            continue  # asked for when its screen comes (a second-factor code)
        env_name = request.secret_env.get(name, declared_env)
        try:
            SecretProvider({name: env_name} if env_name else {}).get(name)
        except BadInput as exc:
            missing.append(str(exc))
    if missing:
        raise BadInput(f"{request.flow} : " + " ; ".join(dict.fromkeys(missing)))


def prepare(request: RunRequest) -> Prepared:
    """Everything checked before a browser starts: configuration, catalogue, flow, inputs."""
    request.flow = effective_flow(request.flow)  # the working directory's flow at the same place, if it has one
    checked = preflight(request.env_name, request.portal_url)
    config, environment, catalogue = checked.config, checked.environment, checked.catalogue
    flow = load_flow(request.flow)
    withhold([*secret_variables(request.flow), *request.secret_env.values()])  # never in a child's environment
    inputs = flow_inputs(flow, request.variables, request.flow)
    if "entry" in inputs:
        environment.check_entry(inputs["entry"], request.env_name)
    require_valid(request.flow, catalogue, known=set(inputs))
    require_secrets(flow, inputs, request)
    scope = {
        **inputs,
        "env": environment.model_dump(),
        "settings": config.settings.model_dump(mode="json"),
    }
    vault = open_vault(config, request.vault_path)
    vault.describe(api_url=environment.api_url)
    journal_path = request.journal_path or config.resolve(config.settings.journal)
    if request.keeps_credentials:
        vault.check()
        journal = Journal(journal_path)
        try:
            refuse_if_sealed(vault, inputs.get("structure"), journal)
        finally:
            journal.close()
    return Prepared(config, environment, catalogue, flow, scope, vault, journal_path)


def run_in_browser(
    browser: Browser, prepared: Prepared, request: RunRequest, sink: CredentialSink | None = None
) -> RunResult:
    if sink is not None:
        return _run_in_context(browser, prepared, request, sink)
    journal = Journal(prepared.journal_path)
    try:
        run_id = journal.start_run(f"run {request.flow.name}", False)
    except JournalWriteFailed as exc:
        journal.close()
        raise JournalWriteFailed(f"{exc} ; rien n'a été réinitialisé") from None
    result = "interrupted"
    try:
        _store_pending(journal, run_id, prepared.vault)
        journal_sink = JournalSink(journal, prepared.vault, run_id, prepared.config.settings.forbidden_characters)
        try:
            done = _run_in_context(browser, prepared, request, journal_sink)
        except RobotError:
            result = "failed"
            _tell_where_passwords_are(journal_sink)
            raise
        _store_pending(journal, run_id, prepared.vault, journal_sink)
        _fail_if_journal_failed(journal, journal_sink)
        result = "ok"
        return done
    finally:
        journal.best_effort(journal.finish_run, run_id, result, {})  # never hides what the run ended with
        journal.close()


def _fail_if_journal_failed(journal: Journal, sink: JournalSink) -> None:
    """The flow went to its end, but the journal could not note all of it: exit 1, saying where each password is."""
    if journal.failure is None:
        return
    kept = sink.whereabouts()
    raise StorageFailed(
        f"{journal.failure} ; la procédure est allée au bout"
        + (f" ; mots de passe générés : {kept}" if kept else " ; aucun mot de passe généré")
        + ". Libérez de la place (ou rendez le disque accessible en écriture) avant la prochaine exécution."
    )


def _store_pending(journal: Journal, run_id: int, vault: Vault, sink: JournalSink | None = None) -> None:
    """Stores what the journal holds for this vault; after a run, fails if a password is still not there."""
    stored, failing = store_pending(journal, run_id, vault)
    if sink is None:
        return
    for key in stored:
        sink.vault_failures.pop(key, None)
    if sink.vault_failures:
        where = "; ".join(f"structure {key} : {why}" for key, why in sink.vault_failures.items())
        raise PasswordNotInVault(
            f"mot de passe noté au journal {journal.path} mais pas dans le coffre {vault.path} ({where}). "
            "La prochaine exécution de « run » ou de « renew » l'y rangera une fois le coffre réparé."
        )
    if sink.vault_errors:
        raise RobotError("le coffre n'a pas tout noté : " + "; ".join(sink.vault_errors.values()))


def _tell_where_passwords_are(sink: JournalSink) -> None:
    for key, where in sink.where.items():
        logger.error("Le nouveau mot de passe de la structure {} est {}", key, where)


def _run_in_context(browser: Browser, prepared: Prepared, request: RunRequest, sink: CredentialSink) -> RunResult:
    recorder = _recorder(prepared, request)
    extra = recorder.context_options() if recorder else {}
    context = new_portal_context(browser, **extra)
    error: BaseException | None = None
    try:
        if recorder:
            recorder.start(context)
        runner = runner_on(
            context, prepared.catalogue, prepared.config.settings,
            secrets=SecretProvider(request.secret_env, sources=request.secret_sources), sink=sink,
            observers=[*request.observers, *([recorder] if recorder else [])],
            **({"failures_dir": recorder.dir} if recorder else {}),
        )  # fmt: skip
        return runner.run(request.flow, prepared.scope)
    except BaseException as exc:
        error = exc
        raise
    finally:
        if recorder:
            recorder.finish(context, error, browser)
        context.close()


def _recorder(prepared: Prepared, request: RunRequest) -> Recorder | None:
    """Recording is off unless the request asks for it (`--record`, or failures only)."""
    if request.record is None:
        return None
    from robots.jobs.replay.recording import Recorder as RunRecorder

    return RunRecorder(request.record, prepared.flow, prepared.scope, prepared.catalogue)


def run(request: RunRequest) -> tuple[Prepared, RunResult]:
    """Checks everything, then runs the flow in a browser of its own."""
    prepared = prepare(request)
    with open_browser(request.browser) as browser:
        return prepared, run_in_browser(browser, prepared, request)


def _french(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y %H:%M:%S") if iso else "?"


def summary(result: RunResult, vault: Vault | None = None) -> list[str]:
    """What a person wants to read after a run: never a secret."""
    scope = result.scope
    lines = [f"Procédure « {result.flow.title or result.flow.name} » terminée ({result.steps_run} étapes)."]
    if "structure" in scope:
        row = scope.get("structure_row") or {}
        lines.append(f"Structure : {scope['structure']} {row.get('Raison sociale', '')}".rstrip())
    if "technical_login" in scope:
        lines.append(f"Utilisateur technique : {scope['technical_login']}")
    if "old_expiry" in scope or "new_expiry" in scope:
        old, new = (_french(scope.get(name)) for name in ("old_expiry", "new_expiry"))
        lines.append(f"Expiration du mot de passe : {old} → {new}")
    if "attempt" in scope:
        lines.append(f"Réinitialisations : {scope['attempt']}")
    if vault and "new_password" in scope:
        lines.append(f"Mot de passe rangé dans le coffre : {vault.path} (clé {scope.get('structure')})")
    return lines

"""Checks a flow against the catalogue before anything runs: every problem, with file and line.

Structure (unknown step, missing field) comes from the models; this module adds what only the
whole picture tells: unknown screens and elements, row actions, variables used before they are
set, undeclared secrets, sub-flows that are missing or broken, `${…}` that are no reference, and a
row's columns (`where:`, `${row.column}`) against the table's `columns:` in the catalogue, and where a
secret may go (issue 17): `${secret.…}` and a captured password only into the value of a `fill` or the
`password` of a `store`; no condition on them but the forbidden-characters test.
`unlabelled_steps` lists the steps a person would see without a sentence (warnings, not errors).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from robots.config import Environment, Settings
from robots.errors import BadInput, Problem
from robots.language import conditions
from robots.language import model as m
from robots.language.catalogue import Catalogue
from robots.language.files import parse_flow
from robots.language.layers import effective_flow, sub_flow
from robots.language.variables import column_key, malformed, references
from robots.support.yamlfile import LineDict, LineList

BUILTIN_SCOPES = {"env": set(Environment.model_fields), "settings": set(Settings.model_fields)}


@dataclass
class _Walk:
    catalogue: Catalogue
    path: Path
    defined: set[str]
    secrets: set[str]
    problems: list[Problem] = field(default_factory=list)
    visiting: tuple[Path, ...] = ()
    rows: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # variable → (table, its columns)
    captured: dict[str, str] = field(default_factory=dict)  # variable holding a secret → where it came from
    secret_fields: set[str] = field(default_factory=set)  # elements a secret was typed into

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))


def validate_flow(path: Path, catalogue: Catalogue, known: set[str] | None = None) -> list[Problem]:
    """All problems of the flow at `path` (the working directory's, when it overrides it) and of its sub-flows."""
    path = effective_flow(path)
    walk = _Walk(catalogue, path, set(known or ()), set())
    _check_file(walk, path, walk.defined)
    return walk.problems


def require_valid(path: Path, catalogue: Catalogue, known: set[str] | None = None) -> None:
    problems = validate_flow(path, catalogue, known)
    if problems:
        raise BadInput(f"flow {effective_flow(path)} invalide", problems)


def _check_file(walk: _Walk, path: Path, defined: set[str]) -> None:
    flow, raw, problems = parse_flow(path)
    walk.problems.extend(problems)
    if flow is None:
        flow = _without_broken_steps(raw)  # the other steps are still checked: every problem in one pass
    if flow is None:
        return
    outer_path, outer_secrets = walk.path, walk.secrets
    walk.path, walk.secrets = path, outer_secrets | set(flow.secrets)
    walk.visiting += (path.resolve(),)
    defined |= set(flow.inputs)
    if flow.subject and isinstance(raw, LineDict):
        _refuse_secrets(walk, "subject", flow.subject, raw.key_lines.get("subject"))
    _check_steps(walk, flow.steps, raw.get("steps") if isinstance(raw, dict) else None, defined)
    walk.visiting = walk.visiting[:-1]
    walk.path, walk.secrets = outer_path, outer_secrets


_STEP = TypeAdapter(m.AnyStep)
_PLACEHOLDER = {"log": ""}  # stands for a broken step, so that the others keep their index (and their line)


def _without_broken_steps(raw: Any) -> m.Flow | None:
    """The flow with each step whose structure is wrong (already reported) replaced by a placeholder; None when
    what is wrong lies outside the steps."""
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
        return None
    steps = []
    for step in raw["steps"]:
        try:
            _STEP.validate_python(step)
            steps.append(step)
        except ValidationError:
            steps.append(_PLACEHOLDER)
    try:
        return m.Flow.model_validate({**raw, "steps": steps})
    except ValidationError:
        return None


def _line(raw_list: Any, index: int) -> int | None:
    if isinstance(raw_list, LineList) and index < len(raw_list):
        return raw_list.item_lines[index]
    return None


def _child(raw_step: Any, *keys: str) -> Any:
    node = raw_step
    for key in keys:
        node = node.get(key) if isinstance(node, LineDict) else None
    return node


def _check_steps(walk: _Walk, steps: list[m.Step], raw_steps: Any, defined: set[str]) -> None:
    for index, step in enumerate(steps):
        raw = raw_steps[index] if isinstance(raw_steps, LineList) and index < len(raw_steps) else None
        _check_step(walk, step, raw, _line(raw_steps, index), defined)


def _check_step(walk: _Walk, step: m.Step, raw: Any, line: int | None, defined: set[str]) -> None:
    if isinstance(step, m.Repeat):
        defined.add("attempt")
    _taint(walk, step)
    for template in _templates(step):
        _check_template(walk, template, line, defined)
    match step:
        case m.ExpectScreen(expect_screen=name):
            if walk.catalogue.screen(name) is None:
                walk.problem(line, f"écran inconnu « {name} »{_known_screens(walk, name)}")
        case m.WhichScreen(which_screen=args):
            for name in args.among:
                if walk.catalogue.screen(name) is None:
                    walk.problem(line, f"écran inconnu « {name} »{_known_screens(walk, name)}")
        case m.PickRow(pick_row=args):
            handle = _check_element(walk, args.table, line)
            if handle and args.click and args.click not in handle.element.row_actions:
                walk.problem(line, f"le tableau « {args.table} »{_file(walk, args.table)} n'a pas d'action de ligne "
                                   f"« {args.click} »")  # fmt: skip
            columns = handle.element.columns if handle else []
            for header in args.where if columns else ():
                if column_key(header) not in {column_key(c) for c in columns}:
                    walk.problem(line, f"colonne « {header} » absente du tableau « {args.table} »"
                                       f"{_file(walk, args.table)} "
                                       f"(colonnes : {', '.join(columns)})")  # fmt: skip
            if args.into and columns:
                walk.rows[args.into] = (args.table, columns)
        case m.If(if_=args):
            _check_condition(walk, args.when, line, defined)
            then_defined, else_defined = set(defined), set(defined)
            _check_steps(walk, args.then, _child(raw, "if", "then"), then_defined)
            _check_steps(walk, args.else_, _child(raw, "if", "else"), else_defined)
            defined |= then_defined | else_defined
        case m.Repeat(repeat=args):
            _check_steps(walk, args.steps, _child(raw, "repeat", "steps"), defined)
            _check_condition(walk, args.until, line, defined)
        case m.ForEach(for_each=args):
            _check_defined(walk, args.items, line, defined)
            inner = defined | {args.as_}
            _check_steps(walk, args.steps, _child(raw, "for_each", "steps"), inner)
            defined |= inner - {args.as_}
        case m.ReadFields(read_fields=args) | m.WriteFields(write_fields=args):
            for ref in args.fields.values():
                _check_element(walk, ref, line)
            if isinstance(args, m.WriteFieldsArgs):
                _check_defined(walk, args.values, line, defined)
        case m.Call(call=args):
            defined |= set(args.with_)
            _check_call(walk, args.flow, line, defined)
        case m.Store(store=args) if args.password and args.password not in defined:
            walk.problem(line, f"variable inconnue « {args.password} » (pas définie avant cette étape)")
    ref = _element_of(step)
    if ref:
        _check_element(walk, ref, line)
    _check_secret_places(walk, step, line)
    _check_secret_conditions(walk, step, line)
    defined |= _defines(step)


def _check_defined(walk: _Walk, name: str, line: int | None, defined: set[str]) -> None:
    if name.partition(".")[0] not in defined:
        walk.problem(line, f"unknown variable « {name} » (not an input, nor set before this step)")


def _element_of(step: m.Step) -> str | None:
    if isinstance(step, m.Click):
        return step.click
    element = getattr(step.args, "element", None)  # fill, read…, select, check, solve_captcha
    return element if isinstance(element, str) else None


def _defines(step: m.Step) -> set[str]:
    if isinstance(step, m.WhichScreen):
        return {step.which_screen.into}
    into = getattr(step.args, "into", None)  # read…, pick_row, read_mail
    if isinstance(into, str):
        return {into}
    if isinstance(step, m.SetVars):
        return set(step.set)
    return set()


def _templates(step: m.Step) -> list[str]:
    """Every text of the step where ${...} may appear (nested steps excluded)."""
    return [template for _, template in _named_templates(step)]


def _named_templates(step: m.Step) -> list[tuple[str, str]]:
    """Every text of the step where ${...} may appear, with where it stands: `goto`, `fail.message`, `set.x`…"""
    command, args = step.command, step.args
    if isinstance(args, str):
        return [(command, args)]
    if isinstance(step, m.SetVars | m.PickRow | m.Call):
        texts = step.set if isinstance(step, m.SetVars) else args.where if isinstance(step, m.PickRow) else args.with_
        where = {"set": "set", "pick_row": "pick_row.where", "call": "call.with"}[command]
        return [(f"{where}.{key}", text) for key, text in texts.items()]
    if isinstance(step, m.Repeat):
        texts = [("repeat.max_attempts", str(args.max_attempts))]
        return texts + ([("repeat.on_exhausted.message", args.on_exhausted.message)] if args.on_exhausted else [])
    if isinstance(step, m.If | m.ForEach | m.ReadFields | m.WriteFields):
        return []
    return [(f"{command}.{key}", v) for key, v in args.model_dump().items() if isinstance(v, str)]


def _check_template(walk: _Walk, template: str, line: int | None, defined: set[str]) -> None:
    for written in malformed(template):
        if not written.endswith("}"):
            walk.problem(line, f"« {written} » : « ${{ » sans « }} » qui le ferme (le texte partirait tel quel)")
            continue
        walk.problem(line, f"« {written} » n'est pas une référence : des minuscules, chiffres et « _ », p. ex. "
                           "${ligne.raison_sociale} pour la colonne « Raison sociale »")  # fmt: skip
    for name in references(template):
        head, _, rest = name.partition(".")
        if head in walk.rows and rest and head in defined:
            table, columns = walk.rows[head]
            if rest.split(".")[0] not in {column_key(c) for c in columns}:
                keys = ", ".join(column_key(c) for c in columns)
                walk.problem(
                    line,
                    f"« {name} » : le tableau « {table} »{_file(walk, table)} n'a pas de colonne « {rest} » "
                    f"(colonnes : {keys})",
                )
            continue
        if head == "secret":
            if rest not in walk.secrets:
                walk.problem(line, f"secret inconnu « {rest} » (déclarez-le sous `secrets:`)")
        elif head in BUILTIN_SCOPES:
            if rest not in BUILTIN_SCOPES[head]:
                walk.problem(
                    line, f"variable inconnue « {name} » (connues : {', '.join(sorted(BUILTIN_SCOPES[head]))})"
                )
        elif head not in defined:
            walk.problem(line, f"variable inconnue « {name} » (ni une entrée, ni définie avant cette étape)")


def _check_condition(walk: _Walk, condition: Any, line: int | None, defined: set[str]) -> None:
    match condition:
        case conditions.VarCondition():
            if condition.var.partition(".")[0] not in defined:
                walk.problem(line, f"variable inconnue « {condition.var} » dans la condition")
            for text in (condition.equals, condition.contains_any):
                if text:
                    _check_template(walk, text, line, defined)
        case conditions.VisibleCondition(visible=ref) | conditions.KeptCondition(kept=ref):
            _check_element(walk, ref, line)
        case conditions.ScreenCondition(screen=name) if walk.catalogue.screen(name) is None:
            walk.problem(line, f"écran inconnu « {name} »{_known_screens(walk, name)}")
        case conditions.NotCondition(not_=inner):
            _check_condition(walk, inner, line, defined)
        case conditions.AllCondition(all=inner) | conditions.AnyCondition(any=inner):
            for each in inner:
                _check_condition(walk, each, line, defined)


# ---------------------------------------------------------------- where a secret may go (issue 17)

SECRET_PLACE = "règle « un secret reste à sa place »"
SECRET_CONDITION = "règle « pas de condition sur un secret »"
FORBIDDEN_CHARACTERS_TEST = "${settings.forbidden_characters}"


def _taint(walk: _Walk, step: m.Step) -> None:
    """Variables holding a secret after this step: read from an element the catalogue (`sensitive: true`) or the
    step (`secret: true`) marks secret, or from a field a secret was typed into; set or passed from a secret."""
    match step:
        case m.Read(read=args) if args.secret or _holds_secret(walk, args.element):
            walk.captured[args.into] = f"secret lu sur « {args.element} »"
        case m.ReadFields(read_fields=args):
            for ref in (r for r in args.fields.values() if _holds_secret(walk, r)):
                walk.captured[args.into] = f"secret lu sur « {ref} »"
        case m.Fill(fill=args) if _secrets_in(walk, args.value):
            walk.secret_fields.add(args.element)
        case m.SetVars(set=assigned) | m.Call(call=m.CallArgs(with_=assigned)):
            for name, template in assigned.items():
                if found := _secrets_in(walk, template):
                    walk.captured[name] = f"tiré de ${{{found[0]}}}"


def _holds_secret(walk: _Walk, ref: str) -> bool:
    handle = walk.catalogue.element(ref)
    return ref in walk.secret_fields or bool(handle and handle.element.sensitive)


def _secrets_in(walk: _Walk, template: str) -> list[str]:
    """The secrets a text refers to: `secret.…`, and variables holding a captured password."""
    return list(dict.fromkeys(name for name in references(template) if _is_secret(walk, name)))


def _is_secret(walk: _Walk, name: str) -> bool:
    head = name.partition(".")[0]
    return head == "secret" or head in walk.captured


def _shown(walk: _Walk, name: str) -> str:
    """`${secret.pw}`, or `${new_password} (secret lu sur « … »)`: what the refusal names."""
    origin = walk.captured.get(name.partition(".")[0]) if not name.startswith("secret.") else None
    return f"${{{name}}}" + (f" ({origin})" if origin else "")


def _check_secret_places(walk: _Walk, step: m.Step, line: int | None) -> None:
    """A secret is typed (`fill`, masked in recordings), kept (`store … password:`) or passed to a sub-flow
    (`call … with`, secret there too); never in a URL, a log, a message, a key, a search, a variable."""
    for where, template in _named_templates(step):
        if where != "fill.value" and not where.startswith("call.with."):
            _refuse_secrets(walk, where, template, line)
    if isinstance(step, m.WriteFields | m.ForEach):
        where, name = ("write_fields.values", step.args.values) if isinstance(step, m.WriteFields) else (
            "for_each.items", step.args.items)  # fmt: skip
        _refuse_secrets(walk, where, f"${{{name}}}", line)


def _refuse_secrets(walk: _Walk, where: str, template: str, line: int | None) -> None:
    for name in _secrets_in(walk, template):
        walk.problem(line, f"{SECRET_PLACE} : {_shown(walk, name)} dans `{where}` ; un secret ne va que dans "
                           "la valeur d'un `fill` ou le `password` d'un `store`")  # fmt: skip


def _check_secret_conditions(walk: _Walk, step: m.Step, line: int | None) -> None:
    """A condition on a secret reveals it piece by piece: only the forbidden-characters test is allowed."""
    condition = step.if_.when if isinstance(step, m.If) else step.repeat.until if isinstance(step, m.Repeat) else None
    for test in _var_conditions(condition):
        on_secret = _is_secret(walk, test.var) and not _is_forbidden_characters_test(test)
        against = [name for text in (test.equals, test.contains_any) if text for name in _secrets_in(walk, text)]
        if on_secret or against:
            tested = _shown(walk, test.var) if on_secret else f"« {test.var} » comparée à {_shown(walk, against[0])}"
            walk.problem(line, f"{SECRET_CONDITION} : {tested} ; une condition révèle un secret morceau par "
                               f"morceau, seul le test des caractères interdits est permis : "
                               f"{{var: {test.var}, contains_any: \"{FORBIDDEN_CHARACTERS_TEST}\"}}")  # fmt: skip


def _var_conditions(condition: Any) -> list[conditions.VarCondition]:
    match condition:
        case conditions.VarCondition():
            return [condition]
        case conditions.NotCondition(not_=inner):
            return _var_conditions(inner)
        case conditions.AllCondition(all=inner) | conditions.AnyCondition(any=inner):
            return [test for each in inner for test in _var_conditions(each)]
    return []


def _is_forbidden_characters_test(test: conditions.VarCondition) -> bool:
    others = (test.equals, test.matches, test.is_set, test.empty)
    return test.contains_any == FORBIDDEN_CHARACTERS_TEST and all(value is None for value in others)


def _check_element(walk: _Walk, ref: str, line: int | None):  # type: ignore[no-untyped-def]
    handle = walk.catalogue.element(ref)
    if handle is None:
        screen_name, _, element_name = ref.partition(".")
        screen = walk.catalogue.screen(screen_name)
        if screen is None:
            walk.problem(line, f"écran inconnu « {screen_name} » dans « {ref} »{_known_screens(walk, screen_name)}")
        else:
            where = walk.catalogue.file_of(screen_name)
            walk.problem(line, f"élément inconnu « {element_name} » sur l'écran « {screen_name} »{where}"
                               f"{_nearest(element_name, screen.elements)}")  # fmt: skip
    return handle


def _file(walk: _Walk, ref: str) -> str:
    """« (selectors/x.yaml) »: the file the screen of `ref` came from (an override's path when it is one)."""
    return walk.catalogue.file_of(ref.partition(".")[0])


def _check_call(walk: _Walk, target: str, line: int | None, defined: set[str]) -> None:
    path = sub_flow(walk.path, target)
    if not path.is_file():
        walk.problem(line, f"sous-flow « {target} » introuvable ({path})")
    elif path in walk.visiting:
        walk.problem(line, f"le sous-flow « {target} » s'appelle lui-même")
    else:
        _check_file(walk, path, defined)


def _known_screens(walk: _Walk, name: str = "") -> str:
    return _nearest(name, walk.catalogue.screens)


def _nearest(name: str, known: Iterable[str]) -> str:
    """« (vouliez-vous dire … ?) » with the closest names, else the list when it is short; nothing otherwise."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return f" (vouliez-vous dire {' ou '.join(f'« {c} »' for c in close)} ?)"
    if len(known) <= 8:
        return f" (connus : {', '.join(known)})"
    return f" ({len(known)} connus : `chorus-robot screens` les liste)"


def unlabelled_steps(path: Path) -> list[Problem]:
    """Steps without `label:` in the flow at `path`: logs, prompts and procedures show them as code."""
    flow, raw, _ = parse_flow(path)
    if flow is None:
        return []
    found: list[Problem] = []

    def walk(steps: list[m.Step], raw_steps: Any) -> None:
        for index, step in enumerate(steps):
            raw_step = raw_steps[index] if isinstance(raw_steps, LineList) and index < len(raw_steps) else None
            if not step.label:
                found.append(Problem(path, _line(raw_steps, index), f"étape « {step.command} » sans label"))
            if isinstance(step, m.If):
                walk(step.if_.then, _child(raw_step, "if", "then"))
                walk(step.if_.else_, _child(raw_step, "if", "else"))
            elif isinstance(step, m.Repeat):
                walk(step.repeat.steps, _child(raw_step, "repeat", "steps"))

    walk(flow.steps, raw.get("steps") if isinstance(raw, dict) else None)
    return found

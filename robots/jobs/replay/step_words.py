"""Step mode's words: what a step looks for and what it read, as a person says it.

Screens by their title in the catalogue (« Activités du gestionnaire »), elements by what they are
and what they show (« bouton « connexion » »), never by their catalogue keys; a row of a table by the
values sought (« ligne de la structure 21300351900013 dans « Mes structures » »). A value read from
a sensitive element, or a secret, is masked: step mode never shows a password.
"""

from __future__ import annotations

from typing import Any

from robots.engine.runner import target_ref
from robots.engine.steps.context import StepContext
from robots.errors import RobotError
from robots.language import model as m
from robots.language.catalogue import Element, ElementHandle
from robots.language.model import Step
from robots.secrets import MASK, REDACTOR

KINDS = {
    "field": "champ", "button": "bouton", "link": "lien", "text": "texte", "table": "tableau", "block": "bloc",
    "dialog": "fenêtre", "checkbox": "case à cocher", "select": "liste",
}  # fmt: skip
SHOWN_CELLS = 3  # a row read is shown by its first cells
SHOWN_CHARS = 80
ROW_NAMES = ("raison sociale", "désignation", "nom", "libellé")  # the column that names a row, for people


def element_name(handle: ElementHandle) -> str:
    """« bouton « connexion » »: the element's kind and what a person sees of it."""
    element = handle.element
    return f"{KINDS.get(element.kind, 'élément')} « {_visible_name(element) or handle.name.replace('_', ' ')} »"


def _visible_name(element: Element) -> str | None:
    if element.description:
        return element.description
    for spec in element.find:
        for key in ("name", "label", "text", "placeholder", "title", "block"):
            value = getattr(spec, key)
            if value:
                return str(value)
    return None


def sought(ctx: StepContext, step: Step, found: bool) -> list[str]:
    """The lines said before the step: the screen, what is sought on it, what will be typed."""
    if isinstance(step, m.ExpectScreen):
        screen = ctx.catalogue.screen(step.expect_screen)
        return [f"écran attendu : « {screen.title if screen else step.expect_screen} »"]
    if isinstance(step, m.WhichScreen):
        titles = [s.title for s in (ctx.catalogue.screen(n) for n in step.which_screen.among) if s]
        return ["un de ces écrans : " + ", ".join(f"« {t} »" for t in titles)]
    if isinstance(step, m.GoTo):
        return [f"adresse : {_text(ctx, step.goto)}"]
    ref = target_ref(step)
    handle = ctx.catalogue.element(ref) if ref else None
    if handle is None:
        return []
    lines = [f"écran « {handle.screen.title} »"]
    if isinstance(step, m.PickRow):
        lines.append(f"cherché : {_row_sought(ctx, step, handle)}")
        if step.pick_row.click:
            lines.append(f"puis : « {step.pick_row.click} » sur cette ligne")
    else:
        lines.append(f"cherché : {element_name(handle)}" + ("" if found else " (introuvable pour l'instant)"))
    if isinstance(step, m.Fill):
        secret = "${secret." in step.fill.value or handle.element.sensitive
        lines.append(f"à saisir : {MASK if secret else '« ' + _text(ctx, step.fill.value) + ' »'}")
    return lines


def _row_sought(ctx: StepContext, step: m.PickRow, handle: ElementHandle) -> str:
    """« ligne de la structure 21300351900013 dans « Mes structures » »."""
    where = {column: _text(ctx, value) for column, value in step.pick_row.where.items()}
    table = f"« {_visible_name(handle.element) or handle.name} »"
    if len(where) == 1:
        ((column, value),) = where.items()
        words = column.split()
        if len(words) == 2 and words[0].casefold() == "identifiant":
            return f"ligne de la {words[1]} {value} dans {table}"
    return "ligne où " + ", ".join(f"{c} = « {v} »" for c, v in where.items()) + f" dans {table}"


def values_read(ctx: StepContext, step: Step) -> list[str]:
    """The lines said after a step that read something: the value, masked when secret."""
    args = step.args
    into = getattr(args, "into", None)
    if not into or into not in ctx.scope or isinstance(step, m.PickRow):
        return []  # pick_row: the row found was said as it was found
    value = ctx.scope[into]
    if isinstance(step, m.WhichScreen):
        screen = ctx.catalogue.screen(str(value))
        return [f"écran reconnu : « {screen.title if screen else value} »"]
    if isinstance(step, m.Read):
        handle = ctx.catalogue.element(args.element)
        secret = args.secret or bool(handle and handle.element.sensitive)
        return [f"valeur lue : {MASK if secret else shown(value)}"]
    if isinstance(step, m.ReadFields):
        return ["valeurs lues : " + ", ".join(_field(ctx, k, args.fields[k], v) for k, v in dict(value).items())]
    if isinstance(step, m.ReadBlock):
        return ["lu : " + ", ".join(f"{k} {shown(v)}" for k, v in list(dict(value).items())[:SHOWN_CELLS])]
    if isinstance(step, m.ReadTable):
        return [f"lu : {len(value)} ligne(s)"]
    return []


def _field(ctx: StepContext, key: str, ref: str, value: Any) -> str:
    handle = ctx.catalogue.element(ref)
    return f"{key} {MASK if handle and handle.element.sensitive else shown(value)}"


def row_cells(cells: dict[str, str]) -> str:
    """The first cells of a row: « Identifiant structure « 213… », Raison sociale « … » »."""
    return ", ".join(f"{c} {shown(v)}" for c, v in list(cells.items())[:SHOWN_CELLS] if v)


def shown(value: Any) -> str:
    """A value read, as step mode prints it: quoted, shortened, never a secret the run knows."""
    text = " ".join(REDACTOR.redact(str(value)).split())
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return f"« {text} »"


def _text(ctx: StepContext, template: str) -> str:
    try:
        return REDACTOR.redact(ctx.text(template))
    except RobotError:
        return template


def row_summary(step: Step, cells: dict[str, str]) -> str:
    """The columns a person recognises the row by: those the step looks for, and the row's name."""
    wanted = [c for c in cells if any(c.casefold() == w.casefold() for w in getattr(step.args, "where", {}))]
    named = [c for c in cells if c.casefold() in ROW_NAMES and c not in wanted][:1]
    return ", ".join(f"{c} « {cells[c]} »" for c in (*wanted, *named) if cells[c])

"""`docs/reference.md`, generated from the code so it cannot drift: every command with its options
and defaults, every step and condition with its keys, the parsers, the variables a flow can read,
and the keys of a selector file. `chorus-robot reference` rewrites it; a test checks it is current.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from robots.config import PROJECT_ROOT
from robots.errors import EXIT_OK
from robots.language import conditions
from robots.language import model as m

PROJECT = PROJECT_ROOT
REFERENCE_FILE = PROJECT / "docs" / "reference.md"

INTRO = """# Référence de chorus-robot

Page générée par `chorus-robot reference` à partir du code (modèles des flows et du catalogue,
options des commandes) : ne pas la modifier à la main. Le schéma JSON des flows
(`schema/flow.schema.json`) donne la complétion dans l'éditeur ; `chorus-robot validate` vérifie
un flow contre le catalogue avant toute exécution.
"""

NOTES = """## Bon à savoir

- `read_table` désigne son tableau par `element:`, `pick_row` par `table:` (les deux : `écran.élément`).
- Le chemin d'un sous-flow (`call: {flow: …}`) est relatif au dossier du fichier qui l'appelle.
- Une ligne de tableau (`pick_row … into: ligne`) se lit colonne par colonne par l'en-tête écrit en
  minuscules, sans accents, `_` pour les espaces : « Raison sociale » → `${ligne.raison_sociale}`,
  « Date de création » → `${ligne.date_de_creation}`. Quand le catalogue donne les `columns:` du
  tableau, `validate` vérifie `where:` et `${ligne.…}`.
- Une étape sans `label:` est signalée par `validate` : les journaux, le mode pas à pas et les
  procédures n'ont alors que la commande à montrer.
- `run` accepte un fichier (`flows/reset_technical_password.yaml`) ou un nom de flow
  (`reset_technical_password`, cherché dans `flows/` puis `flows/common/`).
- Un secret reste à sa place : `${secret.…}` et un mot de passe lu (`read` d'un élément `sensitive: true`
  ou avec `secret: true`, d'un champ où un secret a été tapé, ou variable tirée d'un secret par `set` ou
  `call … with`) ne vont que dans la valeur d'un `fill` ou le `password:` d'un `store` (et passent à un
  sous-flow par `with`, secrets là aussi) ; jamais dans un `goto`, un `log`, un `set`, un message, un
  `subject`, une clé, un `where:`. La seule condition permise sur eux est le test des caractères
  interdits : `{var: new_password, contains_any: "${settings.forbidden_characters}"}`. `validate`, et
  donc chaque exécution, refuse le reste (fichier, ligne, règle ; code 2).
"""


def reference_text(parser: argparse.ArgumentParser) -> str:
    """The page, from the command line's parser (given by the command line: this module never imports it back)."""
    parts = [INTRO, _commands(parser), _flow_file(), _steps(), _conditions(), _variables(), _parsers(),
             _catalogue(), _roster(), _desired_state(), NOTES]  # fmt: skip
    return "\n".join(parts).rstrip() + "\n"


def register(commands: argparse._SubParsersAction, parser: argparse.ArgumentParser) -> None:
    """`parser`: the whole command line, every command with its options (what the page documents)."""
    reference = commands.add_parser("reference", help="écrire la page de référence docs/reference.md")
    reference.add_argument("--output", help="fichier à écrire (défaut : docs/reference.md ; - pour la sortie standard)")
    reference.set_defaults(handler=lambda args: write_reference(parser, Path(args.output) if args.output else None))


def write_reference(parser: argparse.ArgumentParser, output: Path | None) -> int:
    target = output or REFERENCE_FILE
    text = reference_text(parser)
    if target == Path("-"):
        print(text, end="")
        return EXIT_OK
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"écrit : {target}")
    return EXIT_OK


# ---------------------------------------------------------------- commands


def _commands(parser: argparse.ArgumentParser) -> str:
    lines = ["## Commandes", "", "Options communes : `--version`, `-v/--verbose`, `-q/--quiet` (avant ou après la "
             "sous-commande). `NO_COLOR` coupe les couleurs.", ""]  # fmt: skip
    for name, sub in _subcommands(parser):
        lines += [f"### `chorus-robot {name}`", "", _help_of(parser, name), ""]
        rows = [_option_row(a) for a in sub._actions if a.help != argparse.SUPPRESS and not _is_common(a)]
        if rows:
            lines += ["| argument | rôle | défaut |", "| --- | --- | --- |", *rows, ""]
    lines += [_exit_codes(), ""]
    return "\n".join(lines)


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _subcommands(sub, f"{prefix}{name} ")
                found += nested or [(f"{prefix}{name}", sub)]
    return found


def _help_of(parser: argparse.ArgumentParser, dotted: str) -> str:
    node, text = parser, ""
    for word in dotted.split():
        action = next(a for a in node._actions if isinstance(a, argparse._SubParsersAction))
        text = next((c.help for c in action._choices_actions if c.dest == word), "") or ""
        node = action.choices[word]
    description = node.description or ""
    return (text[:1].upper() + text[1:] + ".") + (f" {description}" if description else "")


def _is_common(action: argparse.Action) -> bool:
    return bool({"-h", "-v", "-q"} & set(action.option_strings))


def _option_row(action: argparse.Action) -> str:
    name = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.metavar or action.dest}`"
    default = action.default
    if isinstance(default, str) and default.startswith(str(PROJECT)):
        default = str(Path(default).relative_to(PROJECT))  # the same page on every machine
    shown = "" if default in (None, False, [], argparse.SUPPRESS) else f"`{default}`"
    if action.required:
        shown = "obligatoire"
    text = (action.help or "").replace("|", "\\|")
    return f"| {name} | {text} | {shown} |"


def _exit_codes() -> str:
    from robots.language.conventions import EXIT_CODES

    return EXIT_CODES


# ---------------------------------------------------------------- flows


def _steps() -> str:
    lines = ["## Étapes d'un flow", "", "Chaque étape a une commande et, de préférence, un `label:` (la phrase "
             "qu'une procédure imprime).", ""]  # fmt: skip
    for step_type in m.STEP_TYPES:
        field = step_type.model_fields[step_type.field_name()]
        lines += [f"### `{step_type.command}`", ""]
        if field.description:
            lines += [field.description, ""]
        lines += _shape(field.annotation, step_type.command)
    return "\n".join(lines)


def _conditions() -> str:
    lines = ["## Conditions (`if: {when: …}`, `repeat: {until: …}`)", ""]
    c = conditions
    for model in (c.VarCondition, c.VisibleCondition, c.ScreenCondition, c.KeptCondition, c.NotCondition,
                  c.AllCondition, c.AnyCondition):  # fmt: skip
        key = next(iter(model.model_fields.values())).alias or next(iter(model.model_fields))
        lines += [f"### `{key}`", ""]
        if model.__doc__:
            lines += [" ".join(model.__doc__.split()), ""]
        lines += _fields_table(model)
    return "\n".join(lines)


def _variables() -> str:
    from robots.config import Environment, Settings

    env = ", ".join(f"`{n}`" for n in Environment.model_fields)
    settings = ", ".join(f"`{n}`" for n in Settings.model_fields)
    return "\n".join([
        "## Variables (`${…}`)", "",
        "- `${nom}` : une entrée du flow (`inputs:`) ou une variable posée avant l'étape (`into:`, `set:`).",
        f"- `${{env.…}}` : l'environnement de config/robot.yaml : {env}.",
        f"- `${{settings.…}}` : les réglages : {settings}.",
        "- `${secret.NOM}` : un secret déclaré sous `secrets:` (lu dans l'environnement ou `.env`).",
        "- `${ligne.colonne}` : une colonne d'une ligne de tableau (voir « Bon à savoir »).",
        "- `${attempt}` : dans `repeat`, le numéro de la tentative.", "",
    ])  # fmt: skip


def _parsers() -> str:
    from robots.support.parsers import PARSERS

    lines = ["## Lectures (`read: {parse: …}`)", ""]
    for name, parser in PARSERS.items():
        doc = " ".join((parser.__doc__ or "").split())
        lines.append(f"- `{name}`" + (f" : {doc}" if doc else ""))
    return "\n".join([*lines, ""])


# ---------------------------------------------------------------- catalogue and roster


def _catalogue() -> str:
    from robots.language.catalogue import Element, Locator, Screen

    lines = ["## Fichiers de sélecteurs (`selectors/<écran>.yaml`)", "", "### Écran", ""]
    lines += _fields_table(Screen)
    lines += ["### Élément (`elements:`)", ""] + _fields_table(Element)
    lines += ["### Sélecteur (`find:`, `recognise:`, `next_page:`, `row_actions:`)", ""]
    lines += [" ".join((Locator.__doc__ or "").split()), ""] + _fields_table(Locator)
    return "\n".join(lines)


def _roster() -> str:
    from robots.jobs.renewal.roster import Roster

    return "\n".join(["## Registre du travail de nuit (`renew --roster`)", "", *_model_sections(Roster)])


def _flow_file() -> str:
    from robots.language.model import Flow

    lines = [
        "## Fichier de flow (`flows/*.yaml`)",
        "",
        "Les clés d'un fichier de flow ; `steps:` est décrit ensuite.",
        "",
    ]
    return "\n".join(lines + _model_sections(Flow, skip=("steps",)))


def _desired_state() -> str:
    from robots.jobs.parametrage.model import DesiredState

    title = "## État voulu d'un compte et de ses structures (`plan`, `apply`, `export`)"
    return "\n".join([title, "", *_model_sections(DesiredState)])


# French names of the models a file's keys hold: what the reference calls them, instead of the class name.
MODEL_TITLES = {
    "Account": "Compte (`accounts:`)", "StructureEntry": "Structure d'un compte (`structures:`)",
    "EmailDelivery": "Livraison par courriel (`deliver:`)", "CommandDelivery": "Livraison par commande (`deliver:`)",
    "InputSpec": "Entrée (`inputs:`)", "SecretSpec": "Secret (`secrets:`)",
    "AccountRef": "Compte (`account:`)", "MonCompte": "Mon compte (`mon_compte:`)",
    "RequestPolicy": "Demandes (`rattachements:`, `abonnements:`)", "StructureState": "Structure (`structures:`)",
    "Adresse": "Adresse (`adresse:`)", "Informations": "Informations générales (`informations:`)",
    "CoordonneesBancaires": "Coordonnées bancaires", "Service": "Service (`services:`)",
    "Utilisateur": "Utilisateur (`utilisateurs:`)", "Parametres": "Paramètres (`parametres:`)",
}  # fmt: skip


def _model_sections(root: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    """The model's keys, then those of every model its keys hold, each once, under its French name."""
    lines, seen, waiting = [], set(), [root]
    while waiting:
        model = waiting.pop(0)
        if model in seen:
            continue
        seen.add(model)
        if model is not root:
            lines += [f"### {_model_title(model)}", ""]
        lines += _fields_table(model, skip if model is root else ())
        for name, field in model.model_fields.items():
            if not (model is root and name in skip):
                waiting += [m for m in _models_in(field.annotation) if m not in seen]
    return lines


def _model_title(model: type[BaseModel]) -> str:
    return MODEL_TITLES.get(model.__name__, model.__name__)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [found for arg in typing.get_args(annotation) for found in _models_in(arg)]


# ---------------------------------------------------------------- models


def _shape(annotation: Any, key: str) -> list[str]:
    model = _model_in(annotation)
    if model is None:
        return [f"`{key}: {_type_name(annotation)}`", ""]
    return _fields_table(model)


def _fields_table(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    rows = ["| clé | type | obligatoire | rôle |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        key = field.alias or name
        required = "oui" if field.is_required() else ""
        text = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_name(field.annotation)} | {required} | {text} |")
    return [*rows, ""]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, tuple):
        return f"liste de {_type_name(args[0])}" if args else "liste"
    if origin is dict:
        return f"dictionnaire {_type_name(args[0])} → {_type_name(args[1])}" if len(args) == 2 else "dictionnaire"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"« {_model_title(annotation).split(' (')[0]} » (ci-dessous)"
    if isinstance(annotation, type):
        return {"str": "texte", "bool": "booléen", "int": "entier", "float": "nombre"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation).replace("typing.", "")

"""The conditions of `if`, `repeat … until` and `check`: one small immutable model each, one tagged union."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag

from robots.language.types import ElementRef, ScreenName, Template, VarPath
from robots.support.frozen_model import Model


class VarCondition(Model):
    """Compares a variable: `{var: entry, equals: chorus}`, `{var: pwd, contains_any: "/"}`."""

    var: VarPath
    equals: Template | None = None
    contains_any: Template | None = None
    matches: str | None = Field(None, description="A regular expression the value must match")
    is_set: bool | None = None
    empty: bool | None = Field(None, description="true: the variable is unset, empty text or an empty list")


class VisibleCondition(Model):
    """True when the element is on the page now: `{visible: dgfip_authentification.erreur}`."""

    visible: ElementRef


class ScreenCondition(Model):
    """True when the page now shown is that screen: `{screen: modification_structure}`."""

    screen: ScreenName


class KeptCondition(Model):
    """True when the table's page where its last row was found is kept, by its address (`renew`: « Mes structures »
    is reopened on that page for each structure, as a person keeps it open in a tab of its own):
    `{kept: activites_gestionnaire.mes_structures}`. The steps that only lead to the table can then be skipped; a row
    not found from the kept page is searched again from the table's first page."""

    kept: ElementRef


class NotCondition(Model):
    not_: Condition = Field(alias="not")


class AllCondition(Model):
    all: list[Condition]


class AnyCondition(Model):
    any: list[Condition]


def tag_of(keys: tuple[str, ...]):  # noqa: ANN201 - pydantic's callable discriminator
    def tag(value: Any) -> str | None:
        if isinstance(value, dict):
            found = [k for k in keys if k in value]
            return found[0] if len(found) == 1 else None
        found = [k for k in keys if hasattr(value, k) or hasattr(value, k + "_")]
        return found[0] if found else None

    return tag


_CONDITION_KEYS = ("var", "visible", "screen", "kept", "not", "all", "any")
Condition = Annotated[
    Annotated[VarCondition, Tag("var")]
    | Annotated[VisibleCondition, Tag("visible")]
    | Annotated[ScreenCondition, Tag("screen")]
    | Annotated[KeptCondition, Tag("kept")]
    | Annotated[NotCondition, Tag("not")]
    | Annotated[AllCondition, Tag("all")]
    | Annotated[AnyCondition, Tag("any")],
    Discriminator(
        tag_of(_CONDITION_KEYS),
        custom_error_type="unknown_condition",
        custom_error_message="une condition demande exactement une clé parmi : " + ", ".join(_CONDITION_KEYS),
    ),
]


for _model in (NotCondition, AllCondition, AnyCondition):  # conditions nest
    _model.model_rebuild()

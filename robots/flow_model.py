"""The flow language: one small immutable model per step and per condition.

A flow is a YAML list of steps; each step is a mapping with exactly one command key (`click`,
`fill`, `pick_row`...) and an optional `label`, the sentence a person would read in a procedure.
The JSON Schema editors use (`chorus-robot schema`) is generated from these models, so the two
cannot drift. What each step does lives in `robots/steps/`, one module per theme; the dispatcher
is `robots/steps/__init__.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

ElementRef = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"),
    Field(description="`screen.element`, as named in selectors/<screen>.yaml"),
]
ScreenName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
VarName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")]
Template = Annotated[str, Field(description="Text where ${name} is replaced by a variable's value")]
Parser = Literal["text", "french_date", "french_datetime", "integer"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---------------------------------------------------------------- conditions


class VarCondition(Model):
    """Compares a variable: `{var: entry, equals: chorus}`, `{var: pwd, contains_any: "/"}`."""

    var: VarName
    equals: Template | None = None
    contains_any: Template | None = None
    matches: str | None = Field(None, description="A regular expression the value must match")
    is_set: bool | None = None


class VisibleCondition(Model):
    """True when the element is on the page now: `{visible: dgfip_authentification.erreur}`."""

    visible: ElementRef


class ScreenCondition(Model):
    """True when the page now shown is that screen: `{screen: modification_structure}`."""

    screen: ScreenName


class NotCondition(Model):
    not_: Condition = Field(alias="not")


class AllCondition(Model):
    all: list[Condition]


class AnyCondition(Model):
    any: list[Condition]


def _tag_of(keys: tuple[str, ...]):
    def tag(value: Any) -> str | None:
        if isinstance(value, dict):
            found = [k for k in keys if k in value]
            return found[0] if len(found) == 1 else None
        found = [k for k in keys if hasattr(value, k) or hasattr(value, k + "_")]
        return found[0] if found else None

    return tag


_CONDITION_KEYS = ("var", "visible", "screen", "not", "all", "any")
Condition = Annotated[
    Annotated[VarCondition, Tag("var")]
    | Annotated[VisibleCondition, Tag("visible")]
    | Annotated[ScreenCondition, Tag("screen")]
    | Annotated[NotCondition, Tag("not")]
    | Annotated[AllCondition, Tag("all")]
    | Annotated[AnyCondition, Tag("any")],
    Discriminator(
        _tag_of(_CONDITION_KEYS),
        custom_error_type="unknown_condition",
        custom_error_message="a condition needs exactly one of: " + ", ".join(_CONDITION_KEYS),
    ),
]


# ---------------------------------------------------------------- step arguments


class FillArgs(Model):
    element: ElementRef
    value: Template = Field(description="Text to type; ${secret.NAME} for a secret")


class ReadArgs(Model):
    element: ElementRef
    into: VarName
    parse: Parser = "text"
    secret: bool = Field(False, description="The value is a secret (also implied by a sensitive element)")


class ReadBlockArgs(Model):
    element: ElementRef = Field(description="A block (panel) of the screen")
    into: VarName


class ReadTableArgs(Model):
    element: ElementRef = Field(description="A table of the screen")
    into: VarName
    all_pages: bool = True


class PickRowArgs(Model):
    table: ElementRef
    where: dict[str, Template] = Field(description="Column header → value the row must hold")
    click: str | None = Field(None, description="A row action of the table, e.g. `modifier`")
    into: VarName | None = Field(None, description="Variable receiving the row as a mapping")


class IfArgs(Model):
    when: Condition
    then: list[AnyStep]
    else_: list[AnyStep] = Field(default_factory=list, alias="else")


class ExhaustedArgs(Model):
    message: Template
    exit_code: int = 3


class RepeatArgs(Model):
    max_attempts: int | Template
    until: Condition
    steps: list[AnyStep]
    on_exhausted: ExhaustedArgs | None = None


class CallArgs(Model):
    flow: str = Field(description="Path of the sub-flow, relative to the calling flow")
    with_: dict[VarName, Template] = Field(default_factory=dict, alias="with")


class StoreArgs(Model):
    """Writes the technical account's credentials to the vault (and the journal) at once."""

    key: Template
    login: Template | None = None
    password: VarName | None = Field(None, description="Variable holding the captured password")
    expires_at: Template | None = None


class CheckpointArgs(Model):
    """Tells the credential sink what is about to happen, so a crash right after it can be recovered."""

    key: Template
    event: Literal["reset_requested"]


class FailArgs(Model):
    message: Template
    exit_code: int = 1


# ---------------------------------------------------------------- steps


class Step(Model):
    command: ClassVar[str]
    label: str | None = Field(None, description="What the step does, as a procedure words it")

    @classmethod
    def field_name(cls) -> str:
        return cls.command if cls.command in cls.model_fields else cls.command + "_"

    @property
    def args(self) -> Any:
        return getattr(self, self.field_name())

    def title(self) -> str:
        return self.label or f"{self.command} {self.args}"


class GoTo(Step):
    command: ClassVar[str] = "goto"
    goto: Template = Field(description="URL, e.g. ${env.dgfip_url}")


class ExpectScreen(Step):
    command: ClassVar[str] = "expect_screen"
    expect_screen: ScreenName


class Fill(Step):
    command: ClassVar[str] = "fill"
    fill: FillArgs


class Click(Step):
    command: ClassVar[str] = "click"
    click: ElementRef


class Read(Step):
    command: ClassVar[str] = "read"
    read: ReadArgs


class ReadBlock(Step):
    command: ClassVar[str] = "read_block"
    read_block: ReadBlockArgs


class ReadTable(Step):
    command: ClassVar[str] = "read_table"
    read_table: ReadTableArgs


class PickRow(Step):
    command: ClassVar[str] = "pick_row"
    pick_row: PickRowArgs


class SetVars(Step):
    command: ClassVar[str] = "set"
    set: dict[VarName, Template]


class If(Step):
    command: ClassVar[str] = "if"
    if_: IfArgs = Field(alias="if")


class Repeat(Step):
    command: ClassVar[str] = "repeat"
    repeat: RepeatArgs


class Call(Step):
    command: ClassVar[str] = "call"
    call: CallArgs


class Store(Step):
    command: ClassVar[str] = "store"
    store: StoreArgs


class Checkpoint(Step):
    command: ClassVar[str] = "checkpoint"
    checkpoint: CheckpointArgs


class Fail(Step):
    command: ClassVar[str] = "fail"
    fail: FailArgs


class Log(Step):
    command: ClassVar[str] = "log"
    log: Template


STEP_TYPES: tuple[type[Step], ...] = (
    GoTo, ExpectScreen, Fill, Click, Read, ReadBlock, ReadTable, PickRow,
    SetVars, If, Repeat, Call, Store, Checkpoint, Fail, Log,
)  # fmt: skip
STEP_COMMANDS = tuple(t.command for t in STEP_TYPES)

AnyStep = Annotated[
    Union[tuple(Annotated[t, Tag(t.command)] for t in STEP_TYPES)],  # type: ignore[misc]  # noqa: UP007
    Discriminator(
        _tag_of(STEP_COMMANDS),
        custom_error_type="unknown_step",
        custom_error_message="a step needs exactly one command among: " + ", ".join(STEP_COMMANDS),
    ),
]


# ---------------------------------------------------------------- the flow


class InputSpec(Model):
    description: str = ""
    pattern: str | None = Field(None, description="Regular expression the value must match")
    pattern_message: str | None = None
    default: str | None = None


class SecretSpec(Model):
    env: str = Field(description="Environment variable (or .env entry) holding the secret")
    description: str = ""


class Flow(Model):
    name: str
    title: str = Field("", description="Title of the procedure, in French")
    description: str = ""
    inputs: dict[VarName, InputSpec] = Field(default_factory=dict)
    secrets: dict[VarName, SecretSpec] = Field(default_factory=dict)
    subject: Template | None = Field(None, description="What the run is about, e.g. ${structure}")
    steps: list[AnyStep]


# Forward references: steps and conditions nest.
for _model in (NotCondition, AllCondition, AnyCondition, IfArgs, RepeatArgs):
    _model.model_rebuild()

"""The flow language: one small immutable model per step and per condition.

A flow is a YAML list of steps; each step is a mapping with exactly one command key (`click`,
`fill`, `pick_row`...) and an optional `label`, the sentence a person would read in a procedure.
The JSON Schema editors use (`chorus-robot schema`) is generated from these models, so the two
cannot drift. What each step does lives in `robots/engine/steps/`, one module per theme; the dispatcher
is `robots/engine/steps/__init__.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, Discriminator, Field, StringConstraints, Tag

from robots.language.conditions import Condition, tag_of
from robots.language.types import ElementRef, Parser, ScreenName, Template, VarName, VarPath
from robots.support.frozen_model import Model

# ---------------------------------------------------------------- step arguments


class FillArgs(Model):
    element: ElementRef
    value: Template = Field(description="Text to type; ${secret.NAME} for a secret")


class ReadArgs(Model):
    element: ElementRef
    into: VarName
    parse: Parser = "text"
    secret: bool = Field(False, description="The value is a secret (also implied by a sensitive element)")
    seal: Template | None = Field(
        None,
        description="Past the point of no return: if the password cannot be read (catalogue, then the sentence "
        "around it), the page's text is sealed under this key (journal or vault, 0600) for a person to read",
    )


class ReadBlockArgs(Model):
    element: ElementRef = Field(description="A block (panel) of the screen")
    into: VarName


class ReadTableArgs(Model):
    element: ElementRef = Field(description="A table of the screen (read_table says `element:`, pick_row `table:`)")
    into: VarName
    all_pages: bool = True


class PickRowArgs(Model):
    table: ElementRef
    where: dict[str, Template] = Field(description="Column header → value the row must hold")
    click: str | None = Field(None, description="A row action of the table, e.g. `modifier`")
    into: VarName | None = Field(
        None, description="Variable receiving the row: ${ligne.raison_sociale} reads the column « Raison sociale »"
    )
    parse: dict[str, Parser] = Field(
        default_factory=dict, description="Column header → how its cell is read into `into` (french_datetime…)"
    )
    if_several: Template | None = Field(
        None,
        description="A `where` value left empty takes the table's only row; several rows stop the flow with this "
        "message, where ${choices} lists the rows' values of that column",
    )


FieldKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class ReadFieldsArgs(Model):
    """Several fields of a screen into one mapping: `{fields: {libelle: modification_structure.libelle}, into: x}`."""

    fields: dict[FieldKey, ElementRef] = Field(description="Key of the mapping → element (form control or text)")
    into: VarName


class WriteFieldsArgs(Model):
    """Sets the fields a mapping names (text typed, box checked or not, option chosen); the others stay."""

    fields: dict[FieldKey, ElementRef] = Field(description="Key → element (form control)")
    values: VarPath = Field(description="Variable holding a mapping key → value; only its keys are written")


class ForEachArgs(Model):
    items: VarPath = Field(description="Variable holding a list")
    as_: VarName = Field(alias="as", description="Name each item takes in the steps (${item.key} for a mapping)")
    steps: list[AnyStep]


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
    flow: str = Field(description="Path of the sub-flow, relative to the folder of the calling flow's file")
    with_: dict[VarName, Template] = Field(default_factory=dict, alias="with")


class StoreArgs(Model):
    """Writes the technical account's credentials to the vault (and the journal) at once."""

    key: Template
    login: Template | None = None
    password: VarName | None = Field(None, description="Variable holding the captured password")
    expires_at: Template | None = None
    shown: bool = Field(
        False,
        description="The password is shown in a form not submitted yet (« Soumettre », portail de services): "
        "journaled now, written to the vault once the submission is confirmed (a store without `shown`)",
    )


class CheckpointArgs(Model):
    """Tells the credential sink what is about to happen, so a crash right after it can be recovered.

    reset_requested: « Confirmer » is about to be clicked (legacy); reset_submitted: « Soumettre » is about
    to be clicked with the last password shown (portail de services)."""

    key: Template
    event: Literal["reset_requested", "reset_submitted"]


class WhichScreenArgs(Model):
    among: list[ScreenName] = Field(min_length=1, description="The screens that may show next")
    into: VarName = Field(description="Variable receiving the name of the screen shown")


# robots/errors.py; a `fail` without kind: portal_refused
FailKind = Literal[
    "login_refused", "account_locked", "second_factor", "portal_refused", "portal_unavailable",
    "screen_not_recognised",
]  # fmt: skip


class SelectArgs(Model):
    element: ElementRef = Field(description="A list (select) of the screen")
    value: Template = Field(description="The option's text, as shown")


class CheckArgs(Model):
    element: ElementRef = Field(description="A checkbox of the screen")
    checked: bool | Template = Field(True, description="true/false, or a variable holding « true »/« false »")


class SolveCaptchaArgs(Model):
    """A person (or --captcha-command) reads the image; the robot never reads a captcha itself."""

    image: ElementRef
    element: ElementRef = Field(description="The field receiving the characters")


class ReadMailArgs(Model):
    """Waits for the newest e-mail to an address in the mailbox given by --mailbox, and reads a link of it."""

    to: Template
    link: Template = Field(description="The text of the link to read, e.g. « Activer votre compte »")
    into: VarName
    since: Template = Field("", description="ISO date-time: only mails sent after it (empty: any)")
    timeout_s: float | None = Field(None, description="How long to wait (default: --mail-timeout)")


class FailArgs(Model):
    message: Template
    exit_code: int = 1
    kind: FailKind | None = Field(
        None,
        description="login_refused, account_locked, second_factor: the nightly job never logs in again to an "
        "account whose login failed so (the portal locks an account after 5 failed logins); portal_refused (the "
        "default), portal_unavailable, screen_not_recognised: see « When a run fails » in docs/night-operator.md",
    )


# ---------------------------------------------------------------- steps


class Step(Model):
    command: ClassVar[str]
    # Safe to run again after a fault of the portal (a 5xx, « erreur technique », a timeout, the network): it
    # changes nothing on the portal (navigation, reads, waits). Every command says it (checked below).
    repeatable: ClassVar[bool]
    label: str | None = Field(None, description="What the step does, as a procedure words it")

    @classmethod
    def field_name(cls) -> str:
        return cls.command if cls.command in cls.model_fields else cls.command + "_"

    @property
    def args(self) -> Any:
        return getattr(self, self.field_name())

    def title(self) -> str:
        """The label; without one, the step as a flow writes it (`click: chorus_connecte.x`), never Python."""
        if self.label:
            return self.label
        args = self.args
        if isinstance(args, BaseModel):
            dumped = args.model_dump(by_alias=True, exclude_defaults=True)
            shown = ", ".join(f"{k}: {v}" for k, v in dumped.items() if isinstance(v, str | int | float))
            return f"{self.command} {shown}".strip()
        return f"{self.command}: {args}"


class GoTo(Step):
    command: ClassVar[str] = "goto"
    repeatable: ClassVar[bool] = True  # navigation
    goto: Template = Field(description="URL, e.g. ${env.dgfip_url}")


class ExpectScreen(Step):
    command: ClassVar[str] = "expect_screen"
    repeatable: ClassVar[bool] = True  # a wait for a screen
    expect_screen: ScreenName


class Fill(Step):
    command: ClassVar[str] = "fill"
    repeatable: ClassVar[bool] = True  # typing into a field: the field ends the same
    fill: FillArgs


class Click(Step):
    command: ClassVar[str] = "click"
    repeatable: ClassVar[bool] = False  # a click may submit a form: a reset, a request
    click: ElementRef


class Read(Step):
    command: ClassVar[str] = "read"
    repeatable: ClassVar[bool] = True  # a read
    read: ReadArgs


class ReadBlock(Step):
    command: ClassVar[str] = "read_block"
    repeatable: ClassVar[bool] = True  # a read
    read_block: ReadBlockArgs


class ReadTable(Step):
    command: ClassVar[str] = "read_table"
    repeatable: ClassVar[bool] = True  # a read (pages turned)
    read_table: ReadTableArgs


class PickRow(Step):
    command: ClassVar[str] = "pick_row"
    repeatable: ClassVar[bool] = True  # a read, then the row's link
    pick_row: PickRowArgs


class SetVars(Step):
    command: ClassVar[str] = "set"
    repeatable: ClassVar[bool] = True  # variables only
    set: dict[VarName, Template]


class If(Step):
    command: ClassVar[str] = "if"
    repeatable: ClassVar[bool] = False  # its steps decide for themselves
    if_: IfArgs = Field(alias="if")


class Repeat(Step):
    command: ClassVar[str] = "repeat"
    repeatable: ClassVar[bool] = False  # its steps decide for themselves
    repeat: RepeatArgs


class Call(Step):
    command: ClassVar[str] = "call"
    repeatable: ClassVar[bool] = False  # its steps decide for themselves
    call: CallArgs


class ReadFields(Step):
    command: ClassVar[str] = "read_fields"
    repeatable: ClassVar[bool] = True  # a read
    read_fields: ReadFieldsArgs


class WriteFields(Step):
    command: ClassVar[str] = "write_fields"
    repeatable: ClassVar[bool] = True  # fields typed, boxes set: the form ends the same
    write_fields: WriteFieldsArgs


class ForEach(Step):
    command: ClassVar[str] = "for_each"
    repeatable: ClassVar[bool] = False  # its steps decide for themselves
    for_each: ForEachArgs


class Store(Step):
    command: ClassVar[str] = "store"
    repeatable: ClassVar[bool] = False  # vault and journal, never repeated blindly
    store: StoreArgs


class Checkpoint(Step):
    command: ClassVar[str] = "checkpoint"
    repeatable: ClassVar[bool] = False  # a journal mark
    checkpoint: CheckpointArgs


class WhichScreen(Step):
    """Waits until one of several screens shows (another generation, a logged-out landing…)."""

    command: ClassVar[str] = "which_screen"
    repeatable: ClassVar[bool] = True  # a wait for a screen
    which_screen: WhichScreenArgs


class Fail(Step):
    command: ClassVar[str] = "fail"
    repeatable: ClassVar[bool] = False  # a decision
    fail: FailArgs


class Select(Step):
    command: ClassVar[str] = "select"
    repeatable: ClassVar[bool] = True  # an option chosen
    select: SelectArgs


class Check(Step):
    command: ClassVar[str] = "check"
    repeatable: ClassVar[bool] = True  # a box set
    check: CheckArgs


class SolveCaptcha(Step):
    command: ClassVar[str] = "solve_captcha"
    repeatable: ClassVar[bool] = False  # a person answers once
    solve_captcha: SolveCaptchaArgs


class ReadMail(Step):
    command: ClassVar[str] = "read_mail"
    repeatable: ClassVar[bool] = True  # a read of the mailbox
    read_mail: ReadMailArgs


class RememberAddress(Step):
    """Notes the address of the page shown (a form as first opened, a structure's page) under a name, for `reopen`
    later in the same session — `renew`: one account's structures, one after the other."""

    command: ClassVar[str] = "remember_address"
    repeatable: ClassVar[bool] = True  # a note, nothing on the portal
    remember_address: Template = Field(description="The name, e.g. `compte_technique` or `fiche_${structure}`")


class Reopen(Step):
    """Opens again the address noted under that name (one page, as a person's bookmark or history): the page is
    the portal's own, reached by clicks earlier, never built. Nothing happens when no address was noted under
    that name (another session, `chorus-robot run`): the steps after it check the screen and click their way."""

    command: ClassVar[str] = "reopen"
    repeatable: ClassVar[bool] = True  # navigation
    reopen: Template = Field(description="The name given by `remember_address`")


class Log(Step):
    command: ClassVar[str] = "log"
    repeatable: ClassVar[bool] = True  # a log line
    log: Template


STEP_TYPES: tuple[type[Step], ...] = (
    GoTo, ExpectScreen, WhichScreen, Fill, Click, Read, ReadBlock, ReadTable, PickRow,
    SetVars, If, Repeat, Call, Store, Checkpoint, Fail, Log, ReadFields, WriteFields, ForEach,
    Select, Check, SolveCaptcha, ReadMail, RememberAddress, Reopen,
)  # fmt: skip
STEP_COMMANDS = tuple(t.command for t in STEP_TYPES)
_UNSAID = [t.command for t in STEP_TYPES if "repeatable" not in vars(t)]
if _UNSAID:  # a new command must say whether repeating it after a fault is safe
    raise TypeError(f"commande(s) sans `repeatable` : {', '.join(_UNSAID)}")

AnyStep = Annotated[
    Union[tuple(Annotated[t, Tag(t.command)] for t in STEP_TYPES)],  # type: ignore[misc]  # noqa: UP007
    Discriminator(
        tag_of(STEP_COMMANDS),
        custom_error_type="unknown_step",
        custom_error_message="une étape demande exactement une commande parmi : " + ", ".join(STEP_COMMANDS),
    ),
]


# ---------------------------------------------------------------- the flow


class InputSpec(Model):
    description: str = ""
    pattern: str | None = Field(None, description="Regular expression the value must match")
    pattern_message: str | None = None
    siret: bool = Field(
        False,
        description="The value is a SIRET a person typed: 14 digits and a right key (Luhn, or La Poste's rule),"
        " checked before anything runs",
    )
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


# Forward references: steps nest.
for _model in (IfArgs, RepeatArgs, ForEachArgs):
    _model.model_rebuild()

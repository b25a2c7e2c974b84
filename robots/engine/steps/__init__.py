"""Step implementations, one module per theme; `IMPLEMENTATIONS` maps each step model to its code.

navigation: goto, expect_screen, which_screen, remember_address, reopen · interaction: fill, click ·
reading: read, read_block · tables: pick_row, read_table · control: set, if, repeat, for_each, call, fail, log ·
credentials: store, checkpoint · fields: read_fields, write_fields · forms: select, check ·
accounts: solve_captcha, read_mail
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robots.engine.steps import accounts, control, credentials, fields, forms, interaction, navigation, reading, tables
from robots.language import model as m

IMPLEMENTATIONS: dict[type[m.Step], Callable[[Any, Any], None]] = {
    m.GoTo: navigation.goto,
    m.ExpectScreen: navigation.expect_screen,
    m.WhichScreen: navigation.which_screen,
    m.RememberAddress: navigation.remember_address,
    m.Reopen: navigation.reopen,
    m.Fill: interaction.fill,
    m.Click: interaction.click,
    m.Read: reading.read,
    m.ReadBlock: reading.read_block,
    m.ReadTable: tables.read_table,
    m.PickRow: tables.pick_row,
    m.SetVars: control.set_variables,
    m.If: control.if_,
    m.Repeat: control.repeat,
    m.Call: control.call,
    m.Fail: control.fail,
    m.Log: control.log,
    m.Store: credentials.store,
    m.Checkpoint: credentials.checkpoint,
    m.ReadFields: fields.read_fields,
    m.WriteFields: fields.write_fields,
    m.ForEach: control.for_each,
    m.Select: forms.select,
    m.Check: forms.check,
    m.SolveCaptcha: accounts.solve_captcha,
    m.ReadMail: accounts.read_mail,
}

assert set(IMPLEMENTATIONS) == set(m.STEP_TYPES), "every step model needs an implementation"


def implementation_of(step: m.Step) -> Callable[[Any, Any], None]:
    return IMPLEMENTATIONS[type(step)]

"""Step implementations, one module per theme; `IMPLEMENTATIONS` maps each step model to its code.

navigation: goto, expect_screen · interaction: fill, click · reading: read, read_block ·
tables: pick_row, read_table · control: set, if, repeat, call, fail, log · credentials: store, checkpoint
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robots import flow_model as m
from robots.steps import control, credentials, interaction, navigation, reading, tables

IMPLEMENTATIONS: dict[type[m.Step], Callable[[Any, Any], None]] = {
    m.GoTo: navigation.goto,
    m.ExpectScreen: navigation.expect_screen,
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
}

assert set(IMPLEMENTATIONS) == set(m.STEP_TYPES), "every step model needs an implementation"


def implementation_of(step: m.Step) -> Callable[[Any, Any], None]:
    return IMPLEMENTATIONS[type(step)]

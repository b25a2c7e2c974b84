"""The shapes of the values a flow writes: element references, variable paths, screen names, templates, parsers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

ElementRef = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"),
    Field(description="`screen.element`, as named in selectors/<screen>.yaml"),
]
VarPath = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$")]
ScreenName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
VarName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")]
Template = Annotated[str, Field(description="Text where ${name} is replaced by a variable's value")]
Parser = Literal["text", "french_date", "french_datetime", "integer"]

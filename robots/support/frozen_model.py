"""The base of every model read from a file (flows, catalogue, roster, configuration, desired state): frozen, and
unknown keys refused so that a typo is an error at its line, not a silent default."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

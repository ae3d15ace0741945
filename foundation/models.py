"""The base of every input model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Input models refuse unknown fields, so a typo is reported instead of ignored, and
    are frozen, so what was validated is what is used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

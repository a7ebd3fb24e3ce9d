"""The base of every settings section, in ``config.py`` and in ``connector/classify/``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A TOML table: an unknown key is an error (a misspelt threshold must not be silently ignored),
    and values are frozen, so that settings can be shared between connections and threads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

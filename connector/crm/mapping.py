"""Mapping files (``mappings/*.toml``): which CRM object and field holds each canonical field.

One shape for every CRM; each adapter interprets ``object``, ``account`` and field names in its own
API's terms. Loading validates canonical names against ``model.py`` so that a typo fails with the
file and key named, before anything talks to the CRM.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connector.crm.base import OVERRIDE_FIELDS, WRITEBACK_FIELDS
from connector.model import CHILD_KINDS, Account

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"

CANONICAL_FIELDS: dict[str, set[str]] = {
    "accounts": {f.name for f in dataclasses.fields(Account)} - {"id", "attributes"},
    **{
        kind: {f.name for f in dataclasses.fields(cls)} - {"id", "account_id"}
        for kind, cls in CHILD_KINDS.items()
    },
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Strict):
    """A canonical flag that is true when ``field`` holds one of ``in`` (e.g. Case Type = Complaint)."""

    field: str
    in_: list[str] = Field(alias="in", min_length=1)


FieldSource = str | Condition


class SourceMapping(_Strict):
    object: str
    account: str
    """The field linking a record to its account (the account's own id field for accounts)."""
    id: str = "Id"
    where: str | None = None
    """An extra filter in the CRM's query language: trusted configuration, never CRM data."""
    fields: dict[str, FieldSource] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per canonical field: CRM value -> canonical value."""
    attributes: dict[str, str] = Field(default_factory=dict)
    """Accounts only: free attribute name -> CRM field."""

    def crm_fields(self) -> list[str]:
        """Every CRM field this source reads, once, in a stable order."""
        names = [self.id, self.account]
        for source in self.fields.values():
            names.append(source if isinstance(source, str) else source.field)
        names += list(self.attributes.values())
        return list(dict.fromkeys(names))


class WritebackMapping(_Strict):
    object: str
    tier: str
    traits: str
    score: str
    reasons: str
    tier_changed_at: str
    previous_tier: str
    last_synced_at: str
    override_tier: str
    override_expires: str
    growth_points: str
    decision: str

    def field(self, name: str) -> str:
        value: str = getattr(self, name)
        return value

    def all_fields(self) -> dict[str, str]:
        return {name: self.field(name) for name in (*WRITEBACK_FIELDS, *OVERRIDE_FIELDS)}


class TaskMapping(_Strict):
    object: str
    key: str
    account: str
    owner: str
    subject: str
    description: str
    due: str
    status: str
    closed_status: str


class Mapping(_Strict):
    accounts: SourceMapping
    invoices: SourceMapping | None = None
    tickets: SourceMapping | None = None
    referrals: SourceMapping | None = None
    surveys: SourceMapping | None = None
    meetings: SourceMapping | None = None
    goals: SourceMapping | None = None
    renegotiations: SourceMapping | None = None
    writeback: WritebackMapping
    tasks: TaskMapping

    @model_validator(mode="after")
    def _canonical_names(self) -> Mapping:
        problems = []
        for kind, allowed in CANONICAL_FIELDS.items():
            source: SourceMapping | None = getattr(self, kind)
            if source is None:
                continue
            for name in [*source.fields, *source.values]:
                if name not in allowed:
                    problems.append(
                        f"[{kind}.fields] {name}: not a canonical field (known: {', '.join(sorted(allowed))})"
                    )
            if source.attributes and kind != "accounts":
                problems.append(f"[{kind}.attributes]: only accounts have free attributes")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def sources(self) -> dict[str, SourceMapping]:
        """The evidence sources this mapping provides, accounts first."""
        result = {"accounts": self.accounts}
        for kind in CHILD_KINDS:
            source = getattr(self, kind)
            if source is not None:
                result[kind] = source
        return result


class MappingFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; errors name the file and key."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingFileError([f"{path}: mapping file not found"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingFileError([f"{path}: not valid TOML: {exc}"]) from None
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"])
            problems.append(f"{path.name} {key}: {error['msg']}" if key else f"{path.name}: {error['msg']}")
        raise MappingFileError(problems) from None


def default_mapping(crm: str) -> Path:
    return MAPPINGS_DIR / f"{crm}.toml"

"""A seeded sandbox CRM plus a tiersync engine pointed at it, for end-to-end sync tests.

Everything goes over real HTTP(S) through the real client library; the sandbox and the engine share
one frozen clock so that watermarks, due dates and periods are reproducible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.config import Settings
from connector.crm.factory import make_adapter
from connector.model import Trait
from connector.sandbox.runtime import Sandbox, start
from connector.sync.engine import RunSummary, SyncEngine
from connector.sync.plan import Plan
from connector.sync.state import State

AS_OF = dt.date(2026, 11, 1)
START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
WRITEBACK = (
    "Tiersync_Tier__c",
    "Tiersync_Traits__c",
    "Tiersync_Score__c",
    "Tiersync_Reasons__c",
    "Tiersync_Previous_Tier__c",
)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Org:
    """A seeded sandbox org and a way to run tiersync against it."""

    sandbox: Sandbox
    clock: Clock
    workdir: Path

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "crm": "salesforce",
            "salesforce": self.sandbox.salesforce_settings(),
            "state_path": self.workdir / "state.sqlite",
            "evidence": {"as_of": AS_OF.isoformat()},
            "sync": {"page_size": 200},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(values.get(key), dict):
                values[key] = {**values[key], **value}
            else:
                values[key] = value
        return Settings.model_validate(values)

    def engine(self, settings: Settings | None = None) -> SyncEngine:
        s = settings or self.settings()
        assert s.state_path is not None
        return SyncEngine(
            make_adapter(s), s, State(s.state_path), "default", clock=self.clock, sleep=lambda _: None
        )

    def setup(self) -> None:
        make_adapter(self.settings()).setup_fields({t.value: t.value for t in Trait}, False)

    def sync(self, mode: str = "incremental", **overrides: Any) -> tuple[RunSummary, Plan]:
        engine = self.engine(self.settings(**overrides) if overrides else None)
        try:
            return engine.run(mode, dry_run=False)  # type: ignore[arg-type]
        finally:
            engine.state.close()

    @property
    def sf(self) -> Any:
        assert self.sandbox.salesforce is not None
        return self.sandbox.salesforce

    def writes(self) -> int:
        return self.sandbox.ledger.count(crm="salesforce", write=True)

    def snapshot(self) -> dict[str, Any]:
        """The CRM's final state in tiersync's fields, keyed by account name (ids differ between orgs)."""
        names = {a["Id"]: a["Name"] for a in self.sf.records("Account")}
        accounts = {
            a["Name"]: tuple(a.get(f) for f in WRITEBACK)
            for a in self.sf.records("Account")
            if a.get("Type") != "Prospect" and not a.get("IsDeleted")
        }
        tasks = sorted(
            (names[t["WhatId"]], t["Tiersync_Key__c"].split("/", 1)[1], t["Subject"], t.get("Status"))
            for t in self.sf.records("Task")
            if not t.get("IsDeleted")
        )
        return {"accounts": accounts, "tasks": tasks}


def make_org(tmp_path: Path, accounts: int, seed: int = 5, **kwargs: Any) -> Iterator[Org]:
    clock = Clock(START)
    sandbox = start(
        "salesforce",
        accounts=accounts,
        seed=seed,
        as_of=AS_OF,
        workdir=tmp_path / "sandbox",
        clock=clock,
        **kwargs,
    )
    try:
        org = Org(sandbox, clock, tmp_path)
        org.setup()
        sandbox.ledger.reset()
        yield org
    finally:
        sandbox.stop()


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    yield from make_org(tmp_path, 300)


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Org]:
    """A second org seeded identically, for comparing a disturbed run with an undisturbed one."""
    yield from make_org(tmp_path / "twin", 300)

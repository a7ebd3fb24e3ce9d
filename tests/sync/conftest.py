"""A seeded sandbox CRM plus a tiersync engine pointed at it, for end-to-end sync tests.

Everything goes over real HTTP(S) through the real client library; the sandbox and the engine share
one frozen clock so that watermarks, due dates and periods are reproducible. An ``Org`` knows its CRM
and offers CRM-neutral views and edits, so that one test body runs against Salesforce and HubSpot.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hubspot
import pytest
import requests
import simple_salesforce
from hubspot.crm.objects import SimplePublicObjectInput

from connector.config import Settings
from connector.crm.base import CrmAdapter
from connector.crm.factory import make_adapter
from connector.crm.hubspot import HubSpotAdapter
from connector.crm.mapping import default_mapping, load_mapping
from connector.crm.salesforce import SalesforceAdapter
from connector.sandbox.faults import FaultPlan, RecordFault
from connector.sandbox.runtime import Sandbox, start
from connector.sync.engine import RunSummary, SyncEngine
from connector.sync.plan import Plan
from connector.sync.state import State, TaskRow
from tests.hubspot_spec_validation import spec_validator

AS_OF = dt.date(2026, 11, 1)
START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
CRMS = ["salesforce", "hubspot"]

WRITTEN = ("tier", "traits", "score", "reasons", "previous_tier", "growth_points", "decision")
"""The write-back fields a snapshot compares (timestamps differ between two orgs and are left out)."""
FIELDS: dict[str, dict[str, str]] = {
    "salesforce": {
        "tier": "Tiersync_Tier__c",
        "traits": "Tiersync_Traits__c",
        "score": "Tiersync_Score__c",
        "reasons": "Tiersync_Reasons__c",
        "previous_tier": "Tiersync_Previous_Tier__c",
        "last_synced_at": "Tiersync_Last_Synced_At__c",
        "override_tier": "Tiersync_Override_Tier__c",
        "override_expires": "Tiersync_Override_Expires__c",
        "growth_points": "Tiersync_Growth_Points__c",
        "decision": "Tiersync_Decision__c",
    },
    "hubspot": {  # mappings/hubspot.toml [writeback]
        "tier": "tiersync_tier",
        "traits": "tiersync_traits",
        "score": "tiersync_score",
        "reasons": "tiersync_reasons",
        "previous_tier": "tiersync_previous_tier",
        "last_synced_at": "tiersync_last_synced_at",
        "override_tier": "tiersync_override_tier",
        "override_expires": "tiersync_override_expires",
        "growth_points": "tiersync_growth_points",
        "decision": "tiersync_decision",
    },
}
TASK_KEY = {"salesforce": "Tiersync_Key__c", "hubspot": "tiersync_task_key"}  # hubspot.toml [tasks] key


def no_wait(_seconds: float) -> None:
    pass


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass(frozen=True)
class Task:
    key: str
    account_id: str
    subject: str
    status: str | None
    body: str = ""


@dataclass
class Org:
    """A seeded sandbox org of one CRM and a way to run tiersync against it."""

    sandbox: Sandbox
    clock: Clock
    workdir: Path
    crm: str = "salesforce"

    # -- running tiersync ---------------------------------------------------------------------------
    def connection(self) -> dict[str, Any]:
        if self.crm == "salesforce":
            return self.sandbox.salesforce_settings()
        return self.sandbox.hubspot_settings()

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "crm": self.crm,
            self.crm: self.connection(),
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

    def adapter(self, settings: Settings) -> CrmAdapter:
        """The adapter ``make_adapter`` builds, but waiting for nothing: retry back-offs and HubSpot's
        search pacing would only make the tests slow (their own tests check the waits)."""
        mapping = load_mapping(settings.mapping or default_mapping(settings.crm))
        if settings.crm == "salesforce":
            return SalesforceAdapter(settings.salesforce, mapping, sleep=no_wait)
        return HubSpotAdapter(settings.hubspot, mapping, sleep=no_wait)

    def engine(self, settings: Settings | None = None) -> SyncEngine:
        s = settings or self.settings()
        assert s.state_path is not None
        return SyncEngine(self.adapter(s), s, State(s.state_path), "default", clock=self.clock, sleep=no_wait)

    def setup(self) -> None:
        make_adapter(self.settings()).setup_fields(self.settings().value_labels(), False)

    def sync(self, mode: str = "incremental", **overrides: Any) -> tuple[RunSummary, Plan]:
        engine = self.engine(self.settings(**overrides) if overrides else None)
        try:
            return engine.run(mode, dry_run=False)  # type: ignore[arg-type]
        finally:
            engine.state.close()

    def write_config(self, directory: Path) -> Path:
        """A ``tiersync.toml`` for the CLI; the secret goes in ``cli_env()``, as a user would keep it."""
        info = self.connection()
        if self.crm == "salesforce":
            section = f'instance_url = "{info["instance_url"]}"\nca_bundle = "{info["ca_bundle"]}"\n'
        else:
            section = f'host = "{info["host"]}"\nca_bundle = "{info["ca_bundle"]}"\n'
        path = directory / "tiersync.toml"
        path.write_text(
            f'crm = "{self.crm}"\nstate_path = "{self.workdir / "state.sqlite"}"\n'
            f"[evidence]\nas_of = {AS_OF.isoformat()}\n[sync]\npage_size = 200\n[{self.crm}]\n{section}",
            encoding="utf-8",
        )
        return path

    def cli_env(self) -> dict[str, str]:
        if self.crm == "salesforce":
            return {"TIERSYNC_SALESFORCE__SESSION_ID": self.sandbox.salesforce_settings()["session_id"]}
        return {"TIERSYNC_HUBSPOT__ACCESS_TOKEN": self.sandbox.hubspot_settings()["access_token"]}

    # -- the sandbox's side -------------------------------------------------------------------------
    @property
    def sf(self) -> Any:
        assert self.sandbox.salesforce is not None
        return self.sandbox.salesforce

    @property
    def hs(self) -> Any:
        assert self.sandbox.hubspot is not None
        return self.sandbox.hubspot

    def _accounts(self) -> list[dict[str, Any]]:
        """Every client account (not prospects, not deleted) as the CRM holds it, flat."""
        if self.crm == "salesforce":
            return [
                a
                for a in self.sf.records("Account")
                if a.get("Type") != "Prospect" and not a.get("IsDeleted")
            ]
        return [
            {"Id": c["id"], **c["properties"]}
            for c in self.hs.objects("companies")
            if not c["archived"] and c["properties"].get("lifecyclestage") == "customer"
        ]

    def _name(self, account: dict[str, Any]) -> str:
        return str(account["Name" if self.crm == "salesforce" else "name"])

    def _view(self, account: dict[str, Any]) -> dict[str, Any]:
        fields = FIELDS[self.crm]
        return {
            "id": account["Id"],
            "name": self._name(account),
            "owner_id": account.get("OwnerId" if self.crm == "salesforce" else "hubspot_owner_id"),
            **{k: account.get(f) or None for k, f in fields.items()},
        }

    def clients(self) -> list[dict[str, Any]]:
        """Client accounts: ``id``, ``name``, ``owner_id`` and the write-back values (``None`` when unset)."""
        return [self._view(a) for a in self._accounts()]

    def written(self, account_id: str) -> dict[str, Any]:
        """One account's write-back values: tier, traits, score, reasons, previous_tier, overrides…"""
        if self.crm == "salesforce":
            record = self.sf.get("Account", account_id)
        else:
            company = self.hs.get("companies", account_id)
            record = {"Id": company["id"], **company["properties"]}
        return self._view(record)

    def tasks(self) -> list[Task]:
        key = TASK_KEY[self.crm]
        if self.crm == "salesforce":
            return [
                Task(t[key], t["WhatId"], t["Subject"], t.get("Status"), t.get("Description") or "")
                for t in self.sf.records("Task")
                if not t.get("IsDeleted")
            ]
        tasks = []
        for t in self.hs.objects("tasks"):
            if t["archived"]:
                continue
            (company,) = self.hs.associations("tasks", t["id"], "companies")
            p = t["properties"]
            tasks.append(
                Task(
                    p[key],
                    company,
                    p["hs_task_subject"],
                    p.get("hs_task_status"),
                    p.get("hs_task_body") or "",
                )
            )
        return tasks

    def snapshot(self) -> dict[str, Any]:
        """The CRM's final state in tiersync's fields, keyed by account name (ids differ between orgs)."""
        accounts = self.clients()
        names = {a["id"]: a["name"] for a in accounts}
        return {
            "accounts": {a["name"]: tuple(a[f] for f in WRITTEN) for a in accounts},
            "tasks": sorted(
                (names[t.account_id], t.key.split("/", 1)[1], t.subject, t.status) for t in self.tasks()
            ),
        }

    def task_rows(self) -> list[TaskRow]:
        """Every action tiersync's state knows for this org's clients (sent, open, deferred…)."""
        state = State(self.workdir / "state.sqlite")
        try:
            return state.tasks_for("default", [a["id"] for a in self.clients()])
        finally:
            state.close()

    def complete_task(self, crm_id: str) -> None:
        """Mark a task completed, as its owner would in the CRM."""
        if self.crm == "salesforce":
            self._sf_client().Task.update(crm_id, {"Status": "Completed"})
        else:
            self._hs_client().crm.objects.basic_api.update(
                "tasks", crm_id, SimplePublicObjectInput(properties={"hs_task_status": "COMPLETED"})
            )

    def writes(self) -> int:
        return self.sandbox.ledger.count(crm=self.crm, write=True)

    def fail_records(self, ids: list[str]) -> None:
        """Make every write to these records fail validation (both sandboxes key faults by record id)."""
        self.sandbox.faults.configure(FaultPlan(failing_records=dict.fromkeys(ids, RecordFault.VALIDATION)))

    # -- edits a CRM user makes between syncs, through the CRM's own client library ---------------------
    def _sf_client(self) -> simple_salesforce.Salesforce:
        """Signed in as the org's editor, a person: not the API user tiersync writes as."""
        info = self.sandbox.salesforce_settings()
        session = requests.Session()
        session.trust_env = False
        session.verify = info["ca_bundle"]
        return simple_salesforce.Salesforce(
            instance_url=info["instance_url"],
            session_id=self.sandbox.salesforce.editor_session_id,
            session=session,
            version="60.0",
        )

    def _hs_client(self) -> hubspot.HubSpot:
        info = self.sandbox.hubspot_settings()
        return hubspot.HubSpot(
            access_token=info["access_token"], host=info["host"], ssl_ca_cert=info["ca_bundle"]
        )

    def update_account(self, account_id: str, values: Mapping[str, str | None]) -> None:
        """Set write-back fields by their neutral names (``override_tier``…) as a user would."""
        fields = FIELDS[self.crm]
        properties = {fields[k]: v for k, v in values.items()}
        if self.crm == "salesforce":
            self._sf_client().Account.update(account_id, properties)
        else:
            self._hs_client().crm.companies.basic_api.update(
                account_id, SimplePublicObjectInput(properties=properties)
            )

    def set_override(self, account_id: str, tier: str | None, expires: dt.date | None) -> None:
        values = {"override_expires": expires.isoformat() if expires else ""}
        if tier is not None:
            values["override_tier"] = tier
        self.update_account(account_id, values)

    def edit_invoice_paid_date(self, account_id: str, days_late: int) -> None:
        """Mark the account's first paid invoice as paid ``days_late`` days after its due date."""
        if self.crm == "salesforce":
            invoice = next(
                i
                for i in self.sf.records("Invoice__c")
                if i["Account__c"] == account_id and i.get("Paid_Date__c")
            )
            paid = dt.date.fromisoformat(invoice["Due_Date__c"]) + dt.timedelta(days=days_late)
            self._sf_client().Invoice__c.update(invoice["Id"], {"Paid_Date__c": paid.isoformat()})
            return
        invoices = (
            self.hs.get("invoices", i) for i in self.hs.associations("companies", account_id, "invoices")
        )
        invoice = next(i for i in invoices if i["properties"].get("hs_payment_date"))
        due = dt.date.fromisoformat(invoice["properties"]["hs_due_date"][:10])
        paid = due + dt.timedelta(days=days_late)
        self._hs_client().crm.objects.basic_api.update(
            "invoices",
            invoice["id"],
            SimplePublicObjectInput(properties={"hs_payment_date": paid.isoformat()}),
        )


def kill_when(org: Org, process: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds (it must still be running), then wait until
    the org is quiet: requests the killed client had already sent still land (the server finishes
    them, as Salesforce and HubSpot do), and a later run starts after them."""
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for _ in range(50):
        seen = len(org.sandbox.ledger.calls())
        time.sleep(0.4)
        if len(org.sandbox.ledger.calls()) == seen:
            break


def make_org(
    tmp_path: Path, accounts: int, seed: int = 5, *, crm: str = "salesforce", **kwargs: Any
) -> Iterator[Org]:
    clock = Clock(START)
    sandbox = start(
        crm,
        accounts=accounts,
        seed=seed,
        as_of=AS_OF,
        workdir=tmp_path / "sandbox",
        clock=clock,
        validator=spec_validator(),
        **kwargs,
    )
    try:
        if crm == "hubspot":
            # real limits would make the adapter wait; the adapter's pacing has its own tests
            sandbox.hubspot.limits.burst_limit = 0
            sandbox.hubspot.limits.search_per_second = 0
        org = Org(sandbox, clock, tmp_path, crm)
        org.setup()
        sandbox.ledger.reset()
        yield org
        if crm == "hubspot":
            assert sandbox.hubspot.validation_errors == [], "every request must conform to HubSpot's spec"
    finally:
        sandbox.stop()


@pytest.fixture(params=CRMS)
def crm(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def org(tmp_path: Path, crm: str) -> Iterator[Org]:
    yield from make_org(tmp_path, 300, crm=crm)


@pytest.fixture
def twin(tmp_path: Path, crm: str) -> Iterator[Org]:
    """A second org seeded identically, for comparing a disturbed run with an undisturbed one."""
    yield from make_org(tmp_path / "twin", 300, crm=crm)

"""Bulk API 2.0 in the Salesforce adapter, over real HTTPS against the sandbox with the real client.

A low ``bulk_threshold`` sends small reads and writes through Bulk jobs; the REST path of the same
adapter is the reference every Bulk answer must equal.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Any

import pytest

from connector.crm.base import AccountUpdate, FatalError, ReadBatch
from connector.crm.salesforce import SalesforceAdapter
from connector.crm.salesforce.bulk import BulkTimeoutError, BulkUnavailableError
from connector.crm.salesforce.bulk_csv import RowShape, cell, parse_error
from connector.crm.salesforce.bulk_write import ingest
from connector.frames import to_roster
from connector.model import Account, Roster
from connector.sample_data import generate
from connector.sandbox.faults import Fault, FaultPlan, RecordFault
from connector.sandbox.people import full_name
from tests.crm.test_salesforce_adapter import (
    Box,
    Sleeps,
    full_roster,
    make,
    mapping_with,
    set_up,
    spec,
)

BULK = {"bulk_threshold": 0, "bulk_page_size": 200}
REST = {"bulk_threshold": 10**9}


def jobs_calls(box: Box) -> list[Any]:
    return [c for c in box.ledger.calls() if "/jobs/" in c.path]


def write_every_value_type(box: Box) -> None:
    """Give the set-up org's client accounts write-back values of every type, nulls included (via REST)."""
    synced = dt.datetime(2026, 11, 26, 6, 50, 12, 345000, tzinfo=dt.UTC)
    accounts = [a for a in box.sandbox.records("Account") if a.get("Type") != "Prospect"]
    updates = [
        AccountUpdate(
            a["Id"],
            {
                "tier": ("poor", "good", "okay")[i % 3],
                "traits": [["bully", "outside_icp"], [], ["goalpost_mover"]][i % 3],
                "score": (12.5, 80.0, None)[i % 3],
                "reasons": f"line one\nline two, with \"quotes\" and 'ticks' #{i}",
                "tier_changed_at": synced if i % 2 else None,
                "last_synced_at": synced,
            },
        )
        for i, a in enumerate(accounts)
    ]
    assert all(o.ok for o in make(box, **REST).write_accounts(updates))


def batches(adapter: SalesforceAdapter, page_size: int = 200) -> list[ReadBatch]:
    return list(adapter.read(None, page_size))


# -- reads ------------------------------------------------------------------------------------------------


def test_a_bulk_read_gives_exactly_the_batches_of_the_rest_read(box: Box) -> None:
    box.sandbox.seed(to_roster(generate(60, seed=4, as_of=dt.date(2026, 11, 1)).frames))
    box.sandbox.seed(full_roster())
    set_up(box)
    write_every_value_type(box)
    mapping = mapping_with(lambda m: m["accounts"].setdefault("attributes", {}).update(owner="Owner.Name"))
    box.ledger.reset()

    rest = batches(make(box, mapping, **REST))
    assert not jobs_calls(box)
    box.ledger.reset()
    bulk = batches(make(box, mapping, **BULK))

    assert len(jobs_calls(box)) > 7, "one query job per object, polled, results fetched"
    assert [b.roster for b in bulk] == [b.roster for b in rest]
    assert [b.current for b in bulk] == [b.current for b in rest]
    owners = {a.attributes.get("owner") for b in bulk for a in b.roster.accounts}
    assert full_name("u1") in owners, "parent fields (Owner.Name) come back nested like REST's"
    current = next(v for b in bulk for v in b.current.values() if v.traits == ("bully", "outside_icp"))
    assert (current.score, current.tier) == (12.5, "poor")
    assert current.reasons is not None and "line two" in current.reasons


def test_an_org_at_the_threshold_is_read_through_rest(box: Box) -> None:
    box.sandbox.seed(full_roster())
    set_up(box)
    box.ledger.reset()
    batches(make(box, bulk_threshold=2))  # two client accounts: not more than the threshold
    assert not jobs_calls(box)
    batches(make(box, bulk_threshold=1))
    assert jobs_calls(box)


def test_a_resumed_bulk_read_starts_after_the_given_id(box: Box) -> None:
    box.sandbox.seed(to_roster(generate(30, seed=6, as_of=dt.date(2026, 11, 1)).frames))
    set_up(box)
    every = [a.id for b in batches(make(box, **REST)) for a in b.roster.accounts]
    after = every[11]
    resumed = list(make(box, **BULK).read(None, 200, after=after))
    assert [a.id for b in resumed for a in b.roster.accounts] == every[12:]
    assert all(r.account_id > after for b in resumed for r in b.roster.invoices or [])


def test_bulk_pages_hold_the_larger_of_the_page_size_and_bulk_page_size(box: Box) -> None:
    box.sandbox.seed(
        Roster(accounts=[Account(id=f"c{i}", name=f"C{i}", status="Customer - Direct") for i in range(450)])
    )
    set_up(box)
    sizes = [len(b.roster.accounts) for b in make(box, bulk_threshold=0, bulk_page_size=200).read(None, 300)]
    assert sizes == [300, 150]


def test_result_cells_become_rest_values() -> None:
    class Fields:
        def field(self, sobject: str, path: str) -> Any:
            kinds = {"IsEscalated": "boolean", "NPS__c": "double", "NumberOfEmployees": "int"}
            return type(
                "F", (), {"type": kinds.get(path.split(".")[-1], "datetime" if "Date" in path else "string")}
            )

    shape = RowShape(
        ["Id", "IsEscalated", "NPS__c", "NumberOfEmployees", "CreatedDate", "Owner.Name"], Fields(), "X"
    )  # type: ignore[arg-type]
    assert shape.row(["001", "true", "9", "", "2026-01-02T03:04:05.000Z", ""]) == {
        "Id": "001",
        "IsEscalated": True,
        "NPS__c": 9.0,
        "NumberOfEmployees": None,
        "CreatedDate": "2026-01-02T03:04:05.000+0000",
        "Owner": {"Name": None},
    }
    assert [cell(v) for v in (None, "", True, 80.0, 12.5, "a;b")] == [
        "#N/A",
        "#N/A",
        "true",
        "80",
        "12.5",
        "a;b",
    ]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"]),
        ),
        (
            "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record: --",
            ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", []),
        ),
        ("INVALID_FIELD:bad: value:A__c,B__c --", ("INVALID_FIELD", "bad: value", ["A__c", "B__c"])),
        ("X:a message: with a colon --", ("X", "a message: with a colon", [])),
    ],
)
def test_sf_error_is_split_into_code_message_and_fields(
    text: str, parsed: tuple[str, str, list[str]]
) -> None:
    assert parse_error(text) == parsed


# -- writes -----------------------------------------------------------------------------------------------


def test_an_update_job_reports_each_record_in_input_order_like_rest(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    set_up(box)
    locked, invalid = ids["a1"], ids["p1"]
    box.faults.configure(
        FaultPlan(failing_records={locked: RecordFault.LOCK_ROW, invalid: RecordFault.VALIDATION})
    )
    updates = [
        AccountUpdate(locked, {"tier": "good"}),
        AccountUpdate(ids["a2"], {"tier": "good", "traits": ["bully", "outside_icp"], "score": 42.5}),
        AccountUpdate(invalid, {"tier": "good"}),
    ]
    box.ledger.reset()

    outcomes = make(box, **BULK).write_accounts(updates)

    assert not [c for c in box.ledger.calls() if "composite" in c.path], "the write went as one Bulk job"
    results = [c.path.rsplit("/", 1)[-1] for c in box.ledger.calls() if c.path.endswith("Results")]
    assert sorted(results) == ["failedResults", "successfulResults"]
    rest = make(box, **REST).write_accounts(updates)
    assert [(o.ref, o.ok, o.error_code, o.retriable, o.message) for o in outcomes] == [
        (o.ref, o.ok, o.error_code, o.retriable, o.message) for o in rest
    ]
    assert [o.ok for o in outcomes] == [False, True, False]
    assert (outcomes[0].error_code, outcomes[0].retriable) == ("UNABLE_TO_LOCK_ROW", True)
    assert (outcomes[2].error_code, outcomes[2].retriable) == ("FIELD_CUSTOM_VALIDATION_EXCEPTION", False)
    stored = box.sandbox.get("Account", ids["a2"])
    assert stored is not None
    assert (stored["Tiersync_Traits__c"], stored["Tiersync_Score__c"]) == ("bully;outside_icp", 42.5)


def test_an_update_job_clears_a_field_with_none_and_leaves_unsent_fields_alone(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    set_up(box)
    adapter = make(box, **BULK)
    assert all(
        o.ok for o in adapter.write_accounts([AccountUpdate(ids["a1"], {"tier": "poor", "reasons": "why"})])
    )
    outcomes = adapter.write_accounts(
        [
            AccountUpdate(ids["a1"], {"reasons": None, "traits": []}),
            AccountUpdate(ids["a2"], {"tier": "okay"}),
        ]
    )
    assert [(o.ok, o.crm_id) for o in outcomes] == [(True, ids["a1"]), (True, ids["a2"])]
    stored = box.sandbox.get("Account", ids["a1"])
    assert stored is not None
    assert (
        stored.get("Tiersync_Tier__c"),
        stored.get("Tiersync_Reasons__c"),
        stored.get("Tiersync_Traits__c"),
    ) == (
        "poor",
        None,
        None,
    )


def test_an_insert_job_creates_tasks_once_and_returns_their_ids(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    set_up(box)
    specs = [
        spec("a1/review/2026Q4", ids["a1"]),
        spec("a2/'quote', \"x\"/2026Q4", ids["a2"]),
        spec("a2/bad/2026Q4", ids["a2"]),
    ]
    # a create's record fault is keyed by its Subject
    box.faults.configure(FaultPlan(failing_records={"Subject a2/bad/2026Q4": RecordFault.VALIDATION}))
    adapter = make(box, **BULK)

    created = adapter.upsert_tasks(specs)
    again = adapter.upsert_tasks([replace(s, resend=True) for s in specs])

    assert [o.ok for o in created] == [True, True, False]
    assert created[2].error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert [o.crm_id for o in again[:2]] == [o.crm_id for o in created[:2]]
    tasks = {t["Tiersync_Key__c"]: t for t in box.sandbox.records("Task")}
    assert set(tasks) == {"a1/review/2026Q4", "a2/'quote', \"x\"/2026Q4"}
    assert tasks["a1/review/2026Q4"]["Id"] == created[0].crm_id
    assert tasks["a1/review/2026Q4"]["Status"] == "Not Started"


def test_a_dropped_upload_aborts_its_job_and_sends_a_new_one_never_twice(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    set_up(box)
    sleeps = Sleeps()
    adapter = make(box, sleeps=sleeps, **BULK)
    assert adapter.write_accounts([AccountUpdate(ids["a1"], {"tier": "poor"})])[0].ok  # describes cached
    box.sandbox.bulk.jobs.clear()
    box.faults.configure(FaultPlan(schedule={2: Fault.RESET}))  # 1: create job, 2: upload
    box.ledger.reset()

    outcomes = adapter.write_accounts([AccountUpdate(ids["a1"], {"tier": "good"})])

    assert [o.ok for o in outcomes] == [True]
    states = [job.state for job in box.sandbox.bulk.jobs.values()]
    assert states == ["Aborted", "JobComplete"]
    uploads = [c for c in box.ledger.calls() if c.method == "PUT"]
    assert [c.fault for c in uploads] == ["reset", None]
    assert sleeps, "the new job waits a backoff pause"


# -- fallback and deadlines -------------------------------------------------------------------------------


def test_an_org_that_refuses_bulk_is_read_and_written_through_rest(
    box: Box, caplog: pytest.LogCaptureFixture
) -> None:
    ids = box.sandbox.seed(full_roster())
    set_up(box)
    expected = batches(make(box, **REST))
    box.sandbox.bulk.enabled = False
    adapter = make(box, **BULK)
    box.ledger.reset()

    with caplog.at_level(logging.WARNING):
        got = batches(adapter)
        outcomes = adapter.write_accounts([AccountUpdate(ids["a1"], {"tier": "good"})])

    assert [b.roster for b in got] == [b.roster for b in expected]
    assert [o.ok for o in outcomes] == [True]
    refused = jobs_calls(box)
    assert [(c.method, c.status) for c in refused] == [("POST", 403)], "Bulk is tried once per run, then REST"
    assert [c for c in box.ledger.calls() if "composite" in c.path]
    assert adapter.bulk.refused is not None and "FEATURENOTENABLED" in adapter.bulk.refused
    assert "using REST for the rest of this run" in caplog.text


def test_a_job_that_never_completes_is_aborted_at_the_deadline(box: Box) -> None:
    box.sandbox.seed(full_roster())
    set_up(box)
    box.sandbox.bulk.in_progress_polls = 10**6
    sleeps = Sleeps()
    adapter = make(box, sleeps=sleeps, bulk_threshold=0, bulk_poll_timeout=20)
    box.ledger.reset()

    with pytest.raises(BulkTimeoutError, match=r"still InProgress after .*bulk_poll_timeout") as raised:
        batches(adapter)

    assert isinstance(raised.value, FatalError)
    assert sum(sleeps) <= 20
    polls = [c for c in box.ledger.calls() if c.method == "GET" and "/jobs/query/" in c.path]
    assert 3 <= len(polls) <= 10, "backoff doubles the pause: few polls, bounded"
    assert any(job.state == "Aborted" for job in box.sandbox.bulk.jobs.values())


def test_an_ingest_job_failed_before_any_record_is_refused_with_salesforce_s_reason(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    with pytest.raises(
        BulkUnavailableError, match="Failed before any record: InvalidBatch : Field name not found"
    ):
        ingest(adapter.bulk.jobs, "Account", "update", [{"No_Such__c": "x"}], [ids["a1"]], ref_column="Id")

"""Salesforce contract tests: the adapter reads Salesforce's documented example answers, and the sandbox
answers the same requests in the same shape.

For each request kind the adapter sends, the first test serves the vendor's example (``fixtures/salesforce``,
each naming its page) from a local HTTPS replay and runs the real adapter code over the real
simple_salesforce client against it; the second sends the same request to the sandbox org and compares
the answer's keys and types with the example (``shape.py``). Sandbox keys beyond an example are allowed
only where the vendor's reference lists them (``EXTRA_*``, each with its page).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.classify.trait_settings import DEFAULT_TRAIT_LABELS
from connector.config import SalesforceSettings
from connector.crm.mapping import default_mapping, load_mapping
from connector.crm.retry import RetryPolicy
from connector.crm.salesforce import composite, setup
from connector.crm.salesforce.bulk import BulkJobs
from connector.crm.salesforce.bulk_csv import RowShape, read_csv
from connector.crm.salesforce.bulk_write import ingest
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.records import RecordBuilder
from connector.model import Account
from tests.contract.replay import Answer, Replay, csv_fixture, fixture
from tests.contract.shape import assert_same_shape
from tests.sandbox.conftest import SalesforceSandboxFixture

MAPPING = load_mapping(default_mapping("salesforce"))
V = "/services/data/v60.0"
SF = "salesforce"

EXTRA_RECORD_ATTRIBUTES: tuple[str, ...] = ()
"""Nothing beyond ``attributes.type`` and ``attributes.url`` ("Execute a SOQL Query")."""

EXTRA_DESCRIBE = (
    # DescribeSObjectResult (SOAP API Developer Guide, "DescribeSObjectResult",
    # https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm):
    "labelPlural",
    "queryable",
    "deletable",
    "searchable",
    "retrieveable",
    "layoutable",
    "recordTypeInfos",
    # Field (same guide, "Field", https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm#field):
    "fields[].soapType",
    "fields[].custom",
    "fields[].externalId",
    "fields[].unique",
    "fields[].idLookup",
    "fields[].nillable",
    "fields[].createable",
    "fields[].defaultedOnCreate",
    "fields[].precision",
    "fields[].scale",
    "fields[].digits",
    "fields[].picklistValues",
    "fields[].restrictedPicklist",
    "fields[].referenceTo",
    "fields[].relationshipName",
    "fields[].filterable",
    "fields[].sortable",
    "fields[].calculated",
    "fields[].autoNumber",
    "fields[].caseSensitive",
    "fields[].byteLength",
    "fields[].htmlFormatted",
    "fields[].inlineHelpText",
    # ChildRelationship (same guide): the child's object and relationship name.
    "childRelationships[].childSObject",
    "childRelationships[].relationshipName",
    "childRelationships[].cascadeDelete",
    # urls of an sObject Describe ("sObject Describe" resource): describe, rowTemplate, layouts...
    "urls.describe",
    "urls.rowTemplate",
)

EXTRA_BULK_QUERY_INFO = ("errorMessage",)
"""Bulk API 2.0 "Get Information About a Query Job": errorMessage is present when a job failed."""

EXTRA_BULK_INGEST_INFO = ("errorMessage", "externalIdFieldName", "assignmentRuleId", "contentUrl")
"""Bulk API 2.0 "Create a Job" / "Get Job Info" response bodies list externalIdFieldName (upsert jobs),
assignmentRuleId, errorMessage and contentUrl (valid while the job is Open)."""


def body(name: str) -> Any:
    return fixture(SF, name)["body"]


def client_for(settings: SalesforceSettings) -> SalesforceClient:
    return SalesforceClient(settings, policy=RetryPolicy(attempts=1), sleep=lambda _: None)


# -- the sandbox side ---------------------------------------------------------------------------------


class Org:
    """Raw HTTPS requests to the sandbox org, as the adapter sends them."""

    def __init__(self, box: SalesforceSandboxFixture) -> None:
        self.box = box
        self.session: requests.Session = box.session()
        self.session.headers["Authorization"] = "Bearer test-session-token"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, f"{self.box.url}{V}/{path}", **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()

    def accounts(self, count: int) -> list[str]:
        ids: list[str] = []
        for start in range(0, count, 200):
            records = [
                {"attributes": {"type": "Account"}, "Name": f"Contract {i}"}
                for i in range(start, min(count, start + 200))
            ]
            results = self.json("POST", "composite/sobjects", json={"allOrNone": True, "records": records})
            ids += [r["id"] for r in results]
        return ids


@pytest.fixture
def org(sf_sandbox: SalesforceSandboxFixture) -> Org:
    return Org(sf_sandbox)


# -- SOQL query ---------------------------------------------------------------------------------------


def test_adapter_reads_the_documented_query_answer(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    sf_replay.route("GET", f"{V}/query", Answer.of(SF, "query_done"))
    rows = list(client_for(sf_replay_settings).records("SELECT Name FROM Account"))
    accounts = [RecordBuilder(MAPPING.accounts, Account).account(row) for row in rows]
    assert [a.name for a in accounts] == ["Test 1", "Test 2"]
    assert all(a.industry is None and a.employee_count is None for a in accounts)
    (sent,) = sf_replay.requests("GET", f"{V}/query")
    assert sent.query["q"] == ["SELECT Name FROM Account"]


def test_adapter_follows_the_documented_next_records_url(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    first = body("query_first_page")
    sf_replay.route("GET", f"{V}/query", Answer.of(SF, "query_first_page"))
    sf_replay.route("GET", first["nextRecordsUrl"], Answer.of(SF, "query_done"))
    pager = client_for(sf_replay_settings).pager("SELECT Id, Name FROM Contact", batch_size=500)
    pages = [[r["Name"] for r in page] for page in pager]
    assert pages == [["John Smith"], ["Test 1", "Test 2"]]
    assert pager.total == 3222
    assert len(sf_replay.requests("GET", first["nextRecordsUrl"])) == 1


def test_sandbox_query_pages_have_the_documented_shape(org: Org) -> None:
    org.accounts(201)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = org.json(
        "GET", "query", params={"q": "SELECT Id, Name FROM Account ORDER BY Id"}, headers=headers
    )
    assert_same_shape(body("query_first_page"), first)
    last = org.session.get(f"{org.box.url}{first['nextRecordsUrl']}", headers=headers).json()
    assert_same_shape(
        body("query_done"),
        {**last, "records": [{k: v for k, v in r.items() if k != "Id"} for r in last["records"]]},
    )


# -- queryAll -----------------------------------------------------------------------------------------


def test_adapter_reads_the_documented_query_all_answer(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    sf_replay.route("GET", f"{V}/queryAll", Answer.of(SF, "query_all"))
    soql = "SELECT Name FROM Merchandise__c WHERE IsDeleted = TRUE"
    rows = list(client_for(sf_replay_settings).records(soql, include_deleted=True))
    assert [r["Name"] for r in rows] == ["Merchandise 1"]
    assert rows[0]["attributes"]["type"] == "Merchandise__c"
    assert not sf_replay.requests("GET", f"{V}/query")


def test_sandbox_query_all_has_the_documented_shape(org: Org) -> None:
    (account_id,) = org.accounts(1)
    org.call("DELETE", f"sobjects/Account/{account_id}")
    answer = org.json("GET", "queryAll", params={"q": "SELECT Name FROM Account WHERE IsDeleted = TRUE"})
    assert answer["totalSize"] == 1
    assert_same_shape(body("query_all"), answer)


# -- describe -----------------------------------------------------------------------------------------


def test_adapter_reads_the_documented_describe_answer(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    sf_replay.route("GET", f"{V}/sobjects/Account/describe", Answer.of(SF, "describe"))
    info = Schema(client_for(sf_replay_settings)).object("Account")
    assert info is not None and info.name == "Account"
    field = info.field("ID")
    assert field is not None
    assert (field.name, field.type, field.length, field.updateable) == ("Id", "id", 18, False)
    assert field.picklist == () and field.reference_to == ()


def test_sandbox_describe_has_the_documented_shape(org: Org) -> None:
    answer = org.json("GET", "sobjects/Account/describe")
    assert_same_shape(body("describe"), answer, extra=EXTRA_DESCRIBE)


# -- composite sobjects: update and create ------------------------------------------------------------


def test_adapter_reads_the_documented_collection_update_answer(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    sf_replay.route("PATCH", f"{V}/composite/sobjects", Answer.of(SF, "composite_update"))
    records = [
        {"attributes": {"type": "Account"}, "Id": "001RM000003oLrHYAU", "Tiersync_Tier__c": "good"},
        {"attributes": {"type": "Contact"}, "Id": "001xx000003DGb2999", "Tiersync_Tier__c": "poor"},
    ]
    ok, failed = composite.send(
        client_for(sf_replay_settings), "composite/sobjects", "PATCH", records, ["a", "b"]
    )
    assert (ok.ref, ok.ok, ok.crm_id) == ("a", True, "001RM000003oLrHYAU")
    assert (failed.ref, failed.ok, failed.error_code, failed.retriable) == ("b", False, "MALFORMED_ID", False)
    assert failed.message == "Contact ID: id value of incorrect type: 001xx000003DGb2999 (field: Id)"
    (sent,) = sf_replay.requests("PATCH", f"{V}/composite/sobjects")
    assert sent.json() == {"allOrNone": False, "records": records}


def test_sandbox_collection_update_has_the_documented_shape(org: Org) -> None:
    (account_id,) = org.accounts(1)
    records = [
        {"attributes": {"type": "Account"}, "Id": account_id, "Industry": "Energy"},
        {"attributes": {"type": "Account"}, "Id": "001xx000003DGb2999", "Industry": "Energy"},
    ]
    answer = org.json("PATCH", "composite/sobjects", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in answer] == [True, False]
    assert_same_shape(body("composite_update")[0], answer[0])
    assert_same_shape(body("composite_update")[1], {k: v for k, v in answer[1].items() if k != "id"})


def test_adapter_reads_the_documented_collection_create_answer(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    # Tasks are created this way (their key is a plain text field, so there is no upsert by key).
    sf_replay.route("POST", f"{V}/composite/sobjects", Answer.of(SF, "composite_create"))
    records = [
        {"attributes": {"type": "Task"}, "Subject": "Ask for a referral", MAPPING.tasks.key: "k1"},
        {"attributes": {"type": "Task"}, "Subject": "Review the relationship", MAPPING.tasks.key: "k2"},
    ]
    outcomes = composite.send(
        client_for(sf_replay_settings), "composite/sobjects", "POST", records, ["k1", "k2"], once=True
    )
    assert [(o.ref, o.ok, o.crm_id) for o in outcomes] == [
        ("k1", True, "001RM000003oLnnYAE"),
        ("k2", True, "003RM0000068xV6YAI"),
    ]
    (sent,) = sf_replay.requests("POST", f"{V}/composite/sobjects")
    assert sent.json() == {"allOrNone": False, "records": records}


def test_sandbox_collection_create_has_the_documented_shape(org: Org) -> None:
    (account_id,) = org.accounts(1)
    records = [
        {"attributes": {"type": "Task"}, "Subject": "Contract", "WhatId": account_id},
        {"attributes": {"type": "Task"}, "Subject": "Contract again", "WhatId": account_id},
    ]
    answer = org.json("POST", "composite/sobjects", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in answer] == [True, True]
    assert_same_shape(body("composite_create"), answer)


# -- Tooling API: create a CustomField, query CustomField ---------------------------------------------


def _first_spec() -> setup.FieldSpec:
    return setup.field_specs(MAPPING, dict(DEFAULT_TRAIT_LABELS))[0]


def test_adapter_reads_the_documented_tooling_create_answer(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    sf_replay.route("POST", f"{V}/tooling/sobjects/CustomField", Answer.of(SF, "tooling_create"))
    spec = _first_spec()
    runner = setup.FieldSetup(client_for(sf_replay_settings), MAPPING, None)
    assert runner._create_field(spec) == f"{spec.full_name}: created ({spec.metadata['type']})"
    (sent,) = sf_replay.requests("POST", f"{V}/tooling/sobjects/CustomField")
    assert sent.json() == {"FullName": spec.full_name, "Metadata": spec.metadata}


def test_adapter_reads_the_documented_tooling_query_answer(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    sf_replay.route("GET", f"{V}/tooling/query", Answer.of(SF, "tooling_query"))
    runner = setup.FieldSetup(client_for(sf_replay_settings), MAPPING, None)
    assert runner._existing_fields([_first_spec()]) == {("account", "caf"): "00NXXXXXXXXXXXXXXX"}
    (sent,) = sf_replay.requests("GET", f"{V}/tooling/query")
    assert sent.query["q"][0].startswith("SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE")


def test_sandbox_tooling_create_and_query_have_the_documented_shape(org: Org) -> None:
    spec = _first_spec()
    created = org.call(
        "POST", "tooling/sobjects/CustomField", json={"FullName": spec.full_name, "Metadata": spec.metadata}
    )
    assert created.status_code == fixture(SF, "tooling_create")["status"]
    assert_same_shape(body("tooling_create"), created.json())
    soql = f"SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE DeveloperName = '{spec.developer_name}'"
    answer = org.json("GET", "tooling/query", params={"q": soql})
    assert answer["totalSize"] == 1
    assert_same_shape(body("tooling_query"), answer)


# -- limits -------------------------------------------------------------------------------------------


def test_adapter_reads_the_documented_limits_answer(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    sf_replay.route("GET", f"{V}/limits", Answer.of(SF, "limits"))
    limits = client_for(sf_replay_settings).rest("limits")
    daily = limits["DailyApiRequests"]
    assert int(daily["Max"]) - int(daily["Remaining"]) == 63


def test_sandbox_limits_have_the_documented_shape(org: Org) -> None:
    answer = org.json("GET", "limits")
    # The limit names are data: an org lists the limits of its edition and features, so the top level
    # is compared as an open map; the one tiersync reads must be there.
    assert "DailyApiRequests" in answer
    assert_same_shape(body("limits"), answer, open_paths={""})


# -- Bulk API 2.0 query job ---------------------------------------------------------------------------


def _bulk(settings: SalesforceSettings) -> BulkJobs:
    return BulkJobs(client_for(settings), timeout=30)


def test_adapter_runs_the_documented_bulk_query_job(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings, tmp_path: Path
) -> None:
    job = body("bulk_query_create")["id"]
    sf_replay.route("POST", f"{V}/jobs/query", Answer.of(SF, "bulk_query_create"))
    sf_replay.route("GET", f"{V}/jobs/query/{job}", Answer.of(SF, "bulk_query_status"))
    # two pages: the page's example headers (Sforce-Locator: MTAwMDA), then the last page (null)
    sf_replay.route(
        "GET",
        f"{V}/jobs/query/{job}/results",
        Answer.csv(SF, "query_results", [("Sforce-Locator", "MTAwMDA"), ("Sforce-NumberOfRecords", "3")]),
        Answer.csv(SF, "query_results", [("Sforce-Locator", "null"), ("Sforce-NumberOfRecords", "3")]),
    )
    sf_replay.route("GET", f"{V}/sobjects/User/describe", Answer.of(SF, "describe"))
    jobs = _bulk(sf_replay_settings)
    assert jobs.start_query("SELECT Id, Name FROM User") == job
    rows: list[dict[str, Any]] = []
    schema = Schema(client_for(sf_replay_settings))
    for path in jobs.query_result_files(job, "User", tmp_path):
        cells = read_csv(path)
        shape = RowShape(next(cells), schema, "User")
        rows += [shape.row(c) for c in cells]
    documented = [
        {"Id": "005R0000000UyrWIAS", "Name": "Jane Dunn"},
        {"Id": "005R0000000GiwjIAC", "Name": "George Wang"},
        {"Id": "005R0000000GiwoIAC", "Name": "Li Chen"},
    ]
    assert rows == documented * 2
    first, second = sf_replay.requests("GET", f"{V}/jobs/query/{job}/results")
    assert "locator" not in first.query and second.query["locator"] == ["MTAwMDA"]
    assert first.query["maxRecords"] == ["50000"]
    (sent,) = sf_replay.requests("POST", f"{V}/jobs/query")
    assert sent.json()["operation"] == "query" and sent.json()["query"] == "SELECT Id, Name FROM User"


def _wait(org: Org, path: str) -> dict[str, Any]:
    for _ in range(10):
        info: dict[str, Any] = org.json("GET", path)
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
    raise AssertionError(f"{path} did not finish")


def _csv_header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)))


def test_sandbox_bulk_query_job_has_the_documented_shape(org: Org) -> None:
    org.accounts(3)
    created = org.json(
        "POST",
        "jobs/query",
        json={
            "operation": "query",
            "query": "SELECT Id, Name FROM Account",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        },
    )
    assert_same_shape(body("bulk_query_create"), created)
    info = _wait(org, f"jobs/query/{created['id']}")
    assert_same_shape(body("bulk_query_status"), info, extra=EXTRA_BULK_QUERY_INFO)
    results = org.call("GET", f"jobs/query/{created['id']}/results")
    assert results.headers["Content-Type"].startswith("text/csv")
    assert {"Sforce-Locator", "Sforce-NumberOfRecords"} <= set(results.headers)
    documented = fixture_csv_lines("query_results")
    assert _csv_header(results.text) == _csv_header(documented[0])
    assert results.text.splitlines()[0] == documented[0]  # every cell quoted, as in the example


def fixture_csv_lines(name: str) -> list[str]:
    return csv_fixture(SF, name).splitlines()


# -- Bulk API 2.0 ingest job --------------------------------------------------------------------------


def test_adapter_runs_the_documented_bulk_ingest_job(
    sf_replay: Replay, sf_replay_settings: SalesforceSettings
) -> None:
    job = body("bulk_ingest_create")["id"]
    sf_replay.route("POST", f"{V}/jobs/ingest", Answer.of(SF, "bulk_ingest_create"))
    sf_replay.route("PUT", f"{V}/jobs/ingest/{job}/batches", Answer(201))
    sf_replay.route("PATCH", f"{V}/jobs/ingest/{job}", Answer.of(SF, "bulk_ingest_close"))
    sf_replay.route("GET", f"{V}/jobs/ingest/{job}", Answer.of(SF, "bulk_ingest_status"))
    sf_replay.route("GET", f"{V}/jobs/ingest/{job}/successfulResults", Answer.csv(SF, "ingest_successful"))
    sf_replay.route("GET", f"{V}/jobs/ingest/{job}/failedResults", Answer.csv(SF, "ingest_failed"))
    records = [
        {"Id": "001R00000064wc7IAA", "Name": "Sample Bulk API Account 1"},
        {"Id": "001xx000003DGb2999", "Name": "Sample Bulk API Account 2"},
    ]
    refs = [r["Id"] for r in records]
    ok, failed = ingest(_bulk(sf_replay_settings), "Account", "update", records, refs, ref_column="Id")
    assert (ok.ref, ok.ok, ok.crm_id) == ("001R00000064wc7IAA", True, "001R00000064wc7IAA")
    assert (failed.ref, failed.ok, failed.error_code) == ("001xx000003DGb2999", False, "MALFORMED_ID")
    assert failed.message == "Account ID: id value of incorrect type: 001xx000003DGb2999 (field: Id)"
    (upload,) = sf_replay.requests("PUT", f"{V}/jobs/ingest/{job}/batches")
    assert list(csv.reader(io.StringIO(upload.body.decode()))) == [
        ["Id", "Name"],
        *[[r["Id"], r["Name"]] for r in records],
    ]
    (close,) = sf_replay.requests("PATCH", f"{V}/jobs/ingest/{job}")
    assert close.json() == {"state": "UploadComplete"}


def test_sandbox_bulk_ingest_job_has_the_documented_shape(org: Org) -> None:
    (account_id,) = org.accounts(1)
    created = org.json(
        "POST",
        "jobs/ingest",
        json={
            "object": "Account",
            "operation": "update",
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        },
    )
    assert_same_shape(body("bulk_ingest_create"), created, extra=EXTRA_BULK_INGEST_INFO)
    data = f"Id,Name\n{account_id},Renamed\n001xx000003DGb2999,Nobody\n"
    upload = org.call(
        "PUT", f"jobs/ingest/{created['id']}/batches", data=data, headers={"Content-Type": "text/csv"}
    )
    assert upload.status_code == 201
    closed = org.json("PATCH", f"jobs/ingest/{created['id']}", json={"state": "UploadComplete"})
    assert_same_shape(body("bulk_ingest_close"), closed, extra=EXTRA_BULK_INGEST_INFO)
    info = _wait(org, f"jobs/ingest/{created['id']}")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    assert_same_shape(body("bulk_ingest_status"), info, extra=EXTRA_BULK_INGEST_INFO)
    for kind, name in (("successfulResults", "ingest_successful"), ("failedResults", "ingest_failed")):
        answer = org.call("GET", f"jobs/ingest/{created['id']}/{kind}")
        assert _csv_header(answer.text) == _csv_header(fixture_csv_lines(name)[0]), kind

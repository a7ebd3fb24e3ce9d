"""The Salesforce sandbox driven by the real simple_salesforce client over real HTTPS (no patching)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import time
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce, format_external_id, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connector.model import (
    Account,
    GoalAgreement,
    GoalStatus,
    Invoice,
    InvoiceStatus,
    Meeting,
    MeetingOutcome,
    Referral,
    Renegotiation,
    Roster,
    Survey,
    Ticket,
)
from connector.sandbox.faults import Fault, FaultPlan, RecordFault
from connector.sandbox.people import full_name
from connector.sandbox.salesforce import SalesforceSandbox, login_domain
from tests.sandbox.conftest import SalesforceSandboxFixture

API_USER = "sandbox@tiersync.local"


def _accounts(n: int, **extra: Any) -> Roster:
    return Roster(accounts=[Account(id=f"c{i:04d}", name=f"Account {i:04d}", **extra) for i in range(n)])


def _error(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    content = exc.value.content
    return dict(content[0]) if isinstance(content, list) else dict(content)


def _api_user_id(sf: Salesforce) -> str:
    return str(sf.query(format_soql("SELECT Id FROM User WHERE Username = {}", API_USER))["records"][0]["Id"])


def _create_field(sf: Salesforce, full_name: str, metadata: dict[str, Any]) -> str:
    result = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": metadata}
    )
    return str(result["id"])


def _grant(sf: Salesforce, *fields: str, edit: bool = True) -> None:
    """What setup-fields does after creating fields: a permission set with field permissions, assigned."""
    permission_set = sf.PermissionSet.create({"Name": "Tiersync_Fields", "Label": "Tiersync fields"})["id"]
    sf.PermissionSetAssignment.create({"AssigneeId": _api_user_id(sf), "PermissionSetId": permission_set})
    for field in fields:
        sf.FieldPermissions.create(
            {
                "ParentId": permission_set,
                "SobjectType": field.split(".")[0],
                "Field": field,
                "PermissionsRead": True,
                "PermissionsEdit": edit,
            }
        )


KEY_FIELD = {"label": "Tiersync key", "type": "Text", "length": 80, "externalId": True, "unique": True}


# -- query ------------------------------------------------------------------------------------------


def test_query_pages_through_next_records_url_at_the_requested_batch_size(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf_sandbox.sandbox.seed(_accounts(450))
    sf = sf_sandbox.client()
    options = {"Sforce-Query-Options": "batchSize=200"}
    sf_sandbox.ledger.reset()

    first = sf.query("SELECT Id, Name FROM Account ORDER BY Name", headers=options)
    assert (first["totalSize"], first["done"], len(first["records"])) == (450, False, 200)
    assert first["nextRecordsUrl"].startswith("/services/data/v60.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    everything = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name", headers=options)

    names = [r["Name"] for r in everything["records"]]
    assert names == sorted(names) and len(set(names)) == 450
    assert sf_sandbox.ledger.count(crm="salesforce", path_contains="/query") == 1 + 3
    assert [c.records for c in sf_sandbox.ledger.calls()[1:]] == [200, 200, 50]


def test_unknown_query_locator_is_invalid(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf = sf_sandbox.client()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more("01g000000000000AAA-2000")
    assert _error(exc)["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_returns_soft_deleted_rows_that_query_hides(sf_sandbox: SalesforceSandboxFixture) -> None:
    ids = sf_sandbox.sandbox.seed(_accounts(3))
    sf = sf_sandbox.client()
    sf.Account.delete(ids["c0001"])

    live = sf.query("SELECT Id FROM Account WHERE Name LIKE 'Account%'")
    everything = sf.query_all(
        "SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Account%'", include_deleted=True
    )

    assert live["totalSize"] == 2
    assert {r["Id"]: r["IsDeleted"] for r in everything["records"]}[ids["c0001"]] is True


NASTY_NAMES = [
    "O'Brien",
    "Back\\slash",
    "Quote ' OR Name != '",
    'Double "quoted"',
    "Line\nbreak",
    "100% _sure_",
]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_format_soql_quoting_matches_exactly_one_row_and_never_injects(
    sf_sandbox: SalesforceSandboxFixture, name: str
) -> None:
    sf_sandbox.sandbox.seed(Roster(accounts=[Account(id=f"c{i}", name=n) for i, n in enumerate(NASTY_NAMES)]))
    sf = sf_sandbox.client()

    exact = sf.query(format_soql("SELECT Name FROM Account WHERE Name = {}", name))
    like = sf.query(format_soql("SELECT Name FROM Account WHERE Name LIKE '{:like}'", name))

    assert [r["Name"] for r in exact["records"]] == [name]
    assert [r["Name"] for r in like["records"]] == [name]


def _operator_roster() -> Roster:
    return Roster(
        accounts=[
            Account(
                id="a", name="Alpha", industry="Retail", employee_count=10, created=dt.date(2026, 11, 20)
            ),
            Account(
                id="b", name="Bravo", industry="Banking", employee_count=500, created=dt.date(2026, 1, 5)
            ),
            Account(id="c", name="Charlie", industry=None, employee_count=None, created=dt.date(2025, 6, 1)),
            Account(
                id="d", name="delta", industry="Retail", employee_count=42, created=dt.date(2026, 11, 26)
            ),
        ],
        goals=[GoalAgreement(id="g", account_id="b", date=dt.date(2026, 2, 1), status=GoalStatus.AGREED)],
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'ALPHA'", ["Alpha"]),
        ("Name != 'Alpha'", ["Bravo", "Charlie", "delta"]),
        ("Industry != 'Retail'", ["Bravo", "Charlie"]),
        ("Industry = null", ["Charlie"]),
        ("Industry != null AND NumberOfEmployees >= 42", ["Bravo", "delta"]),
        ("NumberOfEmployees < 42.5", ["Alpha", "delta"]),
        ("Industry IN ('Retail', 'banking')", ["Alpha", "Bravo", "delta"]),
        ("Industry NOT IN ('Retail')", ["Bravo", "Charlie"]),
        ("Name LIKE '%a'", ["Alpha", "delta"]),
        ("Name LIKE '_ravo'", ["Bravo"]),
        ("(Industry = 'Retail' OR Industry = 'Banking') AND NOT Name = 'delta'", ["Alpha", "Bravo"]),
        ("NOT (NumberOfEmployees > 100 OR Industry = null)", ["Alpha", "delta"]),
        ("CreatedDate >= 2026-01-01T00:00:00Z", ["Alpha", "Bravo", "delta"]),
        ("CreatedDate < 2026-01-05T01:00:00.000+01:00", ["Charlie"]),
        ("CreatedDate = LAST_N_DAYS:7", ["Alpha", "delta"]),
        ("CreatedDate = TODAY", ["delta"]),
        ("Goals_Date__c = 2026-02-01 AND Goals_Status__c = 'Agreed'", ["Bravo"]),
        ("Goals_Date__c > 2026-01-01", ["Bravo"]),
        ("IsDeleted = false AND Owner.Name = 'Tiersync Integration'", ["Alpha", "Bravo", "Charlie", "delta"]),
    ],
)
def test_where_operators_compare_with_field_types(
    sf_sandbox: SalesforceSandboxFixture, where: str, expected: list[str]
) -> None:
    sf_sandbox.sandbox.seed(_operator_roster())
    result = sf_sandbox.client().query(f"SELECT Name FROM Account WHERE {where} ORDER BY Name")
    assert sorted((r["Name"] for r in result["records"]), key=str.lower) == expected


def test_order_by_several_keys_with_nulls_last_limit_and_offset(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf_sandbox.sandbox.seed(_operator_roster())
    sf = sf_sandbox.client()
    ordered = sf.query("SELECT Name FROM Account ORDER BY Industry DESC NULLS LAST, Name ASC")
    page = sf.query("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1")
    count = sf.query("SELECT COUNT() FROM Account WHERE Industry = 'Retail'")

    assert [r["Name"] for r in ordered["records"]] == ["Alpha", "delta", "Bravo", "Charlie"]
    assert [r["Name"] for r in page["records"]] == ["Bravo", "Charlie"]
    assert (count["totalSize"], count["records"]) == (2, [])


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY"),
        ("SELECT Id, (SELECT Id FROM Cases) FROM Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Case)", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY"),
        ('SELECT Id FROM Account WHERE Name = "double"', "MALFORMED_QUERY"),
        ("SELECT Id FROM Account a", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE CreatedDate = THIS_MONTH", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Account", "INVALID_FIELD"),
        ("SELECT Nope__r.Name FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2026-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Goals_Date__c > 2026-01-01T00:00:00Z", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Case WHERE Description = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY"),
    ],
)
def test_unsupported_or_wrong_queries_fail_loudly(
    sf_sandbox: SalesforceSandboxFixture, soql: str, code: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf_sandbox.client().query(soql)
    assert _error(exc)["errorCode"] == code


# -- describe, limits, auth --------------------------------------------------------------------------


def test_describe_shows_types_picklists_references_and_custom_fields(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf = sf_sandbox.client()
    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    invoice = sf.Invoice__c.describe()
    invoice_fields = {f["name"]: f for f in invoice["fields"]}
    names = {o["name"] for o in sf.describe()["sobjects"]}

    assert account["Goals_Status__c"]["type"] == "picklist" and account["Goals_Status__c"]["custom"] is True
    assert account["Goals_Status__c"]["restrictedPicklist"] is True
    assert [v["value"] for v in account["Goals_Status__c"]["picklistValues"]] == [
        "Agreed",
        "Refused",
        "Pending",
    ]
    assert account["NumberOfEmployees"]["type"] == "int"
    assert account["Name"]["nillable"] is False and account["Name"]["length"] == 255
    assert invoice["custom"] is True and invoice["keyPrefix"] == "a0X"
    assert invoice_fields["Account__c"]["referenceTo"] == ["Account"]
    assert invoice_fields["Account__c"]["relationshipName"] == "Account__r"
    assert invoice_fields["Amount__c"]["type"] == "currency"
    assert {"Account", "Opportunity", "Case", "Task", "Event", "Invoice__c", "Survey_Response__c"} <= names


def test_limits_and_every_answer_report_api_usage(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf_sandbox.sandbox.set_api_usage(41)
    sf = sf_sandbox.client()
    limits = sf.limits()
    sf.query("SELECT Id FROM Account")

    assert limits["DailyApiRequests"] == {"Max": 1_000_000, "Remaining": 1_000_000 - 42}
    assert sf.api_usage["api-usage"].used == 43
    assert sf_sandbox.sandbox.api_used == 43


def test_exhausted_daily_limit_is_refused_without_counting(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf_sandbox.sandbox.set_api_usage(sf_sandbox.sandbox.api_daily_limit)
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf_sandbox.client().query("SELECT Id FROM Account")
    assert _error(exc)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sf_sandbox.sandbox.api_used == sf_sandbox.sandbox.api_daily_limit


def test_missing_or_wrong_token_is_invalid_session(sf_sandbox: SalesforceSandboxFixture) -> None:
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf_sandbox.client(session_id="wrong").query("SELECT Id FROM Account")
    assert _error(exc) == {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    assert sf_sandbox.sandbox.api_used == 0


def test_soap_login_with_security_token_and_relogin_after_expiry(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf = Salesforce(
        username=API_USER,
        password="sandbox",
        security_token="token",
        domain=login_domain(sf_sandbox.url),
        session=sf_sandbox.session(),
        version="60.0",
    )
    first_token = sf.session_id
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    sf_sandbox.sandbox.expire_sessions()
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    assert sf.session_id != first_token
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(
            username=API_USER,
            password="wrong",
            security_token="token",
            domain=login_domain(sf_sandbox.url),
            session=sf_sandbox.session(),
        )
    assert exc.value.code == "INVALID_LOGIN"


def test_oauth_client_credentials_and_jwt_bearer_flows(sf_sandbox: SalesforceSandboxFixture) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    oauth_domain = login_domain(sf_sandbox.url, flow="oauth")
    by_client = Salesforce(
        consumer_key="key",
        consumer_secret="secret",
        domain=oauth_domain,
        session=sf_sandbox.session(),
        version="60.0",
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    by_jwt = Salesforce(
        username=API_USER,
        consumer_key="key",
        privatekey=pem,
        domain=oauth_domain,
        session=sf_sandbox.session(),
        version="60.0",
    )

    for sf in (by_client, by_jwt):
        assert sf.sf_instance == sf_sandbox.url.removeprefix("https://")
        assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 2, "the API user and the editor"


# -- sObject CRUD and validation ----------------------------------------------------------------------


def test_create_read_update_delete_keeps_timestamps_and_ledger(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf = sf_sandbox.client()
    created = sf.Account.create({"Name": "Fresh", "NumberOfEmployees": 12, "Goals_Date__c": "2026-01-02"})
    record_id = created["id"]
    before = sf.Account.get(record_id)
    by_short_id = sf.Account.get(record_id[:15])
    sf_sandbox.clock.advance(minutes=5)
    status = sf.Account.update(record_id, {"Industry": "Retail"})
    after = sf.Account.get(record_id)
    deleted = sf.Account.delete(record_id)

    assert created == {"id": record_id, "success": True, "errors": []} and record_id.startswith("001")
    assert len(record_id) == 18 and by_short_id["Id"] == record_id
    assert before["CreatedDate"] == "2026-11-26T06:50:00.000+0000"
    assert (status, after["Industry"], after["SystemModstamp"]) == (
        204,
        "Retail",
        "2026-11-26T06:55:00.000+0000",
    )
    assert after["CreatedDate"] == before["CreatedDate"]
    assert deleted == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Account.get(record_id)
    assert _error(exc)["errorCode"] == "ENTITY_IS_DELETED"
    writes = [(c.method, c.status) for c in sf_sandbox.ledger.calls(write=True)]
    assert writes == [("POST", 201), ("PATCH", 204), ("DELETE", 204)]


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"Name": "x", "Nope__c": 1}, "INVALID_FIELD"),
        ({"Name": "x", "Goals_Status__c": "Maybe"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Name": "x", "Goals_Date__c": "02/01/2026"}, "JSON_PARSER_ERROR"),
        ({"Name": "x", "NumberOfEmployees": "many"}, "JSON_PARSER_ERROR"),
        ({"Name": "x", "NumberOfEmployees": 1.5}, "JSON_PARSER_ERROR"),
        ({"Industry": "Retail"}, "REQUIRED_FIELD_MISSING"),
        ({"Name": "x" * 256}, "STRING_TOO_LONG"),
        ({"Name": "x", "CreatedDate": "2020-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Name": "x", "OwnerId": "001000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY"),
    ],
)
def test_invalid_values_are_rejected_with_the_documented_error(
    sf_sandbox: SalesforceSandboxFixture, values: dict[str, Any], code: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf_sandbox.client().Account.create(values)
    assert _error(exc)["errorCode"] == code
    assert sf_sandbox.sandbox.records("Account") == []


def test_task_key_field_does_not_exist_until_created_through_tooling(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf = sf_sandbox.client()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.create({"Subject": "Call", "Tiersync_Key__c": "k1"})
    assert _error(exc) == {
        "message": "No such column 'Tiersync_Key__c' on sobject of type Task",
        "errorCode": "INVALID_FIELD",
        "fields": ["Tiersync_Key__c"],
    }


def test_upsert_by_external_id_creates_then_updates(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf = sf_sandbox.client()
    _create_field(sf, "Account.Tiersync_Key__c", KEY_FIELD)
    _grant(sf, "Account.Tiersync_Key__c")
    key = format_external_id("Tiersync_Key__c", "acct/001:follow-up")

    created = sf.Account.upsert(key, {"Name": "Call back"}, raw_response=True)
    updated = sf.Account.upsert(key, {"Industry": "Retail"}, raw_response=True)
    accounts = sf.query("SELECT Tiersync_Key__c, Name, Industry FROM Account")["records"]

    assert created.status_code == 201 and created.json()["created"] is True
    assert updated.status_code == 200 and updated.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    assert [(a["Tiersync_Key__c"], a["Name"], a["Industry"]) for a in accounts] == [
        ("acct/001:follow-up", "Call back", "Retail")
    ]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "dup", "Tiersync_Key__c": "ACCT/001:FOLLOW-UP"})
    assert _error(exc)["errorCode"] == "DUPLICATE_VALUE"


ACTIVITY_KEY = {"label": "Tiersync key", "type": "Text", "length": 255}


@pytest.mark.parametrize("full_name", ["Task.Tiersync_Key__c", "Event.Tiersync_Key__c"])
def test_task_and_event_fields_are_refused_they_are_activity_fields(
    sf_sandbox: SalesforceSandboxFixture, full_name: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _create_field(sf_sandbox.client(), full_name, ACTIVITY_KEY)
    assert _error(exc)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf_sandbox.sandbox.records("Task") == []


@pytest.mark.parametrize("flag", ["externalId", "unique"])
def test_an_activity_field_may_be_neither_external_id_nor_unique(
    sf_sandbox: SalesforceSandboxFixture, flag: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _create_field(sf_sandbox.client(), "Activity.Tiersync_Key__c", {**ACTIVITY_KEY, flag: True})
    assert _error(exc)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_an_activity_field_shows_on_task_and_event_and_is_granted_per_object(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf = sf_sandbox.client()
    _create_field(sf, "Activity.Tiersync_Key__c", ACTIVITY_KEY)
    listed = sf.toolingexecute(
        "query?q=SELECT+DeveloperName,TableEnumOrId,FullName+FROM+CustomField"
        "+WHERE+DeveloperName='Tiersync_Key'"
    )["records"]
    assert [(r["TableEnumOrId"], r["FullName"]) for r in listed] == [("Activity", "Activity.Tiersync_Key__c")]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _grant(sf, "Activity.Tiersync_Key__c")
    assert _error(exc)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

    permission_set = sf.PermissionSet.create({"Name": "Activity_Fields", "Label": "Activity fields"})["id"]
    sf.PermissionSetAssignment.create({"AssigneeId": _api_user_id(sf), "PermissionSetId": permission_set})
    grant = {"ParentId": permission_set, "SobjectType": "Task", "Field": "Task.Tiersync_Key__c"}
    sf.FieldPermissions.create({**grant, "PermissionsRead": True, "PermissionsEdit": True})
    task_fields = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert task_fields["Tiersync_Key__c"]["externalId"] is False
    assert task_fields["Tiersync_Key__c"]["idLookup"] is False
    assert "Tiersync_Key__c" not in {f["name"] for f in sf.Event.describe()["fields"]}
    sf.FieldPermissions.create(
        {**grant, "SobjectType": "Event", "Field": "Event.Tiersync_Key__c", "PermissionsRead": True}
    )
    assert "Tiersync_Key__c" in {f["name"] for f in sf.Event.describe()["fields"]}

    task = sf.Task.create({"Subject": "Call", "Tiersync_Key__c": "k1"})["id"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Task.upsert(format_external_id("Tiersync_Key__c", "k1"), {"Subject": "Again"})
    found = sf.query("SELECT Id FROM Task WHERE Tiersync_Key__c = 'k1'")["records"]
    assert [r["Id"] for r in found] == [task]


# -- sObject Collections ------------------------------------------------------------------------------


def _records(n: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Account"}, "Name": f"Bulk {i}", **fields} for i in range(n)]


def test_collections_create_update_upsert_delete(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf = sf_sandbox.client()
    _create_field(sf, "Account.Tiersync_Key__c", KEY_FIELD)
    _grant(sf, "Account.Tiersync_Key__c")

    created = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": _records(3)}
    )
    ids = [r["id"] for r in created]
    updates = [{"attributes": {"type": "Account"}, "Id": i, "Industry": "Retail"} for i in ids]
    updated = sf.restful("composite/sobjects", method="PATCH", json={"records": updates})
    upserts = [
        {"attributes": {"type": "Account"}, "Tiersync_Key__c": "k-new", "Name": "Upserted"},
        {"attributes": {"type": "Account"}, "Tiersync_Key__c": "k-new2", "Name": "Upserted 2"},
    ]
    upserted = sf.restful(
        "composite/sobjects/Account/Tiersync_Key__c", method="PATCH", json={"records": upserts}
    )
    again = sf.restful(
        "composite/sobjects/Account/Tiersync_Key__c", method="PATCH", json={"records": upserts[:1]}
    )
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids[:2])})

    assert all(r["success"] and r["errors"] == [] for r in created + updated + deleted)
    assert [r["created"] for r in upserted] == [True, True] and again[0]["created"] is False
    assert again[0]["id"] == upserted[0]["id"]
    remaining = sf.query("SELECT Name, Industry FROM Account ORDER BY Name")["records"]
    assert [(r["Name"], r["Industry"]) for r in remaining] == [
        ("Bulk 2", "Retail"),
        ("Upserted", None),
        ("Upserted 2", None),
    ]


def test_collections_refuse_more_than_200_records(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf = sf_sandbox.client()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects", method="POST", json={"records": _records(201)})
    assert _error(exc)["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert sf_sandbox.sandbox.records("Account") == []


def test_partial_failure_is_reported_per_record_in_a_200(sf_sandbox: SalesforceSandboxFixture) -> None:
    ids = list(sf_sandbox.sandbox.seed(_accounts(3)).values())
    sf_sandbox.faults.configure(
        FaultPlan(failing_records={ids[1]: RecordFault.LOCK_ROW, ids[2]: RecordFault.VALIDATION})
    )
    sf = sf_sandbox.client()
    updates = [{"attributes": {"type": "Account"}, "Id": i, "Industry": "Retail"} for i in ids]

    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": updates})

    assert results[0] == {"id": ids[0], "success": True, "errors": []}
    assert results[1]["success"] is False and results[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert results[2]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert [sf_sandbox.sandbox.get("Account", i).get("Industry") for i in ids] == ["Retail", None, None]  # type: ignore[union-attr]
    assert sf_sandbox.ledger.calls()[-1].records == 1


def test_all_or_none_rolls_back_every_record(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf = sf_sandbox.client()
    records = [*_records(2), {"attributes": {"type": "Account"}, "Goals_Status__c": "Agreed"}]

    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})

    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "REQUIRED_FIELD_MISSING",
    ]
    assert sf_sandbox.sandbox.records("Account") == []
    assert sf_sandbox.ledger.calls()[-1].write is False


# -- request faults -----------------------------------------------------------------------------------


def test_rate_limit_fault_is_a_429_with_retry_after_and_changes_nothing(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf_sandbox.faults.configure(FaultPlan(schedule={1: Fault.RATE_LIMIT}, retry_after_seconds=7))
    seen: list[requests.Response] = []
    session = sf_sandbox.session()
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
    sf = sf_sandbox.client(session=session)

    with pytest.raises(SalesforceGeneralError) as exc:
        sf.Account.create({"Name": "Throttled"})
    sf.Account.create({"Name": "Second try"})

    assert exc.value.status == 429 and seen[0].headers["Retry-After"] == "7"
    assert [r["Name"] for r in sf_sandbox.sandbox.records("Account")] == ["Second try"]
    assert [(c.status, c.fault, c.write) for c in sf_sandbox.ledger.calls()] == [
        (429, "rate_limit", False),
        (201, None, True),
    ]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault.SERVER_ERROR, 500, "UNKNOWN_EXCEPTION"),
        (Fault.UNAVAILABLE, 503, "SERVER_UNAVAILABLE"),
    ],
)
def test_server_faults_answer_errors_and_change_nothing(
    sf_sandbox: SalesforceSandboxFixture, fault: Fault, status: int, code: str
) -> None:
    sf_sandbox.faults.configure(FaultPlan(schedule={1: fault}))
    with pytest.raises(SalesforceGeneralError) as exc:
        sf_sandbox.client().Account.create({"Name": "Lost"})
    assert (exc.value.status, _error(exc)["errorCode"]) == (status, code)
    assert sf_sandbox.sandbox.records("Account") == []


def test_reset_fault_drops_the_connection(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf_sandbox.faults.configure(FaultPlan(schedule={1: Fault.RESET}))
    sf = sf_sandbox.client()
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Account.create({"Name": "Dropped"})
    assert sf_sandbox.sandbox.records("Account") == []
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    assert sf_sandbox.ledger.calls()[0].fault == "reset"


def test_slow_fault_delays_but_serves(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf_sandbox.faults.configure(FaultPlan(schedule={1: Fault.SLOW}, slow_seconds=0.3))
    started = time.monotonic()
    result = sf_sandbox.client().query("SELECT COUNT() FROM Account")
    assert time.monotonic() - started >= 0.3 and result["totalSize"] == 0


# -- Bulk API 2.0 -------------------------------------------------------------------------------------


def test_bulk2_query_pages_csv_results_with_locators(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf_sandbox.sandbox.seed(_accounts(450, owner_id="owner-1"))
    sf = sf_sandbox.client()
    sf_sandbox.ledger.reset()

    pages = list(sf.bulk2.Account.query("SELECT Id, Name, Owner.Name FROM Account", max_records=200, wait=0))

    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(pages) == 3 and len(rows) == 450
    assert rows[0].keys() == {"Id", "Name", "Owner.Name"} and rows[0]["Owner.Name"] == full_name("owner-1")
    states = [c.path for c in sf_sandbox.ledger.calls() if c.method == "GET" and c.path.count("/") == 6]
    assert len(states) == 2  # polled once while InProgress, once JobComplete
    assert sf_sandbox.ledger.count(path_contains="/results") == 3


def test_bulk2_upsert_lifecycle_reports_failed_and_successful_rows(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    ids = sf_sandbox.sandbox.seed(_accounts(3))
    sf_sandbox.faults.configure(FaultPlan(failing_records={ids["c0002"]: RecordFault.LOCK_ROW}))
    sf = sf_sandbox.client()
    rows = [
        {"Id": ids["c0000"], "Industry": "Retail"},
        {"Id": ids["c0001"], "Goals_Status__c": "Bogus"},
        {"Id": ids["c0002"], "Industry": "Banking"},
        {"Id": "", "Name": "Brand new"},
    ]

    (result,) = sf.bulk2.Account.upsert(records=rows, external_id_field="Id", wait=0)
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(result["job_id"]))))
    succeeded = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(result["job_id"]))))

    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (4, 2)
    assert {r["sf__Id"]: r["sf__Error"].split(":")[0] for r in failed} == {
        ids["c0001"]: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ids["c0002"]: "UNABLE_TO_LOCK_ROW",
    }
    assert sorted(r["sf__Created"] for r in succeeded) == ["false", "true"]
    assert sf_sandbox.sandbox.get("Account", ids["c0000"])["Industry"] == "Retail"  # type: ignore[index]


def test_bulk2_ingest_with_unknown_column_fails_the_job(sf_sandbox: SalesforceSandboxFixture) -> None:
    from simple_salesforce.exceptions import SalesforceOperationError

    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf_sandbox.client().bulk2.Account.insert(records=[{"Name": "x", "Nope__c": "1"}], wait=0)
    assert sf_sandbox.sandbox.records("Account") == []


# -- Tooling: custom fields, field-level security, layouts ---------------------------------------------


def test_custom_field_create_then_duplicate_is_refused(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf = sf_sandbox.client()
    tier = {
        "label": "Client tier",
        "type": "Picklist",
        "valueSet": {
            "restricted": True,
            "valueSetDefinition": {
                "value": [
                    {"fullName": t, "default": False, "label": t} for t in ("Amazing", "Good", "Okay", "Poor")
                ]
            },
        },
    }
    field_id = _create_field(sf, "Account.Tiersync_Tier__c", tier)
    found = sf.restful(
        "tooling/query",
        params={
            "q": "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = 'Account' "
            "AND DeveloperName = 'Tiersync_Tier'"
        },
    )
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _create_field(sf, "Account.Tiersync_Tier__c", tier)

    assert field_id.startswith("00N")
    assert [(r["Id"], r["DeveloperName"], r["TableEnumOrId"]) for r in found["records"]] == [
        (field_id, "Tiersync_Tier", "Account")
    ]
    assert _error(exc)["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


def test_new_field_is_invisible_until_field_permissions_are_granted(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    ids = sf_sandbox.sandbox.seed(_accounts(1))
    sf = sf_sandbox.client()
    _create_field(
        sf,
        "Account.Tiersync_Traits__c",
        {
            "label": "Traits",
            "type": "MultiselectPicklist",
            "visibleLines": 4,
            "valueSet": {
                "valueSetDefinition": {"value": [{"fullName": "bully"}, {"fullName": "outside_icp"}]}
            },
        },
    )

    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Tiersync_Traits__c FROM Account")
    hidden_in_describe = "Tiersync_Traits__c" not in {f["name"] for f in sf.Account.describe()["fields"]}
    _grant(sf, "Account.Tiersync_Traits__c", edit=False)
    readable = sf.query("SELECT Tiersync_Traits__c FROM Account")["records"]
    with pytest.raises(SalesforceMalformedRequest) as read_only:
        sf.Account.update(ids["c0000"], {"Tiersync_Traits__c": "bully"})

    assert _error(exc)["errorCode"] == "INVALID_FIELD" and hidden_in_describe
    assert readable[0]["Tiersync_Traits__c"] is None
    assert _error(read_only)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_layout_gets_a_client_tier_section(sf_sandbox: SalesforceSandboxFixture) -> None:
    sf = sf_sandbox.client()
    _create_field(sf, "Account.Tiersync_Tier__c", {"label": "Client tier", "type": "Text", "length": 20})
    layout = sf.restful(
        "tooling/query", params={"q": "SELECT Id, Name, Metadata FROM Layout WHERE TableEnumOrId = 'Account'"}
    )["records"][0]
    metadata = layout["Metadata"]
    metadata["layoutSections"].append(
        {
            "label": "Client tier",
            "style": "TwoColumnsTopToBottom",
            "layoutColumns": [{"layoutItems": [{"behavior": "Readonly", "field": "Tiersync_Tier__c"}]}],
        }
    )

    sf.toolingexecute(f"sobjects/Layout/{layout['Id']}", method="PATCH", data={"Metadata": metadata})
    stored = sf.toolingexecute(f"sobjects/Layout/{layout['Id']}")
    broken = json.loads(json.dumps(metadata))
    broken["layoutSections"][-1]["layoutColumns"][0]["layoutItems"][0]["field"] = "Nope__c"
    with pytest.raises(SalesforceMalformedRequest):
        sf.toolingexecute(f"sobjects/Layout/{layout['Id']}", method="PATCH", data={"Metadata": broken})

    assert layout["Name"] == "Account Layout"
    assert [s["label"] for s in stored["Metadata"]["layoutSections"]][-1] == "Client tier"


# The fields of the Layout type, from the Metadata API Developer Guide "Layout"
# (https://developer.salesforce.com/docs/platform/api-metadata/references/meta-types/metadata-layout.html).
DOCUMENTED_LAYOUT_KEYS = {
    "customButtons", "customConsoleComponents", "emailDefault", "excludeButtons", "feedLayout", "headers",
    "layoutSections", "miniLayout", "multilineLayoutFields", "platformActionList", "quickActionList",
    "relatedContent", "relatedLists", "relatedObjects", "runAssignmentRulesDefault", "showEmailCheckbox",
    "showHighlightsPanel", "showInteractionLogPanel", "showKnowledgeComponent",
    "showRunAssignmentRulesCheckbox", "showSolutionSection", "showSubmitAndAttachButton", "summaryLayout",
}  # fmt: skip


def test_the_seeded_layout_has_every_key_of_the_layout_type_and_a_patch_replaces_it_whole(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf = sf_sandbox.client()
    layout_id = sf.toolingexecute("query?q=SELECT+Id+FROM+Layout")["records"][0]["Id"]
    metadata = sf.toolingexecute(f"sobjects/Layout/{layout_id}")["Metadata"]
    assert set(metadata) == DOCUMENTED_LAYOUT_KEYS
    assert metadata["relatedLists"] and metadata["platformActionList"]["platformActionListItems"]

    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.toolingexecute(
            f"sobjects/Layout/{layout_id}", method="PATCH", data={"Metadata": {**metadata, "sections": []}}
        )
    assert _error(exc)["errorCode"] == "JSON_PARSER_ERROR"
    only_sections = {"layoutSections": metadata["layoutSections"]}
    sf.toolingexecute(f"sobjects/Layout/{layout_id}", method="PATCH", data={"Metadata": only_sections})
    assert sf.toolingexecute(f"sobjects/Layout/{layout_id}")["Metadata"] == only_sections  # the rest is gone


# -- seed, incremental reads, persistence --------------------------------------------------------------


def test_seed_maps_the_roster_into_the_documented_shapes(sf_sandbox: SalesforceSandboxFixture) -> None:
    roster = Roster(
        accounts=[
            Account(
                id="a1",
                name="Acme",
                owner_id="u1",
                industry="Retail",
                region="DE",
                employee_count=50,
                created=dt.date(2024, 1, 2),
                status="Customer - Direct",
                source="Web",
            ),
            Account(id="a2", name="Beta", owner_id="u1"),
        ],
        invoices=[
            Invoice(
                id="INV-1",
                account_id="a1",
                amount=100.5,
                currency="EUR",
                issued=dt.date(2025, 1, 1),
                due=dt.date(2025, 2, 1),
                paid=dt.date(2025, 3, 1),
                status=InvoiceStatus.PAID,
            )
        ],
        tickets=[
            Ticket(
                id="t1",
                account_id="a1",
                opened=dt.date(2025, 3, 3),
                discount_request=True,
                priority="high",
                escalated=True,
                abusive=True,
            )
        ],
        referrals=[
            Referral(id="r1", account_id="a1", referred="a2", value=1000, date=dt.date(2025, 4, 4)),
            Referral(id="r2", account_id="a1", referred="lead-9", value=None, date=None),
        ],
        surveys=[
            Survey(
                id="s1", account_id="a1", date=dt.date(2025, 6, 6), nps=9, csat=4.5, public_complaint=False
            )
        ],
        meetings=[
            Meeting(
                id="m1",
                account_id="a1",
                type="checkup",
                scheduled=dt.date(2025, 5, 5),
                outcome=MeetingOutcome.NO_SHOW,
            )
        ],
        goals=[
            GoalAgreement(id="g1", account_id="a1", date=dt.date(2025, 1, 1), status=GoalStatus.PENDING),
            GoalAgreement(id="g2", account_id="a1", date=dt.date(2025, 7, 1), status=GoalStatus.REFUSED),
        ],
        renegotiations=[Renegotiation(id="n1", account_id="a1", date=dt.date(2025, 8, 8), reason="price")],
    )
    ids = sf_sandbox.sandbox.seed(roster)
    sf = sf_sandbox.client()
    acme = sf.query(
        "SELECT Name, Owner.FederationIdentifier, Industry, BillingCountry, NumberOfEmployees, Type, "
        "AccountSource, Goals_Status__c, Goals_Date__c, CreatedDate FROM Account WHERE Name = 'Acme'"
    )
    invoice = sf.query(
        "SELECT Name, Account__c, Amount__c, Currency__c, Paid_Date__c, Status__c FROM Invoice__c"
    )
    cases = sf.query(
        "SELECT Type, Priority, IsEscalated, Abusive_Conduct__c, CreatedDate FROM Case ORDER BY Type"
    )
    opportunities = sf.query(
        "SELECT Account.Name, Account.Type, Referred_By__c, Amount, StageName FROM Opportunity ORDER BY Name"
    )
    event = sf.query_all(
        "SELECT WhatId, Type, ActivityDate, Outcome__c FROM Event WHERE IsChild = false", include_deleted=True
    )["records"][0]  # archived: over a year old
    survey = sf.query("SELECT Account__c, NPS__c, CSAT__c, Public_Complaint__c FROM Survey_Response__c")[
        "records"
    ][0]

    a = acme["records"][0]
    assert (
        a["Owner"]["FederationIdentifier"],
        a["Industry"],
        a["BillingCountry"],
        a["NumberOfEmployees"],
    ) == ("u1", "Retail", "DE", 50)
    assert (a["Type"], a["AccountSource"], a["Goals_Status__c"], a["Goals_Date__c"]) == (
        "Customer - Direct",
        "Web",
        "Refused",
        "2025-07-01",
    )
    assert a["CreatedDate"] == "2024-01-02T00:00:00.000+0000"
    i = invoice["records"][0]
    assert (
        i["Name"],
        i["Account__c"],
        i["Amount__c"],
        i["Currency__c"],
        i["Paid_Date__c"],
        i["Status__c"],
    ) == ("INV-1", ids["a1"], 100.5, "EUR", "2025-03-01", "Paid")
    assert [
        (c["Type"], c["Priority"], c["IsEscalated"], c["Abusive_Conduct__c"]) for c in cases["records"]
    ] == [("Discount Request", "High", True, True), ("Renegotiation", "Medium", False, False)]
    assert [
        (o["Account"]["Name"], o["Account"]["Type"], o["Referred_By__c"], o["Amount"])
        for o in opportunities["records"]
    ] == [("Beta", None, ids["a1"], 1000.0), ("Referred: lead-9", "Prospect", ids["a1"], None)]
    assert (event["WhatId"], event["Type"], event["ActivityDate"], event["Outcome__c"]) == (
        ids["a1"],
        "Check-up",
        "2025-05-05",
        "No Show",
    )
    assert (survey["Account__c"], survey["NPS__c"], survey["CSAT__c"], survey["Public_Complaint__c"]) == (
        ids["a1"],
        9.0,
        4.5,
        False,
    )
    assert len(sf_sandbox.sandbox.records("User")) == 3, "the API user, the editor and one owner"


def test_system_modstamp_drives_incremental_reads(sf_sandbox: SalesforceSandboxFixture) -> None:
    ids = sf_sandbox.sandbox.seed(_accounts(3))
    sf = sf_sandbox.client()
    sf_sandbox.clock.advance(hours=1)
    sf.Account.update(ids["c0001"], {"Industry": "Retail"})

    changed = sf.query("SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp > 2026-11-26T07:00:00Z")

    assert [(r["Id"], r["SystemModstamp"]) for r in changed["records"]] == [
        (ids["c0001"], "2026-11-26T07:50:00.000+0000")
    ]


def test_each_write_is_stamped_with_the_user_its_session_belongs_to(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    ids = sf_sandbox.sandbox.seed(_accounts(2))
    api, editor = sf_sandbox.client(), sf_sandbox.editor()
    users = {r["Username"]: r["Id"] for r in api.query("SELECT Id, Username FROM User")["records"]}
    sf_sandbox.clock.advance(minutes=1)
    api.Account.update(ids["c0000"], {"Industry": "Retail"})
    sf_sandbox.clock.advance(minutes=1)
    editor.Account.update(ids["c0001"], {"Industry": "Mining"})
    created = editor.Account.create({"Name": "New client"})["id"]

    rows = {
        r["Id"]: r
        for r in api.query("SELECT Id, LastModifiedById, CreatedById, OwnerId, SystemModstamp FROM Account")[
            "records"
        ]
    }
    assert rows[ids["c0000"]]["LastModifiedById"] == users["sandbox@tiersync.local"]
    assert rows[ids["c0001"]]["LastModifiedById"] == users["editor@tiersync.local"]
    assert rows[ids["c0001"]]["SystemModstamp"] == "2026-11-26T06:52:00.000+0000"
    assert (rows[created]["CreatedById"], rows[created]["OwnerId"]) == (users["editor@tiersync.local"],) * 2
    others = api.query(
        format_soql("SELECT Id FROM Account WHERE LastModifiedById != {}", users["sandbox@tiersync.local"])
    )
    assert {r["Id"] for r in others["records"]} == {ids["c0001"], created}
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD_FOR_INSERT_UPDATE"):
        editor.Account.update(ids["c0000"], {"LastModifiedById": users["editor@tiersync.local"]})


def test_sqlite_round_trip_keeps_rows_custom_fields_and_usage(
    sf_sandbox: SalesforceSandboxFixture, tmp_path: Any
) -> None:
    ids = sf_sandbox.sandbox.seed(_accounts(2))
    sf = sf_sandbox.client()
    _create_field(sf, "Account.Tiersync_Tier__c", {"label": "Client tier", "type": "Text", "length": 20})
    _grant(sf, "Account.Tiersync_Tier__c")
    sf.Account.update(ids["c0000"], {"Tiersync_Tier__c": "Amazing"})
    path = tmp_path / "org.sqlite"
    sf_sandbox.sandbox.to_sqlite(path)

    restored = SalesforceSandbox(sf_sandbox.ledger, sf_sandbox.faults, clock=sf_sandbox.clock)
    restored.load_sqlite(path)

    assert restored.get("Account", ids["c0000"])["Tiersync_Tier__c"] == "Amazing"  # type: ignore[index]
    assert restored.api_used == sf_sandbox.sandbox.api_used
    assert len(restored.records("Account")) == 2
    payload = base64.b64encode(path.read_bytes()[:16]).decode()
    assert payload.startswith("U1FMaXRl")  # "SQLite format 3"


def test_query_hides_archived_activities_and_query_all_returns_them(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    roster = Roster(
        accounts=[Account(id="a", name="A")],
        meetings=[
            Meeting("m1", "a", "checkup", dt.date(2025, 1, 10), MeetingOutcome.HELD),
            Meeting("m2", "a", "checkup", dt.date(2026, 11, 1), MeetingOutcome.HELD),
        ],
    )
    sf_sandbox.sandbox.seed(roster)
    sf = sf_sandbox.client()
    soql = "SELECT ActivityDate, IsArchived, IsChild FROM Event ORDER BY ActivityDate"
    shown = sf.query(soql)["records"]
    every = sf.query_all(soql, include_deleted=True)["records"]
    assert [(r["ActivityDate"], r["IsArchived"], r["IsChild"]) for r in shown] == [
        ("2026-11-01", False, False)
    ]
    assert [(r["ActivityDate"], r["IsArchived"], r["IsChild"]) for r in every] == [
        ("2025-01-10", True, False),
        ("2025-01-10", True, True),  # the invitee's copy of the first meeting
        ("2026-11-01", False, False),
    ]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Event.update(every[2]["attributes"]["url"].rsplit("/", 1)[1], {"IsArchived": True})
    assert _error(exc)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_id_and_parent_filters_return_what_a_scan_returns_in_the_same_order(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    """``Id IN`` / ``AccountId IN`` go through the store's indexes; the expectation is the unfiltered
    query (a scan) filtered here, after creates, a re-parent and a delete keep the indexes busy."""
    ids = sf_sandbox.sandbox.seed(_accounts(4))
    accounts = sorted(ids.values())
    sf = sf_sandbox.client()
    cases = [sf.Case.create({"AccountId": accounts[n % 4], "Subject": f"case {n}"})["id"] for n in range(9)]
    sf.Case.update(cases[0], {"AccountId": accounts[3]})
    sf.Case.delete(cases[5])
    wanted = {accounts[1], accounts[3]}

    def scan() -> list[tuple[str, str]]:
        return [(r["Id"], r["AccountId"]) for r in sf.query("SELECT Id, AccountId FROM Case")["records"]]

    by_parent = sf.query(
        format_soql("SELECT Id FROM Case WHERE AccountId IN {} AND Subject != 'x'", list(wanted))
    )
    assert [r["Id"] for r in by_parent["records"]] == [i for i, parent in scan() if parent in wanted]
    assert cases[0] in [r["Id"] for r in by_parent["records"]] and cases[5] not in str(by_parent)

    some = [cases[8], cases[1], cases[5], cases[3][:15]]  # a 15-character Id matches its 18-character form
    by_id = sf.query(format_soql("SELECT Id FROM Case WHERE Id IN {}", some))
    assert [r["Id"] for r in by_id["records"]] == [
        i for i, _ in scan() if i in {cases[8], cases[1], cases[3]}
    ]
    one = sf.query(format_soql("SELECT Id FROM Case WHERE AccountId = {}", accounts[2]))
    assert [r["Id"] for r in one["records"]] == [i for i, parent in scan() if parent == accounts[2]]


def test_parent_and_id_ranges_and_query_all_return_what_a_scan_returns(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    """A page's evidence query (``AccountId >= a AND AccountId <= b``), an ``Id`` range and ``queryAll``
    by parent go through the indexes, deleted rows kept for ``queryAll``; the expectation is the
    unfiltered scan filtered here, after creates, a re-parent and a delete keep the indexes busy."""
    ids = sf_sandbox.sandbox.seed(_accounts(5))
    accounts = sorted(ids.values())
    sf = sf_sandbox.client()
    cases = [sf.Case.create({"AccountId": accounts[n % 5], "Subject": f"case {n}"})["id"] for n in range(12)]
    sf.Case.update(cases[0], {"AccountId": accounts[3]})
    sf.Case.update(cases[3], {"AccountId": accounts[0]})
    sf.Case.delete(cases[6])  # under accounts[1]
    low, high = accounts[1], accounts[3]

    def scan(include_deleted: bool) -> list[tuple[str, str]]:
        answer = sf.query_all("SELECT Id, AccountId FROM Case", include_deleted=include_deleted)
        return [(r["Id"], r["AccountId"]) for r in answer["records"]]

    def found(soql: str, include_deleted: bool = False) -> list[str]:
        return [r["Id"] for r in sf.query_all(soql, include_deleted=include_deleted)["records"]]

    between = format_soql("SELECT Id FROM Case WHERE AccountId >= {} AND AccountId <= {}", low, high)
    for deleted in (False, True):
        assert found(between, deleted) == [i for i, p in scan(deleted) if low <= p <= high]
    assert cases[6] in found(between, True) and cases[6] not in found(between)
    above = format_soql("SELECT Id FROM Case WHERE AccountId > {} AND Subject != 'x'", low)
    assert found(above) == [i for i, p in scan(False) if p > low]
    by_parent = format_soql("SELECT Id FROM Case WHERE AccountId IN {}", [accounts[1], accounts[4]])
    assert found(by_parent, True) == [i for i, p in scan(True) if p in (accounts[1], accounts[4])]

    every = sorted(i for i, _ in scan(False))
    window = format_soql(
        "SELECT Id FROM Case WHERE Id >= {} AND Id < {} ORDER BY Id DESC", every[2], every[7]
    )
    assert found(window) == every[2:7][::-1]
    unordered = format_soql("SELECT Id FROM Case WHERE Id > {} AND Id <= {}", every[2], every[7])
    assert found(unordered) == [i for i, _ in scan(False) if every[2] < i <= every[7]]


def test_change_query_on_system_modstamp_returns_what_a_scan_returns(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    """``SystemModstamp >= t`` (the change query) and a window on it go through a sorted index; the
    expectation is the unfiltered scan filtered here, after updates, a delete and a rolled-back
    update move stamps at a frozen clock moved between them."""
    ids = sorted(sf_sandbox.sandbox.seed(_accounts(6)).values())
    sf = sf_sandbox.client()
    clock = sf_sandbox.clock
    clock.advance(seconds=10)
    sf.Account.update(ids[4], {"Industry": "Retail"})
    sf.Account.update(ids[1], {"Industry": "Retail"})
    clock.advance(seconds=10)
    sf.Account.delete(ids[2])
    made = sf.Account.create({"Name": "Later"})["id"]
    refused = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "id": ids[0], "Industry": "Retail"},
                {"attributes": {"type": "Account"}, "id": "001000000000000AAA", "Industry": "Retail"},
            ],
        },
    )
    assert not any(r["success"] for r in refused)  # rolled back: ids[0] keeps its seeding stamp

    def scan(include_deleted: bool) -> list[tuple[str, str]]:
        answer = sf.query_all("SELECT Id, SystemModstamp FROM Account", include_deleted=include_deleted)
        return [(r["Id"], r["SystemModstamp"]) for r in answer["records"]]

    def found(soql: str, include_deleted: bool = False) -> list[str]:
        return [r["Id"] for r in sf.query_all(soql, include_deleted=include_deleted)["records"]]

    since = "SELECT Id FROM Account WHERE SystemModstamp >= 2026-11-26T06:50:05Z AND Name != 'x'"
    window = (
        "SELECT Id FROM Account WHERE SystemModstamp > 2026-11-26T06:50:00Z"
        " AND SystemModstamp < 2026-11-26T06:50:15Z"
    )
    for deleted in (False, True):
        assert found(since, deleted) == [i for i, t in scan(deleted) if t >= "2026-11-26T06:50:05"]
        assert found(window, deleted) == [
            i for i, t in scan(deleted) if "2026-11-26T06:50:00.000+0000" < t < "2026-11-26T06:50:15"
        ]
    assert found(window) == [ids[1], ids[4]] or found(window) == [ids[4], ids[1]]
    assert ids[2] in found(since, True) and ids[2] not in found(since) and made in found(since)
    assert ids[0] not in found(since, True)


def test_order_by_id_pages_walk_the_id_order_a_sort_gives(sf_sandbox: SalesforceSandboxFixture) -> None:
    """``ORDER BY Id`` walks the store's sorted Ids (a ``LIMIT`` stops the walk, an ``Id >`` bound starts
    it); the expectation is the unordered scan sorted here, after creates, a delete and a rolled-back
    delete (its row back in the table, not at the end) keep the sorted Ids busy."""
    ids = sf_sandbox.sandbox.seed(_accounts(6))
    sf = sf_sandbox.client()
    made = [sf.Account.create({"Name": f"New {n}"})["id"] for n in range(3)]
    sf.Account.delete(made[1])
    victim = sorted(ids.values())[2]
    refused = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{victim},001000000000000AAA", "allOrNone": "true"},
    )
    assert not any(r["success"] for r in refused)  # rolled back: the victim stays

    def scan() -> list[str]:
        return sorted(r["Id"] for r in sf.query("SELECT Id FROM Account")["records"])

    every = scan()
    assert victim in every and made[1] not in every
    page = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 3 OFFSET 1")
    assert [r["Id"] for r in page["records"]] == every[1:4]
    down = sf.query("SELECT Id FROM Account ORDER BY Id DESC LIMIT 4")
    assert [r["Id"] for r in down["records"]] == every[::-1][:4]
    after = sf.query(format_soql("SELECT Id FROM Account WHERE Id > {} ORDER BY Id LIMIT 3", every[2]))
    assert [r["Id"] for r in after["records"]] == every[3:6]
    since = sf.query(
        format_soql("SELECT Id FROM Account WHERE Id >= {} AND Name != 'x' ORDER BY Id", every[2])
    )
    assert [r["Id"] for r in since["records"]] == every[2:]
    assert since["totalSize"] == len(every) - 2
    all_pages = sf.query_all("SELECT Id FROM Account ORDER BY Id")
    assert [r["Id"] for r in all_pages["records"]] == every

"""The HubSpot sandbox driven by the real ``hubspot-api-client`` over HTTP: limits, batches, search,
properties, associations, commerce objects, faults and the OpenAPI contract. No patching of the client."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

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
from connector.sandbox.people import person_name
from tests.sandbox.conftest import HS_TOKEN, HubSpotSandboxFixture

COMPANIES = "/crm/v3/objects/companies"


def _body(exc: Any) -> dict[str, Any]:
    return json.loads(exc.body)


def _search(**kwargs: Any) -> PublicObjectSearchRequest:
    return PublicObjectSearchRequest(**kwargs)


def _no_retry() -> urllib3.Retry:
    """The client's urllib3 otherwise retries a GET answered 429/503 after sleeping out Retry-After."""
    return urllib3.Retry(total=0, raise_on_status=False)


def _flt(name: str, operator: str, value: str) -> dict[str, Any]:
    return {"filters": [{"propertyName": name, "operator": operator, "value": value}]}


@pytest.fixture
def roster() -> Roster:
    return Roster(
        accounts=[
            Account(
                id="acme",
                name="Acme",
                owner_id="u1",
                industry="Software",
                region="DE",
                employee_count=50,
                created=dt.date(2020, 1, 1),
                source="referral",
            ),
            Account(id="beta", name="Beta", owner_id="u2"),
        ],
        invoices=[
            Invoice(
                id="inv-1",
                account_id="acme",
                amount=100.0,
                currency="EUR",
                issued=dt.date(2026, 1, 1),
                due=dt.date(2026, 1, 31),
                paid=dt.date(2026, 2, 5),
                status=InvoiceStatus.PAID,
            ),
            Invoice(
                id="inv-2",
                account_id="beta",
                amount=40.5,
                issued=dt.date(2026, 3, 1),
                due=dt.date(2026, 3, 31),
            ),
        ],
        tickets=[
            Ticket(id="t1", account_id="acme", opened=dt.date(2026, 3, 1), complaint=True, escalated=True)
        ],
        referrals=[
            Referral(id="r1", account_id="acme", referred="beta", value=500.0, date=dt.date(2026, 4, 1)),
            Referral(id="r2", account_id="acme", referred="outsider", value=10.0),
        ],
        surveys=[
            Survey(
                id="s1", account_id="acme", date=dt.date(2026, 5, 1), nps=9, csat=4.5, public_complaint=False
            )
        ],
        meetings=[
            Meeting(
                id="m1",
                account_id="acme",
                type="checkup",
                scheduled=dt.date(2026, 6, 1),
                outcome=MeetingOutcome.HELD,
            )
        ],
        goals=[GoalAgreement(id="g1", account_id="acme", date=dt.date(2026, 1, 2), status=GoalStatus.AGREED)],
        renegotiations=[Renegotiation(id="n1", account_id="beta", date=dt.date(2026, 7, 1), reason="price")],
    )


# -- seed layout (the contract the product's default mapping reads) ---------------------------------


def test_seed_lays_out_a_roster_in_hubspot_shapes(hs_sandbox: HubSpotSandboxFixture, roster: Roster) -> None:
    sandbox = hs_sandbox.sandbox
    ids = sandbox.seed(roster)
    acme = sandbox.get("companies", ids["acme"])
    assert acme is not None
    props = acme["properties"]
    owner = next(o for o in sandbox.owners() if o["id"] == props["hubspot_owner_id"])
    assert (owner["firstName"], owner["lastName"]) == person_name("u1")
    assert owner["email"] == "u1@owners.sandbox.example"
    assert props["name"] == "Acme"
    assert props["industry"] == "Software"
    assert props["country"] == "DE"
    assert props["numberofemployees"] == "50"
    assert props["lifecyclestage"] == "customer"
    assert props["hs_analytics_source"] == "referral"
    assert props["createdate"].startswith("2020-01-01T00:00:00.000Z")
    assert (props["goals_status"], props["goals_date"]) == ("agreed", "2026-01-02")
    assert (props["latest_nps"], props["latest_csat"], props["last_survey_date"]) == (
        "9",
        "4.5",
        "2026-05-01",
    )
    assert props["public_complaint"] == "false"

    [invoice_id] = sandbox.associations("companies", ids["acme"], "invoices")
    invoice = sandbox.get("invoices", invoice_id)
    assert invoice is not None
    assert {
        k: invoice["properties"][k] for k in ("hs_amount_billed", "hs_invoice_status", "hs_payment_date")
    } == {
        "hs_amount_billed": "100",
        "hs_invoice_status": "paid",
        "hs_payment_date": "2026-02-05",
    }
    [payment_id] = sandbox.associations("invoices", invoice_id, "commerce_payments")
    assert sandbox.associations("commerce_payments", payment_id, "companies") == [ids["acme"]]

    categories = {t["properties"]["hs_ticket_category"] for t in sandbox.objects("tickets")}
    assert categories == {"COMPLAINT", "RENEGOTIATION"}
    deals = sandbox.objects("deals")
    assert {d["properties"]["referred_by_company_id"] for d in deals} == {ids["acme"]}
    referred = {sandbox.associations("deals", d["id"], "companies")[0] for d in deals}
    prospects = [c for c in sandbox.objects("companies") if c["properties"]["lifecyclestage"] == "lead"]
    assert referred == {ids["beta"], prospects[0]["id"]}
    [meeting] = sandbox.objects("meetings")
    assert meeting["properties"]["hs_activity_type"] == "Check-up"
    assert meeting["properties"]["hs_meeting_outcome"] == "COMPLETED"
    assert meeting["properties"]["hs_timestamp"] == "2026-06-01T12:00:00.000Z"


# -- auth, list paging, headers ---------------------------------------------------------------------


def test_listing_250_companies_takes_three_pages(hs_sandbox: HubSpotSandboxFixture) -> None:
    hs_sandbox.sandbox.seed_companies(250)
    api = hs_sandbox.client().crm.companies.basic_api
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = api.get_page(limit=100, after=after, properties=["name"])
        seen += [c.id for c in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(set(seen)) == 250
    assert hs_sandbox.ledger.count(crm="hubspot", path_contains=COMPANIES) == 3


def test_list_limit_above_100_is_a_validation_error(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    with pytest.raises(ApiException) as caught:
        hs_sandbox.client().crm.companies.basic_api.get_page(limit=101)
    assert caught.value.status == 400
    assert _body(caught.value)["category"] == "VALIDATION_ERROR"


def test_wrong_token_is_401_with_hubspots_body(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    with pytest.raises(ApiException) as caught:
        hs_sandbox.client(access_token="nope").crm.companies.basic_api.get_page()
    assert caught.value.status == 401
    body = _body(caught.value)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found")


def test_every_answer_carries_the_rate_limit_headers(hs_sandbox: HubSpotSandboxFixture) -> None:
    api = hs_sandbox.client().crm.companies.basic_api
    _, status, headers = api.get_page_with_http_info()
    assert status == 200
    assert headers["X-HubSpot-RateLimit-Daily"] == "500000"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "499999"
    assert headers["X-HubSpot-RateLimit-Max"] == "100"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"


# -- rate limits ------------------------------------------------------------------------------------


def test_burst_limit_answers_429_with_retry_after(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    hs_sandbox.sandbox.limits.burst_limit = 5
    api = hs_sandbox.client(retry=_no_retry()).crm.companies.basic_api
    for _ in range(5):
        api.get_page()
    with pytest.raises(ApiException) as caught:
        api.get_page()
    assert caught.value.status == 429
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 10
    body = _body(caught.value)
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")


def test_search_has_its_own_per_second_limit(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    search = hs_sandbox.client().crm.companies.search_api
    for _ in range(5):
        search.do_search(_search(limit=1))
    with pytest.raises(ApiException) as caught:
        search.do_search(_search(limit=1))
    assert caught.value.status == 429
    assert _body(caught.value)["policyName"] == "SECONDLY"
    assert caught.value.headers["Retry-After"] == "1"


def test_exhausted_daily_limit_is_429_daily(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    hs_sandbox.sandbox.set_daily_usage(500_000)
    with pytest.raises(ApiException) as caught:
        hs_sandbox.client(retry=_no_retry()).crm.companies.basic_api.get_page()
    assert caught.value.status == 429
    assert _body(caught.value)["policyName"] == "DAILY"
    assert caught.value.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert "Retry-After" not in caught.value.headers


# -- batches ----------------------------------------------------------------------------------------


def test_a_batch_of_101_inputs_is_refused_whole(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    ids = hs_sandbox.sandbox.seed_companies(101)
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[{"id": i, "properties": {"name": "x"}} for i in ids]
    )
    with pytest.raises(ApiException) as caught:
        hs_sandbox.client().crm.companies.batch_api.update(batch)
    assert caught.value.status == 400
    assert all(c["properties"]["name"] != "x" for c in hs_sandbox.sandbox.objects("companies"))


def test_partial_batch_update_is_207_with_errors_on_the_result(hs_sandbox: HubSpotSandboxFixture) -> None:
    ok, locked = hs_sandbox.sandbox.seed_companies(2)
    hs_sandbox.faults.configure(FaultPlan(failing_records={locked: RecordFault.LOCK_ROW}))
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[{"id": i, "properties": {"numberofemployees": "7"}} for i in (ok, locked, "999999")]
    )
    result = hs_sandbox.client().crm.companies.batch_api.update(batch)
    assert type(result).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert [r.id for r in result.results] == [ok]
    by_category = {e.category: e.context for e in result.errors}
    assert by_category == {"LOCKED": {"ids": [locked]}, "OBJECT_NOT_FOUND": {"ids": ["999999"]}}
    assert hs_sandbox.ledger.calls()[-1].status == 207


def test_unknown_property_fails_the_whole_batch(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    [company] = hs_sandbox.sandbox.seed_companies(1)
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[{"id": company, "properties": {"no_such_prop": "1"}}]
    )
    with pytest.raises(ApiException) as caught:
        hs_sandbox.client().crm.companies.batch_api.update(batch)
    body = _body(caught.value)
    assert (caught.value.status, body["category"]) == (400, "VALIDATION_ERROR")
    assert body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert "PROPERTY_DOESNT_EXIST" in body["message"]


def test_batch_read_of_a_missing_id_is_207(hs_sandbox: HubSpotSandboxFixture) -> None:
    [company] = hs_sandbox.sandbox.seed_companies(1)
    read = BatchReadInputSimplePublicObjectId(
        inputs=[{"id": company}, {"id": "424242"}], properties=["name"], properties_with_history=[]
    )
    result = hs_sandbox.client().crm.companies.batch_api.read(read)
    assert [r.id for r in result.results] == [company]
    assert result.errors[0].category == "OBJECT_NOT_FOUND"
    assert hs_sandbox.ledger.calls()[-1].write is False


# -- property values --------------------------------------------------------------------------------


def test_property_values_are_checked_like_hubspot_does(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    api = hs_sandbox.client().crm.companies.basic_api
    created = api.create(
        SimplePublicObjectInputForCreate(properties={"name": "Acme", "goals_date": "1767225600000"})
    )
    assert created.properties["goals_date"] == "2026-01-01"
    for bad, code in (
        ({"goals_status": "maybe"}, "INVALID_OPTION"),
        ({"goals_date": "1767229200000"}, "INVALID_DATE"),
        ({"numberofemployees": "many"}, "INVALID_DECIMAL"),
        ({"hs_object_id": "1"}, "READ_ONLY_VALUE"),
        ({"hubspot_owner_id": "123"}, "INVALID_OWNER_ID"),
    ):
        with pytest.raises(ApiException) as caught:
            api.update(created.id, SimplePublicObjectInput(properties=bad))
        assert _body(caught.value)["errors"][0]["code"] == code
    record = hs_sandbox.sandbox.get("companies", created.id)
    assert record is not None
    assert "goals_status" not in record["properties"]


# -- search -----------------------------------------------------------------------------------------


def test_search_filters_sorts_and_pages(hs_sandbox: HubSpotSandboxFixture) -> None:
    hs_sandbox.sandbox.limits.search_per_second = 0
    api = hs_sandbox.client().crm.companies
    for n in range(30):
        api.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"name": f"C{n}", "numberofemployees": str(n)})
        )
    request = {
        "filter_groups": [_flt("numberofemployees", "GTE", "10")],
        "sorts": [{"propertyName": "numberofemployees", "direction": "DESCENDING"}],
        "properties": ["name", "numberofemployees"],
        "limit": 8,
    }
    names: list[str] = []
    after = None
    for _ in range(5):
        page = api.search_api.do_search(_search(**request, after=after))
        assert page.total == 20
        names += [r.properties["name"] for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert names == [f"C{n}" for n in range(29, 9, -1)]


def test_search_compares_ids_as_numbers_and_dates_as_epoch_ms(hs_sandbox: HubSpotSandboxFixture) -> None:
    sandbox = hs_sandbox.sandbox
    sandbox.limits.search_per_second = 0
    ids = sandbox.seed_companies(3)
    search = hs_sandbox.client().crm.companies.search_api
    above = search.do_search(_search(filter_groups=[_flt("hs_object_id", "GT", "999")]))
    assert above.total == 3  # "1001" > "999" only as numbers
    hs_sandbox.clock.advance(hours=1)
    hs_sandbox.client().crm.companies.basic_api.update(
        ids[1], SimplePublicObjectInput(properties={"name": "moved"})
    )
    cutoff = str(int(dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC).timestamp() * 1000))
    changed = search.do_search(_search(filter_groups=[_flt("hs_lastmodifieddate", "GTE", cutoff)]))
    assert [r.id for r in changed.results] == [ids[1]]
    either = search.do_search(
        _search(
            filter_groups=[_flt("name", "EQ", "MOVED"), _flt("hs_object_id", "EQ", ids[0])],
            sorts=["-hs_object_id"],
        )
    )
    assert [r.id for r in either.results] == [ids[1], ids[0]]


def test_search_cannot_page_past_10000_results(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    hs_sandbox.sandbox.limits.search_per_second = 0
    hs_sandbox.sandbox.seed_companies(10_050)
    search = hs_sandbox.client().crm.companies.search_api
    last = search.do_search(_search(limit=200, after="9800", properties=["name"]))
    assert (last.total, len(last.results), last.paging.next.after) == (10_050, 200, "10000")
    with pytest.raises(ApiException) as caught:
        search.do_search(_search(limit=200, after="10000"))
    assert caught.value.status == 400
    assert "10000" in _body(caught.value)["message"]


# -- properties -------------------------------------------------------------------------------------


def test_properties_groups_enumerations_and_duplicates(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.properties import ApiException

    client = hs_sandbox.client()
    props = client.crm.properties
    props.groups_api.create("companies", PropertyGroupCreate(name="tiersync", label="Tiersync"))
    assert "tiersync" in {g.name for g in props.groups_api.get_all("companies").results}
    traits = PropertyCreate(
        name="tiersync_traits",
        label="Traits",
        type="enumeration",
        field_type="checkbox",
        group_name="tiersync",
        options=[{"label": v, "value": v, "hidden": False} for v in ("bully", "goalpost_mover")],
    )
    created = props.core_api.create("companies", traits)
    assert (created.type, created.field_type, created.hubspot_defined) == ("enumeration", "checkbox", False)
    with pytest.raises(ApiException) as caught:
        props.core_api.create("companies", traits)
    assert caught.value.status == 409
    api = client.crm.companies.basic_api
    company = api.create(
        SimplePublicObjectInputForCreate(properties={"tiersync_traits": "bully;goalpost_mover"})
    )
    assert company.properties["tiersync_traits"] == "bully;goalpost_mover"
    from hubspot.crm.companies import ApiException as CompanyError

    with pytest.raises(CompanyError):
        api.update(company.id, SimplePublicObjectInput(properties={"tiersync_traits": "bully;saint"}))
    assert props.core_api.get_by_name("companies", "tiersync_traits").options[1].value == "goalpost_mover"


def test_unique_task_key_blocks_duplicates(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.objects import ApiException
    from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInputForCreate as TaskBatch
    from hubspot.crm.objects import SimplePublicObjectInputForCreate as TaskCreate

    client = hs_sandbox.client()
    client.crm.properties.core_api.create(
        "tasks",
        PropertyCreate(
            name="tiersync_task_key",
            label="Key",
            type="string",
            field_type="text",
            group_name="task",
            has_unique_value=True,
        ),
    )
    [company] = hs_sandbox.sandbox.seed_companies(1)
    to_company = [
        {
            "to": {"id": company},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
        }
    ]
    task = {"hs_task_subject": "Check in", "hs_timestamp": "2026-12-01T09:00:00Z", "tiersync_task_key": "k1"}
    tasks = client.crm.objects.basic_api
    created = tasks.create("tasks", TaskCreate(properties=task, associations=to_company))
    assert hs_sandbox.sandbox.associations("tasks", created.id, "companies") == [company]
    with pytest.raises(ApiException) as caught:
        tasks.create("tasks", TaskCreate(properties=task))
    assert (caught.value.status, _body(caught.value)["context"]["existingId"]) == (409, [created.id])

    fresh = {**task, "tiersync_task_key": "k2"}
    with pytest.raises(ApiException) as whole:
        client.crm.objects.batch_api.create(
            "tasks", TaskBatch(inputs=[{"properties": fresh}, {"properties": task}])
        )
    assert whole.value.status == 409
    assert len(hs_sandbox.sandbox.objects("tasks")) == 1  # all or nothing without objectWriteTraceId
    traced = TaskBatch(
        inputs=[
            {"properties": fresh, "objectWriteTraceId": "a"},
            {"properties": task, "objectWriteTraceId": "b"},
        ]
    )
    partial = client.crm.objects.batch_api.create("tasks", traced)
    assert [r.properties["tiersync_task_key"] for r in partial.results] == ["k2"]
    assert (partial.errors[0].category, partial.errors[0].context["objectWriteTraceId"]) == (
        "CONFLICT",
        ["b"],
    )
    with pytest.raises(ApiException) as missing_timestamp:
        tasks.create("tasks", TaskCreate(properties={"hs_task_subject": "no due date"}))
    assert _body(missing_timestamp.value)["errors"][0]["code"] == "REQUIRED_PROPERTY"


# -- associations -----------------------------------------------------------------------------------


def test_associations_v4_default_labelled_and_batch_read(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.associations.v4 import ApiException

    sandbox = hs_sandbox.sandbox
    [company] = sandbox.seed_companies(1)
    client = hs_sandbox.client()
    task = client.crm.objects.basic_api.create(
        "tasks", {"properties": {"hs_timestamp": "2026-12-01T09:00:00.000Z"}, "associations": []}
    )
    v4 = client.crm.associations.v4
    with pytest.raises(ApiException) as wrong_type:
        v4.basic_api.create(
            "tasks",
            task.id,
            "companies",
            company,
            [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
        )
    assert wrong_type.value.status == 400  # 204 is task->contact
    labelled = v4.basic_api.create(
        "tasks",
        task.id,
        "companies",
        company,
        [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
    )
    assert (labelled.from_object_type_id, labelled.to_object_type_id) == ("0-27", "0-2")
    note = client.crm.objects.basic_api.create(
        "notes", {"properties": {"hs_timestamp": "2026-12-01T09:00:00.000Z", "hs_note_body": "hi"}}
    )
    v4.basic_api.create_default("notes", note.id, "companies", company)
    assert sandbox.associations("companies", company, "notes") == [note.id]

    read = v4.batch_api.get_page(
        "tasks",
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": task.id}, {"id": "1"}]),
    )
    assert read.results[0].to[0].to_object_id == company
    assert {t.type_id for t in read.results[0].to[0].association_types} == {192}
    assert read.errors[0].context == {"fromObjectId": ["1"]}
    with pytest.raises(ApiException) as too_many:
        v4.batch_api.get_page(
            "tasks",
            "companies",
            BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": str(i)} for i in range(1001)]),
        )
    assert too_many.value.status == 400


# -- commerce objects -------------------------------------------------------------------------------


def test_invoices_and_payments_through_their_client_apis(
    hs_sandbox: HubSpotSandboxFixture, roster: Roster
) -> None:
    ids = hs_sandbox.sandbox.seed(roster)
    client = hs_sandbox.client()
    invoices = client.crm.commerce.invoices.basic_api.get_page(
        properties=["hs_amount_billed", "hs_invoice_status", "hs_due_date", "hs_payment_date"],
        associations=["companies"],
    )
    by_status = {i.properties["hs_invoice_status"]: i for i in invoices.results}
    assert set(by_status) == {"paid", "open"}
    assert by_status["open"].properties["hs_payment_date"] is None
    assert by_status["open"].properties["hs_amount_billed"] == "40.5"
    assert by_status["paid"].associations["companies"].results[0].id == ids["acme"]
    payments = client.crm.objects.basic_api.get_page(
        "commerce_payments", properties=["hs_initial_amount", "hs_latest_status"]
    )
    assert [
        (p.properties["hs_initial_amount"], p.properties["hs_latest_status"]) for p in payments.results
    ] == [("100", "succeeded")]
    owners = client.crm.owners.owners_api.get_page()
    assert sorted((o.first_name, o.last_name) for o in owners.results) == sorted(
        [person_name("u1"), person_name("u2")]
    )


# -- faults -----------------------------------------------------------------------------------------


def test_each_request_fault_reaches_the_client(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    [company] = hs_sandbox.sandbox.seed_companies(1)
    hs_sandbox.faults.configure(
        FaultPlan(
            schedule={
                1: Fault.SERVER_ERROR,
                2: Fault.UNAVAILABLE,
                3: Fault.RATE_LIMIT,
                4: Fault.RESET,
                5: Fault.SLOW,
            },
            retry_after_seconds=2,
            slow_seconds=0.3,
        )
    )
    api = hs_sandbox.client(retry=_no_retry()).crm.companies.basic_api
    statuses = []
    for _ in range(3):
        with pytest.raises(ApiException) as caught:
            api.update(company, SimplePublicObjectInput(properties={"name": "changed"}))
        statuses.append(caught.value.status)
    assert statuses == [500, 503, 429]
    assert caught.value.headers["Retry-After"] == "2"
    with pytest.raises(urllib3.exceptions.HTTPError):
        api.get_by_id(company)
    started = time.perf_counter()
    assert api.get_by_id(company).id == company
    assert time.perf_counter() - started >= 0.3
    record = hs_sandbox.sandbox.get("companies", company)
    assert record is not None
    assert record["properties"]["name"] != "changed"  # a faulted request applies nothing
    faults = [(c.status, c.fault, c.write) for c in hs_sandbox.ledger.calls()]
    assert faults == [
        (500, "server_error", False),
        (503, "unavailable", False),
        (429, "rate_limit", False),
        (0, "reset", False),
        (200, "slow", False),
    ]


# -- the OpenAPI contract ---------------------------------------------------------------------------


def test_a_request_outside_the_spec_is_400_and_recorded(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    api = hs_sandbox.client().crm.companies
    with pytest.raises(ApiException) as caught:
        api.basic_api.create(SimplePublicObjectInputForCreate(properties={"numberofemployees": 5}))
    assert caught.value.status == 400
    with pytest.raises(ApiException):
        api.search_api.do_search(
            _search(filter_groups=[{"filters": [{"propertyName": "name", "operator": "LIKE"}]}])
        )
    errors = hs_sandbox.sandbox.validation_errors
    assert len(errors) == 2
    assert "is not of type 'string'" in errors[0]
    assert "LIKE" in errors[1]
    assert hs_sandbox.sandbox.objects("companies") == []


def test_a_boolean_query_parameter_rendered_as_python_is_400(hs_sandbox: HubSpotSandboxFixture) -> None:
    """The client renders ``archived=False`` as ``False``; the spec's booleans are ``true``/``false``."""
    from hubspot.crm.companies import ApiException
    from hubspot.crm.owners import ApiException as OwnersApiException
    from hubspot.crm.properties import ApiException as PropertiesApiException

    hs_sandbox.sandbox.seed_companies(2)
    client = hs_sandbox.client(retry=_no_retry())
    companies = client.crm.companies
    refused = [
        (ApiException, lambda: companies.basic_api.get_page(archived=False)),
        (ApiException, lambda: companies.basic_api.get_by_id("1", archived=True)),
        (
            ApiException,
            lambda: companies.batch_api.read(
                BatchReadInputSimplePublicObjectId(inputs=[{"id": "1"}], properties=[]), archived=False
            ),
        ),
        (PropertiesApiException, lambda: client.crm.properties.core_api.get_all("companies", archived=False)),
        (OwnersApiException, lambda: client.crm.owners.owners_api.get_page(archived=False)),
    ]
    for exception, call in refused:
        with pytest.raises(exception) as caught:
            call()
        assert caught.value.status == 400
        body = _body(caught.value)
        assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
        assert body["correlationId"] and "archived" in body["message"]
    assert len(hs_sandbox.sandbox.validation_errors) == len(refused)
    assert "'False' is not a boolean" in hs_sandbox.sandbox.validation_errors[0]
    # left out, or spelled as the spec does, it is served
    assert len(companies.basic_api.get_page().results) == 2
    raw = urllib3.PoolManager(ca_certs=str(hs_sandbox.ca_path)).request(
        "GET",
        hs_sandbox.url + COMPANIES + "?archived=false",
        headers={"Authorization": f"Bearer {HS_TOKEN}"},
    )
    assert raw.status == 200 and len(json.loads(raw.data)["results"]) == 2
    assert len(hs_sandbox.sandbox.validation_errors) == len(refused)


def test_the_boolean_check_holds_with_the_full_validation_off(hs_sandbox: HubSpotSandboxFixture) -> None:
    from hubspot.crm.companies import ApiException

    hs_sandbox.sandbox.validate_requests = False
    with pytest.raises(ApiException) as caught:
        hs_sandbox.client(retry=_no_retry()).crm.companies.basic_api.get_page(archived=False)
    assert caught.value.status == 400


def test_ordinary_client_calls_conform_to_the_spec(hs_sandbox: HubSpotSandboxFixture, roster: Roster) -> None:
    hs_sandbox.sandbox.seed(roster)
    hs_sandbox.sandbox.limits.search_per_second = 0
    client = hs_sandbox.client()
    companies = client.crm.companies
    created = companies.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"name": f"N{n}"}} for n in range(3)]
        )
    )
    companies.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": c.id, "properties": {"country": "FR"}} for c in created.results]
        )
    )
    companies.basic_api.get_by_id(created.results[0].id, properties=["country"], associations=["deals"])
    companies.search_api.do_search(_search(filter_groups=[_flt("country", "EQ", "FR")], properties=["name"]))
    companies.basic_api.archive(created.results[2].id)
    client.crm.properties.core_api.get_all("companies")
    client.crm.owners.owners_api.get_page()
    assert hs_sandbox.sandbox.validation_errors == []
    writes = [(c.method, c.path) for c in hs_sandbox.ledger.calls(write=True)]
    assert writes == [
        ("POST", COMPANIES + "/batch/create"),
        ("POST", COMPANIES + "/batch/update"),
        ("DELETE", COMPANIES + "/" + created.results[2].id),
    ]


def test_portal_round_trips_through_sqlite(
    hs_sandbox: HubSpotSandboxFixture, roster: Roster, tmp_path: Path
) -> None:
    sandbox = hs_sandbox.sandbox
    ids = sandbox.seed(roster)
    path = tmp_path / "portal.sqlite"
    sandbox.to_sqlite(path)
    before = {t: sandbox.objects(t) for t in ("companies", "invoices", "tickets")}
    links = sandbox.associations("companies", ids["acme"], "invoices")
    sandbox.seed_companies(5)
    sandbox.load_sqlite(path)
    assert {t: sandbox.objects(t) for t in ("companies", "invoices", "tickets")} == before
    assert sandbox.associations("companies", ids["acme"], "invoices") == links

"""The HubSpot adapter over real HTTP against the sandbox portal, with the real hubspot-api-client.

Faults are injected in the sandbox; the adapter's pauses (retries, pacing) go to a recorder instead of
sleeping, except in the pacing tests. The sandbox's burst and search limits are off unless a test is
about them, and every request the adapter sent must have matched HubSpot's OpenAPI spec.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from hubspot.crm.objects import SimplePublicObjectInput

from connector.classify.trait_settings import DEFAULT_TRAIT_LABELS
from connector.config import HubSpotSettings
from connector.crm.base import (
    AccountUpdate,
    ApiUsage,
    AuthError,
    CurrentValues,
    FatalError,
    LimitExhaustedError,
    MappingError,
    ReadBatch,
    RequestRejectedError,
    RetriableError,
    TaskClose,
    TaskSpec,
    TaskStatus,
)
from connector.crm.hubspot import HubSpotAdapter
from connector.crm.mapping import Mapping, default_mapping, load_mapping
from connector.frames import to_roster
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
from connector.sample_data import generate
from connector.sandbox.faults import Fault, FaultPlan, RecordFault
from tests.connect_proxy import connect_proxy
from tests.sandbox import conftest as sandbox_fixtures
from tests.sandbox.conftest import HS_TOKEN, HubSpotSandboxFixture

# The sandbox fixtures of tests/sandbox, used here as well (tests/crm/conftest.py shares the Salesforce ones).
_hs_server = sandbox_fixtures._hs_server
hs_sandbox = sandbox_fixtures.hs_sandbox

MAPPING = load_mapping(default_mapping("hubspot"))
LABELS = {trait.value: label for trait, label in DEFAULT_TRAIT_LABELS.items()}
WRITEBACK = (
    "tiersync_tier",
    "tiersync_traits",
    "tiersync_score",
    "tiersync_reasons",
    "tiersync_tier_changed_at",
    "tiersync_previous_tier",
    "tiersync_last_synced_at",
    "tiersync_override_tier",
    "tiersync_override_expires",
)

Box = HubSpotSandboxFixture


@pytest.fixture
def box(hs_sandbox: Box) -> Iterator[Box]:
    """A fresh portal (frozen clock at 2026-11-26T06:50Z) with its rate limits off; at the end, every
    request the test sent must have matched HubSpot's OpenAPI spec."""
    hs_sandbox.sandbox.limits.burst_limit = 0
    hs_sandbox.sandbox.limits.search_per_second = 0
    yield hs_sandbox
    assert hs_sandbox.sandbox.validation_errors == []


class Sleeps(list[float]):
    """Records the adapter's pauses instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(
    box: Box,
    mapping: Mapping = MAPPING,
    *,
    sleeps: Callable[[float], None] | None = None,
    token: str = HS_TOKEN,
    **kwargs: Any,
) -> HubSpotAdapter:
    settings = HubSpotSettings(access_token=token, host=box.url, ca_bundle=box.ca_path)
    return HubSpotAdapter(settings, mapping, sleep=sleeps if sleeps is not None else Sleeps(), **kwargs)


def mapping_with(edit: Callable[[dict[str, Any]], None]) -> Mapping:
    data = tomllib.loads(default_mapping("hubspot").read_text(encoding="utf-8"))
    edit(data)
    return Mapping.model_validate(data)


def set_up(box: Box) -> HubSpotAdapter:
    make(box).setup_fields(LABELS, dry_run=False)
    return make(box)


def read_all(adapter: HubSpotAdapter, ids: list[str] | None = None, page_size: int = 2000) -> list[ReadBatch]:
    return list(adapter.read(ids, page_size))


def writes(box: Box) -> list[Any]:
    return box.ledger.calls(write=True)


def calls(box: Box, contains: str) -> list[Any]:
    return [c for c in box.ledger.calls() if contains in c.path]


def edit(box: Box, object_type: str, record_id: str, **properties: str) -> None:
    """A CRM user's edit, through their own client."""
    box.client().crm.objects.basic_api.update(
        object_type, record_id, SimplePublicObjectInput(properties=properties)
    )


def full_roster() -> Roster:
    d = dt.date
    return Roster(
        accounts=[
            Account(
                id="a1",
                name="Acme",
                owner_id="u1",
                industry="Retail",
                region="DE",
                employee_count=50,
                created=d(2024, 1, 2),
                source="Web",
            ),
            Account(id="a2", name="O'Brien & Sons", owner_id="u2"),
        ],
        invoices=[
            Invoice(
                "INV-1", "a1", 100.5, "EUR", d(2025, 1, 1), d(2025, 2, 1), d(2025, 3, 1), InvoiceStatus.PAID
            ),
            Invoice("INV-2", "a1", 40.0, "EUR", d(2025, 6, 1), d(2025, 7, 1), None, InvoiceStatus.OPEN),
            Invoice("INV-3", "a2", 10.0, "USD", d(2025, 6, 1), d(2025, 7, 1), None, InvoiceStatus.VOID),
        ],
        tickets=[
            Ticket("t1", "a1", d(2025, 3, 3), priority="high", escalated=True, complaint=True, abusive=False),
            Ticket("t2", "a1", d(2025, 4, 4), discount_request=True),
            Ticket("t3", "a2", d(2025, 5, 5), category="question", abusive=True),
        ],
        referrals=[
            Referral("r1", "a1", referred="a2", value=1000, date=d(2025, 4, 4)),
            Referral("r2", "a1", referred="outsider", value=250, date=d(2025, 5, 5)),
        ],
        surveys=[
            Survey("s1", "a1", d(2025, 1, 6), nps=3, csat=2.0, public_complaint=False),
            Survey("s2", "a1", d(2025, 6, 6), nps=9, csat=4.5, public_complaint=False),
        ],
        meetings=[
            Meeting("m1", "a1", "checkup", d(2025, 5, 5), MeetingOutcome.NO_SHOW),
            Meeting("m2", "a1", "working_session", d(2025, 5, 6), MeetingOutcome.HELD),
            Meeting("m3", "a2", "checkup", d(2025, 5, 7), MeetingOutcome.DECLINED),
        ],
        goals=[
            GoalAgreement("g1", "a1", d(2025, 1, 1), GoalStatus.PENDING),
            GoalAgreement("g2", "a1", d(2025, 7, 1), GoalStatus.REFUSED),
        ],
        renegotiations=[Renegotiation("n1", "a1", d(2025, 8, 8), "price")],
    )


# -- auth ---------------------------------------------------------------------------------------------


def test_a_private_app_token_reads_the_portal(box: Box) -> None:
    box.sandbox.seed(Roster(accounts=[Account(id="a", name="Alpha")]))
    (batch,) = read_all(make(box))
    assert [a.name for a in batch.roster.accounts] == ["Alpha"]


def test_a_wrong_token_is_an_auth_error_that_never_shows_the_token(box: Box) -> None:
    sleeps = Sleeps()
    with pytest.raises(AuthError) as error:
        make(box, sleeps=sleeps, token="pat-na1-secret-123").check()
    assert "pat-na1-secret-123" not in str(error.value)
    assert "INVALID_AUTHENTICATION" in str(error.value) and "hubspot.access_token" in str(error.value)
    assert sleeps == [] and len(box.ledger.calls()) == 1


def test_a_missing_token_is_an_auth_error_before_any_call(box: Box) -> None:
    with pytest.raises(AuthError, match=r"hubspot\.access_token is not set"):
        make(box, token="").check()
    assert box.ledger.calls() == []


def test_reads_leave_the_archived_default_out_so_the_strict_spec_accepts_them(box: Box) -> None:
    """hubspot-api-client would send ``archived=False`` as ``False``, which HubSpot's spec refuses."""
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    assert adapter.check() == []
    (batch,) = read_all(adapter)
    (given,) = read_all(adapter, [ids["a1"]])
    assert len(batch.roster.accounts) == 2 and [a.id for a in given.roster.accounts] == [ids["a1"]]
    assert batch.roster.invoices and batch.roster.tickets
    assert box.sandbox.validation_errors == []


def test_the_ca_bundle_is_what_the_client_trusts_over_https(box: Box, tmp_path: Path) -> None:
    box.sandbox.seed(Roster(accounts=[Account(id="a", name="Alpha")]))
    assert box.url.startswith("https://")
    (batch,) = read_all(make(box))
    assert [a.name for a in batch.roster.accounts] == ["Alpha"]
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    for bundle in (None, other_ca):
        sleeps = Sleeps()
        settings = HubSpotSettings(access_token=HS_TOKEN, host=box.url, ca_bundle=bundle)
        with pytest.raises(FatalError, match=r"TLS verification failed.*hubspot\.ca_bundle"):
            HubSpotAdapter(settings, MAPPING, sleep=sleeps).check()
        assert sleeps == []  # a TLS failure is not retried
    missing = HubSpotSettings(access_token=HS_TOKEN, host=box.url, ca_bundle=tmp_path / "nope.pem")
    with pytest.raises(FatalError, match=r"hubspot\.ca_bundle: no such file"):
        HubSpotAdapter(missing, MAPPING, sleep=Sleeps()).check()


def test_calls_go_through_the_environments_proxy_with_its_credentials(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    box.sandbox.seed(Roster(accounts=[Account(id="a", name="Alpha")]))
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with connect_proxy() as proxy:
        monkeypatch.setenv("https_proxy", proxy.url.replace("http://", "http://ops:s%40cret@"))
        (batch,) = read_all(make(box))
        assert [a.name for a in batch.roster.accounts] == ["Alpha"]
        target = box.url.removeprefix("https://")
        assert proxy.tunnels and {t.target for t in proxy.tunnels} == {target}
        expected = "Basic " + base64.b64encode(b"ops:s@cret").decode()
        assert {t.proxy_authorization for t in proxy.tunnels} == {expected}
        # NO_PROXY is honoured: the same read goes straight to the portal
        proxy.tunnels.clear()
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        (batch,) = read_all(make(box))
        assert len(batch.roster.accounts) == 1 and proxy.tunnels == []


# -- check --------------------------------------------------------------------------------------------


def test_check_before_setup_points_at_setup_fields_only(box: Box) -> None:
    problems = make(box).check()
    assert len(problems) == 2
    assert problems[0].startswith("companies: write-back properties not created yet: tiersync_tier, ")
    assert "tiersync_override_expires" in problems[0]
    assert problems[1].startswith("tasks.tiersync_task_key: task key property not created yet")
    assert all(p.endswith("run `tiersync setup-fields`") for p in problems)


def test_check_is_clean_after_setup_with_one_properties_call_per_object_type(box: Box) -> None:
    adapter = set_up(box)
    box.ledger.reset()
    assert adapter.check() == []
    assert Counter(c.path for c in box.ledger.calls()) == {
        f"/crm/v3/properties/{t}": 1
        for t in ("companies", "invoices", "tickets", "deals", "meetings", "tasks")
    }


def test_a_misspelled_property_is_one_line_naming_object_property_and_mapping_key(box: Box) -> None:
    set_up(box)
    mapping = mapping_with(lambda m: m["invoices"]["fields"].update(amount="hs_amount_bild"))
    assert make(box, mapping).check() == [
        "invoices.hs_amount_bild: no such property (mappings/hubspot.toml [invoices.fields] amount)"
    ]


def test_bad_objects_links_and_conditions_are_each_one_line(box: Box) -> None:
    set_up(box)

    def edit_mapping(m: dict[str, Any]) -> None:
        m["meetings"]["object"] = "meetingz"
        m["tickets"]["account"] = "association:contacts"
        m["referrals"]["where"] = "dealstage closedwon"
        m["invoices"]["where"] = "hs_invoice_stat != draft"

    problems = make(box, mapping_with(edit_mapping)).check()
    assert problems == [
        "invoices.hs_invoice_stat: no such property (mappings/hubspot.toml [invoices] where)",
        "tickets: links through association:contacts, but accounts are companies: use "
        "association:companies (mappings/hubspot.toml [tickets] account)",
        "deals: the where condition cannot read 'dealstage closedwon': use property = value, != value, "
        "IN (a, b) or NOT IN (a, b), joined by AND (mappings/hubspot.toml [referrals] where)",
        "meetingz: no such object type (mappings/hubspot.toml [meetings] object)",
    ]


def test_read_refuses_a_broken_mapping_with_every_problem_at_once(box: Box) -> None:
    box.sandbox.seed(full_roster())
    mapping = mapping_with(lambda m: m["invoices"]["fields"].update(amount="a_x", due="d_x"))
    with pytest.raises(MappingError) as error:
        read_all(make(box, mapping))
    assert error.value.problems == [
        "invoices.a_x: no such property (mappings/hubspot.toml [invoices.fields] amount)",
        "invoices.d_x: no such property (mappings/hubspot.toml [invoices.fields] due)",
    ]
    assert all("/properties/" in c.path for c in box.ledger.calls()), "no data read before the check"


# -- read ---------------------------------------------------------------------------------------------


def test_read_translates_every_source_into_canonical_records(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    a1, a2 = ids["a1"], ids["a2"]
    (batch,) = read_all(make(box))
    roster = batch.roster

    accounts = {a.id: a for a in roster.accounts}
    assert set(accounts) == {a1, a2}, "the referred outsider is a lead, outside [accounts] where"
    acme = accounts[a1]
    assert (acme.name, acme.industry, acme.region, acme.employee_count) == ("Acme", "Retail", "DE", 50)
    assert (acme.created, acme.status, acme.source) == (dt.date(2024, 1, 2), "customer", "Web")
    owner = next(o for o in box.sandbox.owners() if o["email"].startswith("u1@"))
    assert acme.owner_id == owner["id"]
    bare = accounts[a2]
    assert bare.name == "O'Brien & Sons"
    assert (bare.industry, bare.employee_count, bare.created) == (None, None, dt.date(2026, 11, 26))

    invoices = sorted(
        roster.invoices or [], key=lambda i: (i.account_id, i.issued or dt.date.min, i.amount or 0)
    )
    assert [(i.account_id, i.amount, i.currency, i.issued, i.due, i.paid, i.status) for i in invoices] == [
        (a1, 100.5, "EUR", dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1), InvoiceStatus.PAID),
        (a1, 40.0, "EUR", dt.date(2025, 6, 1), dt.date(2025, 7, 1), None, InvoiceStatus.OPEN),
        (a2, 10.0, "USD", dt.date(2025, 6, 1), dt.date(2025, 7, 1), None, InvoiceStatus.VOID),
    ]
    tickets = sorted(roster.tickets or [], key=lambda t: t.opened or dt.date.min)
    assert [
        (t.account_id, t.opened, t.category, t.complaint, t.discount_request, t.abusive) for t in tickets
    ] == [
        (a1, dt.date(2025, 3, 3), "COMPLAINT", True, False, False),
        (a1, dt.date(2025, 4, 4), "DISCOUNT_REQUEST", False, True, None),
        (a2, dt.date(2025, 5, 5), "QUESTION", False, False, True),
    ]
    assert (tickets[0].priority, tickets[0].escalated) == ("HIGH", True)
    assert [(r.account_id, r.date, r.reason) for r in roster.renegotiations or []] == [
        (a1, dt.date(2025, 8, 8), "price")
    ], "renegotiation tickets are not tickets"
    referrals = sorted(roster.referrals or [], key=lambda r: r.value or 0)
    assert [(r.account_id, r.value, r.date) for r in referrals] == [
        (a1, 250.0, dt.date(2025, 5, 5)),
        (a1, 1000.0, dt.date(2025, 4, 4)),
    ]
    assert all(r.referred == r.id for r in referrals), "the referral is known by its deal"
    assert roster.surveys == [Survey(a1, a1, dt.date(2025, 6, 6), nps=9, csat=4.5, public_complaint=False)]
    assert isinstance(roster.surveys[0].nps, int)
    meetings = sorted((m.account_id, m.scheduled, m.type, m.outcome) for m in roster.meetings or [])
    assert meetings == [
        (a1, dt.date(2025, 5, 5), "checkup", MeetingOutcome.NO_SHOW),
        (a1, dt.date(2025, 5, 6), "working_session", MeetingOutcome.HELD),
        (a2, dt.date(2025, 5, 7), "checkup", MeetingOutcome.DECLINED),
    ]
    assert roster.goals == [GoalAgreement(a1, a1, dt.date(2025, 7, 1), GoalStatus.REFUSED)]
    assert batch.current == {a1: CurrentValues(), a2: CurrentValues()}, "no write-back properties yet"


def test_a_record_associated_with_two_companies_is_evidence_for_both(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    ticket = next(
        t["id"] for t in box.sandbox.objects("tickets") if t["properties"]["hs_ticket_category"] == "QUESTION"
    )
    box.client().crm.associations.v4.basic_api.create_default("tickets", ticket, "companies", ids["a1"])
    (batch,) = read_all(make(box))
    assert sorted(t.account_id for t in batch.roster.tickets or [] if t.id == ticket) == sorted(
        [ids["a1"], ids["a2"]]
    )


def test_read_batches_associations_per_page_and_object_type_never_per_company(box: Box) -> None:
    roster = to_roster(generate(250, seed=1, as_of=dt.date(2026, 11, 1)).frames)
    ids = box.sandbox.seed(roster)

    batches = read_all(make(box), page_size=100)

    assert [len(b.roster.accounts) for b in batches] == [100, 100, 50]
    read_ids = [a.id for b in batches for a in b.roster.accounts]
    assert sorted(read_ids, key=int) == read_ids and set(read_ids) == set(ids.values())
    associations = Counter(c.path for c in calls(box, "/crm/v4/associations/"))
    assert associations == {
        f"/crm/v4/associations/companies/{t}/batch/read": 3 for t in ("invoices", "tickets", "meetings")
    }, "one associations call per evidence type per page"
    batch_reads = calls(box, "/batch/read")
    assert all(c.records <= 100 for c in batch_reads if "/crm/v3/" in c.path)
    live = {r["id"] for r in box.sandbox.objects("invoices")}
    assert {i.id for b in batches for i in b.roster.invoices or []} == live
    invoice_reads = [c for c in batch_reads if c.path == "/crm/v3/objects/invoices/batch/read"]
    assert len(invoice_reads) == sum(-(-len(b.roster.invoices or []) // 100) for b in batches)
    assert [c for c in box.ledger.calls() if c.status >= 400] == []


def test_a_page_of_1200_companies_reads_associations_1000_ids_a_call(box: Box) -> None:
    box.sandbox.seed_companies(1200)
    (batch,) = read_all(make(box, client_read="list"), page_size=1200)
    assert len(batch.roster.accounts) == 1200
    associations = Counter(c.path for c in calls(box, "/crm/v4/associations/"))
    assert set(associations.values()) == {2}, "1,000 ids and then 200, per evidence type"
    assert len(calls(box, "/crm/v3/objects/companies")) == 12, "list pages of 100"
    assert [c for c in box.ledger.calls() if c.status >= 400] == []


def test_given_ids_are_read_in_batches_leaving_out_leads_and_non_ids(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    lead = next(
        c["id"] for c in box.sandbox.objects("companies") if c["properties"]["lifecyclestage"] == "lead"
    )

    (batch,) = read_all(make(box), [ids["a2"], "12' OR 1=1", lead, ids["a1"], ids["a2"], "424242"])

    assert [a.id for a in batch.roster.accounts] == sorted([ids["a1"], ids["a2"]], key=int)
    assert len(calls(box, "/crm/v3/objects/companies/batch/read")) == 1


def test_read_after_an_id_resumes_a_backfill(box: Box) -> None:
    ids = box.sandbox.seed_companies(5)
    resumed = [a.id for b in make(box).read(None, 200, after=ids[1]) for a in b.roster.accounts]
    assert resumed == ids[2:]


def test_resuming_searches_only_the_clients_after_the_id(box: Box) -> None:
    ids = box.sandbox.seed_companies(50, customer_share=0.2)
    customers = [
        i for i in ids if box.sandbox.get("companies", i)["properties"]["lifecyclestage"] == "customer"
    ]
    resumed = [a.id for b in make(box).read(None, 200, after=customers[1]) for a in b.roster.accounts]
    assert resumed == customers[2:]
    (search_call,) = calls(box, "/crm/v3/objects/companies/search")
    assert search_call.records == len(customers) - 2


# -- full reads: search the clients or list every company ---------------------------------------------


def customer_ids(box: Box) -> list[str]:
    return sorted(
        (
            c["id"]
            for c in box.sandbox.objects("companies")
            if c["properties"]["lifecyclestage"] == "customer"
        ),
        key=int,
    )


def test_a_full_read_searches_the_clients_when_they_are_a_tenth_of_the_portal(box: Box) -> None:
    box.sandbox.seed_companies(3000, customer_share=0.1)
    adapter = make(box)
    batches = read_all(adapter, page_size=2000)
    assert [a.id for b in batches for a in b.roster.accounts] == customer_ids(box)
    plan = adapter.last_read_plan
    assert plan is not None and plan.strategy == "search"
    assert (plan.clients, plan.companies, plan.list_calls, plan.search_calls) == (300, 3000, 30, 2)
    searches = calls(box, "/crm/v3/objects/companies/search")
    assert [c.records for c in searches] == [1, 1, 200, 100], "two counts, then the clients 200 a call"
    assert [c for c in box.ledger.calls() if c.method == "GET" and "/objects/companies" in c.path] == []


def test_a_full_read_lists_when_most_companies_are_clients(box: Box) -> None:
    box.sandbox.seed_companies(300, customer_share=0.9)
    adapter = make(box)
    (batch,) = read_all(adapter)
    assert [a.id for a in batch.roster.accounts] == customer_ids(box)
    plan = adapter.last_read_plan
    assert plan is not None and plan.strategy == "list"
    assert plan.search_calls is not None and plan.search_weight is not None and plan.list_calls == 3
    assert plan.search_calls * plan.search_weight >= plan.list_calls
    assert len(calls(box, "/crm/v3/objects/companies/search")) == 2, "the two counts only"
    assert len([c for c in calls(box, "/crm/v3/objects/companies") if c.method == "GET"]) == 3


def test_both_strategies_return_the_same_accounts_evidence_and_current_values(box: Box) -> None:
    roster = to_roster(generate(120, seed=3, as_of=dt.date(2026, 11, 1)).frames)
    box.sandbox.seed(roster)  # clients with evidence, and leads for referrals from outside the roster
    box.sandbox.seed_companies(900, customer_share=0.1, prefix="Bare")
    listed = read_all(make(box, client_read="list"), page_size=200)
    searched = read_all(make(box, client_read="search"), page_size=200)
    assert len([a for b in listed for a in b.roster.accounts]) == 120 + 90
    assert listed[0].roster.invoices and listed[0].roster.tickets and listed[0].roster.referrals
    assert searched == listed


def test_a_filter_without_positive_clauses_lists_without_counting(box: Box) -> None:
    box.sandbox.seed_companies(30, customer_share=0.5)
    mapping = mapping_with(lambda m: m["accounts"].update(where="lifecyclestage != lead"))
    adapter = make(box, mapping)
    (batch,) = read_all(adapter)
    assert [a.id for a in batch.roster.accounts] == customer_ids(box)
    assert adapter.last_read_plan is not None and adapter.last_read_plan.strategy == "list"
    assert calls(box, "/companies/search") == []


def test_an_in_filter_is_searched_as_in(box: Box) -> None:
    box.sandbox.seed_companies(400, customer_share=0.05)
    mapping = mapping_with(lambda m: m["accounts"].update(where="lifecyclestage IN (Customer, evangelist)"))
    adapter = make(box, mapping)
    (batch,) = read_all(adapter)
    assert [a.id for a in batch.roster.accounts] == customer_ids(box)
    plan = adapter.last_read_plan
    assert plan is not None and plan.strategy == "search"
    assert plan.filters == [
        {"propertyName": "lifecyclestage", "operator": "IN", "values": ["customer", "evangelist"]}
    ]


def test_a_client_search_stays_within_searchs_own_rate_limit(box: Box) -> None:
    box.sandbox.seed_companies(10_000, customer_share=0.1)
    box.sandbox.limits.search_per_second = 5
    adapter = make(box, sleeps=time.sleep)
    batches = read_all(adapter)
    assert len([a for b in batches for a in b.roster.accounts]) == 1000
    assert len(calls(box, "/companies/search")) == 2 + 5, "two counts, then 1,000 clients 200 a call"
    # the sandbox refuses a sixth search in a second: no 429 means the pacing kept to search's limit
    assert len(calls(box, "/search")) > 7 and [c for c in box.ledger.calls() if c.status == 429] == []


# -- changed accounts ---------------------------------------------------------------------------------


def test_touching_one_invoice_after_the_watermark_returns_exactly_its_company(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    box.clock.advance(hours=1)
    watermark = box.clock.now
    box.clock.advance(minutes=1)
    invoice = next(r for r in box.sandbox.objects("invoices") if r["properties"]["hs_number"] == "INV-2")
    edit(box, "invoices", invoice["id"], hs_payment_date="2025-07-15")

    assert make(box).changed_account_ids(watermark) == {ids["a1"]}
    assert make(box).changed_account_ids(box.clock.now + dt.timedelta(seconds=1)) == set()


def test_a_won_referral_marks_the_referring_company_and_a_ticket_its_own(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    box.clock.advance(hours=1)
    watermark = box.clock.now
    deal = box.sandbox.objects("deals")[0]
    edit(box, "deals", deal["id"], dealstage="closedlost")
    ticket = next(
        t["id"] for t in box.sandbox.objects("tickets") if t["properties"]["hs_ticket_category"] == "QUESTION"
    )
    edit(box, "tickets", ticket, hs_ticket_priority="URGENT")

    assert make(box).changed_account_ids(watermark) == {ids["a1"], ids["a2"]}


def test_own_write_back_is_not_a_change_but_a_later_edit_is(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    box.clock.advance(hours=1)
    watermark = box.clock.now
    (outcome,) = adapter.write_accounts(
        [AccountUpdate(ids["a2"], {"tier": "good", "last_synced_at": box.clock.now})]
    )
    assert outcome.ok
    assert make(box).changed_account_ids(watermark) == set()
    box.clock.advance(minutes=5)
    edit(box, "companies", ids["a2"], tiersync_override_tier="amazing")
    assert make(box).changed_account_ids(watermark) == {ids["a2"]}


def test_more_than_10000_changed_companies_are_all_found_in_id_windows(box: Box) -> None:
    ids = box.sandbox.seed_companies(10_050)
    box.ledger.reset()

    changed = make(box).changed_account_ids(box.clock.now - dt.timedelta(minutes=1))

    assert changed == set(ids)
    searches = calls(box, "/crm/v3/objects/companies/search")
    assert len(searches) == 51 and all(c.records <= 200 for c in searches), (
        "pages of 200, each its own window"
    )
    assert sum(c.records for c in searches) == 10_050
    assert [c for c in box.ledger.calls() if c.status >= 400] == []


# -- setup_fields -------------------------------------------------------------------------------------


def test_dry_run_says_what_it_would_do_and_writes_nothing(box: Box) -> None:
    lines = make(box).setup_fields(LABELS, dry_run=True)
    assert writes(box) == []
    assert lines[:2] == [
        "companies property group tiersync: would create",
        "tasks property group tiersync: would create",
    ]
    assert "companies.tiersync_tier: would create (enumeration/select)" in lines
    assert "companies.tiersync_traits: would create (enumeration/checkbox)" in lines
    assert "tasks.tiersync_task_key: would create (string/text)" in lines
    assert len(lines) == 14


def test_setup_creates_the_group_and_properties_then_a_rerun_writes_nothing(box: Box) -> None:
    first = make(box).setup_fields(LABELS, dry_run=False)
    assert first[:2] == [
        "companies property group tiersync: created",
        "tasks property group tiersync: created",
    ]
    assert "companies.tiersync_score: created (number/number)" in first
    assert "companies.tiersync_override_expires: created (date/date)" in first
    assert "tasks.tiersync_task_key: created (string/text, unique values)" in first
    traits = box.client().crm.properties.core_api.get_by_name("companies", "tiersync_traits")
    assert {o.value: o.label for o in traits.options} == LABELS
    assert (traits.group_name, traits.field_type) == ("tiersync", "checkbox")

    box.ledger.reset()
    second = make(box).setup_fields(LABELS, dry_run=False)
    assert writes(box) == [], "a second run makes no write call"
    assert all(line.endswith(": exists") for line in second) and len(second) == 14


def test_an_existing_property_of_another_type_is_a_problem_not_accepted(box: Box) -> None:
    from hubspot.crm.properties import PropertyCreate

    box.client().crm.properties.core_api.create(
        "companies",
        PropertyCreate(
            name="tiersync_score",
            label="Score",
            type="string",
            field_type="text",
            group_name="companyinformation",
        ),
    )
    lines = make(box).setup_fields(LABELS, dry_run=False)
    assert (
        "companies.tiersync_score: problem: it is string/text, tiersync needs number/number "
        "(mappings/hubspot.toml [writeback] score); left as it is"
    ) in lines
    assert make(box).check() == [
        "companies.tiersync_score: it is string/text, tiersync needs number/number "
        "(mappings/hubspot.toml [writeback] score)"
    ]


def test_changed_trait_labels_update_the_options_once(box: Box) -> None:
    set_up(box)
    labels = {**LABELS, "bully": "Difficult conduct"}
    assert "companies.tiersync_traits: exists; options and labels updated" in make(box).setup_fields(
        labels, False
    )
    box.ledger.reset()
    assert "companies.tiersync_traits: exists" in make(box).setup_fields(labels, False)
    assert writes(box) == []


def test_after_setup_the_write_back_properties_are_written_and_read_back(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    synced = dt.datetime(2026, 11, 26, 6, 50, 12, 345000, tzinfo=dt.UTC)
    values = {
        "tier": "poor",
        "traits": ["bully", "outside_icp"],
        "score": 12.5,
        "reasons": "7 complaints in 12 months",
        "tier_changed_at": synced,
        "previous_tier": "okay",
        "last_synced_at": synced,
    }
    (outcome,) = adapter.write_accounts([AccountUpdate(ids["a1"], values)])
    assert outcome.ok and outcome.crm_id == ids["a1"]
    stored = box.sandbox.get("companies", ids["a1"])
    assert stored is not None
    assert (stored["properties"]["tiersync_traits"], stored["properties"]["tiersync_last_synced_at"]) == (
        "bully;outside_icp",
        "2026-11-26T06:50:12.345Z",
    )
    edit(box, "companies", ids["a1"], tiersync_override_tier="good", tiersync_override_expires="2026-12-31")

    (batch,) = read_all(make(box), [ids["a1"]])
    assert batch.current[ids["a1"]] == CurrentValues(
        tier="poor",
        traits=("bully", "outside_icp"),
        score=12.5,
        reasons="7 complaints in 12 months",
        previous_tier="okay",
        tier_changed_at=synced,
        last_synced_at=synced,
        override_tier="good",
        override_expires=dt.date(2026, 12, 31),
    )
    (cleared,) = adapter.write_accounts([AccountUpdate(ids["a1"], {"traits": [], "reasons": None})])
    assert cleared.ok
    (after,) = read_all(make(box), [ids["a1"]])
    assert (after.current[ids["a1"]].traits, after.current[ids["a1"]].reasons) == ((), None)


# -- write_accounts -----------------------------------------------------------------------------------


def test_a_207_is_not_success_each_failed_input_gets_its_own_outcome(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    locked, invalid = ids["a1"], ids["a2"]
    [fine] = box.sandbox.seed_companies(1)
    box.faults.configure(
        FaultPlan(failing_records={locked: RecordFault.LOCK_ROW, invalid: RecordFault.VALIDATION})
    )
    updates = [AccountUpdate(i, {"tier": "good"}) for i in (locked, fine, invalid, "424242")]

    outcomes = adapter.write_accounts(updates)

    assert [o.ref for o in outcomes] == [locked, fine, invalid, "424242"]
    assert [(o.ok, o.error_code, o.retriable) for o in outcomes] == [
        (False, "LOCKED", True),
        (True, None, False),
        (False, "VALIDATION_ERROR", False),
        (False, "OBJECT_NOT_FOUND", False),
    ]
    assert outcomes[2].message and "validation rule" in outcomes[2].message
    assert len(calls(box, "/batch/update")) == 1 and box.ledger.calls()[-1].status == 207


def test_an_invalid_value_fails_only_its_own_record(box: Box) -> None:
    adapter = set_up(box)
    ids = box.sandbox.seed_companies(6)
    updates = [AccountUpdate(i, {"tier": "great" if n == 4 else "good"}) for n, i in enumerate(ids)]

    outcomes = adapter.write_accounts(updates)

    assert [o.ok for o in outcomes] == [True, True, True, True, False, True]
    bad = outcomes[4]
    assert bad.error_code == "INVALID_OPTION" and not bad.retriable
    assert bad.message and bad.message.endswith("(property: tiersync_tier (tier))")
    assert [c["properties"].get("tiersync_tier") for c in box.sandbox.objects("companies")] == [
        "good",
        "good",
        "good",
        "good",
        None,
        "good",
    ]
    assert len(calls(box, "/batch/update")) <= 7, "the bad input is isolated by halving, not one call each"


def test_a_value_every_input_breaks_fails_them_all_in_a_bounded_number_of_calls(box: Box) -> None:
    adapter = set_up(box)
    ids = box.sandbox.seed_companies(150)
    box.ledger.reset()
    outcomes = adapter.write_accounts([AccountUpdate(i, {"tier": "great"}) for i in ids])
    assert {(o.ok, o.error_code) for o in outcomes} == {(False, "INVALID_OPTION")} and len(outcomes) == 150
    assert len(box.ledger.calls()) <= 2 + 30


def test_a_101_input_batch_is_never_sent(box: Box) -> None:
    adapter = set_up(box)
    ids = box.sandbox.seed_companies(201)
    box.ledger.reset()
    outcomes = adapter.write_accounts([AccountUpdate(i, {"tier": "okay"}) for i in ids])
    assert len(outcomes) == 201 and all(o.ok for o in outcomes)
    assert [c.records for c in writes(box)] == [100, 100, 1]


def test_one_company_twice_goes_in_two_calls(box: Box) -> None:
    adapter = set_up(box)
    [company] = box.sandbox.seed_companies(1)
    outcomes = adapter.write_accounts(
        [AccountUpdate(company, {"tier": "okay"}), AccountUpdate(company, {"score": 3})]
    )
    assert all(o.ok for o in outcomes) and len(calls(box, "/batch/update")) == 2


def test_only_write_back_fields_can_be_written(box: Box) -> None:
    with pytest.raises(ValueError, match="override_tier"):
        make(box).write_accounts([AccountUpdate("1001", {"override_tier": "good"})])


# -- tasks --------------------------------------------------------------------------------------------


def spec(key: str, account: str, owner: str | None = None) -> TaskSpec:
    return TaskSpec(key, account, owner, f"Subject {key}", f"Why: {key}", dt.date(2026, 12, 10))


def test_upsert_creates_each_task_once_and_never_reopens_a_completed_one(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    owner = next(o["id"] for o in box.sandbox.owners() if o["email"].startswith("u1@"))
    specs = [spec("a1/review/2026-10-01", ids["a1"], owner), spec("a2/quote/2026-10-01", ids["a2"])]

    created = adapter.upsert_tasks(specs)
    assert all(o.ok and o.crm_id for o in created)
    edit(box, "tasks", created[0].crm_id or "", hs_task_status="COMPLETED")
    box.ledger.reset()
    again = adapter.upsert_tasks([dataclasses.replace(s, resend=True) for s in specs])

    assert writes(box) == [], "a re-send looks its tasks up by key and leaves them alone"
    tasks = {t["id"]: t["properties"] for t in box.sandbox.objects("tasks")}
    assert len(tasks) == 2
    assert [o.crm_id for o in again] == [o.crm_id for o in created]
    first, second = (tasks[o.crm_id or ""] for o in created)
    assert (first["hs_task_status"], first["hubspot_owner_id"], first["hs_timestamp"]) == (
        "COMPLETED",
        owner,
        "2026-12-10T12:00:00.000Z",
    )
    assert (second["hs_task_status"], second["tiersync_task_key"], second["hs_task_body"]) == (
        "NOT_STARTED",
        "a2/quote/2026-10-01",
        "Why: a2/quote/2026-10-01",
    )
    assert "hubspot_owner_id" not in second
    assert box.sandbox.associations("tasks", created[0].crm_id or "", "companies") == [ids["a1"]]

    surprise = adapter.upsert_tasks(specs)  # a first send of keys that exist: the unique key refuses
    assert [o.crm_id for o in surprise] == [o.crm_id for o in created]
    assert all(o.ok for o in surprise)
    assert len(box.sandbox.objects("tasks")) == 2
    assert box.sandbox.get("tasks", created[0].crm_id or "")["properties"]["hs_task_status"] == "COMPLETED"


def test_task_creates_go_100_a_call_and_fail_per_input(box: Box) -> None:
    adapter = set_up(box)
    companies = box.sandbox.seed_companies(2)
    specs = [spec(f"k{n}", companies[n % 2]) for n in range(150)]
    box.faults.configure(
        FaultPlan(failing_records={"k7": RecordFault.LOCK_ROW, "k120": RecordFault.VALIDATION})
    )
    box.ledger.reset()

    outcomes = adapter.upsert_tasks(specs)

    assert [o.ref for o in outcomes] == [s.key for s in specs]
    failed = {o.ref: (o.error_code, o.retriable) for o in outcomes if not o.ok}
    assert failed == {"k7": ("LOCKED", True), "k120": ("VALIDATION_ERROR", False)}
    assert [c.records for c in calls(box, "/batch/create")] == [99, 49]
    assert all(c.records <= 100 for c in box.ledger.calls())
    box.faults.configure(FaultPlan())
    retried = adapter.upsert_tasks([specs[7]])
    assert retried[0].ok and len(box.sandbox.objects("tasks")) == 149


def test_task_status_reports_open_closed_and_deleted(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    open_, done, gone = (o.crm_id or "" for o in adapter.upsert_tasks([spec(k, ids["a1"]) for k in "xyz"]))
    edit(box, "tasks", done, hs_task_status="COMPLETED")
    box.client().crm.objects.basic_api.archive("tasks", gone)

    status = adapter.task_status([open_, done, gone, "424242", "bogus'id"])

    assert status == {
        open_: TaskStatus.OPEN,
        done: TaskStatus.CLOSED,
        gone: TaskStatus.DELETED,
        "424242": TaskStatus.DELETED,
        "bogus'id": TaskStatus.DELETED,
    }


def test_close_keeps_the_body_appends_the_comment_once_and_reports_deleted_tasks(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    task, gone = (
        o.crm_id or "" for o in adapter.upsert_tasks([spec("k1", ids["a1"]), spec("k2", ids["a1"])])
    )
    box.client().crm.objects.basic_api.archive("tasks", gone)
    closes = [
        TaskClose("k1", task, "Closed by tiersync: the client is good now."),
        TaskClose("k2", gone, "x"),
    ]

    outcomes = adapter.close_tasks(closes)
    adapter.close_tasks(closes[:1])  # a retried close

    assert [(o.ref, o.ok, o.error_code) for o in outcomes] == [
        ("k1", True, None),
        ("k2", False, "OBJECT_NOT_FOUND"),
    ]
    stored = box.sandbox.get("tasks", task)
    assert stored is not None
    assert stored["properties"]["hs_task_status"] == "COMPLETED"
    assert stored["properties"]["hs_task_body"] == "Why: k1\n\nClosed by tiersync: the client is good now."


# -- retries, limits, usage ---------------------------------------------------------------------------


def test_429_500_and_dropped_connections_on_reads_are_retried(box: Box) -> None:
    box.sandbox.seed(full_roster())
    box.faults.configure(
        FaultPlan(
            schedule={1: Fault.RATE_LIMIT, 3: Fault.SERVER_ERROR, 5: Fault.RESET, 9: Fault.RATE_LIMIT},
            retry_after_seconds=0,
        )
    )
    sleeps = Sleeps()
    (batch,) = read_all(make(box, sleeps=sleeps))
    assert len(batch.roster.accounts) == 2 and len(batch.roster.invoices or []) == 3
    assert Counter(c.fault for c in box.ledger.calls() if c.fault) == {
        "rate_limit": 2,
        "server_error": 1,
        "reset": 1,
    }
    assert len(sleeps) == 4


def test_write_faults_are_retried_honouring_retry_after(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    set_up(box)
    box.faults.configure(
        FaultPlan(
            schedule={1: Fault.UNAVAILABLE, 2: Fault.RESET, 3: Fault.RATE_LIMIT},
            only_writes=True,
            retry_after_seconds=3,
        )
    )
    sleeps = Sleeps()
    (outcome,) = make(box, sleeps=sleeps).write_accounts([AccountUpdate(ids["a1"], {"tier": "good"})])
    assert outcome.ok
    assert [c.fault for c in calls(box, "/batch/update")] == ["unavailable", "reset", "rate_limit", None]
    assert len(sleeps) == 3 and sleeps[2] >= 3, "the 429 carried Retry-After: 3"
    assert box.sandbox.get("companies", ids["a1"])["properties"]["tiersync_tier"] == "good"  # type: ignore[index]


def test_retries_are_bounded(box: Box) -> None:
    box.faults.configure(FaultPlan(request_rates={Fault.SERVER_ERROR: 1.0}))
    sleeps = Sleeps()
    with pytest.raises(RetriableError, match="500 INTERNAL_ERROR"):
        make(box, sleeps=sleeps, retry_attempts=3).check()
    assert len(box.ledger.calls()) == 3 and len(sleeps) == 2


def test_a_permanent_400_is_not_retried(box: Box) -> None:
    sleeps = Sleeps()
    client = make(box, sleeps=sleeps).client
    with pytest.raises(RequestRejectedError) as error:
        client.call("list", client.objects_basic.get_page_with_http_info, "companies", limit=500)
    assert (error.value.status, error.value.code) == (400, "VALIDATION_ERROR")
    assert len(box.ledger.calls()) == 1 and sleeps == []


def test_an_exhausted_daily_limit_is_fatal_at_once(box: Box) -> None:
    box.sandbox.set_daily_usage(500_000)
    sleeps = Sleeps()
    with pytest.raises(LimitExhaustedError, match="daily API limit"):
        make(box, sleeps=sleeps).check()
    assert len(box.ledger.calls()) == 1 and sleeps == []


def test_usage_is_the_daily_limit_headers(box: Box) -> None:
    adapter = make(box)
    assert adapter.usage() is None
    box.sandbox.set_daily_usage(41)
    adapter.task_status(["1001"])
    assert adapter.usage() == ApiUsage(used=42, limit=500_000)


def test_calls_are_paced_to_the_burst_limit_without_a_429(box: Box) -> None:
    roster = to_roster(generate(60, seed=4, as_of=dt.date(2026, 11, 1)).frames)
    box.sandbox.seed(roster)
    box.sandbox.limits.burst_limit = 8
    box.sandbox.limits.burst_window = 0.5
    adapter = make(box, sleeps=time.sleep)

    started = time.monotonic()
    batches = read_all(adapter, page_size=30)

    assert sum(len(b.roster.accounts) for b in batches) == 60
    assert len(box.ledger.calls()) > 16 and [c for c in box.ledger.calls() if c.status == 429] == []
    assert adapter.client.pacer.waited > 0 and time.monotonic() - started >= 1.0


def test_searches_are_paced_to_their_own_limit_without_a_429(box: Box) -> None:
    box.sandbox.seed_companies(1500)
    box.sandbox.limits.search_per_second = 5
    adapter = make(box, sleeps=time.sleep)

    changed = adapter.changed_account_ids(box.clock.now - dt.timedelta(minutes=1))

    assert len(changed) == 1500
    searches = calls(box, "/search")
    assert len(searches) == 12 and [c for c in searches if c.status == 429] == []

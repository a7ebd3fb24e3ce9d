"""The Salesforce adapter over real HTTPS against the sandbox org, with the real simple_salesforce client.

Faults are injected in the sandbox; the adapter's retry pauses go to a recorder instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import certifi
import pytest
import requests
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest

from connector.classify.trait_settings import DEFAULT_TRAIT_LABELS
from connector.config import SalesforceSettings
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
from connector.crm.mapping import Mapping, default_mapping, load_mapping
from connector.crm.salesforce import SalesforceAdapter, soql
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
from connector.sandbox.ledger import WRITE_METHODS
from connector.sandbox.salesforce import login_domain
from tests.sandbox.conftest import SF_SESSION_ID, SalesforceSandboxFixture

API_USER = "sandbox@tiersync.local"
MAPPING = load_mapping(default_mapping("salesforce"))
LABELS = {trait.value: label for trait, label in DEFAULT_TRAIT_LABELS.items()}
NASTY = "O'Brien \\ Sons' \"Ltd\""

Box = SalesforceSandboxFixture


class Sleeps(list[float]):
    """Records the adapter's retry pauses instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def settings(box: Box, **overrides: Any) -> SalesforceSettings:
    values: dict[str, Any] = {
        "instance_url": box.url,
        "session_id": SF_SESSION_ID,
        "ca_bundle": box.server.ca_path,
        "username": API_USER,
        **overrides,
    }
    return SalesforceSettings(**{k: v for k, v in values.items() if v is not None})


def make(
    box: Box, mapping: Mapping = MAPPING, *, sleeps: Sleeps | None = None, **overrides: Any
) -> SalesforceAdapter:
    return SalesforceAdapter(
        settings(box, **overrides), mapping, sleep=sleeps if sleeps is not None else Sleeps()
    )


def mapping_with(edit: Callable[[dict[str, Any]], None]) -> Mapping:
    data = tomllib.loads(default_mapping("salesforce").read_text(encoding="utf-8"))
    edit(data)
    return Mapping.model_validate(data)


def set_up(box: Box) -> SalesforceAdapter:
    adapter = make(box)
    adapter.setup_fields(LABELS, dry_run=False)
    return adapter


def read_all(
    adapter: SalesforceAdapter, ids: list[str] | None = None, page_size: int = 2000
) -> list[ReadBatch]:
    return list(adapter.read(ids, page_size))


def writes(box: Box) -> list[Any]:
    return [c for c in box.ledger.calls() if c.method in WRITE_METHODS]


def sent_urls(adapter: SalesforceAdapter) -> list[str]:
    """Every URL the adapter requests from now on, decoded (so a query's SOQL is readable)."""
    urls: list[str] = []
    adapter.client.sf.session.hooks["response"].append(
        lambda response, *args, **kwargs: urls.append(urllib.parse.unquote_plus(response.request.url or ""))
    )
    return urls


def queries(box: Box) -> int:
    return box.ledger.count(path_contains="/query")


# -- auth ---------------------------------------------------------------------------------------------


def test_session_id_flow_trusts_the_ca_bundle_despite_requests_ca_bundle(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a bundle that does not hold the sandbox CA, as on a machine or proxy that sets one: requests
    # lets the environment win over Session.verify unless the adapter stops it
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    box.sandbox.seed(Roster(accounts=[Account(id="a", name="Alpha", status="Customer - Direct")]))
    batches = read_all(make(box))
    assert [a.name for a in batches[0].roster.accounts] == ["Alpha"]


def test_username_password_and_token_flow_logs_in_and_relogs_after_expiry(box: Box) -> None:
    box.sandbox.seed(Roster(accounts=[Account(id="a", name="Alpha", status="Customer - Direct")]))
    adapter = make(
        box,
        instance_url=None,
        session_id=None,
        password="sandbox",
        security_token="token",
        domain=login_domain(box.url),
    )
    assert [a.name for b in read_all(adapter) for a in b.roster.accounts] == ["Alpha"]
    box.sandbox.expire_sessions()
    assert [a.name for b in read_all(adapter) for a in b.roster.accounts] == ["Alpha"]


def test_jwt_bearer_and_client_credentials_flows_log_in(box: Box, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "server.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    oauth = login_domain(box.url, flow="oauth")
    common: dict[str, Any] = {
        "instance_url": None,
        "session_id": None,
        "domain": oauth,
        "consumer_key": "key",
    }
    jwt = make(box, private_key_file=key_file, **common)
    credentials = make(box, consumer_secret="s3cret", username=None, **common)
    for adapter in (jwt, credentials):
        assert adapter.client.sf.query("SELECT COUNT() FROM User")["totalSize"] == 2, (
            "the API user and the editor"
        )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"session_id": None, "instance_url": None, "username": None}, "no Salesforce login configured"),
        ({"instance_url": None}, "salesforce.instance_url is required"),
        ({"session_id": None, "password": "pw", "username": None}, "salesforce.username is required"),
        ({"password": "pw"}, "salesforce.session_id and salesforce.password are set together"),
        (
            {"session_id": None, "consumer_key": "k", "consumer_secret": "s"},
            "salesforce.domain must be your My Domain",
        ),
        ({"session_id": None, "consumer_key": "k"}, "salesforce.consumer_key is set"),
        (
            {"session_id": None, "private_key_file": Path("/nope/key.pem"), "consumer_key": "k"},
            "no such file",
        ),
    ],
)
def test_missing_or_contradictory_settings_name_the_setting(
    box: Box, overrides: dict[str, Any], named: str
) -> None:
    with pytest.raises(AuthError, match=re.escape(named)) as error:
        make(box, **overrides).check()
    assert "\n" not in str(error.value)
    assert box.ledger.calls() == []


def test_a_wrong_session_is_an_auth_error_that_never_shows_the_token(box: Box) -> None:
    sleeps = Sleeps()
    with pytest.raises(AuthError) as error:
        make(box, sleeps=sleeps, session_id="secret-token-123").check()
    assert "secret-token-123" not in str(error.value)
    assert "INVALID_SESSION_ID" in str(error.value)
    assert sleeps == [] and len(box.ledger.calls()) == 1


def test_a_wrong_password_is_an_auth_error_without_the_password(box: Box) -> None:
    adapter = make(
        box,
        instance_url=None,
        session_id=None,
        password="hunter2",
        security_token="tok-9f8e",
        domain=login_domain(box.url),
    )
    with pytest.raises(AuthError, match="INVALID_LOGIN") as error:
        adapter.check()
    assert "hunter2" not in str(error.value) and "tok-9f8e" not in str(error.value)


# -- check --------------------------------------------------------------------------------------------


def test_check_before_setup_points_at_setup_fields_only(box: Box) -> None:
    problems = make(box).check()
    assert len(problems) == 2
    assert problems[0].startswith("Account: write-back fields not created yet or not granted")
    assert "Tiersync_Tier__c" in problems[0] and "Tiersync_Override_Expires__c" in problems[0]
    assert problems[1].startswith("Task.Tiersync_Key__c: task key field not created yet")
    assert all(p.endswith("run `tiersync setup-fields`") for p in problems)


def test_check_is_clean_after_setup(box: Box) -> None:
    set_up(box)
    assert make(box).check() == []


def test_a_misspelled_field_is_one_line_naming_object_field_and_mapping_key(box: Box) -> None:
    set_up(box)
    mapping = mapping_with(lambda m: m["invoices"]["fields"].update(amount="Amount_X__c"))
    assert make(box, mapping).check() == [
        "Invoice__c.Amount_X__c: no such field (mappings/salesforce.toml [invoices.fields] amount)"
    ]


def test_missing_objects_conditions_and_bad_where_are_each_one_line(box: Box) -> None:
    set_up(box)

    def edit(m: dict[str, Any]) -> None:
        m["surveys"]["object"] = "Survey_Typo__c"
        m["tickets"]["fields"]["complaint"] = {"field": "Kind__c", "in": ["Complaint"]}
        m["referrals"]["where"] = "Stage_Typo__c = 'Closed Won'"

    problems = make(box, mapping_with(edit)).check()
    assert problems[0] == "Case.Kind__c: no such field (mappings/salesforce.toml [tickets.fields] complaint)"
    assert problems[1] == "Survey_Typo__c: no such object (mappings/salesforce.toml [surveys] object)"
    assert problems[2].startswith("Opportunity: the where condition fails (")
    assert problems[2].endswith("(mappings/salesforce.toml [referrals] where)")
    assert len(problems) == 3


def test_read_refuses_a_broken_mapping_with_every_problem_at_once(box: Box) -> None:
    mapping = mapping_with(lambda m: m["invoices"]["fields"].update(amount="A__c", due="D__c"))
    with pytest.raises(MappingError) as error:
        read_all(make(box, mapping))
    assert error.value.problems == [
        "Invoice__c.A__c: no such field (mappings/salesforce.toml [invoices.fields] amount)",
        "Invoice__c.D__c: no such field (mappings/salesforce.toml [invoices.fields] due)",
    ]
    assert queries(box) == 0


# -- read ---------------------------------------------------------------------------------------------


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
                status="Customer - Direct",
                source="Web",
            ),
            Account(id="a2", name=NASTY, status="Customer - Channel"),
            Account(id="p1", name="Prospect Co", status="Prospect"),
        ],
        invoices=[
            Invoice(
                "INV-1", "a1", 100.5, "EUR", d(2025, 1, 1), d(2025, 2, 1), d(2025, 3, 1), InvoiceStatus.PAID
            ),
            Invoice("INV-2", "a1", None, "EUR", d(2025, 6, 1), d(2025, 7, 1), None, InvoiceStatus.OPEN),
        ],
        tickets=[
            Ticket("t1", "a1", d(2025, 3, 3), priority="high", escalated=True, complaint=True, abusive=False),
            Ticket("t2", "a1", d(2025, 4, 4), discount_request=True),
            Ticket("t3", "a2", d(2025, 5, 5), category="question"),
        ],
        referrals=[Referral("r1", "a1", referred="a2", value=1000, date=d(2025, 4, 4))],
        surveys=[Survey("s1", "a1", d(2025, 6, 6), nps=9, csat=4.5, public_complaint=False)],
        meetings=[
            Meeting("m1", "a1", "checkup", d(2025, 5, 5), MeetingOutcome.NO_SHOW),
            Meeting("m2", "a1", "working_session", d(2025, 5, 6), MeetingOutcome.HELD),
        ],
        goals=[
            GoalAgreement("g1", "a1", d(2025, 1, 1), GoalStatus.PENDING),
            GoalAgreement("g2", "a1", d(2025, 7, 1), GoalStatus.REFUSED),
        ],
        renegotiations=[Renegotiation("n1", "a1", d(2025, 8, 8), "price")],
    )


def test_read_translates_every_source_into_canonical_records(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    a1, a2 = ids["a1"], ids["a2"]
    (batch,) = read_all(make(box))
    roster = batch.roster

    accounts = {a.id: a for a in roster.accounts}
    assert set(accounts) == {a1, a2}, "the Prospect is outside [accounts] where"
    acme = accounts[a1]
    assert (acme.name, acme.industry, acme.region, acme.employee_count) == ("Acme", "Retail", "DE", 50)
    assert (acme.created, acme.status, acme.source) == (dt.date(2024, 1, 2), "Customer - Direct", "Web")
    assert acme.owner_id is not None and acme.owner_id.startswith("005")
    bare = accounts[a2]
    assert bare.name == NASTY
    assert (bare.industry, bare.employee_count, bare.source) == (None, None, None), "missing stays None"

    by_name = {r["Id"]: r["Name"] for r in box.sandbox.records("Invoice__c")}
    invoices = {by_name[i.id]: i for i in roster.invoices or []}
    assert invoices["INV-1"] == Invoice(
        invoices["INV-1"].id,
        a1,
        100.5,
        "EUR",
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
        dt.date(2025, 3, 1),
        InvoiceStatus.PAID,
    )
    assert (invoices["INV-2"].amount, invoices["INV-2"].paid, invoices["INV-2"].status) == (
        None,
        None,
        InvoiceStatus.OPEN,
    )

    tickets = sorted(roster.tickets or [], key=lambda t: t.opened or dt.date.min)
    assert [(t.account_id, t.opened, t.category, t.complaint, t.discount_request) for t in tickets] == [
        (a1, dt.date(2025, 3, 3), "Complaint", True, False),
        (a1, dt.date(2025, 4, 4), "Discount Request", False, True),
        (a2, dt.date(2025, 5, 5), "Question", False, False),
    ]
    assert (tickets[0].priority, tickets[0].escalated, tickets[0].abusive) == ("High", True, False)
    assert [(r.account_id, r.date, r.reason) for r in roster.renegotiations or []] == [
        (a1, dt.date(2025, 8, 8), "price")
    ]
    assert [(r.account_id, r.referred, r.value, r.date) for r in roster.referrals or []] == [
        (a1, a2, 1000.0, dt.date(2025, 4, 4))
    ]
    (survey,) = roster.surveys or []
    assert (survey.account_id, survey.date, survey.nps, survey.csat, survey.public_complaint) == (
        a1,
        dt.date(2025, 6, 6),
        9,
        4.5,
        False,
    )
    assert isinstance(survey.nps, int)
    meetings = sorted((m.scheduled, m.type, m.outcome) for m in roster.meetings or [])
    assert meetings == [
        (dt.date(2025, 5, 5), "checkup", MeetingOutcome.NO_SHOW),
        (dt.date(2025, 5, 6), "working_session", MeetingOutcome.HELD),
    ]
    assert roster.goals == [GoalAgreement(a1, a1, dt.date(2025, 7, 1), GoalStatus.REFUSED)]
    assert batch.current == {a1: CurrentValues(), a2: CurrentValues()}, "no write-back fields yet"


def test_read_pages_with_one_account_query_per_page_and_child_queries_per_page(box: Box) -> None:
    roster = to_roster(generate(450, seed=1, as_of=dt.date(2026, 11, 1)).frames)
    ids = box.sandbox.seed(roster)
    adapter = make(box)
    soql = sent_urls(adapter)

    batches = read_all(adapter, page_size=200)

    assert [len(b.roster.accounts) for b in batches] == [200, 200, 50]
    read_ids = [a.id for b in batches for a in b.roster.accounts]
    assert sorted(read_ids) == read_ids and set(read_ids) == set(ids.values())
    first_pages = Counter(q.split(" FROM ")[1].split(" ")[0] for q in soql if "?q=" in q)
    assert first_pages == {
        "Account": 1,
        "Invoice__c": 3,
        "Case": 6,
        "Opportunity": 3,
        "Survey_Response__c": 3,
        "Event": 3,
    }
    account_pages = [q for q in soql if "/query/" in q and q.endswith(("-200", "-400"))]
    assert len(account_pages) == 2, "the account query's second and third page come from nextRecordsUrl"
    assert "batchSize=200" not in " ".join(soql), "the header travels in headers, not the URL"
    live = {r["Id"] for r in box.sandbox.records("Invoice__c")}
    assert {i.id for b in batches for i in b.roster.invoices or []} == live
    assert len(soql) < 40


def test_account_ids_with_quotes_are_quoted_or_dropped_never_widening_the_query(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    wanted = [ids["a2"], "001' OR Name != '", ids["a2"], "x') OR (Id != null", ids["a1"]]

    (batch,) = read_all(make(box), wanted)

    assert {a.id for a in batch.roster.accounts} == {ids["a1"], ids["a2"]}
    assert {a.name for a in batch.roster.accounts} == {"Acme", NASTY}
    assert [c for c in box.ledger.calls() if c.status >= 400] == []


def test_in_lists_are_cut_to_keep_each_query_url_within_the_uri_limit() -> None:
    ids = [f"001{i:015d}" for i in range(2000)]
    chunks = list(
        soql.chunked(lambda chunk: soql.select("Account", ["Id"], [soql.in_list("Id", chunk)]), ids)
    )
    assert [i for chunk, _ in chunks for i in chunk] == ids
    assert all(len(urllib.parse.quote_plus(query)) <= soql.MAX_ENCODED_QUERY for _, query in chunks)
    assert 4 <= len(chunks) <= 6
    assert soql.in_list("Id", ["a'b"]) == "Id IN ('a\\'b')"


def test_many_given_ids_are_read_in_a_few_chunked_queries(box: Box) -> None:
    roster = to_roster(generate(450, seed=3, as_of=dt.date(2026, 11, 1)).frames)
    ids = list(box.sandbox.seed(roster).values())
    adapter = make(box)
    soql_sent = sent_urls(adapter)
    (batch,) = read_all(adapter, ids)
    assert sorted(a.id for a in batch.roster.accounts) == sorted(ids)
    first_pages = Counter(q.split(" FROM ")[1].split(" ")[0] for q in soql_sent if "?q=" in q)
    assert first_pages["Account"] == 2 and first_pages["Invoice__c"] == 2, "450 ids need two IN chunks"


def test_every_query_url_stays_under_the_stated_bound(box: Box) -> None:
    roster = to_roster(generate(450, seed=3, as_of=dt.date(2026, 11, 1)).frames)
    ids = list(box.sandbox.seed(roster).values())
    adapter = set_up(box)
    urls = sent_urls(adapter)
    read_all(adapter, ids)
    adapter.task_status(ids)  # not task ids, but 450 of them in IN lists
    encoded = [len(urllib.parse.quote_plus(u.split("?q=", 1)[1])) for u in urls if "?q=" in u]
    assert encoded and max(encoded) <= soql.MAX_ENCODED_QUERY < 16_384 // 1.3
    assert [c for c in box.ledger.calls() if c.status in (414, 431)] == []


def test_a_query_refused_as_too_long_is_split_and_retried(box: Box) -> None:
    roster = to_roster(generate(450, seed=3, as_of=dt.date(2026, 11, 1)).frames)
    ids = list(box.sandbox.seed(roster).values())
    adapter = make(box)
    box.sandbox.max_request_bytes = 5_000  # a stricter proxy in front of the org
    (batch,) = read_all(adapter, ids)
    assert sorted(a.id for a in batch.roster.accounts) == sorted(ids)
    expected = sum(1 for i in roster.invoices or [] if i.account_id in {a.id for a in roster.accounts})
    assert len(batch.roster.invoices or []) == expected
    refused = [c for c in box.ledger.calls() if c.status in (414, 431)]
    assert refused and all("/query" in c.path for c in refused)


def test_the_sandbox_refuses_a_uri_over_16384_bytes_with_414_and_uri_plus_headers_with_431(box: Box) -> None:
    sf = box.client()
    long_in = ",".join(f"'001{i:015d}'" for i in range(900))
    with pytest.raises(SalesforceGeneralError) as too_long:
        sf.query(f"SELECT Id FROM Account WHERE Id IN ({long_in})")
    assert too_long.value.status == 414
    fits = ",".join(f"'001{i:015d}'" for i in range(500))
    with pytest.raises(SalesforceGeneralError) as too_large:
        sf.query(f"SELECT Id FROM Account WHERE Id IN ({fits})", headers={"X-Padding": "p" * 3000})
    assert too_large.value.status == 431
    assert box.sandbox.api_used == 0  # refused before authentication and counting


def _meetings_roster() -> Roster:
    """Three meetings of one client: one archived (over a year before the sandbox's 2026-11-26), two
    recent; the sandbox seeds an invitee's child copy of every 4th meeting (the archived one here)."""
    d = dt.date
    return Roster(
        accounts=[Account(id="m", name="Meets", status="Customer - Direct")],
        meetings=[
            Meeting("old", "m", "checkup", d(2025, 6, 1), MeetingOutcome.DECLINED),
            Meeting("new1", "m", "checkup", d(2026, 10, 1), MeetingOutcome.HELD),
            Meeting("new2", "m", "working_session", d(2026, 10, 2), MeetingOutcome.NO_SHOW),
        ],
    )


def _meeting_facts(batches: list[ReadBatch]) -> list[tuple[str | None, dt.date | None, str | None]]:
    return sorted(
        (m.type, m.scheduled, m.outcome.value if m.outcome else None)
        for b in batches
        for m in b.roster.meetings or []
    )


def test_invitee_copies_are_not_meetings_and_archived_meetings_are_still_read(box: Box) -> None:
    ids = box.sandbox.seed(_meetings_roster())
    events = box.sandbox.records("Event")
    assert (len(events), sum(e["IsChild"] for e in events), sum(e["IsArchived"] for e in events)) == (4, 1, 2)
    expected = [
        ("checkup", dt.date(2025, 6, 1), "declined"),
        ("checkup", dt.date(2026, 10, 1), "held"),
        ("working_session", dt.date(2026, 10, 2), "no_show"),
    ]
    assert _meeting_facts(read_all(make(box))) == expected  # a full read (range queries)
    assert _meeting_facts(read_all(make(box), [ids["m"]])) == expected  # given ids (IN chunks)
    bulk = make(box, bulk_threshold=0, bulk_page_size=200)
    assert _meeting_facts(read_all(bulk)) == expected  # Bulk queryAll jobs


def test_a_given_prospect_id_stays_outside_the_accounts_where(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    assert read_all(make(box), [ids["p1"]]) == []


def test_read_after_an_id_resumes_a_backfill(box: Box) -> None:
    ids = box.sandbox.seed(
        Roster(accounts=[Account(id=f"c{i}", name=f"C{i}", status="Customer - Direct") for i in range(5)])
    )
    ordered = sorted(ids.values())
    resumed = [a.id for b in make(box).read(None, 200, after=ordered[1]) for a in b.roster.accounts]
    assert resumed == ordered[2:]


def test_an_evicted_query_cursor_resumes_after_the_last_id_read(box: Box) -> None:
    roster = to_roster(generate(450, seed=2, as_of=dt.date(2026, 11, 1)).frames)
    ids = box.sandbox.seed(roster)
    pages = make(box).read(None, 200)
    first = next(pages)
    other = box.client()
    for _ in range(10):  # open more cursors than the org keeps: the adapter's is evicted
        other.query("SELECT Id FROM Invoice__c", headers={"Sforce-Query-Options": "batchSize=200"})

    rest = list(pages)

    read_ids = [a.id for b in [first, *rest] for a in b.roster.accounts]
    assert sorted(read_ids) == sorted(ids.values())
    assert any(c.status == 400 for c in box.ledger.calls()), "the evicted locator was refused once"


# -- changed accounts ---------------------------------------------------------------------------------


def test_touching_one_invoice_after_the_watermark_returns_exactly_its_account(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    box.clock.advance(hours=1)
    watermark = box.clock.now
    box.clock.advance(minutes=1)
    invoice = next(r for r in box.sandbox.records("Invoice__c") if r["Name"] == "INV-2")
    box.client().Invoice__c.update(invoice["Id"], {"Paid_Date__c": "2025-07-15"})

    assert make(box).changed_account_ids(watermark) == {ids["a1"]}
    assert make(box).changed_account_ids(box.clock.now + dt.timedelta(seconds=1)) == set()


def test_a_deleted_case_marks_its_account(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    box.clock.advance(hours=1)
    watermark = box.clock.now
    case = next(r for r in box.sandbox.records("Case") if r["AccountId"] == ids["a2"])
    box.client().Case.delete(case["Id"])
    assert make(box).changed_account_ids(watermark) == {ids["a2"]}


def test_evidence_leaving_its_where_still_marks_the_account(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    box.clock.advance(hours=1)
    watermark = box.clock.now
    deal = box.sandbox.records("Opportunity")[0]
    box.client().Opportunity.update(deal["Id"], {"StageName": "Closed Lost"})
    assert make(box).changed_account_ids(watermark) == {ids["a1"]}


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
    box.editor().Account.update(ids["a2"], {"Tiersync_Override_Tier__c": "amazing"})
    assert make(box).changed_account_ids(watermark) == {ids["a2"]}


# -- setup_fields -------------------------------------------------------------------------------------


def test_dry_run_says_what_it_would_do_and_writes_nothing(box: Box) -> None:
    lines = make(box).setup_fields(LABELS, dry_run=True)
    assert writes(box) == []
    assert "Account.Tiersync_Tier__c: would create (Picklist)" in lines
    assert "Activity.Tiersync_Key__c: would create (Text)" in lines
    assert "PermissionSet Tiersync: would create" in lines
    assert any(
        line.startswith("FieldPermissions: would grant read + edit on Account.Tiersync_Tier__c")
        for line in lines
    )
    assert any(line.startswith("Layout 'Account Layout': would add Tiersync_Tier__c") for line in lines)


def test_the_layout_update_keeps_every_key_and_section_it_does_not_touch(box: Box) -> None:
    layout = box.client().toolingexecute("query?q=SELECT+Id+FROM+Layout")["records"][0]["Id"]
    before = box.client().toolingexecute(f"sobjects/Layout/{layout}")["Metadata"]
    assert len(before) > 20 and before["relatedLists"], "the seeded layout has the Layout type's full shape"
    make(box).setup_fields(LABELS, dry_run=False)
    after = box.client().toolingexecute(f"sobjects/Layout/{layout}")["Metadata"]
    assert {k: v for k, v in after.items() if k != "layoutSections"} == {
        k: v for k, v in before.items() if k != "layoutSections"
    }
    assert after["layoutSections"][:-1] == before["layoutSections"]
    assert after["layoutSections"][-1]["label"] == "Client tier"


def test_setup_creates_fields_permissions_and_layout_then_a_rerun_changes_nothing(box: Box) -> None:
    box.sandbox.seed(full_roster())
    first = make(box).setup_fields(LABELS, dry_run=False)
    assert sum(1 for line in first if line.endswith(")") and ": created (" in line) == 12
    assert "PermissionSet Tiersync: created" in first
    assert "PermissionSet Tiersync: assigned to sandbox@tiersync.local" in first
    assert any(line.startswith("FieldPermissions: granted read + edit on") for line in first)
    assert any(line.startswith("Layout 'Account Layout': added") for line in first)
    layout = box.client().toolingexecute("query?q=SELECT+Id+FROM+Layout")["records"][0]["Id"]
    sections = box.client().toolingexecute(f"sobjects/Layout/{layout}")["Metadata"]["layoutSections"]
    assert sections[-1]["label"] == "Client tier"

    box.ledger.reset()
    second = make(box).setup_fields(LABELS, dry_run=False)
    assert writes(box) == []
    assert all(line.endswith(": exists") for line in second[:12])
    assert second[12:] == [
        "PermissionSet Tiersync: exists",
        "PermissionSet Tiersync: already assigned to sandbox@tiersync.local",
        "FieldPermissions: read + edit already granted on all 12 fields",
        "Layout 'Account Layout': already shows the tiersync fields",
    ]


def test_setup_without_a_username_assigns_the_permission_set_to_its_creator(box: Box) -> None:
    lines = make(box, username=None).setup_fields(LABELS, dry_run=False)
    assert "PermissionSet Tiersync: assigned to the API user" in lines
    assert make(box, username=None).check() == []


def test_changed_trait_labels_update_the_picklist_once(box: Box) -> None:
    set_up(box)
    labels = {**LABELS, "bully": "Difficult conduct"}
    lines = make(box).setup_fields(labels, dry_run=False)
    assert "Account.Tiersync_Traits__c: exists; picklist values and labels updated" in lines
    box.ledger.reset()
    make(box).setup_fields(labels, dry_run=False)
    assert writes(box) == []


def test_after_setup_the_write_back_fields_are_written_and_read_back(box: Box) -> None:
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
    stored = box.sandbox.get("Account", ids["a1"])
    assert stored is not None
    assert (stored["Tiersync_Traits__c"], stored["Tiersync_Last_Synced_At__c"]) == (
        "bully;outside_icp",
        "2026-11-26T06:50:12.345+0000",
    )
    box.client().Account.update(
        ids["a1"], {"Tiersync_Override_Tier__c": "good", "Tiersync_Override_Expires__c": "2026-12-31"}
    )

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


def test_record_failures_come_back_per_record_in_order(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    locked, invalid = ids["a1"], ids["p1"]
    box.faults.configure(
        FaultPlan(failing_records={locked: RecordFault.LOCK_ROW, invalid: RecordFault.VALIDATION})
    )
    updates = [
        AccountUpdate(locked, {"tier": "good"}),
        AccountUpdate(ids["a2"], {"tier": "good"}),
        AccountUpdate(invalid, {"tier": "good"}),
    ]

    outcomes = adapter.write_accounts(updates)

    assert [o.ref for o in outcomes] == [locked, ids["a2"], invalid]
    assert [o.ok for o in outcomes] == [False, True, False]
    assert (outcomes[0].error_code, outcomes[0].retriable) == ("UNABLE_TO_LOCK_ROW", True)
    assert (outcomes[2].error_code, outcomes[2].retriable) == ("FIELD_CUSTOM_VALIDATION_EXCEPTION", False)
    assert outcomes[2].message and "validation rule" in outcomes[2].message


def test_a_field_error_names_the_salesforce_and_the_write_back_field(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    (outcome,) = set_up(box).write_accounts([AccountUpdate(ids["a1"], {"tier": "great"})])
    assert (outcome.ok, outcome.error_code) == (False, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    assert outcome.message and outcome.message.endswith("(field: Tiersync_Tier__c (tier))")


def test_201_updates_take_two_calls_of_200_and_1(box: Box) -> None:
    ids = box.sandbox.seed(
        Roster(accounts=[Account(id=f"c{i}", name=f"C{i}", status="Customer - Direct") for i in range(201)])
    )
    adapter = set_up(box)
    box.ledger.reset()
    outcomes = adapter.write_accounts([AccountUpdate(i, {"tier": "okay"}) for i in ids.values()])
    assert len(outcomes) == 201 and all(o.ok for o in outcomes)
    assert [(c.path.rsplit("/", 2)[-2:], c.records) for c in writes(box)] == [
        (["composite", "sobjects"], 200),
        (["composite", "sobjects"], 1),
    ]


def test_only_write_back_fields_can_be_written(box: Box) -> None:
    with pytest.raises(ValueError, match="override_tier"):
        make(box).write_accounts([AccountUpdate("001000000000001AAA", {"override_tier": "good"})])


# -- tasks --------------------------------------------------------------------------------------------


def spec(key: str, account: str, owner: str | None = None, *, resend: bool = False) -> TaskSpec:
    return TaskSpec(key, account, owner, f"Subject {key}", f"Why: {key}", dt.date(2026, 12, 10), resend)


def test_upsert_creates_each_task_once_and_never_reopens_a_completed_one(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    owner = next(u["Id"] for u in box.sandbox.records("User") if u.get("FederationIdentifier") == "u1")
    specs = [spec("a1/review/2026Q4", ids["a1"], owner), spec("a2/'quote'/2026Q4", ids["a2"])]

    box.ledger.reset()
    created = adapter.upsert_tasks(specs)
    assert queries(box) == 0  # a first send needs no lookup
    assert all(o.ok and o.crm_id for o in created)
    box.client().Task.update(created[0].crm_id, {"Status": "Completed"})
    again = adapter.upsert_tasks([replace(s, resend=True) for s in specs])

    tasks = {t["Id"]: t for t in box.sandbox.records("Task")}
    assert len(tasks) == 2
    assert [o.crm_id for o in again] == [o.crm_id for o in created]
    first, second = (tasks[o.crm_id or ""] for o in created)
    assert (first["Status"], first["OwnerId"], first["ActivityDate"]) == ("Completed", owner, "2026-12-10")
    assert (second["Status"], second["Tiersync_Key__c"]) == ("Not Started", "a2/'quote'/2026Q4")


def test_a_resent_task_deleted_meanwhile_is_found_by_query_all_and_not_recreated(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    (created,) = adapter.upsert_tasks([spec("a1/review/2026Q4", ids["a1"])])
    box.client().Task.delete(created.crm_id)

    (again,) = adapter.upsert_tasks([spec("a1/review/2026Q4", ids["a1"], resend=True)])

    assert again.ok and again.crm_id == created.crm_id
    assert len(box.sandbox.records("Task")) == 1
    assert adapter.task_status([again.crm_id or ""]) == {again.crm_id: TaskStatus.DELETED}


def test_a_task_create_is_never_resent_blindly_it_is_looked_up_first(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    box.faults.configure(FaultPlan(schedule={1: Fault.RESET}, only_writes=True))
    box.ledger.reset()

    (lost,) = adapter.upsert_tasks([spec("a1/review/2026Q4", ids["a1"])])
    assert (lost.ok, lost.retriable, lost.error_code) == (False, True, "CREATE_UNCONFIRMED")
    assert box.ledger.count(path_contains="composite/sobjects") == 1  # sent once, not retried
    (sent,) = adapter.upsert_tasks([spec("a1/review/2026Q4", ids["a1"], resend=True)])
    assert sent.ok and queries(box) == 1
    assert [t["Id"] for t in box.sandbox.records("Task")] == [sent.crm_id]


def test_setup_creates_the_task_key_as_an_activity_field_granted_on_task_and_event(box: Box) -> None:
    lines = make(box).setup_fields(LABELS, dry_run=False)
    assert "Activity.Tiersync_Key__c: created (Text)" in lines
    grants = {(r["SobjectType"], r["Field"]) for r in box.sandbox.records("FieldPermissions")}
    assert {("Task", "Task.Tiersync_Key__c"), ("Event", "Event.Tiersync_Key__c")} <= grants
    assert len(grants) == 13
    assert make(box).check() == []


def test_a_field_that_cannot_be_created_does_not_stop_the_grants_on_the_others(box: Box) -> None:
    bad = mapping_with(lambda m: m["tasks"].update(key="Tiersync__Key__c"))
    with pytest.raises(FatalError) as exc:
        make(box, bad).setup_fields(LABELS, dry_run=False)
    assert "Activity.Tiersync__Key__c: not created" in str(exc.value)
    assert "everything else was set up" in str(exc.value)
    grants = {r["Field"] for r in box.sandbox.records("FieldPermissions")}
    assert len(grants) == 11 and all(g.startswith("Account.") for g in grants)
    assert [r["Name"] for r in box.sandbox.records("PermissionSet")] == ["Tiersync"]
    layout = box.client().toolingexecute("query?q=SELECT+Id+FROM+Layout")["records"][0]["Id"]
    sections = box.client().toolingexecute(f"sobjects/Layout/{layout}")["Metadata"]["layoutSections"]
    assert sections[-1]["label"] == "Client tier"


def test_task_status_reports_open_closed_and_deleted(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    open_, done, gone = (o.crm_id or "" for o in adapter.upsert_tasks([spec(k, ids["a1"]) for k in "xyz"]))
    box.client().Task.update(done, {"Status": "Completed"})
    box.client().Task.delete(gone)
    never = "00T000000000099AAA"

    status = adapter.task_status([open_, done[:15], gone, never, "bogus'id"])

    assert status == {
        open_: TaskStatus.OPEN,
        done[:15]: TaskStatus.CLOSED,
        gone: TaskStatus.DELETED,
        never: TaskStatus.DELETED,
        "bogus'id": TaskStatus.DELETED,
    }


def test_task_status_of_many_tasks_asks_by_owner_once_then_by_id_only_for_the_rest(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    owner = next(u["Id"] for u in box.sandbox.records("User") if u.get("FederationIdentifier") == "u1")
    created = adapter.upsert_tasks([spec(f"k{n}", ids["a1"], owner) for n in range(700)])
    tasks = [o.crm_id or "" for o in created]
    done, gone = tasks[:3], tasks[3:5]
    for crm_id in done:
        box.client().Task.update(crm_id, {"Status": "Completed"})
    for crm_id in gone:
        box.client().Task.delete(crm_id)
    expected = dict.fromkeys(tasks, TaskStatus.OPEN) | dict.fromkeys(done, TaskStatus.CLOSED)
    expected |= dict.fromkeys(gone, TaskStatus.DELETED)

    urls = sent_urls(adapter)
    by_id = adapter.task_status(tasks)
    by_id_queries = [u for u in urls if "?q=" in u]
    urls.clear()
    by_owner = adapter.task_status(tasks, [owner])
    by_owner_queries = [u for u in urls if "?q=" in u]

    assert by_id == expected and by_owner == expected
    assert len(by_id_queries) >= 2, "700 ids need more than one Id IN query"
    assert len(by_owner_queries) == 2  # the owner's open tasks, then the 5 others by id
    assert "OwnerId IN" in by_owner_queries[0] and by_owner_queries[1].count("'00T") == 5


def test_close_keeps_the_description_appends_the_comment_once_and_reports_deleted_tasks(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    task, gone = (
        o.crm_id or "" for o in adapter.upsert_tasks([spec("k1", ids["a1"]), spec("k2", ids["a1"])])
    )
    box.client().Task.delete(gone)
    closes = [
        TaskClose("k1", task, "Closed by tiersync: the client is good now."),
        TaskClose("k2", gone, "x"),
    ]

    outcomes = adapter.close_tasks(closes)
    adapter.close_tasks(closes[:1])  # a retried close

    assert [(o.ref, o.ok, o.error_code) for o in outcomes] == [
        ("k1", True, None),
        ("k2", False, "ENTITY_IS_DELETED"),
    ]
    stored = box.sandbox.get("Task", task)
    assert stored is not None
    assert stored["Status"] == "Completed"
    assert stored["Description"] == "Why: k1\n\nClosed by tiersync: the client is good now."


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
    assert len(batch.roster.accounts) == 2 and len(batch.roster.invoices or []) == 2
    assert Counter(c.fault for c in box.ledger.calls() if c.fault) == {
        "rate_limit": 2,
        "server_error": 1,
        "reset": 1,
    }
    assert len(sleeps) == 4


def test_write_faults_are_retried_honouring_retry_after(box: Box) -> None:
    ids = box.sandbox.seed(full_roster())
    adapter = set_up(box)
    box.faults.configure(
        FaultPlan(
            schedule={1: Fault.UNAVAILABLE, 2: Fault.RESET, 3: Fault.RATE_LIMIT},
            only_writes=True,
            retry_after_seconds=3,
        )
    )
    sleeps = Sleeps()
    adapter = make(box, sleeps=sleeps)
    (outcome,) = adapter.write_accounts([AccountUpdate(ids["a1"], {"tier": "good"})])
    assert outcome.ok
    assert [c.fault for c in writes(box)][-4:] == ["unavailable", "reset", "rate_limit", None]
    assert sleeps[0] >= 3 and sleeps[2] >= 3, "503 and 429 carried Retry-After: 3"
    assert box.sandbox.get("Account", ids["a1"])["Tiersync_Tier__c"] == "good"  # type: ignore[index]


def test_retries_are_bounded(box: Box) -> None:
    box.faults.configure(FaultPlan(request_rates={Fault.SERVER_ERROR: 1.0}))
    sleeps = Sleeps()
    with pytest.raises(RetriableError, match="500 UNKNOWN_EXCEPTION"):
        SalesforceAdapter(settings(box), MAPPING, retry_attempts=3, sleep=sleeps).check()
    assert len(box.ledger.calls()) == 3 and len(sleeps) == 2


def test_a_permanent_400_is_not_retried(box: Box) -> None:
    box.sandbox.seed(full_roster())
    sleeps = Sleeps()
    mapping = mapping_with(lambda m: m["accounts"].update(where="Type = "))
    with pytest.raises(RequestRejectedError) as error:
        read_all(make(box, mapping, sleeps=sleeps))
    assert isinstance(error.value, FatalError) and error.value.code == "MALFORMED_QUERY"
    assert queries(box) == 1 and sleeps == []


def test_an_exhausted_daily_limit_is_fatal_at_once(box: Box) -> None:
    box.sandbox.set_api_usage(box.sandbox.api_daily_limit)
    sleeps = Sleeps()
    with pytest.raises(LimitExhaustedError, match="daily API limit"):
        make(box, sleeps=sleeps).check()
    assert len(box.ledger.calls()) == 1 and sleeps == []


def test_a_concurrent_long_request_refusal_is_retried_with_backoff_not_a_stop(box: Box) -> None:
    box.sandbox.seed(full_roster())
    box.faults.configure(FaultPlan(schedule={1: Fault.CONCURRENT_LIMIT, 2: Fault.CONCURRENT_LIMIT}))
    sleeps = Sleeps()
    (batch,) = read_all(make(box, sleeps=sleeps))
    assert len(batch.roster.accounts) == 2
    refused = [c for c in box.ledger.calls() if c.fault == "concurrent_limit"]
    assert [c.status for c in refused] == [403, 403]
    assert len(sleeps) == 2 and min(sleeps) >= 5.0


def test_the_two_403_request_limit_answers_differ_only_in_their_message(box: Box) -> None:
    box.faults.configure(FaultPlan(schedule={1: Fault.CONCURRENT_LIMIT}))
    with pytest.raises(SalesforceRefusedRequest) as concurrent:
        box.client().query("SELECT Id FROM Account")
    box.sandbox.set_api_usage(box.sandbox.api_daily_limit)
    with pytest.raises(SalesforceRefusedRequest) as daily:
        box.client().query("SELECT Id FROM Account")
    assert [e.value.content[0]["errorCode"] for e in (concurrent, daily)] == ["REQUEST_LIMIT_EXCEEDED"] * 2
    assert concurrent.value.content[0]["message"] == "ConcurrentPerOrgLongTxn Limit exceeded."
    assert daily.value.content[0]["message"] == "TotalRequests Limit exceeded."


def test_usage_reflects_sforce_limit_info(box: Box) -> None:
    adapter = make(box)
    assert adapter.usage() is None
    box.sandbox.set_api_usage(41)
    adapter.task_status(["00T000000000001AAA"])  # a describe and a query
    assert adapter.usage() == ApiUsage(used=43, limit=1_000_000)
    assert box.sandbox.api_used == 43


def test_a_tls_failure_is_fatal_and_names_the_ca_setting(box: Box, tmp_path: Path) -> None:
    other_ca = tmp_path / "other.pem"
    other_ca.write_text(Path(requests.certs.where()).read_text())  # trusts public CAs, not the sandbox
    with pytest.raises(FatalError, match=r"salesforce\.ca_bundle"):
        make(box, ca_bundle=other_ca).check()

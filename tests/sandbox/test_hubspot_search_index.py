"""HubSpot sandbox search through its indexes returns what a scan of the records returns.

The expectation is computed here from the stored records (independent of the search code), after
adds, updates, a re-parented deal and an archive have kept the indexes busy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connector.sandbox.faults import FaultInjector
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.store import Record

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def epoch_ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


@pytest.fixture
def portal() -> Portal:
    clock = [START]
    portal = Portal(FaultInjector(), lambda: clock[0])
    store = portal.store
    companies = [
        store.add("companies", {"name": f"C{n}", "lifecyclestage": "customer" if n % 3 else "lead"}, START)
        for n in range(30)
    ]
    deals = [
        store.add(
            "deals",
            {"dealname": f"D{n}", "referred_by_company_id": companies[n % 7].id, "amount": str(100 * n)},
            START,
        )
        for n in range(40)
    ]
    first = portal.search.run("deals", search(("referred_by_company_id", "EQ", companies[0].id)))
    assert first[1] == 6  # the index now exists: what follows must keep it current
    portal.search.run("deals", search(("hs_lastmodifieddate", "GTE", epoch_ms(START))))
    portal.search.run("companies", search(("lifecyclestage", "EQ", "lead")))
    later = START + dt.timedelta(minutes=5)
    store.update("deals", deals[3], {"referred_by_company_id": companies[0].id}, later)
    store.update("deals", deals[7], {"referred_by_company_id": ""}, later)
    store.update("companies", companies[3], {"lifecyclestage": "customer"}, later)
    store.archive("deals", deals[14], later)
    store.add("deals", {"dealname": "new", "referred_by_company_id": companies[0].id}, later)
    return portal


def search(*filters: tuple[str, str, Any], after: str | None = None) -> dict[str, Any]:
    built = []
    for name, operator, value in filters:
        if operator == "IN":
            built.append({"propertyName": name, "operator": operator, "values": value})
        elif operator == "BETWEEN":
            built.append(
                {"propertyName": name, "operator": operator, "value": value[0], "highValue": value[1]}
            )
        else:
            built.append({"propertyName": name, "operator": operator, "value": value})
    body: dict[str, Any] = {"filterGroups": [{"filters": built}], "limit": 200}
    if after:
        body["after"] = after
    return body


def ids(records: list[Record]) -> list[str]:
    return [r.id for r in records]


def live(portal: Portal, object_type: str) -> list[Record]:
    return sorted(portal.store.live(object_type), key=lambda r: int(r.id))


def test_equality_and_in_filters_follow_updates_and_archives(portal: Portal) -> None:
    deals = live(portal, "deals")
    target = live(portal, "companies")[0].id
    page, total, _ = portal.search.run("deals", search(("referred_by_company_id", "EQ", target)))
    expected = [d.id for d in deals if d.properties.get("referred_by_company_id") == target]
    assert (
        ids(page) == expected and total == len(expected) == 6
    )  # +deal 3, -deal 7, -deal 14 (archived), +new
    two = [c.id for c in live(portal, "companies")[:2]]
    page, total, _ = portal.search.run("deals", search(("referred_by_company_id", "IN", two)))
    assert ids(page) == [d.id for d in deals if d.properties.get("referred_by_company_id") in two]
    leads = [c.id for c in live(portal, "companies") if c.properties["lifecyclestage"] == "lead"]
    page, total, _ = portal.search.run("companies", search(("lifecyclestage", "EQ", "LEAD")))
    assert ids(page) == leads and total == 9  # case-insensitive, and company 3 is a customer now


def test_id_windows_and_date_ranges_match_a_scan(portal: Portal) -> None:
    deals = live(portal, "deals")
    middle = deals[10].id
    window = search(("hs_object_id", "GT", middle), ("amount", "GTE", "1500"))
    page, total, _ = portal.search.run("deals", window)
    expected = [
        d.id for d in deals if int(d.id) > int(middle) and float(d.properties.get("amount") or -1) >= 1500
    ]
    assert ids(page) == expected and total == len(expected)
    since = START + dt.timedelta(minutes=1)
    changed, total, _ = portal.search.run("deals", search(("hs_lastmodifieddate", "GTE", epoch_ms(since))))
    assert ids(changed) == [d.id for d in deals if d.updated_at >= since]
    assert total == 3  # two updates and the new deal; the archived one is gone
    between = search(("hs_object_id", "BETWEEN", (deals[2].id, deals[5].id)))
    assert ids(portal.search.run("deals", between)[0]) == [d.id for d in deals[2:6]]
    by_id = search(("hs_object_id", "IN", [deals[1].id, deals[0].id, "999999"]))
    assert ids(portal.search.run("deals", by_id)[0]) == [deals[0].id, deals[1].id]


def test_a_group_without_an_indexable_filter_still_scans(portal: Portal) -> None:
    deals = live(portal, "deals")
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "referred_by_company_id", "operator": "NOT_HAS_PROPERTY"}]},
            {"filters": [{"propertyName": "dealname", "operator": "EQ", "value": "d2"}]},
        ],
        "limit": 200,
    }
    page, _, _ = portal.search.run("deals", body)
    assert ids(page) == [
        d.id
        for d in deals
        if not d.properties.get("referred_by_company_id") or d.properties["dealname"] == "D2"
    ]

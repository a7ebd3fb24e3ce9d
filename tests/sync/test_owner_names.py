"""Owner names instead of ids: read from the CRM (Salesforce User.Name, HubSpot owners API) over real
HTTP, once per id per run, with the id shown only where no name can be read."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from connector.crm.base import FatalError, LimitExhaustedError
from connector.sandbox.people import full_name
from connector.sync.owners import NO_OWNER, OwnerNames
from tests.sync.conftest import Org, make_org

SEEDED = {full_name(f"owner-{i:02d}") for i in range(1, 51)}
"""The names the sandboxes give the sample roster's owners."""


def test_adapter_names_every_owner_the_accounts_carry(org: Org) -> None:
    owner_ids = sorted({a["owner_id"] for a in org.clients() if a["owner_id"]})
    names = org.adapter(org.settings()).owner_names(owner_ids)
    assert set(names) == set(owner_ids)
    assert set(names.values()) <= SEEDED
    assert len(set(names.values())) == len(owner_ids), "distinct owners have distinct names"


def test_unknown_and_malformed_ids_get_no_name_and_are_shown_as_ids(org: Org) -> None:
    known = next(a["owner_id"] for a in org.clients() if a["owner_id"])
    unknown = "0058c00000ZZZZZAAA" if org.crm == "salesforce" else "999999999"
    hostile = "x' OR Name != '"
    owners = OwnerNames(org.adapter(org.settings()).owner_names)
    owners.learn([known, unknown, hostile, None])
    assert owners.name(known) in SEEDED
    assert owners.name(unknown) == unknown
    assert owners.name(hostile) == hostile
    assert owners.name(None) == NO_OWNER
    assert owners.problem is None


def test_names_are_read_once_per_run(org: Org) -> None:
    owner_ids = sorted({a["owner_id"] for a in org.clients() if a["owner_id"]})
    owners = OwnerNames(org.adapter(org.settings()).owner_names)
    org.sandbox.ledger.reset()
    owners.learn(owner_ids)
    first = len(org.sandbox.ledger.calls())
    owners.learn(owner_ids)
    owners.learn(owner_ids[:1])
    assert first >= 1
    assert len(org.sandbox.ledger.calls()) == first, "a second lookup of the same ids costs no call"


def test_salesforce_chunks_long_id_lists_under_the_url_limit(tmp_path: Path) -> None:
    with contextlib.contextmanager(make_org)(tmp_path, 30) as org:
        real = sorted({a["owner_id"] for a in org.clients() if a["owner_id"]})
        filler = [f"0058c9{n:09d}ZZZ" for n in range(1200)]
        org.sandbox.ledger.reset()
        names = org.adapter(org.settings()).owner_names(filler + real)
        queries = [c for c in org.sandbox.ledger.calls() if "/query" in c.path]
        assert set(names) == set(real)
        assert len(queries) >= 2, "1,200 ids do not fit one URL: several queries"


def test_a_failed_lookup_shows_ids_and_says_why() -> None:
    def refused(ids: list[str]) -> dict[str, str]:
        raise FatalError("INSUFFICIENT_ACCESS: no read access on User")

    owners = OwnerNames(refused)
    owners.learn(["0058c0000000001AAA"])
    assert owners.name("0058c0000000001AAA") == "0058c0000000001AAA"
    assert owners.problem is not None and "no read access on User" in owners.problem


def test_an_exhausted_daily_limit_still_stops_the_run() -> None:
    def spent(ids: list[str]) -> dict[str, str]:
        raise LimitExhaustedError("TotalRequests Limit exceeded")

    with pytest.raises(LimitExhaustedError):
        OwnerNames(spent).learn(["0058c0000000001AAA"])

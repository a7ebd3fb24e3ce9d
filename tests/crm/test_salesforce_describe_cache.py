"""Describes reused across runs (``salesforce.describe_ttl_seconds``), against the sandbox over HTTPS."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from connector.crm.salesforce import SalesforceAdapter
from connector.crm.salesforce.describe_cache import DescribeCache
from tests.crm.test_salesforce_adapter import (
    LABELS,
    MAPPING,
    Box,
    Sleeps,
    full_roster,
    mapping_with,
    set_up,
    settings,
)


def describes(box: Box) -> int:
    return box.ledger.count(path_contains="/describe")


def adapter(box: Box, cache: Path, ttl: float) -> SalesforceAdapter:
    return SalesforceAdapter(
        settings(box, describe_ttl_seconds=ttl), MAPPING, sleep=Sleeps(), describe_cache=cache
    )


def test_a_second_run_reuses_the_describes_and_finds_the_same_problems(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "state.sqlite.describes.json"
    first = adapter(box, cache, 3600).check()
    described = describes(box)
    assert described >= 5  # one per mapped object
    box.ledger.reset()
    assert adapter(box, cache, 3600).check() == first
    assert describes(box) == 0


def test_without_a_ttl_every_run_describes(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "describes.json"
    adapter(box, cache, 0).check()
    box.ledger.reset()
    adapter(box, cache, 0).check()
    assert describes(box) >= 5
    assert not cache.exists()


def test_setup_fields_clears_the_cache_so_new_fields_are_seen(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "describes.json"
    before = adapter(box, cache, 3600).check()
    assert before  # the write-back fields do not exist yet
    adapter(box, cache, 3600).setup_fields(LABELS, dry_run=False)
    box.ledger.reset()
    assert adapter(box, cache, 3600).check() == []
    assert describes(box) >= 5


def test_an_entry_older_than_the_ttl_is_described_again(tmp_path: Path) -> None:
    now = [1000.0]
    cache = DescribeCache(tmp_path / "d.json", 60, "org|user|60.0", clock=lambda: now[0])
    cache.put("Account", {"name": "Account", "fields": [{"name": "Id", "type": "id", "label": "x"}]})
    cache.put("Nope__c", None)
    assert cache.get("account") == (True, {"name": "Account", "fields": [{"name": "Id", "type": "id"}]})
    assert cache.get("Nope__c") == (True, None)
    other_org = DescribeCache(tmp_path / "d.json", 60, "other|user|60.0", clock=lambda: now[0])
    assert other_org.get("Account") == (False, None)
    now[0] += 60
    assert cache.get("Account") == (False, None)


def where_checks(box: Box) -> list[str]:
    return [c.path for c in box.ledger.calls() if c.path.endswith("/query/") and not c.write]


def test_a_warm_run_checks_no_where_again_and_a_cold_one_asks_once_per_object(
    box: Box, tmp_path: Path
) -> None:
    cache = tmp_path / "describes.json"
    set_up(box)
    box.ledger.reset()
    assert adapter(box, cache, 3600).check() == []
    # four conditions on three objects (Case has two): one LIMIT 1 query per object
    assert len(where_checks(box)) == len({s.object for s in MAPPING.sources().values() if s.where}) == 3
    box.ledger.reset()
    assert adapter(box, cache, 3600).check() == []
    assert box.ledger.calls() == []  # describes and where checks all from the cache


def test_a_bad_where_among_good_ones_is_named_on_every_run(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "describes.json"
    set_up(box)
    mapping = mapping_with(lambda m: m["renegotiations"].update(where="Typo__c = 'Renegotiation'"))
    for _ in range(2):  # a failing condition is never remembered as checked
        problems = SalesforceAdapter(
            settings(box, describe_ttl_seconds=3600), mapping, sleep=Sleeps(), describe_cache=cache
        ).check()
        assert len(problems) == 1
        assert problems[0].startswith("Case: the where condition fails (")
        assert problems[0].endswith("(mappings/salesforce.toml [renegotiations] where)")


def test_a_changed_describe_drops_the_checked_conditions(tmp_path: Path) -> None:
    cache = DescribeCache(tmp_path / "d.json", 60, "org|user|60.0", clock=lambda: 1000.0)
    described = {"name": "Case", "fields": [{"name": "Type", "type": "picklist"}]}
    cache.put("Case", described)
    cache.add_checked("Case", "Type = 'Complaint'")
    cache.put("Case", described)  # described again, the same metadata: the check still holds
    assert cache.checked("Case") == {"Type = 'Complaint'"}
    cache.put("Case", {"name": "Case", "fields": [{"name": "Type", "type": "string"}]})
    assert cache.checked("Case") == set()


def test_the_api_user_is_looked_up_once_per_ttl(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "describes.json"
    set_up(box)
    first = adapter(box, cache, 3600)
    watermark = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first.changed_account_ids(watermark)
    box.ledger.reset()
    adapter(box, cache, 3600).changed_account_ids(watermark)
    soql = box.ledger.calls()
    assert len(soql) == len({(s.object, s.account) for s in MAPPING.sources().values()})  # no user lookup


def test_owner_names_are_kept_for_the_ttl_and_only_new_owners_are_asked(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "describes.json"
    box.sandbox.seed(full_roster())
    users = sorted({r["OwnerId"] for r in box.sandbox.records("Account")})
    assert len(users) >= 2
    first = adapter(box, cache, 3600).owner_names(users[:1])
    box.ledger.reset()
    again = adapter(box, cache, 3600).owner_names(users)
    assert again[users[0]] == first[users[0]]
    assert set(again) == set(users)
    assert len(box.ledger.calls()) == 1  # the new owners only, in one query
    box.ledger.reset()
    assert adapter(box, cache, 3600).owner_names(users) == again
    assert box.ledger.calls() == []

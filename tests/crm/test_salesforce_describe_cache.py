"""Describes reused across runs (``salesforce.describe_ttl_seconds``), against the sandbox over HTTPS."""

from __future__ import annotations

from pathlib import Path

from connector.crm.salesforce import SalesforceAdapter
from connector.crm.salesforce.describe_cache import DescribeCache
from tests.crm.test_salesforce_adapter import LABELS, MAPPING, Box, Sleeps, settings


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

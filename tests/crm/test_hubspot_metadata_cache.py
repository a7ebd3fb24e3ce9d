"""Portal metadata reused across runs (``hubspot.properties_ttl_seconds`` / ``owners_ttl_seconds``), with
the real hubspot-api-client over HTTPS against the sandbox; every call is counted at the sandbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connector.cli.app import app
from connector.config import HubSpotSettings
from connector.crm.base import MappingError, TaskSpec
from connector.crm.hubspot import HubSpotAdapter
from connector.exit_codes import ExitCode
from connector.model import Account, Roster
from connector.sandbox.hubspot import HubSpotSandbox
from tests.crm.test_hubspot_adapter import (
    LABELS,
    MAPPING,
    Box,
    Sleeps,
    _hs_server,
    box,
    full_roster,
    hs_sandbox,
    read_all,
    set_up,
)
from tests.sandbox.conftest import HS_TOKEN

__all__ = ["_hs_server", "box", "hs_sandbox"]  # the fixtures this module uses

OTHER_TOKEN = "another-portals-private-app-token"  # a second sandbox portal's fake token


class Clock:
    """Seconds since the epoch for the cache's ages, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def adapter(
    box: Box,
    cache: Path,
    ttl: float = 3600,
    *,
    owners_ttl: float = 0,
    clock: Clock | None = None,
    token: str = HS_TOKEN,
) -> HubSpotAdapter:
    """A fresh adapter, as ``tiersync sync`` builds one per run, keeping metadata in ``cache``."""
    settings = HubSpotSettings(
        access_token=token,
        host=box.url,
        ca_bundle=box.ca_path,
        properties_ttl_seconds=ttl,
        owners_ttl_seconds=owners_ttl,
    )
    return HubSpotAdapter(settings, MAPPING, sleep=Sleeps(), metadata_cache=cache, clock=clock or Clock())


def properties_calls(box: Box) -> int:
    return box.ledger.count(path_contains="/crm/v3/properties/")


def details_calls(box: Box) -> int:
    return box.ledger.count(path_contains="/account-info/")


def owners_calls(box: Box) -> int:
    return box.ledger.count(path_contains="/crm/v3/owners")


MAPPED_TYPES = len({s.object for s in MAPPING.sources().values()} | {MAPPING.tasks.object})


def test_a_second_run_within_the_ttl_reads_no_properties_and_no_account_details(
    box: Box, tmp_path: Path
) -> None:
    cache = tmp_path / "state.sqlite.properties.json"
    set_up(box)
    box.ledger.reset()
    first = adapter(box, cache)
    assert first.check() == []
    portal = first.org_id()
    assert properties_calls(box) == MAPPED_TYPES == 6
    assert details_calls(box) == 1
    box.ledger.reset()
    again = adapter(box, cache)
    assert again.check() == []
    assert again.org_id() == portal == str(box.sandbox.portal.portal_id)
    assert box.ledger.calls() == []


def test_without_a_ttl_every_run_reads_and_nothing_is_kept(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "properties.json"
    for _ in range(2):
        box.ledger.reset()
        problems = adapter(box, cache, 0).check()
        assert problems  # the write-back properties do not exist yet
        assert properties_calls(box) == MAPPED_TYPES
    assert not cache.exists()


def test_an_entry_older_than_the_ttl_is_read_again(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "properties.json"
    clock = Clock()
    set_up(box)
    adapter(box, cache, 60, clock=clock).check()
    clock.now += 59
    box.ledger.reset()
    adapter(box, cache, 60, clock=clock).check()
    assert box.ledger.calls() == []
    clock.now += 1
    box.ledger.reset()
    assert adapter(box, cache, 60, clock=clock).check() == []
    assert properties_calls(box) == MAPPED_TYPES
    assert details_calls(box) == 1  # the portal id ages with the same TTL


def test_setup_fields_clears_the_cache_so_new_properties_are_seen(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "properties.json"
    before = adapter(box, cache).check()
    assert any("write-back properties not created yet" in line for line in before)
    adapter(box, cache).setup_fields(LABELS, dry_run=False)
    box.ledger.reset()
    assert adapter(box, cache).check() == []
    assert properties_calls(box) == MAPPED_TYPES


def test_setup_fields_looks_at_the_portal_not_at_the_cache(box: Box, tmp_path: Path) -> None:
    """A property deleted while the cache still held it is created again, not reported as existing."""
    cache = tmp_path / "properties.json"
    set_up(box)
    assert adapter(box, cache).check() == []  # the cache now holds tiersync_score
    box.client().crm.properties.core_api.archive("companies", "tiersync_score")
    lines = adapter(box, cache).setup_fields(LABELS, dry_run=False)
    assert any(line.startswith("companies.tiersync_score: created") for line in lines)


def cached_then_deleted(box: Box, cache: Path, object_type: str, name: str) -> dict[str, str]:
    """A set-up, seeded portal whose definitions are in ``cache``; then a user deletes ``name``
    through HubSpot's own API. Returns the seeded account ids."""
    set_up(box)
    ids = box.sandbox.seed(full_roster())
    assert adapter(box, cache).check() == []
    box.client().crm.properties.core_api.archive(object_type, name)
    return ids


ESCALATED = (
    "tickets.escalated_to_management: no such property (mappings/hubspot.toml [tickets.fields] escalated)"
)


def test_a_property_deleted_since_it_was_cached_stops_the_read_and_the_next_check_names_it(
    box: Box, tmp_path: Path
) -> None:
    cache = tmp_path / "properties.json"
    cached_then_deleted(box, cache, "tickets", "escalated_to_management")
    box.ledger.reset()
    warm = adapter(box, cache)
    assert warm.check() == []  # the check trusts the cache: no call tells it otherwise
    assert properties_calls(box) == 0
    # the tickets read answers without the property the cached schema claims: read afresh, then stop
    with pytest.raises(MappingError) as stopped:
        read_all(warm)
    assert ESCALATED in stopped.value.problems
    assert properties_calls(box) == MAPPED_TYPES
    box.ledger.reset()
    assert ESCALATED in adapter(box, cache).check()  # the file now holds what was read afresh
    assert properties_calls(box) == 0


def test_a_write_back_property_deleted_since_it_was_cached_stops_the_change_query(
    box: Box, tmp_path: Path
) -> None:
    cache = tmp_path / "properties.json"
    cached_then_deleted(box, cache, "companies", "tiersync_last_synced_at")
    with pytest.raises(MappingError) as stopped:
        adapter(box, cache).changed_account_ids(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    (line,) = [p for p in stopped.value.problems if "not created yet" in p]
    assert line.startswith("companies: write-back properties not created yet: tiersync_last_synced_at (")


def test_a_task_refused_for_a_deleted_property_clears_the_cache(box: Box, tmp_path: Path) -> None:
    cache = tmp_path / "properties.json"
    ids = cached_then_deleted(box, cache, "tasks", "tiersync_task_key")
    task = TaskSpec("a1/review/2026-10-01", ids["a1"], None, "Review", "Why", dt.date(2026, 12, 10))
    (outcome,) = adapter(box, cache).upsert_tasks([task])
    assert not outcome.ok and "PROPERTY_DOESNT_EXIST" in (outcome.message or "")
    box.ledger.reset()
    problems = adapter(box, cache).check()
    assert properties_calls(box) == MAPPED_TYPES  # read afresh
    assert any(p.startswith("tasks.tiersync_task_key: task key property not created yet") for p in problems)


class Portals:
    """Two sandbox portals (each its own token and Hub ID), one at a time behind the same URL."""

    def __init__(self, first: HubSpotSandbox, second: HubSpotSandbox, app: Any) -> None:
        self.first, self.second, self._app = first, second, app

    def serve(self, portal: HubSpotSandbox) -> None:
        self._app.target = portal.wsgi_app


@pytest.fixture
def portals(box: Box, _hs_server: tuple[Any, Any]) -> Iterator[Portals]:
    other = HubSpotSandbox(box.ledger, box.faults, access_token=OTHER_TOKEN, clock=box.clock)
    other.portal.portal_id = box.sandbox.portal.portal_id + 1
    other.limits.burst_limit = 0
    other.limits.search_per_second = 0
    both = Portals(box.sandbox, other, _hs_server[1])
    yield both
    both.serve(box.sandbox)


def test_two_portals_behind_one_url_never_share_an_entry(box: Box, portals: Portals, tmp_path: Path) -> None:
    cache = tmp_path / "properties.json"  # one state, one file: only the portal tells them apart
    set_up(box)  # portal A has the write-back properties, portal B does not

    def run(portal: HubSpotSandbox, token: str) -> tuple[str, list[str]]:
        portals.serve(portal)
        one = adapter(box, cache, token=token)
        return one.org_id(), one.check()

    a = run(portals.first, HS_TOKEN)
    b = run(portals.second, OTHER_TOKEN)
    assert a[1] == [] and any("not created yet" in line for line in b[1])
    assert a[0] != b[0]
    box.ledger.reset()
    assert run(portals.first, HS_TOKEN) == a  # each from its own entries, no call at all
    assert run(portals.second, OTHER_TOKEN) == b
    assert box.ledger.calls() == []
    scopes = json.loads(cache.read_text(encoding="utf-8"))
    assert {s for s in scopes if "|portal:" in s} == {f"{box.url}|portal:{a[0]}", f"{box.url}|portal:{b[0]}"}
    assert HS_TOKEN not in cache.read_text(encoding="utf-8")  # the token only as a digest
    assert OTHER_TOKEN not in cache.read_text(encoding="utf-8")


def test_owner_names_are_kept_for_their_ttl_and_an_unknown_owner_lists_afresh(
    box: Box, tmp_path: Path
) -> None:
    cache = tmp_path / "properties.json"
    clock = Clock()
    box.sandbox.seed(full_roster())
    owners = {o["email"].split("@")[0]: o["id"] for o in box.sandbox.owners()}
    u1, u2 = owners["u1"], owners["u2"]

    def names(ids: list[str]) -> dict[str, str]:
        return adapter(box, cache, owners_ttl=600, clock=clock).owner_names(ids)

    first = names([u1])
    assert set(first) == {u1} and first[u1]
    box.ledger.reset()
    both = names([u1, u2])  # u2 was listed with u1: kept too
    assert set(both) == {u1, u2} and both[u1] == first[u1]
    assert box.ledger.calls() == []
    box.sandbox.seed(Roster(accounts=[Account(id="a9", name="Newcomer", owner_id="u9")]))
    u9 = next(o["id"] for o in box.sandbox.owners() if o["email"].startswith("u9@"))
    box.ledger.reset()
    assert set(names([u1, u9])) == {u1, u9}  # a colleague the cache does not know: listed afresh
    assert owners_calls(box) == 1
    box.ledger.reset()
    assert names(["999999999"]) == {}  # an id HubSpot does not list is asked about every run
    assert owners_calls(box) == 2  # the active owners, then the archived ones
    clock.now += 600
    box.ledger.reset()
    assert names([u1]) == {u1: first[u1]}
    assert owners_calls(box) == 1  # older than the TTL: listed again


def test_doctor_looks_at_the_portal_not_at_the_cache(box: Box, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    config = tmp_path / "tiersync.toml"
    config.write_text(
        f'crm = "hubspot"\nstate_path = "{state}"\n[hubspot]\nhost = "{box.url}"\n'
        f'ca_bundle = "{box.ca_path}"\nproperties_ttl_seconds = 3600\n',
        encoding="utf-8",
    )
    cached_then_deleted(box, Path(f"{state}.properties.json"), "tickets", "escalated_to_management")
    box.ledger.reset()
    result = CliRunner().invoke(
        app, ["--config", str(config), "doctor"], env={"TIERSYNC_HUBSPOT__ACCESS_TOKEN": HS_TOKEN}
    )
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "error: tickets.escalated_to_management: no such property (" in result.stderr
    assert properties_calls(box) == MAPPED_TYPES

"""Tiersync's own writes are left out of the next run's change query at the source, and a user's edit
that races a write is still picked up (Salesforce: ``LastModifiedById``, ``SystemModstamp``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connector.crm.base import CrmAdapter, ReadBatch
from connector.sync.engine import SyncEngine
from connector.sync.state import State
from tests.sync.conftest import AS_OF, Org, no_wait

salesforce_only = pytest.mark.parametrize("crm", ["salesforce"])


class EditsWhileClassifying:
    """The adapter, with a user saving a record after the page holding it is read, before it is written."""

    def __init__(self, adapter: CrmAdapter, account_id: str, edit: Callable[[], None]) -> None:
        self._adapter = adapter
        self._account_id = account_id
        self._edit = edit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adapter, name)

    def read(
        self, account_ids: list[str] | None, page_size: int, *, after: str | None = None
    ) -> Iterator[ReadBatch]:
        for batch in self._adapter.read(account_ids, page_size, after=after):
            if any(a.id == self._account_id for a in batch.roster.accounts):
                self._edit()
            yield batch


@salesforce_only
def test_a_no_change_resync_after_a_full_sync_reads_no_account_and_writes_nothing(org: Org) -> None:
    org.clock.advance(hours=1)  # the org was seeded now: keep its evidence out of the look-back
    full, _ = org.sync("full")
    assert full.accounts_updated == 300
    org.clock.advance(minutes=1)  # well inside the 10-minute look-back: every write of the full sync is in it
    org.sandbox.ledger.reset()
    again, _ = org.sync()
    assert again.status == "ok"
    assert again.accounts_read == 0, "tiersync's own writes are not changes"
    assert org.writes() == 0
    rows = sum(c.records for c in org.sandbox.ledger.calls(crm="salesforce") if "/query" in c.path)
    assert rows <= 300 * 0.02, f"{rows} rows read: at most 2% of the accounts"


@salesforce_only
def test_an_api_user_edit_of_an_account_synced_before_the_window_still_counts(org: Org) -> None:
    org.clock.advance(hours=1)
    org.sync("full")
    org.clock.advance(hours=1)
    assert org.sync()[0].accounts_read == 0
    org.clock.advance(minutes=5)
    account = org.clients()[0]
    # the API user itself (another job sharing it) changes an account tiersync last wrote two runs ago
    org.adapter(org.settings()).client.sf.Account.update(account["id"], {"Industry": "Mining"})  # type: ignore[attr-defined]
    org.clock.advance(minutes=1)
    summary, _ = org.sync()
    assert summary.accounts_read == 1


@salesforce_only
def test_a_user_edit_racing_a_write_is_picked_up_by_the_next_sync(org: Org) -> None:
    org.clock.advance(hours=1)  # the org was seeded now: keep its evidence out of the look-back
    org.sync("full")
    org.clock.advance(hours=1)
    account = next(a for a in org.clients() if a["tier"] == "good")
    org.clock.advance(minutes=5)
    org.edit_invoice_paid_date(account["id"], days_late=40)  # the run below re-reads and rewrites it
    org.clock.advance(minutes=15)  # the run below reads it; the one after, past its look-back, does not

    def user_saves_an_override() -> None:
        org.clock.advance(seconds=1)
        # saved after the read, before the write
        org.set_override(account["id"], "amazing", AS_OF + dt.timedelta(days=30))

    settings = org.settings()
    assert settings.state_path is not None
    engine = SyncEngine(
        EditsWhileClassifying(org.adapter(settings), account["id"], user_saves_an_override),  # type: ignore[arg-type]
        settings,
        State(settings.state_path),
        "default",
        clock=org.clock,
        sleep=no_wait,
    )
    try:
        raced, _ = engine.run("incremental")
    finally:
        engine.state.close()
    assert raced.status == "ok", raced.message
    assert raced.accounts_read == 1, "the changed invoice brought its account in, alone"
    assert org.written(account["id"])["override_tier"] == "amazing"
    held = org.written(account["id"])["tier"]

    org.clock.advance(minutes=5)
    after, _ = org.sync()
    assert org.written(account["id"])["tier"] == "amazing", (
        "the user's override, saved during the write, counts"
    )
    assert after.accounts_read == 1 and after.accounts_updated == 1
    assert raced.accounts_changed_meanwhile == 1 and raced.accounts_updated == 0
    assert held == "good", "the values computed before the edit were not written"

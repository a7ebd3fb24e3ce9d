"""The Salesforce sandbox's compact rows read like the dicts they replace, and seeding from frames
a record at a time stores the same org as seeding the whole roster."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
import random
from typing import Any

import pytest

from connector.frames import RosterView, to_roster
from connector.sample_data import generate
from connector.sandbox.faults import FaultInjector
from connector.sandbox.ledger import Ledger
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.salesforce.ids import IdFactory
from connector.sandbox.salesforce.rows import MAX_SHAPES, Shapes
from connector.sandbox.salesforce.schema import standard_objects
from connector.sandbox.salesforce.store import Store

NAMES = ["Id", "Name", "IsDeleted", "OwnerId", "Amount", "Notes"]
VALUES: list[Any] = [True, False, "005A", "005B", 3, 2.5, {"nested": [1]}, "text"]


def _random_dict(rng: random.Random, serial: int) -> dict[str, Any]:
    names = rng.sample(NAMES, rng.randint(1, len(NAMES)))
    return {name: rng.choice([*VALUES, f"unique {serial}"]) for name in names}


def test_a_record_reads_like_the_dict_it_was_built_from() -> None:
    rng = random.Random(11)
    shapes = Shapes(["IsDeleted", "OwnerId"])
    for serial in range(2000):
        values = _random_dict(rng, serial)
        record = shapes.record(values)
        assert list(record.items()) == list(values.items()), "same keys, values and key order"
        assert record == values and record.to_dict() == values and dict(record) == values
        assert {**record} == values and len(record) == len(values) and bool(record)
        for name in [*NAMES, "Missing"]:
            assert record.get(name) == values.get(name)
            assert record.get(name, "default") == values.get(name, "default")
            assert (name in record) == (name in values)
            if name not in values:
                with pytest.raises(KeyError):
                    record[name]
        assert copy.deepcopy(record) == values and pickle.loads(pickle.dumps(record)) == values
        assert list(shapes.record(record).items()) == list(values.items()), "a record rebuilt from a record"


def test_shapes_stay_bounded_when_a_few_valued_field_has_many_values() -> None:
    shapes = Shapes(["OwnerId"])
    records = [shapes.record({"Id": f"id{i}", "OwnerId": f"owner{i}"}) for i in range(MAX_SHAPES + 500)]
    assert len(shapes.known) == MAX_SHAPES + 1, "past the cap, one shape keeps every value in a cell"
    assert [r["OwnerId"] for r in records] == [f"owner{i}" for i in range(MAX_SHAPES + 500)]


def test_rows_stored_out_of_id_order_are_sought_in_the_order_they_were_stored() -> None:
    store = Store(standard_objects(), IdFactory())
    ids = [store.new_id(store.objects["Account"]) for _ in range(5)]
    order = [ids[3], ids[1], ids[4], ids[0], ids[2]]
    for record_id in order:
        store.put("Account", {"Id": record_id, "Name": record_id, "IsDeleted": False})
    found = store.seek("Account", "Id", values=frozenset(ids))
    assert [r["Id"] for r in found] == order == [r["Id"] for r in store.rows("Account")]
    assert [r["Id"] for r in store.by_id("Account")] == sorted(ids)


def test_seeding_from_frames_stores_the_same_org_as_seeding_the_roster() -> None:
    frames = generate(300, seed=5, as_of=dt.date(2026, 6, 1)).frames

    def seeded(roster: Any) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
        clock = lambda: dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)  # noqa: E731
        sandbox = SalesforceSandbox(Ledger(), FaultInjector(), session_id="token", clock=clock)
        account_ids = sandbox.seed(roster)
        return account_ids, {name: sandbox.records(name) for name in sandbox.org.data.tables}

    whole = seeded(to_roster(frames))
    view = RosterView(frames, once=True)
    assert seeded(view) == whole
    assert whole[1]["Invoice__c"], "the org holds evidence"
    with pytest.raises(RuntimeError):
        list(view.invoices or [])

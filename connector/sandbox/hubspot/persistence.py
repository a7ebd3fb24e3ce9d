"""Saving a portal to SQLite and loading it back, so that a demo's CRM state can be inspected with any
SQLite browser. Rows are plain JSON; the schema is for people, not for speed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.properties import PropertyDef
from connector.sandbox.hubspot.store import Owner, iso

_SCHEMA = """
CREATE TABLE objects (object_type TEXT, id TEXT, properties TEXT, created_at TEXT, updated_at TEXT,
                      archived INTEGER, archived_at TEXT, PRIMARY KEY (object_type, id));
CREATE TABLE associations (from_type TEXT, from_id TEXT, to_type TEXT, to_id TEXT, type_ids TEXT);
CREATE TABLE owners (id TEXT PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, created_at TEXT);
CREATE TABLE properties (object_type TEXT, name TEXT, definition TEXT, PRIMARY KEY (object_type, name));
"""


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def save(portal: Portal, path: Path) -> None:
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA)
        for object_type in portal.registry.defs:
            db.executemany(
                "INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        object_type,
                        r.id,
                        json.dumps(r.properties),
                        iso(r.created_at),
                        iso(r.updated_at),
                        int(r.archived),
                        iso(r.archived_at) if r.archived_at else None,
                    )
                    for r in portal.store.all_records(object_type)
                ),
            )
            db.executemany(
                "INSERT INTO properties VALUES (?, ?, ?)",
                (
                    (object_type, d.name, json.dumps(dataclasses.asdict(d), default=iso))
                    for d in portal.registry.defs[object_type].values()
                ),
            )
        db.executemany(
            "INSERT INTO associations VALUES (?, ?, ?, ?, ?)",
            (
                (f, fi, t, ti, json.dumps(sorted(ids)))
                for f, fi, t, ti, ids in portal.associations.all_links()
            ),
        )
        db.executemany(
            "INSERT INTO owners VALUES (?, ?, ?, ?, ?)",
            (
                (o.id, o.email, o.first_name, o.last_name, iso(o.created_at))
                for o in portal.store.owners.values()
            ),
        )


def load(portal: Portal, path: Path) -> None:
    """Replace the portal's records, owners, associations and property definitions with the saved ones."""
    with sqlite3.connect(path) as db:
        store = portal.store
        store.clear()
        portal.associations.clear()
        for object_type, name, definition in db.execute(
            "SELECT object_type, name, definition FROM properties"
        ):
            fields: dict[str, Any] = json.loads(definition)
            fields["created_at"] = _time(fields["created_at"])
            fields["updated_at"] = _time(fields["updated_at"])
            portal.registry.defs[object_type][name] = PropertyDef(**fields)
            if fields["has_unique_value"]:
                store.make_unique(object_type, name)
        rows = db.execute("SELECT * FROM objects ORDER BY object_type, CAST(id AS INTEGER)")
        for object_type, record_id, properties, created, updated, archived, archived_at in rows:
            props: dict[str, str] = json.loads(properties)
            record = store.add(
                object_type, props, _time(updated), created=_time(created), record_id=record_id
            )
            record.properties = props
            if archived:
                store.archive(object_type, record, _time(archived_at))
        for owner_id, email, first, last, created in db.execute("SELECT * FROM owners"):
            store.owners[owner_id] = Owner(owner_id, email, first, last, _time(created))
        for from_type, from_id, to_type, to_id, type_ids in db.execute("SELECT * FROM associations"):
            portal.associations.restore(from_type, from_id, to_type, to_id, set(json.loads(type_ids)))

"""Saving an org to SQLite (one table per sObject, rows as JSON) so a demo run can be inspected later.

The file is readable with any SQLite tool: ``SELECT json_extract(data, '$.Name') FROM Account``.
Custom fields are rebuilt from the saved Tooling ``CustomField`` rows when the file is loaded.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from .ids import IdFactory
from .org import Org
from .schema import standard_objects, tooling_objects
from .store import Store
from .tooling import ACTIVITY, ACTIVITY_OBJECTS, field_from_metadata

_TOOLING_PREFIX = "tooling_"


def save(org: Org, path: Path, *, api_used: int) -> None:
    path.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = {
            "api_used": str(api_used),
            "org_id": org.org_id,
            "api_user_id": org.api_user_id,
            "editor_user_id": org.editor_user_id,
        }
        db.executemany("INSERT INTO _meta VALUES (?, ?)", meta.items())
        for prefix, store in (("", org.data), (_TOOLING_PREFIX, org.tooling)):
            for name, table in store.tables.items():
                db.execute(
                    f'CREATE TABLE "{prefix}{name}" '
                    "(Id TEXT PRIMARY KEY, IsDeleted INTEGER, SystemModstamp TEXT, data TEXT NOT NULL)"
                )
                db.executemany(
                    f'INSERT INTO "{prefix}{name}" VALUES (?, ?, ?, ?)',
                    (
                        (
                            row["Id"],
                            int(bool(row.get("IsDeleted"))),
                            row.get("SystemModstamp"),
                            json.dumps(row.to_dict()),
                        )
                        for row in table.values()
                    ),
                )


def load(org: Org, path: Path) -> int:
    """Replace ``org``'s data, schema additions and Tooling tables with the file's; returns API usage."""
    if not path.exists():
        raise FileNotFoundError(path)
    data = Store(standard_objects(), org.id_factory)
    tooling = Store(tooling_objects(), org.id_factory)
    highest = 0
    with contextlib.closing(sqlite3.connect(path)) as db:
        meta = dict(db.execute("SELECT key, value FROM _meta").fetchall())
        for prefix, store in ((_TOOLING_PREFIX, tooling), ("", data)):
            for name in store.tables:
                for (text,) in db.execute(f'SELECT data FROM "{prefix}{name}" ORDER BY rowid'):
                    row = json.loads(text)
                    store.put(name, row)
                    highest = max(highest, IdFactory.number_of(row["Id"]))
    for row in tooling.rows("CustomField"):
        object_name, _, field_name = str(row["FullName"]).partition(".")
        activity = object_name == ACTIVITY
        metadata = {k: v for k, v in dict(row["Metadata"]).items() if k != "fullName"}
        fd = field_from_metadata(field_name, metadata, activity=activity)
        for name in ACTIVITY_OBJECTS if activity else (object_name,):
            target = data.objects[name]
            target.add_field(fd)
            if fd.unique or fd.external_id:
                data.drop_index(target.name, fd.name)
                data.ensure_index(target, fd)
    org.data, org.tooling = data, tooling
    org.org_id, org.api_user_id = meta["org_id"], meta["api_user_id"]
    org.editor_user_id = meta.get("editor_user_id", org.api_user_id)
    org.acting_user_id = org.api_user_id
    org.id_factory.skip_past(highest)
    org.reset_caches()
    return int(meta["api_used"])

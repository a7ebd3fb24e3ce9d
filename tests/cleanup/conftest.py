"""A synced sandbox org whose state before ``setup-fields`` was photographed, for cleanup tests.

The photograph (``org_snapshot``) is the whole org as the sandbox holds it: the schema (fields or
properties with their definitions), page layouts, permission sets with their assignments and field
permissions, property groups, and every live record with its values. It leaves out only what the
vendor changes by itself and keeps either way: audit stamps (``LastModifiedDate``, ``SystemModstamp``,
``hs_lastmodifieddate``, ``updatedAt``), the recycle bin (soft-deleted rows, archived records and
properties), and the ids of records to ignore (tasks users completed, which cleanup keeps).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.runtime import start
from tests.sync.conftest import AS_OF, START, Clock, Org

AUDIT = frozenset({"LastModifiedDate", "SystemModstamp", "LastModifiedById", "hs_lastmodifieddate"})
SF_OBJECTS = (
    "Account",
    "Task",
    "Event",
    "PermissionSet",
    "PermissionSetAssignment",
    "FieldPermissions",
    "User",
)
HS_OBJECTS = ("companies", "tasks")


def _salesforce(org: Org, ignore: set[str]) -> dict[str, Any]:
    sf = org.sf.org
    tooling = {
        name: sorted(
            (
                {k: v for k, v in row.items() if k not in AUDIT}
                for row in sf.tooling.rows(name)
                if not row.get("IsDeleted")
            ),
            key=lambda r: str(r["Id"]),
        )
        for name in ("CustomField", "Layout")
    }
    schema = {
        name: sorted(
            (fd.name, fd.type.value, fd.custom, fd.external_id, fd.unique)
            for fd in sf.sobject(name).fields.values()
        )
        for name in ("Account", "Task", "Event")
    }
    records = {
        name: {
            row["Id"]: {k: v for k, v in row.items() if k not in AUDIT}
            for row in org.sf.records(name)
            if not row.get("IsDeleted") and row["Id"] not in ignore
        }
        for name in SF_OBJECTS
    }
    return {"tooling": tooling, "schema": schema, "records": records}


def _hubspot(org: Org, ignore: set[str]) -> dict[str, Any]:
    portal = org.hs.portal
    schema = {
        object_type: sorted(
            (
                {k: v for k, v in d.to_json().items() if k != "updatedAt"}
                for d in defs.values()
                if not d.archived
            ),
            key=lambda p: str(p["name"]),
        )
        for object_type, defs in portal.registry.defs.items()
    }
    groups = {
        object_type: sorted(
            (copy.deepcopy(g) for g in found.values() if not g["archived"]), key=lambda g: str(g["name"])
        )
        for object_type, found in portal.registry.groups.items()
    }
    records = {
        object_type: {
            r["id"]: {k: v for k, v in r["properties"].items() if k not in AUDIT}
            for r in org.hs.objects(object_type)
            if not r["archived"] and r["id"] not in ignore
        }
        for object_type in HS_OBJECTS
    }
    links = {
        c: [t for t in org.hs.associations("companies", c, "tasks") if t not in ignore]
        for c in records["companies"]
    }
    return {"schema": schema, "groups": groups, "records": records, "links": links}


def org_snapshot(org: Org, ignore: set[str] | None = None) -> dict[str, Any]:
    """The whole org, less audit stamps, the recycle bin and the ``ignore`` record ids."""
    skip = ignore or set()
    return _salesforce(org, skip) if org.crm == "salesforce" else _hubspot(org, skip)


def make_bare_org(tmp_path: Path, crm: str, accounts: int = 120) -> Iterator[Org]:
    """A seeded org on which ``setup-fields`` has not run yet."""
    clock = Clock(START)
    sandbox = start(crm, accounts=accounts, seed=11, as_of=AS_OF, workdir=tmp_path / "sandbox", clock=clock)
    try:
        if crm == "hubspot":
            sandbox.hubspot.limits.burst_limit = 0
            sandbox.hubspot.limits.search_per_second = 0
        yield Org(sandbox, clock, tmp_path, crm)
        if crm == "hubspot":
            assert sandbox.hubspot.validation_errors == [], "every request must conform to HubSpot's spec"
    finally:
        sandbox.stop()


@pytest.fixture
def bare(tmp_path: Path, crm: str) -> Iterator[Org]:
    yield from make_bare_org(tmp_path, crm)


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest) -> str:
    return str(request.param)

"""The two namespaces a SOQL query can run in: org data (``/query``) and Tooling tables (``/tooling/query``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from .org import Org
from .schema import FieldDef, ObjectDef
from .store import Bound, Row


class DataCatalog:
    """Org data as the API user sees it: fields without field-level security are invisible."""

    url_prefix = "sobjects"
    single_row_fields: frozenset[str] = frozenset()

    def __init__(self, org: Org) -> None:
        self.org = org

    def object(self, name: str) -> ObjectDef | None:
        return self.org.data.object(name)

    def field(self, obj: ObjectDef, name: str) -> FieldDef | None:
        return self.org.visible_field(obj, name)

    def rows(self, obj: ObjectDef) -> Iterable[Row]:
        return self.org.data.rows(obj.name)

    def lookup(self, obj: ObjectDef, record_id: str) -> Row | None:
        return self.org.data.get(obj.name, record_id)

    def seek(self, obj: ObjectDef, field: str, **where: Any) -> list[Row]:
        """Rows through ``field``'s index (``Store.seek``: ``values``, ``low``, ``high``, ``include_deleted``)."""
        return self.org.data.seek(obj.name, field, **where)

    def by_id(self, obj: ObjectDef, descending: bool, low: Bound | None, high: Bound | None) -> Iterator[Row]:
        return self.org.data.by_id(obj.name, descending=descending, low=low, high=high)

    def today(self) -> dt.date:
        now = self.org.clock()
        return (now.astimezone(dt.UTC) if now.tzinfo else now).date()


class ToolingCatalog(DataCatalog):
    """``CustomField`` and ``Layout``; ``Metadata``/``FullName`` only in single-row results, as documented."""

    url_prefix = "tooling/sobjects"
    single_row_fields = frozenset({"Metadata", "FullName"})

    def object(self, name: str) -> ObjectDef | None:
        return self.org.tooling.object(name)

    def field(self, obj: ObjectDef, name: str) -> FieldDef | None:
        return obj.field(name)

    def rows(self, obj: ObjectDef) -> Iterable[Row]:
        return self.org.tooling.rows(obj.name)

    def lookup(self, obj: ObjectDef, record_id: str) -> Row | None:
        return self.org.tooling.get(obj.name, record_id)

    def seek(self, obj: ObjectDef, field: str, **where: Any) -> list[Row]:
        return self.org.tooling.seek(obj.name, field, **where)

    def by_id(self, obj: ObjectDef, descending: bool, low: Bound | None, high: Bound | None) -> Iterator[Row]:
        return self.org.tooling.by_id(obj.name, descending=descending, low=low, high=high)

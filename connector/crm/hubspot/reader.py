"""Reading companies and their evidence page by page, and finding companies changed since a watermark.

Per page of companies (list paging, 100 a call, in id order): per evidence object type one associations
v4 batch read for the whole page (1,000 ids a call) and batch reads of the associated records (100 a
call) — never one call per company. Sources on one object type and link (tickets and renegotiations)
share those calls and are told apart by their ``where``, checked on each record. Sources kept on the
company itself (goals, surveys) come from the company rows. A source linked by a property holding the
company id (referrals: ``referred_by_company_id`` on deals) is found by search, ``IN`` 100 ids at a time.

HubSpot property values are strings; they become canonical records through the same mapping-driven
record builder as Salesforce rows (numbers, ``true``/``false``, ISO dates and datetimes, ``a;b``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.crm import paging
from connector.crm.base import CurrentValues, FatalError, MappingError, ReadBatch
from connector.crm.hubspot import associations, batch, check, client_read, search
from connector.crm.hubspot.batch import OBJECT_ID, Row
from connector.crm.hubspot.check import source_problems
from connector.crm.hubspot.client import HubSpotClient
from connector.crm.hubspot.client_read import Choice, ReadPlan
from connector.crm.hubspot.links import Link, parse_link
from connector.crm.hubspot.schema import Schema
from connector.crm.hubspot.search import MODIFIED, condition
from connector.crm.hubspot.values import epoch_ms, parse_datetime
from connector.crm.hubspot.where import Where, WhereSyntaxError, parse_where
from connector.crm.mapping import Mapping, SourceMapping

# The record builder is CRM-independent (mapping + canonical types); it lives in the Salesforce package.
from connector.crm.salesforce.records import CurrentValuesReader, RecordBuilder
from connector.model import CHILD_KINDS, Account, Roster

LIST_LIMIT = 100
"""HubSpot's largest list page (the sandbox refuses more, as a strict reading of the docs)."""
MAX_LIST_PAGES = 1_000_000
OWN_WRITE_WINDOW = dt.timedelta(minutes=2)
"""How far a company's ``hs_lastmodifieddate`` may be from the ``last_synced_at`` tiersync wrote into it
for the change to count as that write (the engine stamps each page before writing it)."""


def _where(source: SourceMapping) -> Where | None:
    """The parsed ``where`` (a malformed one is reported by ``check``/``_validate`` before any read)."""
    if not source.where:
        return None
    try:
        return parse_where(source.where)
    except WhereSyntaxError:
        return None


@dataclass(frozen=True)
class _Source:
    kind: str
    source: SourceMapping
    builder: RecordBuilder
    where: Where | None

    def keep(self, row: Row) -> bool:
        return self.where is None or self.where.matches(row)

    @property
    def properties(self) -> list[str]:
        names = [n for n in self.source.crm_fields() if not parse_link(n).association]
        return [*names, *(self.where.properties if self.where else [])]


@dataclass
class _Group:
    """Sources read with one set of calls: one object type, one link."""

    object_type: str
    link: Link
    sources: list[_Source] = field(default_factory=list)

    @property
    def properties(self) -> list[str]:
        return list(dict.fromkeys(name for s in self.sources for name in s.properties))


class Reader:
    def __init__(
        self,
        client: HubSpotClient,
        schema: Schema,
        mapping: Mapping,
        mapping_file: str,
        strategy: Choice = "auto",
    ) -> None:
        self._client = client
        self._strategy: Choice = strategy
        self.last_plan: ReadPlan | None = None
        """How the last full read found the clients (``client_read.plan``)."""
        self._schema = schema
        self._mapping = mapping
        self._mapping_file = mapping_file
        self._validated = False
        self._rechecked = False
        accounts = mapping.accounts
        self._object = accounts.object
        self._accounts = _Source("accounts", accounts, RecordBuilder(accounts, Account), _where(accounts))
        self._folded: list[_Source] = []
        """Sources on the company itself (linked by its own id): read from the company rows."""
        groups: dict[tuple[str, str], _Group] = {}
        for kind, source in mapping.sources().items():
            if kind == "accounts":
                continue
            child = _Source(kind, source, RecordBuilder(source, CHILD_KINDS[kind]), _where(source))
            link = parse_link(source.account)
            if source.object == accounts.object and link.property_name == accounts.id:
                self._folded.append(child)
            else:
                groups.setdefault((source.object, link.text), _Group(source.object, link)).sources.append(
                    child
                )
        self._groups = list(groups.values())
        writeback = mapping.writeback
        self._writeback_properties = list(writeback.all_fields().values())
        self._current = CurrentValuesReader(writeback, {name.lower() for name in self._writeback_properties})

    def _validate(self) -> None:
        """Every missing object type and property at once, before the first read (``MappingError``):
        HubSpot ignores unknown property names in reads, so a typo would otherwise read as no data."""
        if not self._validated:
            problems = source_problems(self._schema, self._mapping, self._mapping_file)
            if problems:
                raise MappingError(problems)
            self._validated = True

    def _answered(self, object_type: str, asked: Sequence[str], rows: list[Row]) -> list[Row]:
        """``rows`` as read, once their properties were checked against the schema.

        The schema may come from the cross-run cache, and a property deleted since is what a read
        cannot tell from an empty one but by its key: HubSpot answers every requested property that
        exists (``null`` without a value) and leaves out the others. A row without a property the
        schema claims therefore means the schema is stale: it is read afresh (the cache cleared) and
        the mapping checked again, and its problems stop the run (``MappingError``) as they would
        have before the first read. Done once per run; the check costs a few dict lookups per page.
        """
        if rows and not self._rechecked and self._schema.stale(object_type, asked, rows[0]):
            self._rechecked = True
            self._schema.forget()
            problems = check.problems(self._schema, self._mapping, self._mapping_file)
            if problems:
                raise MappingError(problems)
        return rows

    def _company_properties(self) -> list[str]:
        # Write-back properties are asked for even before setup: HubSpot leaves out unknown names.
        names = [
            *self._accounts.properties,
            *(name for s in self._folded for name in s.properties),
            *self._writeback_properties,
        ]
        return list(dict.fromkeys(names))

    # -- read ----------------------------------------------------------------------------------
    def read(self, account_ids: list[str] | None, page_size: int, after: str | None) -> Iterator[ReadBatch]:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._validate()
        properties = self._company_properties()
        pages = (
            self._all_companies(properties, page_size, after)
            if account_ids is None
            else self._given(properties, account_ids, page_size)
        )
        for rows in pages:
            yield self._batch(rows)

    def _all_companies(self, properties: list[str], page_size: int, after: str | None) -> Iterator[list[Row]]:
        """Every client in id order: searched on the client filter or listed, whichever is cheaper
        (``client_read``); after ``after`` (a backfill resuming) always through an id window search,
        since the list endpoint's cursor is opaque and cannot be made from an id."""
        if after is not None and not after.isdigit():
            raise FatalError(f"backfill cursor {after!r} is not a HubSpot record id")
        if after is not None:
            filters = client_read.search_filters(self._accounts.where)
            pages = search.windows(self._client, self._object, filters, properties, after_id=after)
        else:
            self.last_plan = client_read.plan(
                self._client, self._object, self._accounts.where, self._strategy
            )
            pages = (
                search.windows(self._client, self._object, self.last_plan.filters, properties)
                if self.last_plan.strategy == "search"
                else self._list_pages(properties)
            )
        answered = (self._answered(self._object, properties, page) for page in pages)
        yield from paging.rechunk(
            ([r for r in page if self._accounts.keep(r)] for page in answered), page_size
        )

    def _list_pages(self, properties: list[str]) -> Iterator[list[Row]]:
        def fetch(cursor: str | None) -> tuple[list[Row], str | None]:
            answer = self._client.call(
                f"list {self._object}",
                self._client.objects_basic.get_page_with_http_info,
                self._object,
                limit=LIST_LIMIT,
                after=cursor,
                properties=properties,
            )
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            return [batch.row(r) for r in answer.get("results") or []], str(after) if after else None

        return paging.pages(fetch, what=f"HubSpot list of {self._object}", cap=MAX_LIST_PAGES)

    def _given(
        self, properties: list[str], account_ids: Sequence[str], page_size: int
    ) -> Iterator[list[Row]]:
        # A non-numeric id can match no HubSpot record: leave it out rather than send it.
        ids = sorted({i for i in account_ids if i.isdigit()}, key=int)
        for start in range(0, len(ids), page_size):
            rows = batch.read(self._client, self._object, ids[start : start + page_size], properties)
            rows = sorted(
                (r for r in self._answered(self._object, properties, rows) if self._accounts.keep(r)),
                key=lambda r: int(r[OBJECT_ID]),
            )
            if rows:
                yield rows

    def _batch(self, rows: list[Row]) -> ReadBatch:
        accounts = [self._accounts.builder.account(row) for row in rows]
        ids = [a.id for a in accounts]
        evidence: dict[str, list[Any]] = {}
        for source in self._folded:
            evidence[source.kind] = [
                record
                for row in rows
                if source.keep(row) and (record := source.builder.child(row, skip_empty=True)) is not None
            ]
        for group in self._groups:
            evidence.update(self._children(group, ids))
        roster = Roster(accounts=accounts, **{kind: evidence.get(kind) for kind in CHILD_KINDS})
        current: dict[str, CurrentValues] = {
            a.id: self._current.read(row) for a, row in zip(accounts, rows, strict=True)
        }
        return ReadBatch(roster=roster, current=current)

    def _children(self, group: _Group, company_ids: list[str]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {source.kind: [] for source in group.sources}

        def add(rows: Iterable[Row]) -> None:
            for row in rows:
                for source in group.sources:
                    if source.keep(row) and (record := source.builder.child(row)) is not None:
                        found[source.kind].append(record)

        if group.link.association is not None:
            links = associations.associated(self._client, self._object, group.object_type, company_ids)
            child_ids = list(dict.fromkeys(child for children in links.values() for child in children))
            read = batch.read(self._client, group.object_type, child_ids, group.properties)
            by_id = {r[OBJECT_ID]: r for r in self._answered(group.object_type, group.properties, read)}
            # A record associated with two companies of the page is evidence for both.
            add(
                {**by_id[child], group.link.text: company}
                for company, children in links.items()
                for child in children
                if child in by_id
            )
        else:
            name = str(group.link.property_name)
            for chunk in batch.chunks(company_ids, search.IN_VALUES):
                for page in search.windows(
                    self._client, group.object_type, [condition(name, "IN", values=chunk)], group.properties
                ):
                    add(self._answered(group.object_type, group.properties, page))
        return found

    # -- changes -------------------------------------------------------------------------------
    def changed_account_ids(self, since: dt.datetime) -> set[str]:
        """Ids of companies whose own record or any evidence record changed at or after ``since``.

        One windowed search per object type (``hs_lastmodifieddate >= since``, in ``hs_object_id``
        windows past the 10,000-result cap); evidence maps to companies through associations v4 (1,000
        ids a call) or its link property. The sources' ``where`` is not applied: a record that stopped
        matching it (a ticket re-categorised) changed its company's evidence too; ``read`` applies the
        companies' ``where``. Archived evidence is not found (search skips archived records, and archiving
        drops associations): a full sync covers deletions.

        A company whose last change is tiersync's own write is left out, or every run would re-read what
        the one before it wrote: its ``hs_lastmodifieddate`` is within :data:`OWN_WRITE_WINDOW` of the
        ``last_synced_at`` that write set.
        """
        self._validate()
        modified = condition(MODIFIED, "GTE", str(epoch_ms(since)))
        synced = self._own_write_property()
        changed: set[str] = set()
        asked = [MODIFIED, *([synced] if synced else [])]
        for page in search.windows(self._client, self._object, [modified], asked):
            page = self._answered(self._object, asked, page)
            changed |= {r[OBJECT_ID] for r in page if not (synced and _own_write(r, synced))}
        for group in self._groups:
            if group.link.association is not None:
                child_ids = [
                    r[OBJECT_ID]
                    for page in search.windows(self._client, group.object_type, [modified], [])
                    for r in page
                ]
                links = associations.associated(self._client, group.object_type, self._object, child_ids)
                changed |= {company for companies in links.values() for company in companies}
            else:
                name = str(group.link.property_name)
                for page in search.windows(self._client, group.object_type, [modified], [name]):
                    page = self._answered(group.object_type, [name], page)
                    changed |= {str(r[name]) for r in page if r.get(name)}
        return changed

    def _own_write_property(self) -> str | None:
        """``last_synced_at``'s property, when it exists (before setup nothing was written)."""
        name = self._mapping.writeback.field("last_synced_at")
        return name if self._schema.property(self._mapping.writeback.object, name) is not None else None


def _own_write(row: Row, synced: str) -> bool:
    stamp = parse_datetime(row.get(MODIFIED))
    mark = parse_datetime(row.get(synced))
    return stamp is not None and mark is not None and abs(stamp - mark) <= OWN_WRITE_WINDOW

"""Reading accounts and their evidence page by page, and finding accounts changed since a watermark.

Per page of accounts: one paged account query (``ORDER BY Id``, resumable after an expired cursor),
then per evidence source either one id-range query (a full read: the page is a contiguous range of
ids, so ``<link> >= first AND <link> <= last`` pages at 2,000 rows like a plain read of the object)
or one query per chunk of the given ids (``<link> IN (...)``, bounded by the URL length) — never one
query per account. A source kept on the account object itself (goals on Account) is read from the
account rows, with no query of its own.

A full read of more accounts than ``salesforce.bulk_threshold`` (the first REST page's ``totalSize``
tells) runs one Bulk API 2.0 query job per object instead (``bulk_read``), and falls back to REST when
Salesforce refuses Bulk.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce.format import format_soql

from connector.crm import paging
from connector.crm.base import CurrentValues, MappingError, ReadBatch
from connector.crm.mapping import Mapping, SourceMapping
from connector.crm.salesforce.bulk import BulkGate
from connector.crm.salesforce.bulk_read import ACCOUNTS, BulkExtract, Cells, Extraction
from connector.crm.salesforce.check import source_problems
from connector.crm.salesforce.client import DEFAULT_BATCH_SIZE, Record, SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.records import CurrentValuesReader, RecordBuilder
from connector.crm.salesforce.soql import (
    MODSTAMP,
    datetime_literal,
    in_list,
    is_record_id,
    select,
    unique_fields,
)
from connector.crm.salesforce.values import to_text, value_at
from connector.model import CHILD_KINDS, Account, Roster

MIN_BATCH_SIZE = 200
ACTIVITY_OBJECTS = ("task", "event")


def evidence_scope(schema: Schema, sobject: str) -> tuple[list[str], bool]:
    """Extra conditions for evidence on ``sobject``, and whether to read it with ``queryAll``.

    Salesforce archives old tasks and events, and ``query`` leaves archived activities out: only
    ``queryAll`` returns them, so activity evidence is read with ``queryAll`` and ``IsDeleted = false``.
    An event with ``IsChild = true`` is an invited user's copy of another event, not a meeting of its
    own, so it is left out (when the org's Event has the field)."""
    if sobject.lower() not in ACTIVITY_OBJECTS:
        return [], False
    conditions = ["IsDeleted = false"]
    if schema.field(sobject, "IsChild") is not None:
        conditions.append("IsChild = false")
    return conditions, True


def account_batch_size(page_size: int) -> int:
    """Rows per account query page: the page size within what ``batchSize`` takes (200-2000)."""
    return max(MIN_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, page_size))


Evidence = dict[str, Iterator[Any]]
"""Evidence records of one page by kind, when a Bulk extract has them already (None: query them)."""


@dataclass(frozen=True)
class _Child:
    kind: str
    source: SourceMapping
    builder: RecordBuilder


class Reader:
    def __init__(
        self,
        client: SalesforceClient,
        schema: Schema,
        mapping: Mapping,
        mapping_file: str,
        api_user: Callable[[], str | None],
        bulk: BulkGate,
    ) -> None:
        self._client = client
        self._bulk = bulk
        self._api_user = api_user
        self._schema = schema
        self._mapping = mapping
        self._mapping_file = mapping_file
        self._validated = False
        accounts = mapping.accounts
        self._accounts = RecordBuilder(accounts, Account)
        self._folded: list[_Child] = []
        """Sources on the account object itself, linked by its id, without a ``where``: read from account rows."""
        self._queried: list[_Child] = []
        for kind, source in mapping.sources().items():
            if kind == "accounts":
                continue
            child = _Child(kind, source, RecordBuilder(source, CHILD_KINDS[kind]))
            same_object = source.object.lower() == accounts.object.lower()
            if same_object and source.account.lower() == accounts.id.lower() and not source.where:
                self._folded.append(child)
            else:
                self._queried.append(child)

    @property
    def queried(self) -> list[tuple[str, SourceMapping]]:
        """The evidence sources read with queries of their own (the others come with the account rows)."""
        return [(child.kind, child.source) for child in self._queried]

    @property
    def folded(self) -> list[str]:
        return [child.kind for child in self._folded]

    def validate(self) -> None:
        """Fail with every missing object and field at once, before the first query (``MappingError``)."""
        if not self._validated:
            problems = source_problems(self._schema, self._mapping, self._mapping_file)
            if problems:
                raise MappingError(problems)
            self._validated = True

    def _writeback_selected(self) -> set[str]:
        """Write-back and override fields the API user can read now (none before ``setup-fields``)."""
        writeback = self._mapping.writeback
        if writeback.object.lower() != self._mapping.accounts.object.lower():
            return set()
        return {
            name.lower()
            for name in writeback.all_fields().values()
            if self._schema.field(writeback.object, name) is not None
        }

    # -- read ----------------------------------------------------------------------------------
    def read(
        self, account_ids: list[str] | None, page_size: int, after: str | None = None
    ) -> Iterator[ReadBatch]:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.validate()
        selected = self._writeback_selected()
        current = CurrentValuesReader(self._mapping.writeback, selected)
        fields = self._account_fields(selected)
        pages: Iterator[tuple[list[Record], Evidence | None]] = (
            self._all_accounts(fields, page_size, after)
            if account_ids is None
            else ((rows, None) for rows in self._given(fields, account_ids, page_size))
        )
        for rows, evidence in pages:
            batch = self._batch(rows, current, contiguous=account_ids is None, evidence=evidence)
            del rows, evidence  # the engine works on the batch; a large page's rows need not stay too
            yield batch

    def read_rest_page(self, page_size: int) -> ReadBatch | None:
        """The first page of a full read through REST whatever the org's size (a cheap sample)."""
        self.validate()
        selected = self._writeback_selected()
        fields = self._account_fields(selected)
        pages = self._client.query_pages(
            self._accounts_soql(fields), batch_size=account_batch_size(page_size)
        )
        rows = next(pages, [])[:page_size]
        return (
            self._batch(rows, CurrentValuesReader(self._mapping.writeback, selected), contiguous=True)
            if rows
            else None
        )

    def _account_fields(self, selected: set[str]) -> list[str]:
        accounts = self._mapping.accounts
        # the stamp goes back with the write (``writeback.changed_since_read``): only when it is the
        # written object's own
        same = self._mapping.writeback.object.lower() == accounts.object.lower()
        stamp = [MODSTAMP] if same and self._schema.field(accounts.object, MODSTAMP) is not None else []
        return unique_fields(
            [
                *accounts.crm_fields(),
                *(name for child in self._folded for name in child.source.crm_fields()),
                *(f for f in self._mapping.writeback.all_fields().values() if f.lower() in selected),
                *stamp,
            ]
        )

    def _accounts_soql(self, fields: list[str], after: str | None = None, *, ordered: bool = True) -> str:
        source = self._mapping.accounts
        resume = format_soql(f"{source.id} > {{}}", after) if after else None
        return select(source.object, fields, [source.where, resume], order_by=source.id if ordered else None)

    def _all_accounts(
        self, fields: list[str], page_size: int, after: str | None
    ) -> Iterator[tuple[list[Record], Evidence | None]]:
        """Every account in id order, after ``after`` when given (a backfill resuming where it stopped).

        The first REST page says how many accounts there are (``totalSize``): above the Bulk threshold the
        rest comes from a Bulk extract instead, in pages of ``bulk_page_size``."""
        pager = self._client.pager(
            self._accounts_soql(fields, after),
            batch_size=account_batch_size(page_size),
            resume=lambda last_id: self._accounts_soql(fields, last_id),
        )
        api_pages = iter(pager)
        first = next(api_pages, [])
        extract = self._bulk.either(pager.total or 0, lambda: self._bulk_extract(fields, after), lambda: None)
        if extract is not None:
            with extract:
                builders = {
                    child.kind: _cells_builder(child.builder, extract, child.kind) for child in self._queried
                }
                for rows, cells in extract.pages(max(page_size, self._bulk.page_size)):
                    evidence = {
                        kind: builders[kind](found) for kind, found in cells.items() if kind in builders
                    }
                    del cells
                    yield rows, evidence
            return
        for rows in paging.rechunk(itertools.chain([first], api_pages), page_size):
            yield rows, None

    def _bulk_extract(self, fields: list[str], after: str | None) -> BulkExtract:
        """Every account and every evidence row (after ``after``) on disk; :class:`BulkUnavailableError`
        when Salesforce refused Bulk (then the read goes on through REST)."""
        accounts = self._mapping.accounts
        extractions = [
            Extraction(
                ACCOUNTS, accounts.object, self._accounts_soql(fields, after, ordered=False), accounts.id
            )
        ]
        for child in self._queried:
            source = child.source
            resume = format_soql(f"{source.account} > {{}}", after) if after else None
            scope, every_row = evidence_scope(self._schema, source.object)
            soql = select(
                source.object,
                source.crm_fields(),
                [source.where, f"{source.account} != null", resume, *scope],
            )
            extractions.append(Extraction(child.kind, source.object, soql, source.account, every_row))
        extract = BulkExtract(self._bulk.jobs, self._schema)
        try:
            extract.run(extractions)
        except BaseException:
            extract.close()
            raise
        return extract

    def _given(self, fields: list[str], account_ids: Sequence[str], page_size: int) -> Iterator[list[Record]]:
        source = self._mapping.accounts
        # A malformed id can match no record, but would fail the whole query: leave it out.
        ids = [i for i in dict.fromkeys(account_ids) if is_record_id(i)]
        for start in range(0, len(ids), page_size):
            rows: list[Record] = []
            rows.extend(
                self._client.records_in(
                    lambda chunk: select(
                        source.object, fields, [source.where, in_list(source.id, chunk)], source.id
                    ),
                    ids[start : start + page_size],
                )
            )
            if rows:
                yield rows

    def _batch(
        self,
        rows: list[Record],
        current: CurrentValuesReader,
        *,
        contiguous: bool,
        evidence: Evidence | None = None,
    ) -> ReadBatch:
        accounts = [self._accounts.account(row) for row in rows]
        ids = [a.id for a in accounts]
        records: dict[str, list[Any]] = {}
        for child in self._folded:
            records[child.kind] = [
                record for row in rows if (record := child.builder.child(row, skip_empty=True)) is not None
            ]
        for child in self._queried:
            if evidence is not None:
                found: Iterator[Any] = evidence.get(child.kind, iter(()))
            elif contiguous:
                found = self._children_in_range(child, ids)
            else:
                found = self._children(child, ids)
            records[child.kind] = list(found)
        roster = Roster(accounts=accounts, **{kind: records.get(kind) for kind in CHILD_KINDS})
        values: dict[str, CurrentValues] = {
            a.id: current.read(row) for a, row in zip(accounts, rows, strict=True)
        }
        versions = {
            a.id: stamp
            for a, row in zip(accounts, rows, strict=True)
            if (stamp := to_text(row.get(MODSTAMP)))
        }
        return ReadBatch(roster=roster, current=values, versions=versions)

    def _children(self, child: _Child, account_ids: list[str]) -> Iterator[Any]:
        source = child.source
        scope, every_row = evidence_scope(self._schema, source.object)
        for row in self._client.records_in(
            lambda chunk: select(
                source.object, source.crm_fields(), [source.where, in_list(source.account, chunk), *scope]
            ),
            account_ids,
            include_deleted=every_row,
        ):
            record = child.builder.child(row)
            if record is not None:
                yield record

    def _children_in_range(self, child: _Child, account_ids: list[str]) -> Iterator[Any]:
        """Evidence of a page of accounts read in id order: one range query on the link field, paged
        at full size. Rows of accounts in the range that are not in the page (filtered out by the
        accounts' ``where``, such as prospects) are dropped here."""
        source = child.source
        wanted = set(account_ids)
        bounds = format_soql(
            f"{source.account} >= {{}} AND {source.account} <= {{}}", min(account_ids), max(account_ids)
        )
        scope, every_row = evidence_scope(self._schema, source.object)
        soql = select(source.object, source.crm_fields(), [source.where, bounds, *scope])
        for row in self._client.records(soql, include_deleted=every_row):
            record = child.builder.child(row)
            if record is not None and record.account_id in wanted:
                yield record

    # -- changes -------------------------------------------------------------------------------
    def changed_account_ids(self, since: dt.datetime) -> set[str]:
        """Ids of accounts whose own row or any evidence row changed at or after ``since``.

        Uses ``queryAll`` so deleted evidence counts, and ignores each source's ``where``: a record that
        stopped matching it (a won deal reopened, a case retyped) changed its account's evidence too.
        The extra ids only cost a read; ``read`` applies the accounts' ``where``.

        Rows of the write-back object whose last change is tiersync's own write are left out in the
        query itself (:meth:`_not_own_write`), or every run would re-read what the one before it wrote.
        Evidence objects are never filtered so: tiersync does not write them, and the same API user may
        well load them (an ERP integration), so each of their changes counts whoever made it.
        """
        self.validate()
        stamp = f"{MODSTAMP} >= {datetime_literal(since)}"
        accounts = self._mapping.accounts
        writeback = self._mapping.writeback
        queries: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        for source in self._mapping.sources().values():
            own = (
                source.object.lower() == accounts.object.lower()
                and source.account.lower() == accounts.id.lower()
            )
            not_null = None if own else f"{source.account} != null"
            queries.setdefault(
                (source.object.lower(), source.account.lower()), (source.object, source.account, not_null)
            )
        changed: set[str] = set()
        for sobject, link, not_null in queries.values():
            others = self._not_own_write(since) if sobject.lower() == writeback.object.lower() else None
            soql = select(sobject, [link], [stamp, not_null, others])
            for row in self._client.records(soql, include_deleted=True):
                account_id = to_text(value_at(row, link))
                if account_id:
                    changed.add(account_id)
        return changed

    def _not_own_write(self, since: dt.datetime) -> str | None:
        """The condition that keeps a write-back row out of the change query when its last change is
        tiersync's own: ``LastModifiedById`` is the API user and the ``last_synced_at`` that write set
        is inside the window (every tiersync write sets it to its page's start, which is at or after
        the watermark). A row the API user changed otherwise (``last_synced_at`` older or empty) still
        counts. None before setup (no field, nothing written) or without a known API user."""
        writeback = self._mapping.writeback
        synced = writeback.field("last_synced_at")
        if self._schema.field(writeback.object, synced) is None:
            return None
        user = self._api_user()
        if not user:
            return None
        return format_soql(
            f"LastModifiedById != {{}} OR {synced} < {datetime_literal(since)} OR {synced} = null", user
        )


def _cells_builder(
    builder: RecordBuilder, extract: BulkExtract, kind: str
) -> Callable[[Iterator[Cells]], Iterator[Any]]:
    """Records of ``kind`` from a Bulk page's cells: read straight from the cells when the job's header
    allows it (:meth:`RowShape.cell_reader`), else through the REST-shaped row dict."""
    built: list[Callable[[Cells], Any]] = []

    def child(cells: Cells) -> Any:
        if not built:  # at the first page that has rows of this kind (its shape is known then)
            shape = extract.shape(kind)
            readers = {path: shape.cell_reader(path) for path in builder.source.crm_fields()}
            if all(reader is not None for reader in readers.values()):
                built.append(builder.reading(lambda path: readers[path] or _none).child)
            else:
                built.append(lambda row: builder.child(shape.row(row)))
        return built[0](cells)

    def records(rows: Iterator[Cells]) -> Iterator[Any]:
        for cells in rows:
            record = child(cells)
            if record is not None:
                yield record

    return records


def _none(cells: Cells) -> None:
    return None

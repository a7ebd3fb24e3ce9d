"""Writes through Bulk API 2.0 ingest jobs, answered exactly like the REST path: one Outcome per input record,
in input order, with the same codes, messages and ``retriable`` flags.

Results are matched to inputs by the reference column every result row repeats (the record ``Id`` for an
update, the external id for an upsert), not by position: Salesforce processes a job's rows in parallel
batches and lists results in no promised order. A record in no result file (a job that failed midway)
is a retriable failure, so the engine sends it again.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from connector.crm.base import Outcome
from connector.crm.salesforce.bulk import BulkJobs, BulkUnavailableError
from connector.crm.salesforce.bulk_csv import cell, parse_error, read_csv
from connector.crm.salesforce.composite import outcome

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
"""Salesforce takes up to 100 MB of CSV per job (150 MB once base64-encoded); stay well below."""


def _line(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _chunks(
    header: list[str], records: Sequence[dict[str, Any]], refs: Sequence[str], limit: int
) -> Iterator[tuple[str, list[str]]]:
    """``(csv text, refs)`` per job, each upload under ``limit`` bytes. A column a record leaves out is an
    empty cell, which Bulk reads as "leave unchanged" (as REST does for a field not sent)."""
    head = _line(header)
    lines: list[str] = []
    size = len(head.encode())
    chunk_refs: list[str] = []
    for ref, record in zip(refs, records, strict=True):
        row = _line([cell(record[name]) if name in record else "" for name in header])
        cost = len(row.encode())
        if chunk_refs and size + cost > limit:
            yield head + "".join(lines), chunk_refs
            lines, size, chunk_refs = [], len(head.encode()), []
        lines.append(row)
        size += cost
        chunk_refs.append(ref)
    if chunk_refs:
        yield head + "".join(lines), chunk_refs


def ingest(
    jobs: BulkJobs,
    sobject: str,
    operation: str,
    records: Sequence[dict[str, Any]],
    refs: Sequence[str],
    *,
    ref_column: str,
    external_id: str | None = None,
    label: Callable[[str], str] = str,
    need_ids: bool = True,
    limit: int = MAX_UPLOAD_BYTES,
) -> list[Outcome]:
    """Send ``records`` (Salesforce JSON values; an sObject Collections record's ``attributes`` are left
    out) as ingest jobs; one Outcome per record.

    ``need_ids``: an update's id is its reference, so when every record succeeded the successful-results
    file is not fetched (a call saved per job). Raises :class:`BulkUnavailableError` when Salesforce
    refuses the job or fails it before processing any record: the caller writes through REST instead."""
    names = (name for record in records for name in record if name != "attributes")
    header = list(dict.fromkeys([ref_column, *names]))
    found: dict[str, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="tiersync-ingest-") as directory:
        for text, chunk_refs in _chunks(header, records, refs, limit):
            info = jobs.run_ingest(sobject, operation, text, external_id)
            processed = int(info.get("numberRecordsProcessed") or 0)
            failed = int(info.get("numberRecordsFailed") or 0)
            state = str(info.get("state"))
            if state != "JobComplete" and processed == 0:
                raise BulkUnavailableError(
                    f"Salesforce Bulk {operation} job {info.get('id')} on {sobject} ended {state} "
                    f"before any record: {info.get('errorMessage')}"
                )
            results = _Results(jobs, sobject, str(info["id"]), Path(directory), ref_column)
            if processed - failed > 0:
                if need_ids or failed or processed < len(chunk_refs):
                    found.update(results.successes())
                else:
                    found.update((ref, Outcome(ref=ref, ok=True, crm_id=ref)) for ref in chunk_refs)
            if failed:
                found.update(results.failures(label))
            if processed < len(chunk_refs):
                found.update(
                    results.unprocessed(
                        f"Bulk job {info.get('id')} ended {state}: {info.get('errorMessage')}"
                    )
                )
    return [
        found.get(ref)
        or Outcome(
            ref=ref,
            ok=False,
            error_code="BULK_NO_RESULT",
            message="the Bulk job reported no result for this record; it is sent again",
            retriable=True,
        )
        for ref in refs
    ]


class _Results:
    """The result files of one finished ingest job, matched back to references."""

    def __init__(self, jobs: BulkJobs, sobject: str, job_id: str, directory: Path, ref_column: str) -> None:
        self._jobs = jobs
        self._sobject = sobject
        self._job_id = job_id
        self._directory = directory
        self._ref = ref_column.lower()

    def _rows(self, kind: str) -> Iterator[tuple[dict[str, int], list[str]]]:
        path = self._jobs.ingest_result_file(
            self._sobject, self._job_id, kind, self._directory / f"{self._job_id}-{kind}.csv"
        )
        try:
            rows = read_csv(path)
            header = next(rows, [])
            index = {name.lower(): i for i, name in enumerate(header)}
            for cells in rows:
                yield index, cells
        finally:
            path.unlink(missing_ok=True)

    def successes(self) -> Iterator[tuple[str, Outcome]]:
        for index, cells in self._rows("successfulResults"):
            ref = cells[index[self._ref]]
            yield ref, Outcome(ref=ref, ok=True, crm_id=cells[index["sf__id"]] or None)

    def failures(self, label: Callable[[str], str]) -> Iterator[tuple[str, Outcome]]:
        for index, cells in self._rows("failedResults"):
            ref = cells[index[self._ref]]
            code, message, fields = parse_error(cells[index["sf__error"]])
            result = {
                "id": cells[index["sf__id"]] or None,
                "success": False,
                "errors": [{"statusCode": code, "message": message, "fields": fields}],
            }
            yield ref, outcome(ref, result, label)

    def unprocessed(self, why: str) -> Iterator[tuple[str, Outcome]]:
        for index, cells in self._rows("unprocessedrecords"):
            ref = cells[index[self._ref]]
            yield (
                ref,
                Outcome(
                    ref=ref,
                    ok=False,
                    error_code="BULK_UNPROCESSED",
                    message=f"not processed: {why}",
                    retriable=True,
                ),
            )

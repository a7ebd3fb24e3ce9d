"""Bulk API 2.0 jobs through simple_salesforce: query results streamed to disk, ingest jobs with results.

Every request goes through the client's translation and retry layer, one request at a time. The JSON
control calls (create, status, close, abort) use ``sf.restful``, which also logs in again on an expired
session; the data calls (upload, one page of results, one results file) use the library's Bulk 2.0
client, one request each. Its ready-made helpers (``query``, ``update``, ...) chain many requests and
sleep ``wait`` seconds before polling, so a fault on one request would restart the whole job and the
wait could not be bounded; polling here has its own deadline and backoff.

A refused Bulk call (a 4xx: an org without Bulk API 2.0, a user without the permission, a job the
org rejects) raises :class:`BulkUnavailableError`, which callers turn into a REST fallback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from connector.crm import paging
from connector.crm.base import CrmError, FatalError, RequestRejectedError, RetriableError
from connector.crm.salesforce.client import SalesforceClient

log = logging.getLogger(__name__)

T = TypeVar("T")

RESULT_PAGE_RECORDS = 50_000
"""``maxRecords`` per page of query results: each page is one call, streamed to a file."""
MAX_RESULT_PAGES = 100_000
"""Hard cap on result pages of one query job (5 billion rows): a locator that never ends fails loudly."""
STATUS_POLLS = 2
"""Status reads a job typically needs (one ``InProgress``, one final): what the planner assumes."""
FIRST_PAUSE = 0.25
MAX_PAUSE = 15.0
TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})
CSV_FORMAT = {"columnDelimiter": "COMMA", "lineEnding": "LF"}


class BulkUnavailableError(FatalError):
    """Salesforce refused a Bulk API 2.0 call or failed the job: the caller reads or writes through REST."""


class BulkTimeoutError(FatalError):
    """A Bulk job did not finish within ``salesforce.bulk_poll_timeout``; it was aborted."""


class BulkJobs:
    """Creates, watches and reads Bulk API 2.0 jobs for one adapter."""

    def __init__(self, client: SalesforceClient, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout

    def _refusable(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except RequestRejectedError as error:
            raise BulkUnavailableError(f"Salesforce refused Bulk API 2.0 {what}: {error}") from error

    # -- query jobs ------------------------------------------------------------------------------
    def start_query(self, soql: str, *, every_row: bool = False) -> str:
        """Create a query job (Salesforce starts it at once); its id. ``every_row``: a ``queryAll`` job."""
        body = {"operation": "queryAll" if every_row else "query", "query": soql, **CSV_FORMAT}
        info = self._refusable("query job", lambda: self._client.rest("jobs/query", "POST", json=body))
        return str(info["id"])

    def query_result_files(self, job_id: str, sobject: str, directory: Path) -> Iterator[Path]:
        """Each page of a finished query job's CSV results as a file in ``directory`` (deleted once the
        caller asks for the next), so that no page is ever held in memory whole."""
        info = self.wait(job_id, query=True)
        if info.get("state") != "JobComplete":
            raise BulkUnavailableError(
                f"Salesforce Bulk query job {job_id} ended {info.get('state')}: {info.get('errorMessage')}"
            )

        def fetch(locator: str | None) -> tuple[Path, str | None]:
            page = self._result_page(sobject, job_id, locator or "", directory)
            following = str(page.get("locator") or "")
            return Path(page["file"]), None if following in ("", "null") else following

        what = f"Salesforce Bulk query job {job_id} results"
        for path in paging.pages(fetch, what=what, cap=MAX_RESULT_PAGES):
            try:
                yield path
            finally:
                path.unlink(missing_ok=True)

    def _result_page(self, sobject: str, job_id: str, locator: str, directory: Path) -> dict[str, Any]:
        handle = self._client.bulk2(sobject)

        def download(sf: Any) -> dict[str, Any]:
            page = handle._client.download_job_data(
                str(directory), job_id, locator, RESULT_PAGE_RECORDS, chunk_size=1 << 20
            )
            return dict(page)

        return self._refusable("query results", lambda: self._client.call("bulk query results", download))

    # -- ingest jobs -----------------------------------------------------------------------------
    def run_ingest(self, sobject: str, operation: str, data: str, external_id: str | None) -> dict[str, Any]:
        """Create an ingest job, upload ``data`` (CSV with header), close it and wait; the final job info.

        The upload is sent once per job: a lost answer to a PUT cannot tell whether Salesforce kept the
        data, and a second upload would process every row twice. So a failed upload aborts its job (an
        aborted job processes nothing) and the whole job is tried again, like one retried request."""
        policy = self._client.policy
        for attempt in range(1, policy.attempts + 1):
            job_id = self._create_ingest(sobject, operation, external_id)
            try:
                self._upload(sobject, job_id, data)
            except RetriableError as error:
                self.abort(job_id, query=False)
                if attempt == policy.attempts:
                    raise
                pause = max(
                    min(policy.max_wait, policy.initial_wait * 2.0 ** (attempt - 1)), error.retry_after or 0
                )
                log.warning("Bulk upload for job %s failed (%s); new job in %.1fs", job_id, error, pause)
                self._client.sleep(pause)
                continue
            self._close(job_id)
            return self.wait(job_id, query=False)
        raise AssertionError("unreachable")  # pragma: no cover

    def _upload(self, sobject: str, job_id: str, data: str) -> None:
        handle = self._client.bulk2(sobject)
        self._refusable(
            "upload", lambda: self._client.call_once(lambda sf: handle._client.upload_job_data(job_id, data))
        )

    def _create_ingest(self, sobject: str, operation: str, external_id: str | None) -> str:
        body: dict[str, Any] = {"object": sobject, "operation": operation, "contentType": "CSV", **CSV_FORMAT}
        if external_id:
            body["externalIdFieldName"] = external_id
        info = self._refusable("ingest job", lambda: self._client.rest("jobs/ingest", "POST", json=body))
        return str(info["id"])

    def _close(self, job_id: str) -> None:
        """``UploadComplete``; a retried close whose first try went through finds the job past Open."""
        path = f"jobs/ingest/{job_id}"
        try:
            self._client.rest(path, "PATCH", json={"state": "UploadComplete"})
        except RequestRejectedError:
            state = self._refusable("job status", lambda: self._client.rest(path)).get("state")
            if state == "Open":
                raise BulkUnavailableError(f"Salesforce refused to close Bulk job {job_id}") from None

    def ingest_result_file(self, sobject: str, job_id: str, kind: str, path: Path) -> Path:
        """One results file of an ingest job (``successfulResults``, ``failedResults``,
        ``unprocessedrecords``), streamed to ``path``."""
        handle = self._client.bulk2(sobject)
        self._refusable(
            kind,
            lambda: self._client.call(
                f"bulk {kind}", lambda sf: handle._client.download_ingest_results(str(path), job_id, kind)
            ),
        )
        return path

    # -- status ----------------------------------------------------------------------------------
    def wait(self, job_id: str, *, query: bool) -> dict[str, Any]:
        """Poll until the job is JobComplete, Failed or Aborted: the first read at once, then pauses
        doubling from 0.25 s to 15 s. Past ``timeout`` (the larger of wall time and pauses taken, so
        an injected sleep is bounded too) the job is aborted and :class:`BulkTimeoutError` raised."""
        path = f"jobs/{'query' if query else 'ingest'}/{job_id}"
        started = time.monotonic()
        waited = 0.0
        pause = FIRST_PAUSE
        while True:
            info: dict[str, Any] = self._refusable("job status", lambda: self._client.rest(path))
            state = str(info.get("state"))
            if state in TERMINAL:
                return info
            spent = max(time.monotonic() - started, waited)
            if spent + pause > self._timeout:
                self.abort(job_id, query=query)
                raise BulkTimeoutError(
                    f"Salesforce Bulk {'query' if query else 'ingest'} job {job_id} was still {state} after "
                    f"{spent:.1f} s; aborted it (raise salesforce.bulk_poll_timeout, now {self._timeout:g} s)"
                )
            self._client.sleep(pause)
            waited += pause
            pause = min(MAX_PAUSE, pause * 2)

    def abort(self, job_id: str, *, query: bool) -> None:
        """Best effort: a job that cannot be aborted (already finished, gone) is left as it is."""
        path = f"jobs/{'query' if query else 'ingest'}/{job_id}"
        try:
            self._client.rest(path, "PATCH", json={"state": "Aborted"})
        except CrmError as error:
            log.info("could not abort Bulk job %s: %s", job_id, error)


class BulkGate:
    """Whether an operation goes through Bulk API 2.0 in this run: one of more than ``threshold`` records,
    until Salesforce refuses a Bulk call; from then on the adapter uses REST (logged once, with the why)."""

    def __init__(self, jobs: BulkJobs, *, threshold: int, page_size: int) -> None:
        self.jobs = jobs
        self.threshold = threshold
        self.page_size = page_size
        self.refused: str | None = None
        """Why Bulk was given up for this run (None while it works)."""

    def wanted(self, records: int) -> bool:
        """Whether an operation on ``records`` records goes through Bulk in this run."""
        return self.refused is None and records > self.threshold

    def either(self, records: int, bulk: Callable[[], T], rest: Callable[[], T]) -> T:
        """The one Bulk-or-REST choice of reads and writes: ``bulk()`` when ``records`` want Bulk, else
        ``rest()``. A refusal (:class:`BulkUnavailableError`) gives Bulk up for the run (:meth:`refuse`)
        and the same operation goes through ``rest()`` instead."""
        if self.wanted(records):
            try:
                return bulk()
            except BulkUnavailableError as error:
                self.refuse(str(error))
        return rest()

    def refuse(self, reason: str) -> None:
        """Give Bulk up for the rest of this run (logged once, with the first reason)."""
        if self.refused is None:
            log.warning("Bulk API 2.0 unavailable; using REST for the rest of this run: %s", reason)
            self.refused = reason

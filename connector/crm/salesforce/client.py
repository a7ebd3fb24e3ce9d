"""The adapter's only door to Salesforce: a lazily logged-in simple_salesforce client whose every call is
translated (``errors.translated``) and retried (``connector.crm.retry``), one HTTP request at a time.

Query results are paged here through ``nextRecordsUrl`` rather than with ``query_all_iter``, so that a
429 or a dropped connection on page 40 retries page 40 alone instead of restarting the query.

The daily usage comes from the ``Sforce-Limit-Info`` header of *every* answer, read by a response hook:
simple_salesforce parses it only for its own REST calls, not for its Bulk 2.0 client's.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Type

from connector.config import SalesforceSettings
from connector.crm import paging
from connector.crm.base import ApiUsage, NotFoundError, RequestRejectedError
from connector.crm.retry import RetryPolicy, retrying
from connector.crm.salesforce.auth import connect, http_session
from connector.crm.salesforce.errors import RetryAfterWatch, translated
from connector.crm.salesforce.soql import chunked

T = TypeVar("T")

log = logging.getLogger(__name__)

URI_TOO_LONG = (414, 431)
"""Salesforce's answers to a URI (or URI plus headers) over 16,384 bytes."""

Record = dict[str, Any]

DEFAULT_BATCH_SIZE = 2000
"""``Sforce-Query-Options: batchSize`` — Salesforce accepts 200-2000 and treats it as a hint."""

MAX_PAGES = 100_000
"""Hard cap on pages of one query (200 million rows at 2000 a page): a runaway cursor fails loudly."""

MAX_RESUMES = 5

_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class LimitWatch:
    """A response hook keeping the last ``Sforce-Limit-Info: api-usage=N/M`` of any answer."""

    def __init__(self) -> None:
        self.last: ApiUsage | None = None

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        found = _API_USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if found:
            self.last = ApiUsage(used=int(found[1]), limit=int(found[2]))
        return response


class SalesforceClient:
    """Translated, retried access to one org; logs in on first use (the session id flow logs in never)."""

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._policy = policy
        self._sleep = sleep
        self._watch = RetryAfterWatch()
        self._limits = LimitWatch()
        self._sf: Salesforce | None = None

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    @property
    def sleep(self) -> Callable[[float], None]:
        return self._sleep

    def _run(self, what: str, fn: Callable[[], T]) -> T:
        attempt = retrying(self._policy, sleep=self._sleep, what=f"Salesforce {what}")
        result: T = attempt(translated, fn, self._watch)
        return result

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            session = http_session(self._settings)
            session.hooks["response"].append(self._watch.hook)
            session.hooks["response"].append(self._limits.hook)
            self._sf = self._run("login", lambda: connect(self._settings, session))
        return self._sf

    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """Run ``fn(sf)`` (one HTTP request) under translation and retry."""
        sf = self.sf
        return self._run(what, lambda: fn(sf))

    def call_once(self, fn: Callable[[Salesforce], T]) -> T:
        """Run ``fn(sf)`` translated but *not* retried: for a request that must not be sent twice."""
        sf = self.sf
        return translated(lambda: fn(sf), self._watch)

    def rest(self, path: str, method: str = "GET", **kwargs: Any) -> Any:
        return self.call(f"{method} {path}", lambda sf: sf.restful(path, method=method, **kwargs))

    def bulk2(self, sobject: str) -> SFBulk2Type:
        """simple_salesforce's Bulk 2.0 handle for ``sobject``, built per call so that it carries the
        current session id (a REST call may have logged in again since)."""
        handle: SFBulk2Type = getattr(self.sf.bulk2, sobject)
        return handle

    def tooling(self, action: str, method: str = "GET", data: dict[str, Any] | None = None) -> Any:
        return self.call(
            f"tooling {method} {action}", lambda sf: sf.toolingexecute(action, method=method, data=data)
        )

    def describe(self, sobject: str) -> dict[str, Any] | None:
        """``sobjects/{O}/describe``, or None when the object does not exist (or is not visible)."""
        try:
            result: dict[str, Any] = self.rest(f"sobjects/{sobject}/describe")
        except NotFoundError:
            return None
        return result

    def query_pages(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        tooling: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        resume: Callable[[str], str] | None = None,
    ) -> Iterator[list[Record]]:
        """The pages of ``soql``. With ``resume`` (the query must ``ORDER BY Id`` and select ``Id``),
        an expired or evicted cursor (``INVALID_QUERY_LOCATOR``) restarts after the last Id read."""
        return iter(
            self.pager(
                soql, include_deleted=include_deleted, tooling=tooling, batch_size=batch_size, resume=resume
            )
        )

    def pager(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        tooling: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        resume: Callable[[str], str] | None = None,
    ) -> QueryPager:
        """Like :meth:`query_pages`, as an object whose ``total`` is the first page's ``totalSize``."""
        return QueryPager(self, soql, include_deleted, tooling, batch_size, resume)

    def records(self, soql: str, **kwargs: Any) -> Iterator[Record]:
        for page in self.query_pages(soql, **kwargs):
            yield from page

    def records_in(
        self, build: Callable[[Sequence[str]], str], values: Sequence[str], **kwargs: Any
    ) -> Iterator[Record]:
        """The rows of ``build(chunk)`` over chunks of ``values`` (see :func:`soql.chunked`: each GET
        stays under :data:`soql.MAX_ENCODED_QUERY`). Should Salesforce still refuse a chunk's URI (414,
        or 431 with the headers), the chunk is split in two and each half sent instead."""
        for chunk, soql in chunked(build, values):
            yield from self._records_splitting(build, chunk, soql, kwargs)

    def _records_splitting(
        self, build: Callable[[Sequence[str]], str], chunk: list[str], soql: str, kwargs: dict[str, Any]
    ) -> Iterator[Record]:
        pages = self.query_pages(soql, **kwargs)
        try:
            first = next(pages, [])  # a 414/431 comes on the first page: nothing is yielded yet
        except RequestRejectedError as error:
            if error.status not in URI_TOO_LONG or len(chunk) < 2:
                raise
            log.warning(
                "Salesforce refused a %s-value query as too long (%s); splitting it", len(chunk), error.status
            )
            half = len(chunk) // 2
            for part in (chunk[:half], chunk[half:]):
                yield from self._records_splitting(build, part, build(part), kwargs)
            return
        yield from first
        for page in pages:
            yield from page

    def first_page(self, soql: str, *, include_deleted: bool, tooling: bool, batch_size: int) -> Any:
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
        if tooling:
            return self.call(
                "tooling query",
                lambda sf: sf.toolingexecute("query", params={"q": soql}, headers=headers),
            )
        return self.call("query", lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers))

    def next_page(self, url: str, batch_size: int) -> Any:
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
        return self.call("query more", lambda sf: sf.query_more(url, identifier_is_url=True, headers=headers))

    def usage(self) -> ApiUsage | None:
        """The ``Sforce-Limit-Info: api-usage=N/M`` of the last answer (None before any call)."""
        return self._limits.last if self._sf is not None else None


class QueryPager:
    """One query's pages via ``nextRecordsUrl`` (``connector.crm.paging``: loop detection, a page cap),
    resumed after the last Id read when the cursor expires."""

    def __init__(
        self,
        client: SalesforceClient,
        soql: str,
        include_deleted: bool,
        tooling: bool,
        batch_size: int,
        resume: Callable[[str], str] | None,
    ) -> None:
        self._client = client
        self._soql = soql
        self._include_deleted = include_deleted
        self._tooling = tooling
        self._batch = batch_size
        self._resume = resume
        self.total: int | None = None
        """``totalSize`` of the first answer: the whole result's size, known after the first page."""

    def _first(self, soql: str) -> Any:
        return self._client.first_page(
            soql, include_deleted=self._include_deleted, tooling=self._tooling, batch_size=self._batch
        )

    def __iter__(self) -> Iterator[list[Record]]:
        last_id: str | None = None
        resumes = 0

        def fetch(url: str | None) -> tuple[list[Record], str | None]:
            nonlocal last_id, resumes
            if url is None:
                page = self._first(self._soql)
                self.total = int(page.get("totalSize") or 0)
            else:
                try:
                    page = self._client.next_page(url, self._batch)
                except RequestRejectedError as error:
                    if error.code != "INVALID_QUERY_LOCATOR" or self._resume is None or last_id is None:
                        raise
                    resumes += 1
                    if resumes > MAX_RESUMES:
                        raise
                    page = self._first(self._resume(last_id))
            records: list[Record] = page.get("records") or []
            if records and "Id" in records[-1]:
                last_id = str(records[-1]["Id"])
            if page.get("done", True):
                return records, None
            return records, str(page.get("nextRecordsUrl") or "")  # an empty one is a loop

        return paging.pages(fetch, what=f"Salesforce query {self._soql[:200]!r}", cap=MAX_PAGES)

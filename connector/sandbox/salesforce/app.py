"""``SalesforceSandbox``: the stateful Salesforce org tiersync's tests, fault runs and benchmarks talk to.

Every request walks the same pipeline: route -> bearer auth -> daily API limit (``Sforce-Limit-Info``
on every answer, 403 ``REQUEST_LIMIT_EXCEEDED`` when spent) -> request fault -> handler under the one
org lock -> ledger. A faulted request changes nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ..faults import Fault, FaultInjector
from ..ledger import Ledger
from ..server import IncompleteBodyError, StartResponse, drop_connection
from . import persistence, seed
from .auth import Authenticator
from .bulk import BulkApi
from .errors import ApiError
from .org import Org
from .rest import OLDEST_VERSION, RestApi
from .tooling import ToolingApi
from .web import MAX_URI_AND_HEADERS, Reply, Request, Router, error_reply, oversized_reply

CRM = "salesforce"
EDITOR_SESSION_ID = "sandbox-editor-token"
"""The session id of the org's second user (``Org.editor_user_id``): a person editing records."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SalesforceSandbox:
    """A local org speaking the REST, Bulk 2.0, Tooling, SOAP-login and OAuth APIs simple_salesforce uses."""

    def __init__(
        self,
        ledger: Ledger,
        faults: FaultInjector,
        *,
        session_id: str = "sandbox-session-token",
        editor_session_id: str = EDITOR_SESSION_ID,
        daily_api_limit: int = 1_000_000,
        username: str = "sandbox@tiersync.local",
        password: str = "sandbox",  # noqa: S107  # the sandbox's own, documented credentials
        security_token: str = "token",  # noqa: S107
        clock: Callable[[], dt.datetime] = _utc_now,
        max_open_cursors: int = 10,
        bulk_in_progress_polls: int = 1,
    ) -> None:
        self.ledger = ledger
        self.faults = faults
        self._daily_api_limit = daily_api_limit
        self._api_used = 0
        self.max_request_bytes = MAX_URI_AND_HEADERS
        """URI + headers above this answer 414/431; Salesforce's 16,384, lowered by tests to stand for a
        stricter proxy in front of the org."""
        self._lock = threading.RLock()
        self.org = Org(clock=clock, faults=faults, username=username)
        self.auth = Authenticator(
            session_id=session_id,
            username=username,
            password=password,
            security_token=security_token,
            org_id=self.org.org_id,
            user_id=self.org.api_user_id,
        )
        self.auth.other_sessions[editor_session_id] = self.org.editor_user_id
        self.editor_session_id = editor_session_id
        self.router = Router()
        self.router.add("POST", "/services/Soap/u/{version}", self.auth.soap_login, api=False)
        self.router.add("POST", "/services/oauth2/token", self.auth.oauth_token, api=False)
        self.rest = RestApi(self.org, self._usage, max_open_cursors=max_open_cursors)
        self.tooling = ToolingApi(self.org, self.rest.cursors)
        self.bulk = BulkApi(self.org, in_progress_polls=bulk_in_progress_polls)
        self.tooling.register(self.router)
        self.bulk.register(self.router)
        self.rest.register(self.router)

    # -- inspection and setup (tests, demos) -------------------------------------------------------
    @property
    def api_daily_limit(self) -> int:
        return self._daily_api_limit

    @property
    def api_used(self) -> int:
        return self._api_used

    def set_api_usage(self, used: int) -> None:
        with self._lock:
            self._api_used = used

    def set_daily_api_limit(self, limit: int) -> None:
        """A smaller (or larger) daily allowance from now on, e.g. to make a backfill run in slices."""
        with self._lock:
            self._daily_api_limit = limit

    def _usage(self) -> tuple[int, int]:
        return self._api_used, self._daily_api_limit

    def expire_sessions(self) -> None:
        """Make every token minted by a login invalid (the next call answers 401 INVALID_SESSION_ID)."""
        with self._lock:
            self.auth.expire_sessions()

    def seed(self, roster: seed.RosterSource) -> dict[str, str]:
        """Load a canonical roster in the documented Salesforce shapes; canonical account id -> Account Id."""
        with self._lock:
            return seed.load(self.org, roster)

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Copies of every stored row, soft-deleted ones included (``IsDeleted``)."""
        with self._lock:
            obj = self.org.sobject(sobject)
            if obj is None:
                raise KeyError(sobject)
            return [copy.deepcopy(row.to_dict()) for row in self.org.data.rows(obj.name)]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            obj = self.org.sobject(sobject)
            if obj is None:
                raise KeyError(sobject)
            row = self.org.data.get(obj.name, record_id)
            return copy.deepcopy(row.to_dict()) if row is not None else None

    def refresh_org_id(self) -> str:
        """What a sandbox refresh does to the org's identity: the records stay (ids included), the
        Organization Id is new. Returns it."""
        with self._lock:
            org = self.org
            old = org.data.get("Organization", org.org_id)
            org.org_id = org.data.new_id(org.data.objects["Organization"])
            org.data.remove("Organization", old["Id"] if old else "")
            org.insert_raw("Organization", {"Id": org.org_id, "Name": "Tiersync Sandbox", "IsSandbox": True})
            self.auth.org_id = org.org_id
            return org.org_id

    def to_sqlite(self, path: str | Path) -> None:
        with self._lock:
            persistence.save(self.org, Path(path), api_used=self._api_used)

    def load_sqlite(self, path: str | Path) -> None:
        """Replace this org's state with a saved one (the server can keep running)."""
        with self._lock:
            self._api_used = persistence.load(self.org, Path(path))
            self.auth.org_id, self.auth.user_id = self.org.org_id, self.org.api_user_id
            self.auth.other_sessions[self.editor_session_id] = self.org.editor_user_id

    # -- WSGI -----------------------------------------------------------------------------------
    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = Request.from_environ(environ)
        except IncompleteBodyError:  # the client died mid-send: nothing to serve, validate or record
            return drop_connection(environ, start_response)
        fault: Fault | None = None
        oversized = oversized_reply(environ, self.max_request_bytes)
        if oversized is not None:  # refused at the edge: not authenticated, not counted
            self._record(request, oversized.status, oversized, None)
            start_response(
                f"{oversized.status} {HTTPStatus(oversized.status).phrase}",
                [("Content-Type", oversized.content_type), ("Content-Length", str(len(oversized.body)))],
            )
            return [oversized.body]
        try:
            route, params = self.router.match(request.method, request.raw_path or request.path)
            version = params.get("version")
            if version is not None and float(version) < OLDEST_VERSION:
                raise ApiError(
                    404, "NOT_FOUND", f"API version {version} is not served by the tiersync sandbox"
                )
            user = self.org.api_user_id
            if route.api:
                found = self.auth.user_for(request.headers.get("authorization"))
                if found is None:
                    raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
                user = found
                with self._lock:
                    if self._api_used >= self._daily_api_limit:
                        raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                    self._api_used += 1
                fault = self.faults.request_fault(write=route.writes)
                if fault is Fault.RESET:
                    self._record(request, 0, Reply(0), fault)
                    return drop_connection(environ, start_response)
                if fault is Fault.SLOW:
                    if not self.faults.plan.answer_late:
                        time.sleep(self.faults.plan.slow_seconds)
                elif fault is not None:
                    raise self._fault_error(fault)
            with self._lock:
                self.org.acting_user_id = user
                try:
                    reply = route.handler(request, params)
                finally:
                    self.org.acting_user_id = self.org.api_user_id
            if fault is Fault.SLOW and self.faults.plan.answer_late:
                time.sleep(self.faults.plan.slow_seconds)
        except ApiError as error:
            reply = error_reply(error)
        if request.path.startswith("/services/data/"):
            used, maximum = self._usage()
            reply.headers.append(("Sforce-Limit-Info", f"api-usage={used}/{maximum}"))
        self._record(request, reply.status, reply, fault)
        headers = [("Content-Type", reply.content_type), *reply.headers]
        if reply.status != 204:
            headers.append(("Content-Length", str(len(reply.body))))
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", headers)
        return [reply.body] if reply.status != 204 else []

    def _fault_error(self, fault: Fault) -> ApiError:
        retry = [("Retry-After", str(self.faults.plan.retry_after_seconds))]
        if fault is Fault.RATE_LIMIT:
            return ApiError(
                429,
                "REQUEST_LIMIT_EXCEEDED",
                "Too many requests; retry after the Retry-After delay",
                headers=retry,
            )
        if fault is Fault.CONCURRENT_LIMIT:
            # the same status and code as the daily limit: only the message tells them apart
            return ApiError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
        if fault is Fault.UNAVAILABLE:
            return ApiError(
                503,
                "SERVER_UNAVAILABLE",
                "Server unavailable: concurrent request limit reached",
                headers=retry,
            )
        return ApiError(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1234567890-12345 (-1234567890)",
        )

    def _record(self, request: Request, status: int, reply: Reply, fault: Fault | None) -> None:
        self.ledger.record(
            crm=CRM,
            method=request.method,
            path=request.path,
            status=status,
            records=reply.records if status < 300 else 0,
            write=reply.changed and status < 300,
            fault=fault.value if fault is not None else None,
        )

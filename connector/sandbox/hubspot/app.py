"""The HubSpot sandbox: one WSGI app that answers the real ``hubspot-api-client`` like HubSpot would.

Every request passes the same gates in HubSpot's order — bearer token (401), rate budgets (429 with
``Retry-After``), injected faults, then the OpenAPI contract (400) — before a handler touches data, so a
refused or faulted request applies nothing. Every answer carries the rate-limit headers and is written
to the ledger with whether it changed data (a search or batch read is a POST that does not).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.model import Roster
from connector.sandbox.faults import Fault, FaultInjector
from connector.sandbox.hubspot import persistence
from connector.sandbox.hubspot.associations_api import AssociationsApi
from connector.sandbox.hubspot.errors import AUTH_MESSAGE, ApiError, rate_limited
from connector.sandbox.hubspot.objects_api import ObjectsApi
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.properties_api import PropertiesApi
from connector.sandbox.hubspot.ratelimit import RateLimiter
from connector.sandbox.hubspot.seed import Seeder
from connector.sandbox.hubspot.spec import BooleanQuery, SpecCheck
from connector.sandbox.hubspot.wire import Request, Response
from connector.sandbox.ledger import Ledger
from connector.sandbox.server import IncompleteBodyError, StartResponse, drop_connection

CRM = "hubspot"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Response]
    write: bool
    """Changes CRM data (objects, associations or the property schema)."""
    search: bool = False


_SEG = r"([^/]+)"
ACCOUNT_DETAILS = "/account-info/v3/details"
"""Not in the vendored CRM specs: its answer follows HubSpot's documented example field by field."""


def _spec_path(path: str) -> str:
    """The client sends ``/crm/v3/owners/`` where the spec says ``/crm/v3/owners``; HubSpot serves both."""
    return path.rstrip("/") or "/"


class HubSpotSandbox:
    """A stateful HubSpot portal behind a WSGI app; serve it with ``connector.sandbox.server.serve``.

    ``burst_limit``, ``search_per_second`` and ``daily_limit`` of 0 switch that budget off;
    ``validate_requests=True`` answers 400 to any request that does not match HubSpot's OpenAPI specs,
    and ``validate_responses=True`` checks every answer against them too. Both need a ``validator``
    (:class:`~connector.sandbox.hubspot.spec.SpecCheck`): the tests hand in their openapi-core one (a dev
    extra), while ``demo`` and ``sandbox serve`` run on the plain install without it (and the
    validation costs a few ms per call).
    """

    def __init__(
        self,
        ledger: Ledger,
        faults: FaultInjector,
        *,
        access_token: str = "sandbox-private-app-token",  # noqa: S107  # the sandbox's own fake token
        burst_limit: int = 100,
        burst_window_seconds: float = 10.0,
        search_per_second: int = 5,
        daily_limit: int = 500_000,
        clock: Callable[[], dt.datetime] = utcnow,
        validator: SpecCheck | None = None,
        validate_requests: bool = False,
        validate_responses: bool = False,
    ) -> None:
        self.ledger = ledger
        self.faults = faults
        self.access_token = access_token
        self.validate_requests = validate_requests
        self.validate_responses = validate_responses
        self.validation_errors: list[str] = []
        """Requests that did not conform to HubSpot's OpenAPI spec (each was answered 400)."""
        self.response_validation_errors: list[str] = []
        """Answers that did not match the spec (only filled when ``validate_responses`` is on)."""
        self.limits = RateLimiter(
            burst_limit=burst_limit,
            burst_window_seconds=burst_window_seconds,
            search_per_second=search_per_second,
            daily_limit=daily_limit,
            clock=clock,
        )
        self.portal = Portal(faults, clock)
        self._spec = validator
        if (validate_requests or validate_responses) and validator is None:
            raise ValueError("validate_requests / validate_responses need a validator (SpecCheck)")
        self._booleans = BooleanQuery()
        self._lock = threading.RLock()
        self._routes = self._build_routes()

    # -- routing ----------------------------------------------------------------------------------
    def _build_routes(self) -> list[Route]:
        objects = ObjectsApi(self.portal)
        props = PropertiesApi(self.portal)
        assoc = AssociationsApi(self.portal)
        obj = "/crm/v3/objects/" + _SEG
        prop = "/crm/v3/properties/" + _SEG
        v4 = "/crm/v4/associations/" + _SEG + "/" + _SEG
        v4_obj = "/crm/v4/objects/" + _SEG + "/" + _SEG + "/associations/"
        table: list[tuple[str, str, Callable[..., Response], bool]] = [
            ("GET", obj, objects.list, False),
            ("POST", obj, objects.create, True),
            ("POST", obj + "/batch/read", objects.batch_read, False),
            ("POST", obj + "/batch/create", objects.batch_create, True),
            ("POST", obj + "/batch/update", objects.batch_update, True),
            ("POST", obj + "/batch/upsert", objects.batch_upsert, True),
            ("POST", obj + "/batch/archive", objects.batch_archive, True),
            ("POST", obj + "/search", objects.search, False),
            ("GET", obj + "/" + _SEG, objects.read, False),
            ("PATCH", obj + "/" + _SEG, objects.update, True),
            ("DELETE", obj + "/" + _SEG, objects.archive, True),
            ("GET", prop, props.list, False),
            ("POST", prop, props.create, True),
            ("POST", prop + "/batch/read", props.batch_read, False),
            ("POST", prop + "/batch/create", props.batch_create, True),
            ("POST", prop + "/batch/archive", props.batch_archive, True),
            ("GET", prop + "/groups", props.groups, False),
            ("POST", prop + "/groups", props.create_group, True),
            ("GET", prop + "/groups/" + _SEG, props.read_group, False),
            ("PATCH", prop + "/groups/" + _SEG, props.update_group, True),
            ("DELETE", prop + "/groups/" + _SEG, props.archive_group, True),
            ("GET", prop + "/" + _SEG, props.read, False),
            ("PATCH", prop + "/" + _SEG, props.update, True),
            ("DELETE", prop + "/" + _SEG, props.archive, True),
            ("GET", "/crm/v3/owners/?", props.owners, False),
            ("GET", "/crm/v3/owners/" + _SEG, props.owner, False),
            ("POST", v4 + "/batch/read", assoc.batch_read, False),
            ("POST", v4 + "/batch/associate/default", assoc.batch_default, True),
            ("POST", v4 + "/batch/create", assoc.batch_create, True),
            ("POST", v4 + "/batch/archive", assoc.batch_archive, True),
            ("POST", v4 + "/batch/labels/archive", assoc.batch_archive_labels, True),
            ("PUT", v4_obj + "default/" + _SEG + "/" + _SEG, assoc.create_default, True),
            ("GET", v4_obj + _SEG, assoc.list_for, False),
            ("PUT", v4_obj + _SEG + "/" + _SEG, assoc.create_labelled, True),
            ("DELETE", v4_obj + _SEG + "/" + _SEG, assoc.remove, True),
            ("GET", ACCOUNT_DETAILS, self._account_details, False),
        ]
        return [
            Route(method, re.compile(f"^{pattern}$"), handler, write, search=pattern.endswith("/search"))
            for method, pattern, handler, write in table
        ]

    def _route(self, request: Request) -> tuple[Route | None, tuple[str, ...]]:
        for route in self._routes:
            if route.method == request.method:
                match = route.pattern.match(request.path)
                if match:
                    return route, match.groups()
        return None, ()

    # -- WSGI -------------------------------------------------------------------------------------
    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = Request.from_environ(environ)
        except IncompleteBodyError:  # the client died mid-send: nothing to serve, validate or record
            return drop_connection(environ, start_response)
        route, args = self._route(request)
        write = route.write if route else request.method != "GET"
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            error = ApiError(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)
            return self._finish(start_response, request, Response.error(error), write=write, limits=False)
        rejection = self.limits.admit(search=route.search if route else False)
        if rejection is not None:
            refused = Response(429, rate_limited(rejection.policy, rejection.message))
            if rejection.retry_after is not None:
                refused.headers.append(("Retry-After", str(rejection.retry_after)))
            return self._finish(start_response, request, refused, write=write)
        fault = self.faults.request_fault(write=write)
        if fault is Fault.RESET:
            self.ledger.record(
                crm=CRM, method=request.method, path=request.path, status=0, write=False, fault=fault.value
            )
            return drop_connection(environ, start_response)
        if fault is not None and fault is not Fault.SLOW:
            return self._finish(start_response, request, self._faulted(fault), write=write, fault=fault)
        late = fault is Fault.SLOW and self.faults.plan.answer_late
        if fault is Fault.SLOW and not late:
            time.sleep(self.faults.plan.slow_seconds)
        response = self._serve(request, route, args)
        if late:
            time.sleep(self.faults.plan.slow_seconds)
        return self._finish(start_response, request, response, write=write, fault=fault)

    def _faulted(self, fault: Fault) -> Response:
        if fault is Fault.RATE_LIMIT:
            response = Response(
                429, rate_limited("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
            )
            response.headers.append(("Retry-After", str(self.faults.plan.retry_after_seconds)))
            return response
        if fault is Fault.UNAVAILABLE:
            return Response.error(ApiError(503, "SERVICE_UNAVAILABLE", "Service unavailable; retry later."))
        return Response.error(ApiError(500, "INTERNAL_ERROR", "Internal error; retry later."))

    def _account_details(self, request: Request) -> Response:
        """``GET /account-info/v3/details`` (HubSpot "Retrieve account details"): every documented
        field is required; ``portalId`` is the Hub ID a state is bound to."""
        return Response(
            200,
            {
                "portalId": self.portal.portal_id,
                "accountType": "STANDARD",
                "timeZone": "Etc/UTC",
                "companyCurrency": "EUR",
                "additionalCurrencies": [],
                "utcOffset": "+00:00",
                "utcOffsetMilliseconds": 0,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "eu1",
            },
        )

    def _serve(self, request: Request, route: Route | None, args: tuple[str, ...]) -> Response:
        if route is None:
            return Response.error(
                ApiError(404, "OBJECT_NOT_FOUND", f"No endpoint {request.method} {request.path}.")
            )
        problems = self._booleans.errors(request.method, _spec_path(request.path), request.query)
        if self.validate_requests and not problems and request.path != ACCOUNT_DETAILS:
            problems = self._validator().request_errors(
                request.method, _spec_path(request.path), request.query, request.headers, request.body
            )
        if problems:
            self.validation_errors.append(f"{request.method} {request.path}: {' | '.join(problems)}")
            return Response.error(
                ApiError(
                    400, "VALIDATION_ERROR", "Request does not match HubSpot's API: " + " | ".join(problems)
                )
            )
        try:
            with self._lock:
                return route.handler(request, *args)
        except ApiError as exc:
            return Response.error(exc)

    def _finish(
        self,
        start_response: StartResponse,
        request: Request,
        response: Response,
        *,
        write: bool,
        fault: Fault | None = None,
        limits: bool = True,
    ) -> Iterable[bytes]:
        payload = response.encoded()
        if self.validate_responses and response.status != 429 and request.path != ACCOUNT_DETAILS:
            problems = self._validator().response_errors(
                request.method, _spec_path(request.path), request.query, response.status, payload
            )
            if problems:
                self.response_validation_errors.append(
                    f"{request.method} {request.path} -> {response.status}: {' | '.join(problems)}"
                )
        headers = [("X-HubSpot-Correlation-Id", str(uuid.uuid4())), *response.headers]
        if limits:
            headers += self.limits.headers()
        if payload:
            headers.append(("Content-Type", "application/json;charset=utf-8"))
        headers.append(("Content-Length", str(len(payload))))
        ok = response.status < 300
        self.ledger.record(
            crm=CRM,
            method=request.method,
            path=request.path,
            status=response.status,
            records=response.records,
            write=write and ok,
            fault=fault.value if fault else None,
        )
        start_response(response.status_line, headers)
        return [payload]

    def _validator(self) -> SpecCheck:
        if self._spec is None:  # a flag turned on later without a validator: refuse, never skip quietly
            raise RuntimeError("validate_requests / validate_responses need HubSpotSandbox(validator=...)")
        return self._spec

    # -- inspection and setup ----------------------------------------------------------------------
    def seed(self, roster: Roster) -> dict[str, str]:
        """Load ``roster`` in HubSpot shapes; returns canonical account id -> HubSpot company id."""
        with self._lock:
            return Seeder(self.portal).roster(roster)

    def seed_companies(
        self, count: int, *, prefix: str = "Company", customer_share: float = 1.0
    ) -> list[str]:
        """``count`` bare companies, cheaply (volume for paging and search-cap tests); ``customer_share``
        of them customers, the rest leads (see ``Seeder.companies``)."""
        with self._lock:
            return Seeder(self.portal).companies(count, prefix=prefix, customer_share=customer_share)

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.inspect() for r in self.portal.store.all_records(self.portal.object_type(object_type))]

    def get(self, object_type: str, object_id: str) -> dict[str, Any] | None:
        with self._lock:
            resolved = self.portal.object_type(object_type)
            record = self.portal.store.get(resolved, object_id) or self.portal.store.get(
                resolved, object_id, archived=True
            )
            return None if record is None else record.inspect()

    def associations(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        with self._lock:
            targets = self.portal.associations.targets(
                self.portal.object_type(from_type), from_id, self.portal.object_type(to_type)
            )
            return sorted(targets, key=int)

    def owners(self) -> list[dict[str, Any]]:
        with self._lock:
            return [o.to_json() for o in self.portal.store.owners.values()]

    def set_daily_usage(self, used: int) -> None:
        self.limits.set_daily_usage(used)

    def to_sqlite(self, path: Path | str) -> None:
        with self._lock:
            persistence.save(self.portal, Path(path))

    def load_sqlite(self, path: Path | str) -> None:
        with self._lock:
            persistence.load(self.portal, Path(path))

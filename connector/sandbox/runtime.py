"""Starting the sandbox CRMs: seeded from the synthetic roster, served on 127.0.0.1, inspectable.

Used by ``tiersync sandbox serve``, ``tiersync demo``, the test fixtures and the benchmarks. Each
CRM gets its own port; both share one call ledger and one fault injector. Besides the vendor API,
each port answers a small admin API under ``/_sandbox/`` (same bearer token), so that another
process (a test, ``tiersync sandbox show``) can read the ledger, inspect a record or set faults:

* ``GET /_sandbox/ledger`` — every call so far (``POST /_sandbox/ledger/reset`` empties it);
* ``GET /_sandbox/show/<account id>`` — the account as the CRM holds it, with its tasks;
* ``PUT /_sandbox/faults`` — ``{"profile": "flaky"}`` or a plan: ``{"seed": 1, "request_rates":
  {"rate_limit": 0.1}, "record_rates": {"lock_row": 0.05}, "failing_records": {...}}``;
* ``PUT /_sandbox/api-usage`` — ``{"used": 99000}``: the daily API calls already spent (Salesforce).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.frames import RosterView, to_roster
from connector.model import Roster
from connector.sample_data import generate
from connector.sandbox.faults import PROFILES, Fault, FaultInjector, FaultPlan, RecordFault
from connector.sandbox.ledger import Ledger
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.salesforce.seed import RosterSource
from connector.sandbox.server import RunningServer, StartResponse, WSGIApp, sandbox_ca, serve

if TYPE_CHECKING:  # the HubSpot sandbox is imported only when it starts
    from connector.sandbox.hubspot.spec import SpecCheck

SF_TOKEN = "sandbox-session-token"  # noqa: S105 - the local sandbox's fixed, public token
HS_TOKEN = "sandbox-private-app-token"  # noqa: S105 - the local sandbox's fixed, public token
CONNECTION_FILE = "sandbox-connection.json"


def plan_from_json(data: dict[str, Any]) -> FaultPlan:
    """A fault plan from the admin API's JSON (or a named profile)."""
    if "profile" in data:
        name = str(data["profile"])
        if name not in PROFILES:
            raise ValueError(f"unknown fault profile {name!r} (known: {', '.join(PROFILES)})")
        return PROFILES[name]
    return FaultPlan(
        seed=int(data.get("seed", 0)),
        request_rates={Fault(k): float(v) for k, v in data.get("request_rates", {}).items()},
        record_rates={RecordFault(k): float(v) for k, v in data.get("record_rates", {}).items()},
        schedule={int(k): Fault(v) for k, v in data.get("schedule", {}).items()},
        failing_records={str(k): RecordFault(v) for k, v in data.get("failing_records", {}).items()},
        retry_after_seconds=int(data.get("retry_after_seconds", 1)),
        slow_seconds=float(data.get("slow_seconds", 0.5)),
        only_writes=bool(data.get("only_writes", False)),
    )


def _json(start_response: StartResponse, status: str, body: Any) -> Iterable[bytes]:
    payload = json.dumps(body, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


@dataclass
class Sandbox:
    """Running sandbox CRMs and everything a caller needs to point tiersync at them."""

    ledger: Ledger
    faults: FaultInjector
    workdir: Path
    salesforce: SalesforceSandbox | None = None
    salesforce_server: RunningServer | None = None
    hubspot: Any = None
    hubspot_server: RunningServer | None = None
    account_ids: dict[str, dict[str, str]] = field(default_factory=dict)
    """CRM -> canonical account id -> the CRM's id."""

    def admin(self, crm: str, app: WSGIApp, token: str) -> WSGIApp:
        def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            path: str = environ.get("PATH_INFO", "")
            if not path.startswith("/_sandbox/"):
                # the serving thread's own CPU: flat per call as the org grows, or the sandbox bounds a run
                cpu = time.thread_time()
                body = app(environ, start_response)
                self.ledger.add_cpu(time.thread_time() - cpu)
                return body
            if environ.get("HTTP_AUTHORIZATION") != f"Bearer {token}":
                return _json(start_response, "401 Unauthorized", {"message": "admin needs the sandbox token"})
            return self._admin(crm, environ, start_response, path.removeprefix("/_sandbox/"))

        return wrapped

    def _admin(
        self, crm: str, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "ledger" and method == "GET":
            return _json(start_response, "200 OK", self.ledger.as_json())
        if path == "ledger/reset" and method == "POST":
            self.ledger.reset()
            return _json(start_response, "200 OK", {"ok": True})
        if path == "faults" and method == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                plan = plan_from_json(json.loads(environ["wsgi.input"].read(length) or b"{}"))
            except (ValueError, KeyError) as exc:
                return _json(start_response, "400 Bad Request", {"message": str(exc)})
            self.faults.configure(plan)
            return _json(start_response, "200 OK", {"ok": True})
        if path == "api-usage" and method == "PUT" and self.salesforce is not None:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            self.salesforce.set_api_usage(
                int(json.loads(environ["wsgi.input"].read(length) or b"{}")["used"])
            )
            return _json(start_response, "200 OK", {"ok": True})
        if path.startswith("show/") and method == "GET":
            shown = self.show(crm, path.removeprefix("show/"))
            if shown is None:
                return _json(start_response, "404 Not Found", {"message": "no such account"})
            return _json(start_response, "200 OK", shown)
        return _json(start_response, "404 Not Found", {"message": f"no admin endpoint {method} {path}"})

    def show(self, crm: str, account_id: str) -> dict[str, Any] | None:
        """The account as the CRM holds it, with the tasks linked to it."""
        if crm == "salesforce" and self.salesforce is not None:
            record = self.salesforce.get("Account", account_id)
            if record is None:
                return None
            tasks = [
                t
                for t in self.salesforce.records("Task")
                if t.get("WhatId") == record["Id"] and not t.get("IsDeleted")
            ]
            return {"record": record, "tasks": tasks}
        if crm == "hubspot" and self.hubspot is not None:
            company = self.hubspot.get("companies", account_id)
            if company is None:
                return None
            task_ids = self.hubspot.associations("companies", account_id, "tasks")
            return {"record": company, "tasks": [self.hubspot.get("tasks", t) for t in task_ids]}
        return None

    def salesforce_settings(self) -> dict[str, Any]:
        """Settings values that point tiersync's Salesforce adapter at this sandbox."""
        assert self.salesforce_server is not None
        return {
            "instance_url": self.salesforce_server.url,
            "session_id": SF_TOKEN,
            "ca_bundle": str(self.salesforce_server.ca_path),
        }

    def hubspot_settings(self) -> dict[str, Any]:
        """Settings values that point tiersync's HubSpot adapter at this sandbox."""
        assert self.hubspot_server is not None
        return {
            "host": self.hubspot_server.url,
            "access_token": HS_TOKEN,
            "ca_bundle": str(self.hubspot_server.ca_path),
        }

    def connection_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"workdir": str(self.workdir)}
        if self.salesforce_server is not None:
            info["salesforce"] = self.salesforce_settings()
        if self.hubspot_server is not None:
            info["hubspot"] = self.hubspot_settings()
        return info

    def write_connection_file(self) -> Path:
        path = self.workdir / CONNECTION_FILE
        path.write_text(json.dumps(self.connection_info(), indent=1), encoding="utf-8")
        return path

    def stop(self) -> None:
        for server in (self.salesforce_server, self.hubspot_server):
            if server is not None:
                server.stop()


def start(
    crm: str = "salesforce",
    *,
    accounts: int = 2000,
    seed: int = 7,
    as_of: dt.date | None = None,
    faults: FaultPlan | None = None,
    workdir: Path | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    daily_api_limit: int = 1_000_000,
    validator: SpecCheck | None = None,
) -> Sandbox:
    """Start the sandbox for ``crm`` (``salesforce``, ``hubspot`` or ``both``), seeded with a
    generated roster of ``accounts`` clients (0 for an empty org). ``validator`` checks every HubSpot
    request against its OpenAPI specs (the tests hand in their openapi-core one, a dev extra)."""
    if crm not in ("salesforce", "hubspot", "both"):
        raise ValueError(f"unknown sandbox CRM {crm!r}: use salesforce, hubspot or both")
    directory = workdir or Path(tempfile.mkdtemp(prefix="tiersync-sandbox-"))
    directory.mkdir(parents=True, exist_ok=True)
    ledger, injector = Ledger(), FaultInjector()
    sandbox = Sandbox(ledger=ledger, faults=injector, workdir=directory)
    # Salesforce seeds from the frames a record at a time, letting each kind's frame go once stored;
    # HubSpot's seeding takes the whole roster
    roster: RosterSource | None = None
    if accounts:
        frames = generate(accounts, seed=seed, as_of=as_of).frames
        roster = to_roster(frames) if crm in ("hubspot", "both") else RosterView(frames, once=True)
        del frames
    ca = sandbox_ca(directory)  # one CA for both ports: one file to trust
    extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
    if crm in ("salesforce", "both"):
        sf = SalesforceSandbox(
            ledger, injector, session_id=SF_TOKEN, daily_api_limit=daily_api_limit, **extra
        )
        if roster is not None:
            sandbox.account_ids["salesforce"] = sf.seed(roster)
        sandbox.salesforce = sf
        sandbox.salesforce_server = serve(sandbox.admin("salesforce", sf.wsgi_app, SF_TOKEN), tls=True, ca=ca)
    if crm in ("hubspot", "both"):
        from connector.sandbox.hubspot import HubSpotSandbox

        hs = HubSpotSandbox(
            ledger,
            injector,
            access_token=HS_TOKEN,
            validator=validator,
            validate_requests=validator is not None,
            **extra,
        )
        if isinstance(roster, Roster):
            sandbox.account_ids["hubspot"] = hs.seed(roster)
        sandbox.hubspot = hs
        sandbox.hubspot_server = serve(sandbox.admin("hubspot", hs.wsgi_app, HS_TOKEN), tls=True, ca=ca)
    if faults is not None:
        injector.configure(faults)
    return sandbox

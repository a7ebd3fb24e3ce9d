"""Fixtures that start the sandbox CRMs on 127.0.0.1 for tests that use the real vendor clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hubspot
import pytest
import requests
import simple_salesforce

from connector.sandbox.faults import FaultInjector
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.ledger import Ledger
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.server import RunningServer, serve
from tests.hubspot_spec_validation import spec_validator

# -- Salesforce sandbox ------------------------------------------------------------------------------


@dataclass
class SalesforceSandboxFixture:
    """A running Salesforce sandbox over HTTPS and what a test needs to drive and inspect it."""

    sandbox: SalesforceSandbox
    server: RunningServer
    ledger: Ledger
    faults: FaultInjector
    clock: SettableClock

    @property
    def url(self) -> str:
        return self.server.url

    def session(self) -> requests.Session:
        """A session that trusts the sandbox CA (``trust_env = False``: see GOTCHAS, REQUESTS_CA_BUNDLE)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.server.ca_path)
        return session

    def client(self, **kwargs: Any) -> simple_salesforce.Salesforce:
        return simple_salesforce.Salesforce(
            instance_url=self.server.url,
            session_id=kwargs.pop("session_id", SF_SESSION_ID),
            session=kwargs.pop("session", None) or self.session(),
            version=kwargs.pop("version", "60.0"),
            **kwargs,
        )

    def editor(self) -> simple_salesforce.Salesforce:
        """The client of the org's second user, a person: its edits are not tiersync's own writes."""
        return self.client(session_id=self.sandbox.editor_session_id)


SF_SESSION_ID = "test-session-token"


class SettableClock:
    """A frozen clock a test can move: ``clock.now = ...`` or ``clock.advance(seconds=5)``."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class _SwappableApp:
    """The WSGI app of one HTTPS server shared by the session; each test plugs in a fresh sandbox.

    Stopping a cheroot server takes about half a second, which per test would dominate the suite.
    """

    def __init__(self) -> None:
        self.target: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.target(environ, start_response)


@pytest.fixture(scope="session")
def _sf_server() -> Iterator[tuple[RunningServer, _SwappableApp]]:
    app = _SwappableApp()
    server = serve(app, tls=True)
    try:
        yield server, app
    finally:
        server.stop()


@pytest.fixture
def sf_sandbox(_sf_server: tuple[RunningServer, _SwappableApp]) -> Iterator[SalesforceSandboxFixture]:
    """A fresh Salesforce org (frozen clock at 2026-11-26T06:50Z) behind the session's HTTPS server."""
    server, app = _sf_server
    ledger = Ledger()
    faults = FaultInjector()
    clock = SettableClock(dt.datetime(2026, 11, 26, 6, 50, tzinfo=dt.UTC))
    sandbox = SalesforceSandbox(
        ledger, faults, session_id=SF_SESSION_ID, clock=clock, bulk_in_progress_polls=1
    )
    app.target = sandbox.wsgi_app
    try:
        yield SalesforceSandboxFixture(sandbox, server, ledger, faults, clock)
    finally:
        app.target = None


# -- HubSpot sandbox ---------------------------------------------------------------------------------

HS_TOKEN = "test-private-app-token"


@dataclass
class HubSpotSandboxFixture:
    """A running HubSpot sandbox over HTTPS and what a test needs to drive and inspect it."""

    sandbox: HubSpotSandbox
    server: RunningServer
    ledger: Ledger
    faults: FaultInjector
    clock: SettableClock

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ca_path(self) -> Path:
        assert self.server.ca_path is not None
        return self.server.ca_path

    def client(self, **kwargs: Any) -> hubspot.HubSpot:
        """The real client, pointed at the sandbox and trusting its CA (``retry=`` etc. pass through)."""
        return hubspot.HubSpot(
            access_token=kwargs.pop("access_token", HS_TOKEN),
            host=self.server.url,
            ssl_ca_cert=kwargs.pop("ssl_ca_cert", str(self.ca_path)),
            **kwargs,
        )


@pytest.fixture(scope="session")
def _hs_server() -> Iterator[tuple[RunningServer, _SwappableApp]]:
    app = _SwappableApp()
    server = serve(app, tls=True)
    try:
        yield server, app
    finally:
        server.stop()


@pytest.fixture
def hs_sandbox(_hs_server: tuple[RunningServer, _SwappableApp]) -> Iterator[HubSpotSandboxFixture]:
    """A fresh HubSpot portal (frozen clock at 2026-11-26T06:50Z) behind the session's HTTPS server.

    Limits are HubSpot's (burst 100/10 s, search 5/s, daily 500,000); a test that needs volume turns one
    off with ``hs_sandbox.sandbox.limits.search_per_second = 0``. Every answer is checked against
    HubSpot's OpenAPI spec, and the test fails at teardown if one did not match.
    """
    server, app = _hs_server
    ledger = Ledger()
    faults = FaultInjector()
    clock = SettableClock(dt.datetime(2026, 11, 26, 6, 50, tzinfo=dt.UTC))
    sandbox = HubSpotSandbox(
        ledger,
        faults,
        access_token=HS_TOKEN,
        clock=clock,
        validator=spec_validator(),
        validate_requests=True,
        validate_responses=True,
    )
    app.target = sandbox.wsgi_app
    try:
        yield HubSpotSandboxFixture(sandbox, server, ledger, faults, clock)
    finally:
        app.target = None
    assert not sandbox.response_validation_errors, "\n".join(sandbox.response_validation_errors)

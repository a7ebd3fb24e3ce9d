"""Replay servers for the documented examples, and the sandbox fixtures for the shape comparisons."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connector.config import HubSpotSettings, SalesforceSettings
from connector.sandbox.server import serve
from tests.contract.replay import Replay, ReplayServer
from tests.sandbox.conftest import _hs_server, _sf_server, hs_sandbox, sf_sandbox

__all__ = ["_hs_server", "_sf_server", "hs_sandbox", "sf_sandbox"]


def _serving(tls: bool) -> Iterator[ReplayServer]:
    replay = Replay()
    server = serve(replay, tls=tls)
    try:
        yield ReplayServer(replay, server)
    finally:
        server.stop()


def _fresh(replay: Replay) -> Iterator[Replay]:
    """The replay emptied for one test; the test fails if a request found no documented answer."""
    replay.reset()
    yield replay
    assert not replay.unrouted, f"requests with no documented answer: {replay.unrouted}"


@pytest.fixture(scope="session")
def _sf_replay_server() -> Iterator[ReplayServer]:
    """HTTPS, as simple_salesforce only speaks https://."""
    yield from _serving(tls=True)


@pytest.fixture(scope="session")
def _hs_replay_server() -> Iterator[ReplayServer]:
    """HTTPS, as HubSpot is served over HTTPS only."""
    yield from _serving(tls=True)


@pytest.fixture
def sf_replay(_sf_replay_server: ReplayServer) -> Iterator[Replay]:
    yield from _fresh(_sf_replay_server.replay)


@pytest.fixture
def hs_replay(_hs_replay_server: ReplayServer) -> Iterator[Replay]:
    yield from _fresh(_hs_replay_server.replay)


@pytest.fixture
def sf_replay_settings(_sf_replay_server: ReplayServer) -> SalesforceSettings:
    """What tiersync's config would say for an org at the replay's address (session id sign-in)."""
    return SalesforceSettings(
        instance_url=_sf_replay_server.url,
        session_id=SecretStr("replay-session"),
        ca_bundle=_sf_replay_server.server.ca_path,
        api_version="60.0",
    )


@pytest.fixture
def hs_replay_settings(_hs_replay_server: ReplayServer) -> HubSpotSettings:
    return HubSpotSettings(
        access_token=SecretStr("replay-token"),
        host=_hs_replay_server.url,
        ca_bundle=_hs_replay_server.server.ca_path,
    )

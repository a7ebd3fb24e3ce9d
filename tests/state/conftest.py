"""Every state-store test runs against both stores: a SQLite file and a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.config import Settings
from connector.sync.state import StateStore, open_state
from tests.postgres_server import PostgresServer, shared_server


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    return shared_server()


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose state is a fresh SQLite file, or a fresh PostgreSQL database."""
    values: dict[str, object] = {"state_path": tmp_path / "state.sqlite"}
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        values["state_url"] = server.url(server.create_database(), password=True)
    return Settings.model_validate(values)


@pytest.fixture
def store(settings: Settings) -> Iterator[StateStore]:
    opened = open_state(settings)
    yield opened
    opened.close()

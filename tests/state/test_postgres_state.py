"""What only the PostgreSQL store has: a URL with a password to keep out of messages, a schema that
several machines create at once, and a lock key every machine computes alike."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import SecretStr

from connector.config import Settings
from connector.sync.postgres import advisory_key, redacted
from connector.sync.state import StateError, open_state
from tests.postgres_server import PASSWORD, PostgresServer

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_redacted_url_drops_every_password() -> None:
    assert redacted("postgresql://ops:s3cret@db.example.com:5433/tiersync") == (
        "postgresql://ops@db.example.com:5433/tiersync"
    )
    assert redacted("postgresql://ops@/tiersync?host=/run/pg&password=s3cret&sslmode=require") == (
        "postgresql://ops@/tiersync?host=%2Frun%2Fpg&sslmode=require"
    )
    assert redacted("postgresql://db.example.com/tiersync") == "postgresql://db.example.com/tiersync"


def test_lock_keys_are_stable_signed_64_bit_and_distinct() -> None:
    assert advisory_key("run:emea") == advisory_key("run:emea")
    assert advisory_key("run:emea") != advisory_key("run:us")
    assert -(2**63) <= advisory_key("run:emea") < 2**63
    assert advisory_key("run:default") == -56840764970750738, "a new key would let old and new runs overlap"


def test_a_wrong_password_is_one_line_without_the_password(postgres: PostgresServer) -> None:
    url = postgres.url(postgres.create_database(), password=True).replace(PASSWORD, "wrong-pass-123")
    with pytest.raises(StateError) as failed:
        open_state(Settings.model_validate({"state_url": url}))
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("cannot connect to the state database postgresql://tiersync@/t")
    assert "password authentication failed" in message
    assert "wrong-pass-123" not in message


def test_the_password_may_come_from_pgpassword(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    store = open_state(Settings.model_validate({"state_url": postgres.url(postgres.create_database())}))
    store.close()


def test_first_runs_on_several_machines_create_the_schema_once(postgres: PostgresServer) -> None:
    settings = Settings(state_url=SecretStr(postgres.url(postgres.create_database(), password=True)))

    def first_run(n: int) -> list[str]:
        store = open_state(settings)
        try:
            store.save_results(f"c{n}", [{"account_id": "001A"}], None, NOW)
            return store.connections()
        finally:
            store.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(first_run, range(8)))
    assert first_run(99) == sorted([f"c{n}" for n in range(8)] + ["c99"])

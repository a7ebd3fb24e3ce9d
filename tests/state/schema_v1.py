"""A store as tiersync 1 left it (schema version 1), written out by hand for the migration tests.

The DDL is the version-1 text of ``connector/sync/state.py`` and ``state_postgres.py`` as released
(commit 33459f6), kept here verbatim so that the upgrade is tested against what old stores really
hold, not against what today's migrations say version 1 was.
"""

from __future__ import annotations

from typing import Any

SQLITE_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (
    connection TEXT NOT NULL, scope TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (connection, scope));
CREATE TABLE IF NOT EXISTS written (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, values_json TEXT NOT NULL, written_at TEXT NOT NULL,
    PRIMARY KEY (connection, account_id));
CREATE TABLE IF NOT EXISTS tier_history (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, tier TEXT NOT NULL, computed_tier TEXT NOT NULL,
    previous_tier TEXT, changed_at TEXT NOT NULL, run_id INTEGER);
CREATE INDEX IF NOT EXISTS tier_history_account ON tier_history (connection, account_id);
CREATE TABLE IF NOT EXISTS tasks (
    connection TEXT NOT NULL, key TEXT NOT NULL, account_id TEXT NOT NULL, action TEXT NOT NULL,
    period_start TEXT NOT NULL, period_end TEXT NOT NULL, due TEXT, crm_id TEXT, status TEXT NOT NULL,
    created_at TEXT NOT NULL, closed_at TEXT, renewed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connection, key));
CREATE INDEX IF NOT EXISTS tasks_account ON tasks (connection, account_id);
CREATE TABLE IF NOT EXISTS results (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, run_id INTEGER, classified_at TEXT NOT NULL,
    payload_json TEXT NOT NULL, PRIMARY KEY (connection, account_id));
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, connection TEXT NOT NULL, mode TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, summary_json TEXT);
"""

POSTGRES_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (
    connection TEXT NOT NULL, scope TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (connection, scope));
CREATE TABLE IF NOT EXISTS written (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, values_json TEXT NOT NULL, written_at TEXT NOT NULL,
    PRIMARY KEY (connection, account_id));
CREATE TABLE IF NOT EXISTS tier_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection TEXT NOT NULL, account_id TEXT NOT NULL, tier TEXT NOT NULL, computed_tier TEXT NOT NULL,
    previous_tier TEXT, changed_at TEXT NOT NULL, run_id BIGINT);
CREATE INDEX IF NOT EXISTS tier_history_account ON tier_history (connection, account_id);
CREATE TABLE IF NOT EXISTS tasks (
    connection TEXT NOT NULL, key TEXT NOT NULL, account_id TEXT NOT NULL, action TEXT NOT NULL,
    period_start TEXT NOT NULL, period_end TEXT NOT NULL, due TEXT, crm_id TEXT, status TEXT NOT NULL,
    created_at TEXT NOT NULL, closed_at TEXT, renewed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connection, key));
CREATE INDEX IF NOT EXISTS tasks_account ON tasks (connection, account_id);
CREATE TABLE IF NOT EXISTS results (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, run_id BIGINT, classified_at TEXT NOT NULL,
    payload_json TEXT NOT NULL, PRIMARY KEY (connection, account_id));
CREATE TABLE IF NOT EXISTS runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, connection TEXT NOT NULL, mode TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, summary_json TEXT);
"""

ROWS: list[tuple[str, tuple[Any, ...]]] = [
    ("INSERT INTO meta VALUES (?, ?)", ("schema_version", "1")),
    ("INSERT INTO meta VALUES (?, ?)", ("org_id:emea", "00D000000000001AAA")),
    (
        "INSERT INTO watermarks VALUES (?, ?, ?, ?)",
        ("emea", "changes", "2026-10-01T06:00:00+00:00", "2026-10-01T06:00:00+00:00"),
    ),
    (
        "INSERT INTO written VALUES (?, ?, ?, ?)",
        ("emea", "001A", '{"tier": "good"}', "2026-10-01T06:00:00+00:00"),
    ),
    (
        "INSERT INTO tier_history (connection, account_id, tier, computed_tier, previous_tier, changed_at, "
        "run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("emea", "001A", "okay", "okay", None, "2026-09-01T06:00:00+00:00", 1),
    ),
    (
        "INSERT INTO tier_history (connection, account_id, tier, computed_tier, previous_tier, changed_at, "
        "run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("emea", "001A", "good", "good", "okay", "2026-10-01T06:00:00+00:00", 2),
    ),
    (
        "INSERT INTO tasks (connection, key, account_id, action, period_start, period_end, due, crm_id, "
        "status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "emea",
            "001A/review_relationship/2026-07-01",
            "001A",
            "review_relationship",
            "2026-07-01",
            "2026-09-29",
            "2026-10-15",
            "00T000000000001AAA",
            "open",
            "2026-10-01T06:00:00+00:00",
        ),
    ),
    (
        "INSERT INTO results VALUES (?, ?, ?, ?, ?)",
        ("emea", "001A", 2, "2026-10-01T06:00:00+00:00", '{"account_id": "001A", "tier": "good"}'),
    ),
    (
        "INSERT INTO runs (connection, mode, started_at, ended_at, status, summary_json) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            "emea",
            "full",
            "2026-09-01T06:00:00+00:00",
            "2026-09-01T06:05:00+00:00",
            "ok",
            '{"accounts_read": 1}',
        ),
    ),
    (
        "INSERT INTO runs (connection, mode, started_at, ended_at, status, summary_json) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ("emea", "incremental", "2026-10-01T06:00:00+00:00", None, "running", None),
    ),
]
"""What a version-1 store held after two runs (``?`` placeholders)."""

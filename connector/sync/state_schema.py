"""The state's tables, once for both stores: a list of versioned migrations and the few ways the two
databases' SQL differs.

A store records its version in ``meta`` and, when opened, applies every later migration in order
inside one transaction; a fresh store is version 0 and runs them all, so a new store and an upgraded
one are built by the same statements. Never edit a released migration: add the next one.
Statements are written in the SQL SQLite and PostgreSQL share (``ON CONFLICT … DO UPDATE``,
``excluded``, ``?`` placeholders); :class:`Dialect` holds what is left.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """What differs between the two databases, and nothing else."""

    identity: str
    """The column type of a generated ``id`` key."""
    bytewise: str
    """Appended to a text column to compare it as bytes, whatever the database's locale."""
    insertion_order: str
    """An ``ORDER BY`` term that gives a table's rows in the order they were inserted."""
    placeholder: str
    """The driver's parameter marker for the shared statements' ``?``."""

    def sql(self, statement: str) -> str:
        """A shared statement with this driver's placeholders (no statement holds a literal ``?``)."""
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def ddl(self, statement: str) -> str:
        """A migration step in this database's column types."""
        return statement.replace("{identity}", self.identity)


SQLITE = Dialect(
    identity="INTEGER PRIMARY KEY AUTOINCREMENT",
    bytewise="",  # SQLite's default collation already compares bytes
    insertion_order="rowid",  # stores made before tier_history had an id still have a rowid
    placeholder="?",
)
POSTGRES = Dialect(
    identity="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    bytewise=' COLLATE "C"',
    insertion_order="id",
    placeholder="%s",
)


@dataclass(frozen=True)
class AddColumn:
    """Add a column unless the table has it: before migrations ran in one transaction, a SQLite
    store stopped while gaining its version-2 columns kept the ones it had added and said version 1."""

    table: str
    column: str
    type: str = "TEXT"

    @property
    def statement(self) -> str:
        """Plain ``ALTER TABLE … ADD COLUMN``: the same text in both databases."""
        return f"ALTER TABLE {self.table} ADD COLUMN {self.column} {self.type}"


@dataclass(frozen=True)
class Migration:
    """One schema version: ``why`` says what it is for; ``steps`` run in order inside the
    transaction that opens the store."""

    version: int
    why: str
    steps: tuple[str | AddColumn, ...]


META_TABLE = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
"""Created before any migration runs: it holds the version that says which ones have run."""
VERSION_KEY = "schema_version"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the first tables: watermarks, written values, tier history, task keys, results, run log",
        (
            "CREATE TABLE IF NOT EXISTS watermarks (connection TEXT NOT NULL, scope TEXT NOT NULL, "
            "value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (connection, scope))",
            "CREATE TABLE IF NOT EXISTS written (connection TEXT NOT NULL, account_id TEXT NOT NULL, "
            "values_json TEXT NOT NULL, written_at TEXT NOT NULL, PRIMARY KEY (connection, account_id))",
            "CREATE TABLE IF NOT EXISTS tier_history (id {identity}, connection TEXT NOT NULL, "
            "account_id TEXT NOT NULL, tier TEXT NOT NULL, computed_tier TEXT NOT NULL, previous_tier TEXT, "
            "changed_at TEXT NOT NULL, run_id BIGINT)",
            "CREATE INDEX IF NOT EXISTS tier_history_account ON tier_history (connection, account_id)",
            "CREATE TABLE IF NOT EXISTS tasks (connection TEXT NOT NULL, key TEXT NOT NULL, "
            "account_id TEXT NOT NULL, action TEXT NOT NULL, period_start TEXT NOT NULL, "
            "period_end TEXT NOT NULL, due TEXT, crm_id TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL, "
            "closed_at TEXT, renewed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (connection, key))",
            "CREATE INDEX IF NOT EXISTS tasks_account ON tasks (connection, account_id)",
            "CREATE TABLE IF NOT EXISTS results (connection TEXT NOT NULL, account_id TEXT NOT NULL, "
            "run_id BIGINT, classified_at TEXT NOT NULL, payload_json TEXT NOT NULL, "
            "PRIMARY KEY (connection, account_id))",
            "CREATE TABLE IF NOT EXISTS runs (id {identity}, connection TEXT NOT NULL, mode TEXT NOT NULL, "
            "started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, summary_json TEXT)",
        ),
    ),
    Migration(
        2,
        "one CRM task per account, owners' workload and deferrals: the task that carries an action, "
        "its owner, the day a held-back task comes due and the day it was sent",
        tuple(AddColumn("tasks", c) for c in ("group_key", "owner_id", "defer_until", "sent_on")),
    ),
    Migration(
        3,
        "the written values were never read (a sync compares with what the CRM holds now, which also "
        "sees users' edits), and cost a write per updated account",
        ("DROP TABLE IF EXISTS written",),
    ),
    Migration(
        4,
        "cleanup records a CRM task's end by the key the CRM holds it under, which for one task per "
        "account is the group key: look it up by index, not by a scan of the connection's tasks",
        ("CREATE INDEX IF NOT EXISTS tasks_group ON tasks (connection, group_key)",),
    ),
    Migration(
        5,
        "a page's accounts are marked before it writes to the CRM and unmarked when its state commits: "
        "after a crash between the two, its accounts look written by tiersync, so the change query "
        "would leave them out and their results, tier changes and task confirmations would be lost",
        (
            "CREATE TABLE IF NOT EXISTS redo (connection TEXT NOT NULL, account_id TEXT NOT NULL, "
            "marked_at TEXT NOT NULL, PRIMARY KEY (connection, account_id))",
        ),
    ),
    Migration(
        6,
        "cleanup marks a page's CRM tasks with the status it will record before it closes or deletes "
        "them, and unmarks them when its state commits: after a crash between the two, the state held "
        "them open while the CRM had them closed, so the next cleanup counted tiersync's closes as "
        "users' work and a later delete cleanup kept them",
        (
            "CREATE TABLE IF NOT EXISTS task_ends (connection TEXT NOT NULL, crm_key TEXT NOT NULL, "
            "status TEXT NOT NULL, marked_at TEXT NOT NULL, PRIMARY KEY (connection, crm_key))",
        ),
    ),
    Migration(
        7,
        "a sync marks the tasks it is about to close the same way: after a crash between the CRM's "
        "close and the page's commit, the next sync found them completed and recorded them as users' "
        "work. Which run marked a task tells the next cleanup its own unfinished page from a sync's, "
        "whose closes it must neither count nor plan, and lets a sync drop its marks once recorded",
        (AddColumn("task_ends", "marked_by", "TEXT NOT NULL DEFAULT 'cleanup'"),),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version

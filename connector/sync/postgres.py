"""Connecting to the PostgreSQL database that holds the shared state and the run locks.

The password comes from the URL itself when it is given in the environment (``TIERSYNC_STATE_URL``)
or from ``PGPASSWORD``, which libpq reads on its own. Only :func:`redacted` forms of the URL ever
reach a message, so a password never lands in a log.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import make_conninfo

from connector.sync.state import StateError

_SECRET_PARAMS = {"password", "sslpassword"}


def redacted(url: str) -> str:
    """The URL without its password (in the user part or the query), for messages."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username
    netloc = f"{user}@{host}" if user else host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in _SECRET_PARAMS])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock``: the same on every machine and Python
    (``hash()`` is salted per process), and namespaced so other applications' keys do not collide."""
    digest = hashlib.blake2b(f"tiersync:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def connect(url: str, *, application_name: str = "tiersync", keepalive: bool = False) -> psycopg.Connection:
    """An autocommit connection: every statement is committed when it returns.

    ``keepalive`` makes the server notice a dead client within about a minute (a machine that lost
    power), which matters for a session that holds a lock."""
    options: dict[str, str | int] = {"application_name": application_name[:63], "connect_timeout": 10}
    if keepalive:
        options.update(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
    try:
        return psycopg.connect(make_conninfo(url, **options), autocommit=True)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        password = urlsplit(url).password
        if password:
            reason = reason.replace(password, "***")
        raise StateError(f"cannot connect to the state database {redacted(url)}: {reason}") from None

"""A throwaway PostgreSQL cluster for the tests, started from the machine's server binaries.

The cluster lives in a temporary directory and listens only on a unix socket in that directory, so
it needs no free TCP port and never meets another server. ``initdb`` refuses to run as root, so as
root the cluster belongs to the ``postgres`` OS user (``runuser``). Two roles: ``postgres`` (trust,
to create databases) and ``tiersync``, which signs in with a password like a production deployment.

One cluster serves the whole test session; it is stopped when the interpreter exits. Tests skip
only when no cluster can be started here, and never under ``CI`` when the binaries exist.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

USER = "tiersync"
PASSWORD = "pg-test-secret-7f3a"
PORT = 5432  # only names the socket file: the cluster listens on no TCP port


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: on PATH, else Debian's versioned one."""
    candidates = [shutil.which("initdb")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version, reverse=True)
    for candidate in candidates:
        if candidate:
            bindir = Path(candidate).resolve().parent
            if (bindir / "pg_ctl").exists():
                return bindir
    return None


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    owner: str | None
    """The OS user the cluster runs as (None: this process's user)."""
    counter: itertools.count[int]

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str, *, password: bool = False, user: str = USER) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{user}{secret}@/{database}?host={self.socket_dir}&port={PORT}"

    def create_database(self) -> str:
        """A fresh, empty database owned by the ``tiersync`` role; returns its name."""
        name = f"t{next(self.counter)}"
        with psycopg.connect(self.url("postgres", user="postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} OWNER {USER}")
        return name

    def stop(self) -> None:
        _run(
            self.owner,
            [str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _run(owner: str | None, command: list[str]) -> subprocess.CompletedProcess[str]:
    if owner is not None:
        command = ["runuser", "-u", owner, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd="/")


def start_server() -> PostgresServer:
    """Initialise and start a cluster; raises RuntimeError saying why it could not."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
    owner = None
    root = Path(tempfile.mkdtemp(prefix="tiersync-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root without runuser: cannot start initdb as another user")
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError(
                "running as root and there is no 'postgres' OS user to own the cluster"
            ) from None
        owner = "postgres"
        os.chown(root, account.pw_uid, account.pw_gid)
    data = root / "data"
    init = _run(
        owner, [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"]
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    (data / "pg_hba.conf").write_text(
        "local all postgres trust\nlocal all all scram-sha-256\n", encoding="utf-8"
    )
    if owner is not None:
        os.chown(data / "pg_hba.conf", account.pw_uid, account.pw_gid)
    options = (
        f"-k {root} -p {PORT} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    started = _run(
        owner,
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        ],
    )
    if started.returncode != 0:
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log[-500:]}")
    server = PostgresServer(bindir, root, owner, itertools.count(1))
    atexit.register(server.stop)
    with psycopg.connect(server.url("postgres", user="postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{PASSWORD}'")
    return server


_shared: PostgresServer | None = None
_failure: str | None = None


def shared_server() -> PostgresServer:
    """The session's cluster, started on first use; skips the test when none can be started here,
    but fails it under CI when the binaries exist (a broken set-up must not pass as skipped)."""
    global _shared, _failure
    if _shared is None and _failure is None:
        try:
            _shared = start_server()
        except (RuntimeError, OSError, subprocess.SubprocessError, psycopg.Error) as exc:
            _failure = str(exc)
    if _shared is not None:
        return _shared
    reason = f"cannot start a PostgreSQL server for the Postgres state tests: {_failure}"
    if os.environ.get("CI") and find_bindir() is not None:
        pytest.fail(reason)
    pytest.skip(reason)

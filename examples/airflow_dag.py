"""Apache Airflow: sync every tiersync connection hourly, one mapped task per connection.

Each task runs ``tiersync sync --connection NAME`` in a subprocess, so a connection's failure is its
own task's failure. Retries are left to Airflow, and a retry is always safe: tiersync writes only
what differs, keys every task so that a re-run never duplicates one, and refuses to overlap another
run of the same connection. The exit codes (README, "Exit codes") decide what Airflow does:

* 0: success;
* 1, some records failed: the task fails and Airflow retries it;
* 2, configuration or credentials: fails without a retry (a person must fix it);
* 3, another run holds the connection's lock: skipped, that run is doing the work;
* 4, the daily API budget is spent: fails without a retry (the next scheduled run resumes).
* 5, the CRM could not be reached (nothing was written): the task fails and Airflow retries it.

The workers need tiersync installed, ``TIERSYNC_CONFIG`` and each connection's secrets
(``TIERSYNC_CONNECTIONS__<NAME>__…``) in their environment, and for workers on several machines a
shared PostgreSQL state (``state_url``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from airflow.exceptions import AirflowFailException, AirflowSkipException

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task

CONFIG = os.environ.get("TIERSYNC_CONFIG", "/opt/tiersync/tiersync.toml")


@dag(
    dag_id="tiersync",
    schedule="15 * * * *",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    tags=["tiersync"],
)
def tiersync_sync() -> None:
    @task
    def connections() -> list[str]:
        """The config's connection names, read when the DAG runs (not when it is parsed)."""
        from connector.config import load_settings

        return list(load_settings(Path(CONFIG)).connection_settings())

    @task
    def sync_connection(name: str) -> dict[str, Any]:
        command = [
            sys.executable,
            "-m",
            "connector",
            "--config",
            CONFIG,
            "sync",
            "--connection",
            name,
            "--quiet",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own CLI
        print(done.stderr, file=sys.stderr)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        summary: dict[str, Any] = json.loads(lines[-1]) if lines else {}
        why = f"tiersync sync --connection {name} exited {done.returncode}: {done.stderr.strip()[-500:]}"
        if done.returncode == 0:
            return summary
        if done.returncode == 3:
            raise AirflowSkipException(why)
        if done.returncode in (2, 4):
            raise AirflowFailException(why)
        raise RuntimeError(why)

    sync_connection.expand(name=connections())


tiersync_dag = tiersync_sync()

"""Run every CRM connection of a tiersync config from Python and get each one's exit code.

For a scheduler of your own (a cron wrapper, Dagster, Prefect) that wants per-connection results
without parsing the command line's output::

    python examples/run_all_connections.py tiersync.toml

``run_connection`` is the engine behind ``tiersync sync``: the connection's CRM adapter, the shared
state, the connection's own run lock and the sync engine. A broken connection (bad credentials, a
missing mapping, a CRM outage, a held lock) is reported and the others still run. The exit codes
are the command line's (README, "Exit codes"); the process exits with the worst.
"""

from __future__ import annotations

import sys
from pathlib import Path

from connector.config import ConfigError, load_settings
from connector.exit_codes import ExitCode, worst
from connector.sync.engine import Mode
from connector.sync.runner import run_connection


def run_all(config: Path | None = None, mode: Mode = "incremental") -> dict[str, int]:
    """Sync each connection in turn; returns the exit code per connection name."""
    settings = load_settings(config)
    codes: dict[str, int] = {}
    for name, connection in settings.connection_settings().items():
        run = run_connection(name, connection, mode)
        print(run.json_line(), flush=True)  # one JSON line per connection for the log collector
        print(run.line(), file=sys.stderr, flush=True)
        codes[name] = int(run.exit_code)
    return codes


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        codes = run_all(Path(args[0]) if args else None)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return int(ExitCode.USAGE)
    return int(worst(ExitCode(code) for code in codes.values()))


if __name__ == "__main__":
    sys.exit(main())

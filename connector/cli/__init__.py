"""The ``tiersync`` command line (Typer + Rich); commands live in the modules imported below."""

from connector.cli import demo, offline, sandbox_cmds, sync_cmds
from connector.cli.app import app

__all__ = ["app", "demo", "main", "offline", "sandbox_cmds", "sync_cmds"]


def main() -> None:
    app()

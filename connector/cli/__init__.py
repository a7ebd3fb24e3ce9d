"""The ``tiersync`` command line (Typer + Rich); commands live in the modules imported below."""

from connector.cli import (
    cleanup_cmds,
    comms_cmds,
    demo,
    explain_cmd,
    init_cmd,
    offline,
    report_cmds,
    sandbox_cmds,
    sync_cmds,
)
from connector.cli.app import app

__all__ = [
    "app",
    "cleanup_cmds",
    "comms_cmds",
    "demo",
    "explain_cmd",
    "init_cmd",
    "main",
    "offline",
    "report_cmds",
    "sandbox_cmds",
    "sync_cmds",
]


def main() -> None:
    app()

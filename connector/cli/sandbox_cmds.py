"""`tiersync sandbox serve|show`: run the built-in sandbox CRM and look inside it."""

from __future__ import annotations

import json
import signal
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from connector.cli.app import console, fail, sandbox_app

FAULT_PROFILES = ("none", "flaky", "locks", "slow")
"""The names of ``connector.sandbox.faults.PROFILES`` (a test keeps them equal): written out so that
loading the CLI for `sync` never imports the sandbox."""


@sandbox_app.command("serve")
def serve(
    crm: Annotated[str, typer.Option(help="salesforce, hubspot or both.")] = "salesforce",
    accounts: Annotated[int, typer.Option(min=0, help="Generated client accounts to seed.")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    faults: Annotated[str, typer.Option(help=f"Fault profile: {', '.join(FAULT_PROFILES)}.")] = "none",
    workdir: Annotated[
        Path, typer.Option("--workdir", "--out", help="Folder for the CA file and the connection file.")
    ] = Path("sandbox"),
) -> None:
    """Start the sandbox CRM and print how to point tiersync at it; Ctrl-C stops it."""
    if crm not in ("salesforce", "hubspot", "both"):
        fail([f"--crm {crm!r}: use salesforce, hubspot or both"])
    if faults not in FAULT_PROFILES:
        fail([f"--faults {faults!r}: use one of {', '.join(FAULT_PROFILES)}"])
    from connector.sandbox.faults import PROFILES
    from connector.sandbox.runtime import HS_TOKEN, SF_TOKEN, start

    running = start(crm, accounts=accounts, seed=seed, faults=PROFILES[faults], workdir=workdir.resolve())
    info_path = running.write_connection_file()
    if running.salesforce_server is not None:
        console.print(f"Salesforce: {running.salesforce_server.url}  (API v60.0, HTTPS)", highlight=False)
        console.print(f"  CA bundle:  {running.salesforce_server.ca_path}", highlight=False)
        console.print(f"  session id: {SF_TOKEN}", highlight=False)
        console.print(
            f"  use: TIERSYNC_SALESFORCE__INSTANCE_URL={running.salesforce_server.url} "
            f"TIERSYNC_SALESFORCE__SESSION_ID={SF_TOKEN} "
            f"TIERSYNC_SALESFORCE__CA_BUNDLE={running.salesforce_server.ca_path}",
            highlight=False,
            soft_wrap=True,
        )
    if running.hubspot_server is not None:
        console.print(f"HubSpot:    {running.hubspot_server.url}  (CRM v3/v4, HTTPS)", highlight=False)
        console.print(f"  CA bundle:  {running.hubspot_server.ca_path}", highlight=False)
        console.print(f"  token:      {HS_TOKEN}", highlight=False)
        console.print(
            f"  use: TIERSYNC_HUBSPOT__HOST={running.hubspot_server.url} "
            f"TIERSYNC_HUBSPOT__ACCESS_TOKEN={HS_TOKEN} "
            f"TIERSYNC_HUBSPOT__CA_BUNDLE={running.hubspot_server.ca_path}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"{accounts} accounts seeded; faults: {faults}; connection file: {info_path}", highlight=False
    )
    signal.signal(signal.SIGTERM, _stop)  # a supervisor's (or CI's) `kill` stops it as cleanly as Ctrl-C
    try:
        console.print("Ctrl-C to stop.", highlight=False)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        running.stop()


def _stop(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


@sandbox_app.command("show")
def show(
    account_id: Annotated[
        str, typer.Argument(help="The CRM's account id (Salesforce Id or HubSpot company id).")
    ],
    workdir: Annotated[Path, typer.Option(help="The folder `sandbox serve` was started with.")] = Path(
        "sandbox"
    ),
) -> None:
    """Print an account as the running sandbox CRM holds it: its fields and its tasks."""
    from connector.sandbox.runtime import CONNECTION_FILE, HS_TOKEN, SF_TOKEN

    path = workdir / CONNECTION_FILE
    if not path.is_file():
        fail([f"{path}: not found; start the sandbox with `tiersync sandbox serve` first"])
    info = json.loads(path.read_text(encoding="utf-8"))
    for crm, token in (("salesforce", SF_TOKEN), ("hubspot", HS_TOKEN)):
        if crm not in info:
            continue
        base = info[crm]["instance_url"] if crm == "salesforce" else info[crm]["host"]
        request = urllib.request.Request(  # noqa: S310 - the URL is the local sandbox's own
            f"{base}/_sandbox/show/{account_id}", headers={"Authorization": f"Bearer {token}"}
        )
        context = ssl.create_default_context(cafile=info[crm]["ca_bundle"])
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
                shown = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                continue
            fail([f"{crm} sandbox answered {exc.code}"])
        except urllib.error.URLError as exc:
            fail(
                [
                    f"{crm} sandbox at {base} is not reachable ({exc.reason}); is `tiersync sandbox serve` running?"
                ]
            )
        console.print(f"[bold]{crm}[/bold] account {account_id}")
        for name, value in sorted(shown["record"].items()):
            if value not in (None, "", []):
                console.print(f"  {name}: {value}", highlight=False, markup=False, soft_wrap=True)
        console.print(f"[bold]tasks[/bold] ({len(shown['tasks'])})")
        for task in shown["tasks"]:
            console.print(
                f"  - {json.dumps(task, default=str)}", highlight=False, soft_wrap=True, markup=False
            )
        return
    fail([f"account {account_id} not found in the running sandbox"])

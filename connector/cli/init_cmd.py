"""`tiersync init`: a starter configuration and mapping in a folder, and the next three commands."""

from __future__ import annotations

import shutil
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from connector.cli.app import app, console, fail
from connector.crm.mapping import default_mapping

CONFIG_NAME = "tiersync.toml"


class Crm(StrEnum):
    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"


SECTIONS = {
    Crm.SALESFORCE: """[salesforce]
# Sign in with ONE of these (secrets come from the environment, never from this file):
#   session id:  instance_url below, plus TIERSYNC_SALESFORCE__SESSION_ID
#   password:    username and domain below, plus TIERSYNC_SALESFORCE__PASSWORD and
#                TIERSYNC_SALESFORCE__SECURITY_TOKEN
# instance_url = "https://yourcompany.my.salesforce.com"
# username = "integration@yourcompany.com"
domain = "login"                           # "test" for a Salesforce sandbox org
# ca_bundle = "corporate-ca.pem"           # behind a proxy that re-signs TLS (relative to this file)
""",
    Crm.HUBSPOT: """[hubspot]
# The private app's access token comes from TIERSYNC_HUBSPOT__ACCESS_TOKEN, never from this file.
host = "https://api.hubapi.com"
""",
}

SECRETS = {
    Crm.SALESFORCE: (
        "TIERSYNC_SALESFORCE__SESSION_ID=…  (or TIERSYNC_SALESFORCE__PASSWORD=… and "
        "TIERSYNC_SALESFORCE__SECURITY_TOKEN=… with username set in the file)"
    ),
    Crm.HUBSPOT: "TIERSYNC_HUBSPOT__ACCESS_TOKEN=…  (the private app's access token)",
}


def starter(crm: Crm, mapping_name: str) -> str:
    """The starter file: the CRM, its mapping beside it, the state beside it, the CRM section."""
    return f"""# tiersync configuration, written by `tiersync init`. Every threshold keeps its default until
# you set it here: config.example.toml in the tiersync repository documents every key.
crm = "{crm.value}"

# Which CRM object and field holds each fact; edit the copy beside this file.
mapping = "{mapping_name}"

# Watermarks, tier history, task keys, results and the run log (relative to this file).
state_path = "tiersync-state.sqlite"

{SECTIONS[crm]}"""


@app.command()
def init(
    crm: Annotated[
        Crm | None, typer.Option(help="The CRM to sync with; asked when not given.", show_default=False)
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder to write tiersync.toml and the mapping file into.")
    ] = Path("."),
) -> None:
    """Write a starter tiersync.toml and its mapping file, then print the next three commands."""
    if crm is None:
        crm = typer.prompt("Which CRM do you use?", type=Crm, default=Crm.SALESFORCE.value)
        assert crm is not None
    config = directory / CONFIG_NAME
    mapping = directory / f"mapping-{crm.value}.toml"
    existing = [str(path) for path in (config, mapping) if path.exists()]
    if existing:
        fail(
            [
                f"{path}: already exists; init never overwrites (move it away or use --dir)"
                for path in existing
            ]
        )
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(default_mapping(crm.value), mapping)
    config.write_text(starter(crm, mapping.name), encoding="utf-8")
    console.print(f"wrote {escape(str(config))} and {escape(str(mapping))}", highlight=False, soft_wrap=True)
    console.print(f"Set the secret in the environment: {SECRETS[crm]}", highlight=False, soft_wrap=True)
    console.print("Then:", highlight=False)
    for step, command in enumerate(("doctor", "setup-fields", "plan"), start=1):
        console.print(
            f"  {step}. tiersync --config {escape(str(config))} {command}", highlight=False, soft_wrap=True
        )

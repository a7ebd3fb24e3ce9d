"""The sandbox runtime: seeding, the admin API, `tiersync sandbox serve` and `sandbox show`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import hubspot
import pytest
import requests
import urllib3
from typer.testing import CliRunner

from connector.cli import app
from connector.sandbox.runtime import SF_TOKEN, start


def test_admin_api_reads_the_ledger_sets_faults_and_shows_records(tmp_path: Path) -> None:
    sandbox = start("salesforce", accounts=20, seed=1, workdir=tmp_path)
    try:
        info = sandbox.salesforce_settings()
        session = requests.Session()
        session.trust_env = False
        session.verify = info["ca_bundle"]
        headers = {"Authorization": f"Bearer {SF_TOKEN}"}
        assert session.get(f"{info['instance_url']}/_sandbox/ledger").status_code == 401
        account_id = next(iter(sandbox.account_ids["salesforce"].values()))
        shown = session.get(f"{info['instance_url']}/_sandbox/show/{account_id}", headers=headers).json()
        assert shown["record"]["Id"] == account_id
        assert shown["tasks"] == []
        reply = session.put(
            f"{info['instance_url']}/_sandbox/faults",
            json={"schedule": {"1": "server_error"}},
            headers=headers,
        )
        assert reply.status_code == 200
        first = session.get(f"{info['instance_url']}/services/data/v60.0/limits", headers=headers)
        second = session.get(f"{info['instance_url']}/services/data/v60.0/limits", headers=headers)
        assert (first.status_code, second.status_code) == (500, 200)
        ledger = session.get(f"{info['instance_url']}/_sandbox/ledger", headers=headers).json()
        assert [c["status"] for c in ledger] == [500, 200]
        assert (
            session.put(
                f"{info['instance_url']}/_sandbox/faults", json={"profile": "nope"}, headers=headers
            ).status_code
            == 400
        )
    finally:
        sandbox.stop()


def test_both_crms_serve_https_with_one_ca_and_show_reads_hubspot(tmp_path: Path) -> None:
    sandbox = start("both", accounts=5, seed=1, workdir=tmp_path)
    try:
        sf, hs = sandbox.salesforce_settings(), sandbox.hubspot_settings()
        assert hs["host"].startswith("https://127.0.0.1:")
        assert hs["ca_bundle"] == sf["ca_bundle"] == str(tmp_path / "sandbox-ca.pem")
        client = hubspot.HubSpot(
            access_token=hs["access_token"], host=hs["host"], ssl_ca_cert=hs["ca_bundle"]
        )
        assert len(client.crm.companies.basic_api.get_page(limit=100).results) >= 5
        untrusted = hubspot.HubSpot(
            access_token=hs["access_token"], host=hs["host"], retry=urllib3.Retry(total=0)
        )
        with pytest.raises(urllib3.exceptions.MaxRetryError) as caught:
            untrusted.crm.companies.basic_api.get_page()
        assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value.reason)
        sandbox.write_connection_file()
        company = next(iter(sandbox.account_ids["hubspot"].values()))
        result = CliRunner().invoke(app, ["sandbox", "show", company, "--workdir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert f"hubspot account {company}" in result.stdout
    finally:
        sandbox.stop()


def test_sandbox_serve_prints_how_to_connect_and_show_prints_a_record(tmp_path: Path) -> None:
    workdir = tmp_path / "sb"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connector",
            "sandbox",
            "serve",
            "--accounts",
            "15",
            "--workdir",
            str(workdir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        connection = workdir / "sandbox-connection.json"
        deadline = time.monotonic() + 60
        while not connection.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        info = json.loads(connection.read_text())
        assert info["salesforce"]["instance_url"].startswith("https://127.0.0.1:")
        assert Path(info["salesforce"]["ca_bundle"]).is_file()
        session = requests.Session()
        session.trust_env = False
        session.verify = info["salesforce"]["ca_bundle"]
        accounts = session.get(
            f"{info['salesforce']['instance_url']}/services/data/v60.0/query",
            params={"q": "SELECT Id, Name FROM Account WHERE Type != 'Prospect' ORDER BY Name LIMIT 1"},
            headers={"Authorization": f"Bearer {SF_TOKEN}"},
        ).json()["records"]
        result = CliRunner().invoke(app, ["sandbox", "show", accounts[0]["Id"], "--workdir", str(workdir)])
        assert result.exit_code == 0, result.output
        assert f"Name: {accounts[0]['Name']}" in result.stdout
        missing = CliRunner().invoke(
            app, ["sandbox", "show", "001000000000000AAA", "--workdir", str(workdir)]
        )
        assert missing.exit_code == 2
        assert "not found" in missing.stderr
    finally:
        os.kill(process.pid, signal.SIGINT)
        out, _ = process.communicate(timeout=20)
    assert "Salesforce: https://127.0.0.1:" in out
    assert "TIERSYNC_SALESFORCE__SESSION_ID=" in out


def test_show_without_a_running_sandbox_says_how_to_start_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sandbox", "show", "001", "--workdir", str(tmp_path)])
    assert result.exit_code == 2
    assert "tiersync sandbox serve" in result.stderr

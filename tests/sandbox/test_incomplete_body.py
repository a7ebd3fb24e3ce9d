"""A client killed while sending a request body: the sandbox must not serve what never fully arrived."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from connector.sandbox.runtime import HS_TOKEN, SF_TOKEN, Sandbox, start

TASKS = 20


def send_half(url: str, ca: str, path: str, token: str, body: bytes) -> None:
    """Announce ``body`` in full, send its first half, hang up our side (what a killed process
    leaves), and wait until the server closes the connection: it is done with the request then."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    context = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection((parts.hostname, parts.port), timeout=10)
    tls = context.wrap_socket(raw, server_hostname=parts.hostname)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    tls.sendall(head.encode() + body[: len(body) // 2])
    tls.shutdown(socket.SHUT_WR)  # the server's read of the rest now ends: the client is gone
    try:
        while tls.recv(65536):  # raw TLS records (a session ticket, an answer) until the close
            pass
    except OSError:  # reset by the server
        pass
    finally:
        tls.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    running = start("both", accounts=5, seed=3, workdir=tmp_path)
    yield running  # type: ignore[misc]
    running.stop()


def test_hubspot_drops_a_batch_whose_body_was_cut_short(sandbox: Sandbox) -> None:
    hs = sandbox.hubspot_settings()
    body = {"inputs": [{"properties": {"hs_task_subject": f"Call {i}"}} for i in range(TASKS)]}
    sandbox.ledger.reset()
    send_half(
        hs["host"], hs["ca_bundle"], "/crm/v3/objects/tasks/batch/create", HS_TOKEN, json.dumps(body).encode()
    )
    assert sandbox.ledger.calls() == []
    assert sandbox.hubspot is not None and sandbox.hubspot.validation_errors == []


def test_salesforce_drops_a_collection_whose_body_was_cut_short(sandbox: Sandbox) -> None:
    sf = sandbox.salesforce_settings()
    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Task"}, "Subject": f"Call {i}"} for i in range(TASKS)],
    }
    sandbox.ledger.reset()
    send_half(
        sf["instance_url"],
        sf["ca_bundle"],
        "/services/data/v60.0/composite/sobjects",
        SF_TOKEN,
        json.dumps(body).encode(),
    )
    assert sandbox.ledger.calls() == []

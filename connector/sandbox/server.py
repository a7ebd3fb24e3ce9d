"""Serving a sandbox WSGI app on 127.0.0.1 in a background thread, over TLS when asked.

Both sandboxes serve HTTPS, as the vendors do (simple-salesforce only speaks ``https://``, and a
HubSpot client behind a corporate proxy must trust a CA bundle too): a throwaway CA made by ``trustme``
at start (:func:`sandbox_ca`, one per work folder, shared by the Salesforce and HubSpot ports) issues the
certificate for 127.0.0.1; its PEM path is what a client trusts (``ca_bundle`` in tiersync's config).
cheroot serves it because it keeps HTTP/1.1 connections alive like the vendors do (a TLS handshake
per call would make the sandbox the bottleneck of every benchmark) and lets a fault drop a
connection without taking the server down.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_SOCKET_KEY = "tiersync.socket"


class _Gateway(wsgi.Gateway_10):
    """Exposes the client socket to the app so that a fault can drop the connection."""

    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]  # cheroot's stub says None
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        environ[_SOCKET_KEY] = self.req.conn.socket
        return environ


@dataclass
class RunningServer:
    url: str
    ca_path: Path | None
    server: wsgi.Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.bind_addr[1])

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=5)


@dataclass(frozen=True)
class SandboxCA:
    """The throwaway CA's PEM (what clients trust) and the server certificate it issued for 127.0.0.1."""

    ca_path: Path
    cert_path: Path
    key_path: Path


def sandbox_ca(workdir: Path | None = None) -> SandboxCA:
    """A new throwaway CA and a 127.0.0.1/localhost certificate, written to ``workdir`` (or a temp dir)."""
    directory = workdir or Path(tempfile.mkdtemp(prefix="tiersync-sandbox-"))
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = SandboxCA(directory / "sandbox-ca.pem", directory / "cert.pem", directory / "key.pem")
    ca.cert_pem.write_to_path(str(files.ca_path))
    cert.private_key_pem.write_to_path(str(files.key_path))
    cert.cert_chain_pems[0].write_to_path(str(files.cert_path))
    return files


_log = logging.getLogger("cheroot")


def _error_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    """cheroot writes a client that hangs up mid-handshake (a refused CA, a dropped fault) to stderr;
    here it is a log record, shown with ``-v``."""
    _log.log(level, "%s", msg, exc_info=traceback)


def serve(
    app: WSGIApp,
    *,
    tls: bool,
    port: int = 0,
    workdir: Path | None = None,
    ca: SandboxCA | None = None,
) -> RunningServer:
    """Start ``app`` on 127.0.0.1 (a free port unless given) and return once it accepts connections.

    With ``tls``, ``ca`` is the CA to serve with (a new one in ``workdir`` when not given)."""
    server = wsgi.Server(("127.0.0.1", port), app, numthreads=16, server_name="sandbox")
    server.gateway = _Gateway
    server.error_log = _error_log  # type: ignore[method-assign]  # through logging (quiet by default), not straight onto stderr
    server.shutdown_timeout = 1  # idle keep-alive clients must not hold a stop for long
    ca_path: Path | None = None
    if tls:
        files = ca or sandbox_ca(workdir)
        ca_path = files.ca_path
        server.ssl_adapter = BuiltinSSLAdapter(str(files.cert_path), str(files.key_path))
    server.prepare()
    thread = threading.Thread(target=server.serve, name="tiersync-sandbox", daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    return RunningServer(f"{scheme}://127.0.0.1:{server.bind_addr[1]}", ca_path, server, thread)


class IncompleteBodyError(Exception):
    """The client hung up before sending the body its ``Content-Length`` announced (a process killed
    mid-send). The vendors never see such a request, so the sandbox neither serves nor records it."""


def request_body(environ: dict[str, Any]) -> bytes:
    """The request body, all of it: a short read raises :class:`IncompleteBodyError` instead of handing a
    truncated body (often empty) to a handler, which would apply or validate what was never sent."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length <= 0:
        return b""
    try:
        body: bytes = environ["wsgi.input"].read(length)
    except OSError as exc:  # a reset or an unclean TLS close while the body was on its way
        raise IncompleteBodyError(f"connection lost after {length} bytes were announced") from exc
    if len(body) < length:
        raise IncompleteBodyError(f"{len(body)} of {length} announced bytes arrived")
    return body


def drop_connection(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Drop the client's connection before any byte of the answer (RST on close): a real network fault.

    The client sees "connection aborted"; the server thread carries on with the next connection.
    """
    sock: socket.socket | None = environ.get(_SOCKET_KEY)
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    start_response("500 Connection Dropped", [("Content-Length", "0")])
    return [b""]

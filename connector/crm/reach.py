"""Whether a failed call reached the CRM at all, said in a few words a person can act on.

Both client libraries wrap a refused connection three or four levels deep (requests ->
urllib3 ``MaxRetryError`` -> ``NewConnectionError`` -> ``ConnectionRefusedError``), and their
``str()`` repeats every level on one 400-character line. The translators of both CRMs use this to
report ``cannot reach HubSpot at 127.0.0.1:9: connection refused`` instead; the full chain stays
available at ``-v`` through the exception's ``__cause__``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import urllib3


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception it wraps: causes, contexts, urllib3's ``reason``, requests' args."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped += [arg for arg in current.args if isinstance(arg, BaseException)]
        stack += [w for w in wrapped if isinstance(w, BaseException)]


def unreachable_reason(error: BaseException) -> str | None:
    """``connection refused``, ``host name not found`` or ``connection timed out`` when the call never
    reached the server; None when it did (or the failure was TLS, which :func:`tls_failure` tells)."""
    chain = list(_chain(error))
    if any(isinstance(item, socket.gaierror | urllib3.exceptions.NameResolutionError) for item in chain):
        return "host name not found"
    if any(isinstance(item, ConnectionRefusedError) or "refused" in str(item) for item in chain):
        return "connection refused"
    # NewConnectionError subclasses ConnectTimeoutError: a failed connect that was not refused
    if any(isinstance(item, urllib3.exceptions.NewConnectionError) for item in chain):
        return "cannot connect"
    if any(isinstance(item, urllib3.exceptions.ConnectTimeoutError) for item in chain):
        return "connection timed out"
    return None


def tls_failure(error: BaseException) -> bool:
    """True when the server's certificate was refused (unknown CA, wrong host name, expired)."""
    return any(isinstance(item, ssl.SSLError | urllib3.exceptions.SSLError) for item in _chain(error))


def address_of(error: BaseException) -> str:
    """``host:port`` of the failed call when the exception chain carries it, else empty."""
    for item in _chain(error):
        pool = getattr(item, "pool", None)
        if pool is not None and getattr(pool, "host", None):
            return f"{pool.host}:{pool.port}" if getattr(pool, "port", None) else str(pool.host)
        request = getattr(item, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str) and url:
            return urlsplit(url).netloc
    return ""

"""Just enough HTTP plumbing for the sandbox: a request object, replies, and a path router.

A hand-written router keeps the sandbox free of a web framework dependency; routes carry whether
they change data (for fault injection and the ledger) and whether they are API calls (auth + limits).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from ..server import request_body
from .errors import ApiError, not_found

JSON_TYPE = "application/json;charset=UTF-8"
CSV_TYPE = "text/csv"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased header names."""
    body: bytes
    base_url: str
    """``https://127.0.0.1:PORT`` as the client addressed the server."""
    environ: dict[str, Any]
    raw_path: str = ""
    """The path still percent-encoded, so an external Id containing ``/`` (sent as ``%2F``) routes right."""

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        body = request_body(environ)
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        query = {
            k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()
        }
        raw_uri = str(environ.get("REQUEST_URI") or quote(str(environ.get("PATH_INFO") or "/")))
        host = headers.get("host") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        return cls(
            method=str(environ["REQUEST_METHOD"]).upper(),
            path=str(environ.get("PATH_INFO") or "/"),
            query=query,
            headers=headers,
            body=body,
            base_url=f"{environ.get('wsgi.url_scheme', 'https')}://{host}",
            environ=environ,
            raw_path=raw_uri.split("?")[0],
        )

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in JSON body: {exc}") from None

    def json_object(self) -> dict[str, Any]:
        payload = self.json()
        if not isinstance(payload, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object as the request body")
        return payload


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    records: int = 0
    """Records returned or written, for the ledger."""
    changed: bool = False
    """Whether the call changed org data (the ledger's ``write``)."""


def json_reply(status: int, payload: Any, *, records: int = 0, changed: bool = False) -> Reply:
    return Reply(status, json.dumps(payload).encode(), records=records, changed=changed)


MAX_URI_AND_HEADERS = 16_384
"""Salesforce: "the maximum combined length of the URI and headers is 16,384 bytes" (431 beyond it;
414 when the URI alone is longer). Knowledge article 000386264."""


def oversized_reply(environ: dict[str, Any], limit: int = MAX_URI_AND_HEADERS) -> Reply | None:
    """A 414 or 431 for a request whose URI (or URI plus headers) is longer than ``limit`` bytes."""
    query = str(environ.get("QUERY_STRING") or "")
    uri = str(
        environ.get("REQUEST_URI") or str(environ.get("PATH_INFO") or "/") + ("?" + query if query else "")
    )
    uri_bytes = len(uri.encode("latin-1", errors="replace"))
    headers = sum(
        len(name) - 5 + len(str(value)) + 4 for name, value in environ.items() if name.startswith("HTTP_")
    ) + sum(
        len(name) + len(str(environ[name])) + 4
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH")
        if environ.get(name)
    )
    if uri_bytes > limit:
        status, phrase = 414, "URI Too Long"
    elif uri_bytes + headers > limit:
        status, phrase = 431, "Request Header Fields Too Large"
    else:
        return None
    body = f"<html><body><h1>{status} {phrase}</h1></body></html>".encode()
    return Reply(status, body, content_type="text/html")


def error_reply(error: ApiError) -> Reply:
    reply = json_reply(error.status, error.body())
    reply.headers.extend(error.headers)
    return reply


Handler = Callable[[Request, dict[str, str]], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    writes: bool
    """Changes data when it succeeds: request faults see ``write=True``."""
    api: bool
    """Needs the bearer token and counts against the daily API limit (login endpoints do not)."""


class Router:
    """Routes like ``/services/data/v{version}/sobjects/{sobject}/{id}``; a trailing slash is optional."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, template: str, handler: Handler, *, writes: bool = False, api: bool = True
    ) -> None:
        regex = re.escape(template.rstrip("/"))
        regex = regex.replace(re.escape("{version}"), r"(?P<version>\d+\.\d)")
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        self.routes.append(Route(method, re.compile(f"^{regex}/?$"), handler, writes, api))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Match the percent-encoded ``path``; parameters come back decoded."""
        allowed: list[str] = []
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, {key: unquote(value) for key, value in found.groupdict().items()}
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{method}' not allowed. Allowed are {','.join(sorted(set(allowed)))}",
            )
        raise not_found()

"""A small local HTTP(S) server that answers each request with a documented example from ``fixtures/``.

The adapters are pointed at it exactly as at a real org or portal (instance URL + CA bundle, or a
HubSpot host), so the real client libraries send real requests and parse the vendors' own example
answers. Every request is kept (method, path, query, body) so a test can check what was asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from connector.sandbox.server import RunningServer, StartResponse

FIXTURES = Path(__file__).parent / "fixtures"

_PHRASES = {200: "OK", 201: "Created", 204: "No Content", 207: "Multi-Status", 404: "Not Found"}


def fixture(crm: str, name: str) -> dict[str, Any]:
    """A JSON fixture: ``{"_source": {"title", "url"}, "status", "body", ...}``."""
    loaded: dict[str, Any] = json.loads((FIXTURES / crm / f"{name}.json").read_text())
    return loaded


def csv_fixture(crm: str, name: str) -> str:
    return (FIXTURES / crm / f"{name}.csv").read_text()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, crm: str, name: str) -> Answer:
        """The fixture's documented answer as JSON."""
        loaded = fixture(crm, name)
        return cls(int(loaded.get("status", 200)), json.dumps(loaded["body"]).encode())

    @classmethod
    def csv(cls, crm: str, name: str, headers: Iterable[tuple[str, str]] = ()) -> Answer:
        return cls(200, csv_fixture(crm, name).encode(), "text/csv", list(headers))


class Replay:
    """Routes ``(method, path regex)`` to answers, first match wins; an unrouted request is a 404 that
    the test sees (``unrouted``), so a request the adapter was not expected to send fails the test."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], list[Answer]]] = []
        self.seen: list[Seen] = []
        self.unrouted: list[str] = []

    def route(self, method: str, path: str, *answers: Answer) -> None:
        """Answer requests to ``path`` with ``answers`` in turn; the last one answers every later request."""
        self.routes.append((method, re.compile(f"^{path}/?$"), list(answers)))

    def reset(self) -> None:
        self.routes.clear()
        self.seen.clear()
        self.unrouted.clear()

    def requests(self, method: str, pattern: str) -> list[Seen]:
        compiled = re.compile(f"^{pattern}/?$")
        return [s for s in self.seen if s.method == method and compiled.match(s.path)]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        method = str(environ["REQUEST_METHOD"]).upper()
        path = str(environ.get("PATH_INFO") or "/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.seen.append(Seen(method, path, parse_qs(environ.get("QUERY_STRING", "")), body))
        for route_method, pattern, answers in self.routes:
            if route_method == method and pattern.match(path):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                break
        else:
            self.unrouted.append(f"{method} {path}")
            answer = Answer(404, b'[{"errorCode": "NOT_FOUND", "message": "not routed by the replay"}]')
        headers = [("Content-Type", answer.content_type), *answer.headers]
        if answer.status != 204:
            headers.append(("Content-Length", str(len(answer.body))))
        start_response(f"{answer.status} {_PHRASES.get(answer.status, 'Status')}", headers)
        yield answer.body if answer.status != 204 else b""


@dataclass
class ReplayServer:
    replay: Replay
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

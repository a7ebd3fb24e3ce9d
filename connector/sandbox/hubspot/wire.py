"""The request and response as the handlers see them: parsed once from WSGI, serialised once to bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from connector.sandbox.hubspot.errors import ApiError, validation
from connector.sandbox.server import request_body


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    _json: Any = None
    _parsed: bool = False

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        body = request_body(environ)
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=environ.get("PATH_INFO") or "/",
            query=parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
        )

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/json").lower()

    def param(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None

    def param_list(self, name: str) -> list[str]:
        """Repeated (``?p=a&p=b``, what the client sends) or comma separated (``?p=a,b``, what the docs show)."""
        return [part for key, value in self.query if key == name for part in value.split(",") if part]

    def json(self) -> Any:
        if not self._parsed:
            self._parsed = True
            try:
                self._json = json.loads(self.body) if self.body else None
            except ValueError as exc:
                raise validation(f"Invalid input JSON: {exc}") from exc
        return self._json

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise validation("Invalid input JSON: expected an object")
        return body


@dataclass(slots=True)
class Response:
    status: int
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    records: int = 0
    """Records read or written, for the ledger."""

    @classmethod
    def error(cls, exc: ApiError) -> Response:
        return cls(exc.status, exc.body())

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()

    @property
    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"

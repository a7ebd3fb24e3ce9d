"""Request and response validation against HubSpot's vendored OpenAPI specs, with openapi-core.

openapi-core and werkzeug are dev extras, so this lives with the tests: they hand a
:class:`SpecValidator` to the sandbox (``HubSpotSandbox(validator=...)``, ``start(..., validator=...)``),
while ``tiersync demo`` and ``sandbox serve`` run on the plain install, whose sandbox package imports
neither. The specs and their overlays are in ``connector.sandbox.hubspot.spec``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request import V30RequestBodyValidator, V30RequestParametersValidator
from openapi_core.validation.response import V30ResponseValidator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from connector.sandbox.hubspot.spec import SPEC_FILES, load_spec

_HOST = "https://api.hubapi.com"


@dataclass(slots=True)
class _SpecRequest:
    """The request shape openapi-core reads."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters
    host_url: str = _HOST


@dataclass(slots=True)
class _SpecResponse:
    status_code: int
    data: bytes | None
    content_type: str = "application/json"
    headers: Headers = field(default_factory=Headers)


def _describe(exc: BaseException) -> str:
    parts = [str(exc) or type(exc).__name__]
    cause = exc.__cause__
    if cause is not None:
        schema_errors: Iterable[Any] = getattr(cause, "schema_errors", None) or ()
        details = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in schema_errors]
        parts.extend(details or [str(cause)])
    return "; ".join(parts)


class SpecValidator:
    """Request and response validation against the vendored specs, one openapi-core app per spec file.

    Calls are serialised: openapi-core's path resolvers keep caches that were not written for threads,
    and the GIL would serialise the work anyway.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        config = Config(spec_validator_cls=None)
        self._apps = {
            name: OpenAPI.from_dict(load_spec(name), config=config) for name in set(SPEC_FILES.values())
        }
        self._request_validators = {
            name: (V30RequestParametersValidator(app.spec), V30RequestBodyValidator(app.spec))
            for name, app in self._apps.items()
        }
        self._response_validators = {name: V30ResponseValidator(app.spec) for name, app in self._apps.items()}

    @staticmethod
    def _spec_for(path: str) -> str | None:
        for prefix, name in SPEC_FILES.items():
            if path.startswith(prefix):
                return name
        return None

    @staticmethod
    def _request(
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        content_type: str,
    ) -> _SpecRequest:
        parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(list(headers.items())),
            cookie=ImmutableMultiDict(),
        )
        return _SpecRequest(method.lower(), path, body or None, content_type, parameters)

    def request_errors(
        self, method: str, path: str, query: list[tuple[str, str]], headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """Why the request does not conform (empty when it does)."""
        name = self._spec_for(path)
        if name is None:
            return [f"{method} {path}: no vendored spec covers this path"]
        content_type = headers.get("content-type", "application/json")
        request = self._request(method, path, query, headers, body, content_type)
        return [
            _describe(error)
            for validator in self._request_validators[name]
            for error in validator.iter_errors(request)
        ]

    def response_errors(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        status: int,
        body: bytes,
    ) -> list[str]:
        """Why a response does not match the spec's schema for that operation and status."""
        name = self._spec_for(path)
        if name is None:
            return []
        request = self._request(method, path, query, {}, b"", "application/json")
        response = _SpecResponse(status, body or None, "application/json" if body else "")
        with self._lock:
            return [
                _describe(error) for error in self._response_validators[name].iter_errors(request, response)
            ]


@functools.cache
def spec_validator() -> SpecValidator:
    """One validator for the whole test session: building the openapi-core apps takes a while, and the
    validator holds no per-sandbox state."""
    return SpecValidator()

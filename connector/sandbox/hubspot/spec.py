"""HubSpot's published OpenAPI specs as the sandbox's contract: every request is checked against them.

The JSON files in ``specs/`` are kept exactly as HubSpot publishes them. Where HubSpot's live API (and
its own docs and official client) is looser than the spec, a small overlay is applied in memory; each
overlay names its reason so that nothing is relaxed silently:

- create bodies without ``associations``, searches without ``after``/``limit``/``properties``/``sorts``,
  batch reads without ``propertiesWithHistory``: the spec marks them required, HubSpot's docs send
  requests without them, and ``hubspot-api-client`` leaves them out when unset;
- search ``sorts`` as ``{"propertyName", "direction"}`` objects: the spec says strings, the docs and
  every HubSpot example use objects;
- property values of ``null`` in responses: HubSpot returns ``null`` for a requested property that has
  no value, the spec says string;
- error bodies, declared ``*/*``, are validated as the JSON HubSpot sends, and a 204's empty
  ``content`` is read as "no body" (what OpenAPI means by it).

One check is stricter than openapi-core: it casts a boolean query parameter case-insensitively (and
takes ``1``/``yes``), where the spec's ``boolean`` in a query string is ``true`` or ``false`` only —
and ``hubspot-api-client`` renders Python's ``False`` as ``False``. :class:`BooleanQuery` refuses
anything else, whether or not the full validation is on.

Security (OAuth scopes) is not validated here: the app checks the bearer token itself. The full
request and response validation is a :class:`SpecCheck` handed to the app: the tests' openapi-core one
(``tests/hubspot_spec_validation.py``, a dev extra). This module needs nothing beyond the standard
library, so the sandbox runs on the plain install.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

SPEC_FILES: dict[str, str] = {
    "/crm/v3/objects/": "crm-objects-v3.json",
    "/crm/v3/properties/": "crm-properties-v3.json",
    "/crm/v4/": "crm-associations-v4.json",
    "/crm/v3/owners": "crm-owners-v3.json",
}
"""Path prefix -> vendored spec that owns it."""

_STRING_OR_NULL = {"type": "string", "nullable": True}
_SORT = {
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "required": ["propertyName"],
            "properties": {
                "propertyName": {"type": "string"},
                "direction": {"type": "string", "enum": ["ASCENDING", "DESCENDING"]},
            },
        },
    ]
}


Overlay = Callable[[dict[str, Any]], None]


def _required(schema: str, keep: list[str]) -> Overlay:
    def apply(spec: dict[str, Any]) -> None:
        spec["components"]["schemas"][schema]["required"] = keep

    return apply


def _sorts(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["PublicObjectSearchRequest"]["properties"]["sorts"]["items"] = _SORT


def _nullable_values(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("SimplePublicObject", "SimplePublicObjectWithAssociations", "SimplePublicUpsertObject"):
        schemas[name]["properties"]["properties"]["additionalProperties"] = _STRING_OR_NULL


def _no_body(spec: dict[str, Any]) -> None:
    """``"content": {}`` (the 204s) means "no body"; openapi-core reads it as "a body is required"."""
    for operations in spec["paths"].values():
        for operation in operations.values():
            for response in (
                (operation.get("responses") or {}).values() if isinstance(operation, dict) else ()
            ):
                if response.get("content") == {}:
                    del response["content"]


def _json_errors(spec: dict[str, Any]) -> None:
    """Error bodies are declared ``*/*``; HubSpot sends them as JSON, so validate them as JSON."""
    content = spec["components"]["responses"]["Error"]["content"]
    content["application/json"] = content["*/*"]


OVERLAYS: dict[str, list[Overlay]] = {
    "crm-objects-v3.json": [
        _no_body,
        _json_errors,
        _required("SimplePublicObjectInputForCreate", ["properties"]),
        _required("SimplePublicObjectBatchInputForCreate", ["properties"]),
        _required("PublicObjectSearchRequest", []),
        _required("BatchReadInputSimplePublicObjectId", ["inputs"]),
        _sorts,
        _nullable_values,
    ],
    "crm-properties-v3.json": [_no_body, _json_errors, _required("BatchReadInputPropertyName", ["inputs"])],
    "crm-associations-v4.json": [_no_body, _json_errors],
    "crm-owners-v3.json": [_no_body, _json_errors],
}


def load_spec(file_name: str) -> dict[str, Any]:
    """A vendored spec with its overlays applied (the file itself is never changed)."""
    text = resources.files("connector.sandbox.hubspot").joinpath("specs", file_name).read_text()
    spec: dict[str, Any] = json.loads(text)
    patched = copy.deepcopy(spec)
    for overlay in OVERLAYS.get(file_name, []):
        overlay(patched)
    return patched


@dataclass(frozen=True, slots=True)
class _Operation:
    method: str
    pattern: re.Pattern[str]
    literal_segments: int
    booleans: frozenset[str]


def _resolve(spec: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    ref = parameter.get("$ref")
    if not isinstance(ref, str):
        return parameter
    resolved: dict[str, Any] = spec["components"]["parameters"][ref.rsplit("/", 1)[-1]]
    return resolved


class SpecCheck(Protocol):
    """Full request and response validation against the specs, handed to ``HubSpotSandbox(validator=...)``.

    The sandbox package only names the shape: the implementation needs openapi-core (a dev extra), so it
    lives with the tests. Each method returns why the message does not conform (empty when it does)."""

    def request_errors(
        self, method: str, path: str, query: list[tuple[str, str]], headers: Mapping[str, str], body: bytes
    ) -> list[str]: ...

    def response_errors(
        self, method: str, path: str, query: list[tuple[str, str]], status: int, body: bytes
    ) -> list[str]: ...


class BooleanQuery:
    """The spec's ``boolean`` query parameters, checked for exactly ``true`` or ``false``.

    Read straight from the vendored JSON (no openapi-core), so it is cheap enough to run on every
    request, benchmarks included.
    """

    def __init__(self) -> None:
        self._operations: list[_Operation] = []
        for name in sorted(set(SPEC_FILES.values())):
            spec = load_spec(name)
            for template, item in spec["paths"].items():
                shared = [_resolve(spec, p) for p in item.get("parameters") or []]
                for method, operation in item.items():
                    if method == "parameters" or not isinstance(operation, dict):
                        continue
                    parameters = shared + [_resolve(spec, p) for p in operation.get("parameters") or []]
                    booleans = frozenset(
                        str(p["name"])
                        for p in parameters
                        if p.get("in") == "query" and (p.get("schema") or {}).get("type") == "boolean"
                    )
                    regex = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
                    literal = sum(1 for part in template.split("/") if part and "{" not in part)
                    self._operations.append(
                        _Operation(method.upper(), re.compile(f"^{regex}$"), literal, booleans)
                    )
        # The most literal template wins (``…/batch/read`` and ``…/groups`` before ``…/{id}``).
        self._operations.sort(key=lambda o: -o.literal_segments)

    def errors(self, method: str, path: str, query: list[tuple[str, str]]) -> list[str]:
        """One line per boolean query parameter whose value is not ``true`` or ``false``."""
        operation = next((o for o in self._operations if o.method == method and o.pattern.match(path)), None)
        if operation is None or not operation.booleans:
            return []
        return [
            f"query parameter {name}: {value!r} is not a boolean (use true or false)"
            for name, value in query
            if name in operation.booleans and value not in ("true", "false")
        ]

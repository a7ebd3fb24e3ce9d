"""The one place that turns hubspot-api-client and urllib3 exceptions into the CRM error taxonomy.

Each API package of the client (objects, associations v4, properties) raises its own ``ApiException``
class; they all carry ``status``, ``body`` and ``headers``, so the HTTP status decides here, never the
class. A 429 asks for a pause (its ``Retry-After``) unless its ``policyName`` is ``DAILY``: then the
day's allowance is spent and no short wait helps. Messages come from HubSpot's error body and never
contain the access token (it travels only in the request's ``Authorization`` header).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import urllib3
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

from connector.crm.base import (
    AuthError,
    CrmError,
    FatalError,
    LimitExhaustedError,
    NotFoundError,
    RequestRejectedError,
    RetriableError,
    SettingError,
    UnreachableError,
)
from connector.crm.reach import address_of, tls_failure, unreachable_reason

API_EXCEPTIONS: tuple[type[Exception], ...] = (
    ObjectsApiException,
    AssociationsApiException,
    PropertiesApiException,
)
"""The ``ApiException`` of every client package the adapter calls; add one here when using a new package."""

TRANSLATED: tuple[type[Exception], ...] = (*API_EXCEPTIONS, urllib3.exceptions.HTTPError, OSError)

RETRIABLE_STATUSES = frozenset({423, 429, 500, 502, 503, 504})
"""423 is the sandbox's answer to a locked record in an untraced batch create."""

RETRIABLE_ITEM_CATEGORIES = frozenset({"LOCKED", "RATE_LIMIT", "RATE_LIMITS"})
"""Per-input categories in a 207 that may succeed when the input is sent again."""

DAILY_POLICY = "DAILY"


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A response header, case-insensitively (urllib3's ``HTTPHeaderDict`` or a plain dict)."""
    if not headers:
        return None
    if name in headers:
        return headers[name]
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """``Retry-After`` in seconds (HubSpot sends whole seconds), or None."""
    value = header(headers, "Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def error_body(error: Any) -> dict[str, Any]:
    """The JSON error body of an ``ApiException`` (empty when there is none or it is not JSON)."""
    raw = getattr(error, "body", None)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"message": str(raw)[:300]}
    return parsed if isinstance(parsed, dict) else {}


def _details(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``(property names, codes)`` from ``errors[]``, each once, in order."""
    names: list[str] = []
    codes: list[str] = []
    for item in body.get("errors") or []:
        if not isinstance(item, dict):
            continue
        if item.get("code"):
            codes.append(str(item["code"]))
        context = item.get("context") or {}
        names += [str(n) for n in context.get("propertyName") or []]
    return list(dict.fromkeys(names)), list(dict.fromkeys(codes))


def _summary(body: dict[str, Any], status: int) -> tuple[str, str]:
    """``(category, one-line message)``: per-property problems listed rather than HubSpot's JSON dump."""
    category = str(body.get("category") or body.get("errorType") or f"HTTP_{status}")
    message = str(body.get("message") or "").strip()
    problems = [
        f"{', '.join(item.get('context', {}).get('propertyName') or ['?'])}: "
        f"{item.get('code') or ''} {item.get('message') or ''}".strip()
        for item in body.get("errors") or []
        if isinstance(item, dict) and (item.get("context") or {}).get("propertyName")
    ]
    if problems:
        message = message.split(":", 1)[0] + ": " + "; ".join(problems)
    return category, message[:1000]


def from_status(status: int, body: dict[str, Any], headers: Mapping[str, str] | None) -> CrmError:
    """The taxonomy error for an HTTP error answer."""
    category, message = _summary(body, status)
    if status == 429:
        policy = str(body.get("policyName") or "")
        if policy == DAILY_POLICY:
            return LimitExhaustedError(
                f"HubSpot daily API limit exhausted ({message}); the allowance resets at midnight in the "
                "portal's time zone"
            )
        return RetriableError(f"HubSpot 429 {policy or category}: {message}", retry_after(headers))
    if status in RETRIABLE_STATUSES:
        return RetriableError(f"HubSpot {status} {category}: {message}", retry_after(headers))
    if status == 401:
        return AuthError(
            f"HubSpot rejected the access token ({category}: {message}); set hubspot.access_token to a "
            "valid private-app token (or a fresh OAuth access token)"
        )
    if status == 403:
        return FatalError(
            f"HubSpot 403 {category}: {message}; give the private app the scopes listed in "
            "connector/crm/hubspot/BEHAVIOR.md"
        )
    names, codes = _details(body)
    kind = NotFoundError if status == 404 else RequestRejectedError
    return kind(
        f"HubSpot {status} {category}: {message}",
        status=status,
        code=category,
        fields=names,
        field_codes=codes,
    )


def translate(error: Exception) -> CrmError:
    """The taxonomy error for any exception a client call raised."""
    if isinstance(error, API_EXCEPTIONS):
        status = int(getattr(error, "status", 0) or 0)
        if status == 0:  # the client wraps a TLS failure as status 0 with the reason text
            return SettingError(
                "hubspot.ca_bundle: TLS verification failed: HubSpot's certificate is not trusted; check "
                "hubspot.host, or set "
                "hubspot.ca_bundle to the CA bundle of your proxy or sandbox"
            )
        return from_status(status, error_body(error), getattr(error, "headers", None))
    if tls_failure(error):
        return SettingError(
            f"hubspot.ca_bundle: TLS verification failed: HubSpot's certificate at {address_of(error) or 'the host'} is not "
            "trusted; check hubspot.host, or set hubspot.ca_bundle to the CA bundle of your proxy or sandbox"
        )
    if isinstance(error, urllib3.exceptions.LocationParseError):
        return SettingError("hubspot.host: not a valid URL (e.g. https://api.hubapi.com)")
    reason = unreachable_reason(error)
    if reason is not None:
        return UnreachableError(f"cannot reach HubSpot at {address_of(error) or 'its host'}: {reason}")
    if isinstance(error, urllib3.exceptions.HTTPError | OSError):
        return RetriableError(f"connection to HubSpot failed: {type(error).__name__}: {error}")
    return FatalError(f"HubSpot request failed: {type(error).__name__}: {error}")

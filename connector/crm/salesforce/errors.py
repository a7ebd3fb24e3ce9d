"""The one place that turns simple_salesforce and requests exceptions into the CRM error taxonomy.

The HTTP status decides, not Salesforce's ``errorCode``: a 429 from a proxy or the sandbox reuses
``REQUEST_LIMIT_EXCEEDED`` yet only asks for a pause, while a 403 with that code means the daily
allowance is spent. simple_salesforce's exceptions drop the response headers, so ``Retry-After`` is
captured by a response hook on the session (:class:`RetryAfterWatch`) and attached here.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceOperationError,
)

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

T = TypeVar("T")

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"})
"""Per-record failures in a 200 collection answer that may succeed when the record is sent again."""


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class RetryAfterWatch:
    """A ``requests`` response hook remembering the last error response's ``Retry-After`` per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if response.status_code >= 400:
            self._local.value = parse_retry_after(response.headers.get("Retry-After"))
        else:
            self._local.value = None
        return response

    def take(self) -> float | None:
        value: float | None = getattr(self._local, "value", None)
        self._local.value = None
        return value


def first_error(content: Any) -> tuple[str, str, list[str]]:
    """``(errorCode, message, fields)`` of an error body: ``[{...}]``, ``{...}``, bytes or text."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        content = content[0]
    if isinstance(content, dict):
        code = content.get("errorCode") or content.get("statusCode") or content.get("error") or "UNKNOWN"
        message = content.get("message") or content.get("error_description") or ""
        fields = content.get("fields") or []
        return str(code), str(message), [str(f) for f in fields]
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    return "UNKNOWN", str(content or "")[:300], []


CONCURRENCY_LIMITS = ("ConcurrentPerOrgLongTxn", "ConcurrentRequests")
"""403 ``REQUEST_LIMIT_EXCEEDED`` messages that mean "too many long requests at once": they clear as
the org's long requests (20 s or longer) finish, unlike "TotalRequests Limit exceeded", the daily
allowance (Salesforce "API Request Limits and Allocations")."""
CONCURRENCY_PAUSE = 5.0
"""The shortest pause before retrying a concurrency refusal: long requests last 20 s or more, so the
retry layer's first sub-second pauses would only spend attempts."""


def is_concurrency_limit(message: str) -> bool:
    return any(name.lower() in message.lower() for name in CONCURRENCY_LIMITS)


def translate(error: Exception, retry_after: float | None = None) -> CrmError:
    """The taxonomy error for ``error``; messages carry no secrets (tokens travel only in headers)."""
    if isinstance(error, SalesforceAuthenticationFailed):
        return AuthError(f"Salesforce login failed ({error.code}): {error.auth_message}")
    if isinstance(error, SalesforceError):
        status = error.status
        code, message, fields = first_error(error.content)
        where = f" [{error.resource_name}]" if error.resource_name else ""
        if status in RETRIABLE_STATUSES:
            return RetriableError(f"Salesforce {status} {code}: {message}{where}", retry_after)
        if status == 401:
            return AuthError(
                f"Salesforce rejected the session ({code}: {message}); set a fresh salesforce.session_id "
                "or configure a login flow (username + password, JWT or client credentials)"
            )
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED" and is_concurrency_limit(message):
            return RetriableError(
                f"Salesforce concurrent long-request limit reached ({message}){where}",
                max(retry_after or 0.0, CONCURRENCY_PAUSE),
            )
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            return LimitExhaustedError(
                f"Salesforce daily API limit exhausted ({message}); the allowance refills over 24 hours"
            )
        kind = NotFoundError if status == 404 else RequestRejectedError
        return kind(f"Salesforce {status} {code}: {message}{where}", status=status, code=code, fields=fields)
    if isinstance(error, requests.exceptions.SSLError) or tls_failure(error):
        return SettingError(
            f"salesforce.ca_bundle: TLS verification failed: Salesforce's certificate at {address_of(error) or 'the instance'} is not "
            "trusted; set salesforce.ca_bundle to the CA bundle of your proxy or sandbox"
        )
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return SettingError(
            "salesforce.instance_url / salesforce.domain: not a valid Salesforce address "
            "(e.g. https://yourcompany.my.salesforce.com, or domain = login, test or yourcompany.my)"
        )
    reason = unreachable_reason(error)
    if reason is not None:
        return UnreachableError(f"cannot reach Salesforce at {address_of(error) or 'its host'}: {reason}")
    if isinstance(
        error,
        requests.exceptions.ConnectionError
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.Timeout,
    ):
        return RetriableError(f"connection to Salesforce failed: {type(error).__name__}: {error}")
    if isinstance(error, SalesforceOperationError):
        return FatalError(f"Salesforce Bulk job failed: {error}")
    return FatalError(f"Salesforce request failed: {type(error).__name__}: {error}")


TRANSLATED = (SalesforceError, SalesforceOperationError, requests.exceptions.RequestException)


def translated(fn: Callable[[], T], watch: RetryAfterWatch) -> T:
    """Run ``fn``; any client or transport exception leaves as a taxonomy error."""
    try:
        return fn()
    except TRANSLATED as error:
        raise translate(error, watch.take()) from error

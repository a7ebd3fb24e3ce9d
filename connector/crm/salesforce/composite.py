"""sObject Collections calls (``composite/sobjects``): at most 200 records a call, one result each.

A 200 answer is not "all succeeded": with ``allOrNone: false`` each record succeeds or fails on its
own, so every result becomes its own :class:`Outcome`, in input order. A request-level error (400 for
an unknown field, say) fails the whole call and propagates as a taxonomy error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from simple_salesforce.api import Salesforce

from connector.crm.base import FatalError, Outcome
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.errors import RETRIABLE_RECORD_CODES

MAX_RECORDS = 200
"""sObject Collections refuse more (``EXCEEDED_ID_LIMIT``)."""


def outcome(ref: str, result: dict[str, Any], label: Callable[[str], str] = str) -> Outcome:
    """One record's result as an Outcome; ``label`` names a Salesforce field in the message."""
    record_id = result.get("id")
    if result.get("success"):
        return Outcome(ref=ref, ok=True, crm_id=record_id)
    errors: list[dict[str, Any]] = result.get("errors") or [{}]
    first = errors[0]
    code = str(first.get("statusCode") or "UNKNOWN")
    message = str(first.get("message") or "")
    fields = [label(str(f)) for f in first.get("fields") or []]
    if fields:
        message += f" (field: {', '.join(fields)})"
    if len(errors) > 1:
        message += "; also " + ", ".join(str(e.get("statusCode")) for e in errors[1:])
    return Outcome(
        ref=ref,
        ok=False,
        crm_id=record_id,
        error_code=code,
        message=message,
        retriable=code in RETRIABLE_RECORD_CODES,
    )


def _restful(sf: Salesforce, *, path: str, method: str, body: dict[str, Any]) -> Any:
    return sf.restful(path, method=method, json=body)


def send(
    client: SalesforceClient,
    path: str,
    method: str,
    records: Sequence[dict[str, Any]],
    refs: Sequence[str],
    label: Callable[[str], str] = str,
    *,
    once: bool = False,
) -> list[Outcome]:
    """Send ``records`` in calls of 200 (``allOrNone: false``); one Outcome per record, in order.

    ``once``: each call is sent without the retry layer (for creates that must not land twice)."""
    outcomes: list[Outcome] = []
    for start in range(0, len(records), MAX_RECORDS):
        chunk = list(records[start : start + MAX_RECORDS])
        body = {"allOrNone": False, "records": chunk}
        if once:
            results = client.call_once(functools.partial(_restful, path=path, method=method, body=body))
        else:
            results = client.rest(path, method=method, json=body)
        if not isinstance(results, list) or len(results) != len(chunk):
            raise FatalError(
                f"Salesforce {method} {path}: expected {len(chunk)} results, got {results!r:.200}"
            )
        outcomes += [
            outcome(ref, result, label)
            for ref, result in zip(refs[start : start + MAX_RECORDS], results, strict=True)
        ]
    return outcomes

"""CRM objects batch calls: read, update and create at most 100 inputs a call, one Outcome per input.

**A 207 is not success.** HubSpot answers a batch whose inputs partly failed with 207, which the client
does not raise (its model is ``…WithErrors``): every ``errors[]`` entry names its inputs
(``context.ids`` for updates, ``context.objectWriteTraceId`` for creates), and each becomes a failed
:class:`Outcome` for exactly those inputs — ``retriable`` for a ``LOCKED`` (or rate-limited) input,
not for ``VALIDATION_ERROR`` or ``CONFLICT``. Creates always carry an ``objectWriteTraceId`` per input:
without one HubSpot fails the whole batch on the first bad input.

An invalid property value fails the whole call (400 naming the property) rather than its input; the
call is then split in halves and resent until the bad inputs are alone, so one bad value costs its
own record, not its 99 neighbours (about ``2·log2(100)`` extra calls per bad input, at most
:data:`ISOLATION_CALLS` per write).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
)

from connector.crm.base import Outcome, RequestRejectedError
from connector.crm.hubspot.client import HubSpotClient, Json
from connector.crm.hubspot.errors import RETRIABLE_ITEM_CATEGORIES

log = logging.getLogger(__name__)

T = TypeVar("T")
Row = dict[str, Any]
"""A record's properties (HubSpot strings or None) and its id under ``hs_object_id``."""

BATCH_LIMIT = 100
"""Inputs per CRM objects batch call; HubSpot refuses 101 with a 400 for the whole call."""
OBJECT_ID = "hs_object_id"


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def row(record: Json) -> Row:
    """A record's properties with its id under ``hs_object_id`` (always present, even if not requested)."""
    return {**(record.get("properties") or {}), OBJECT_ID: str(record["id"])}


def read(
    client: HubSpotClient,
    object_type: str,
    ids: Sequence[str],
    properties: Sequence[str],
    *,
    id_property: str | None = None,
) -> list[Row]:
    """The live records with these ids (or values of the unique ``id_property``); missing ones are absent."""
    rows: list[Row] = []
    for chunk in chunks(list(dict.fromkeys(ids)), BATCH_LIMIT):
        body = BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in chunk],
            properties=list(properties),
            properties_with_history=[],
            id_property=id_property,
        )
        answer = client.call(
            f"batch read {object_type}",
            client.objects_batch.read_with_http_info,
            object_type,
            body,
        )
        for error in answer.get("errors") or []:
            if error.get("category") != "OBJECT_NOT_FOUND":
                log.warning(
                    "HubSpot batch read %s: %s %s", object_type, error.get("category"), error.get("message")
                )
        rows += [row(r) for r in answer.get("results") or []]
    return rows


# -- writes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateInput:
    ref: str
    id: str
    properties: dict[str, str]


@dataclass(frozen=True)
class CreateInput:
    ref: str
    """Also the input's ``objectWriteTraceId``."""
    properties: dict[str, str]
    associations: list[Json] = field(default_factory=list)
    """``PublicAssociationsForObject`` bodies: ``{"to": {"id": …}, "types": [...]}``."""


Label = Callable[[str], str]
"""Names a HubSpot property in a message (``tiersync_tier (tier)``)."""


def _failure(ref: str, crm_id: str | None, error: Json) -> Outcome:
    """A 207's per-input error (``StandardError``) as the Outcome of one of its inputs."""
    category = str(error.get("category") or "UNKNOWN")
    existing = ((error.get("context") or {}).get("existingId") or [None])[0]
    return Outcome(
        ref=ref,
        ok=False,
        crm_id=str(existing) if existing else crm_id,
        error_code=category,
        message=str(error.get("message") or ""),
        retriable=category in RETRIABLE_ITEM_CATEGORIES,
    )


def _rejected(ref: str, crm_id: str | None, error: RequestRejectedError, label: Label) -> Outcome:
    named = f" (property: {', '.join(label(p) for p in error.fields)})" if error.fields else ""
    return Outcome(
        ref=ref,
        ok=False,
        crm_id=crm_id,
        error_code=error.field_codes[0] if error.field_codes else error.code,
        message=f"{error}{named}",
    )


ISOLATION_CALLS = 30
"""Extra calls one write may spend isolating bad inputs; past it a failing call fails all its inputs
(a property every input breaks — an option deleted in HubSpot — would otherwise cost 2 calls per input)."""


class _Isolation:
    def __init__(self) -> None:
        self.left = ISOLATION_CALLS

    def run(
        self,
        chunk: list[tuple[int, T]],
        send: Callable[[list[tuple[int, T]]], dict[int, Outcome]],
        reject: Callable[[T, RequestRejectedError], Outcome],
    ) -> dict[int, Outcome]:
        """``send(chunk)``; on a 400 naming properties, each half alone until each bad input is alone."""
        try:
            return send(chunk)
        except RequestRejectedError as error:
            if error.status != 400 or not error.fields:
                raise
            if len(chunk) == 1 or self.left < 2:
                return {index: reject(item, error) for index, item in chunk}
            self.left -= 2
            half = len(chunk) // 2
            return {**self.run(chunk[:half], send, reject), **self.run(chunk[half:], send, reject)}


def _without_repeats(items: list[tuple[int, UpdateInput]]) -> Iterator[list[tuple[int, UpdateInput]]]:
    """Chunks of at most 100 in input order, never naming one id twice (HubSpot refuses that call)."""
    pending = items
    while pending:
        chunk: list[tuple[int, UpdateInput]] = []
        seen: set[str] = set()
        rest: list[tuple[int, UpdateInput]] = []
        for item in pending:
            if len(chunk) < BATCH_LIMIT and item[1].id not in seen:
                chunk.append(item)
                seen.add(item[1].id)
            else:
                rest.append(item)
        yield chunk
        pending = rest


def update(
    client: HubSpotClient, object_type: str, inputs: Sequence[UpdateInput], label: Label = str
) -> list[Outcome]:
    """Batch update; one Outcome per input, in input order."""

    def send(chunk: list[tuple[int, UpdateInput]]) -> dict[int, Outcome]:
        body = BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": u.id, "properties": u.properties} for _, u in chunk]
        )
        answer = client.call(
            f"batch update {object_type}", client.objects_batch.update_with_http_info, object_type, body
        )
        by_id: dict[str, Outcome] = {}
        for result in answer.get("results") or []:
            by_id[str(result["id"])] = Outcome(ref="", ok=True, crm_id=str(result["id"]))
        for error in answer.get("errors") or []:
            context = error.get("context") or {}
            for record_id in [*(context.get("ids") or []), *(context.get("id") or [])]:
                by_id[str(record_id)] = _failure("", str(record_id), error)
        outcomes: dict[int, Outcome] = {}
        for index, item in chunk:
            found = by_id.get(item.id)
            outcomes[index] = (
                dataclasses.replace(found, ref=item.ref)
                if found is not None
                else Outcome(
                    item.ref,
                    ok=False,
                    crm_id=item.id,
                    error_code="UNKNOWN",
                    message=f"HubSpot returned no result for {object_type} {item.id}",
                )
            )
        return outcomes

    outcomes: dict[int, Outcome] = {}
    isolation = _Isolation()
    for chunk in _without_repeats(list(enumerate(inputs))):
        outcomes.update(isolation.run(chunk, send, lambda u, e: _rejected(u.ref, u.id, e, label)))
    return [outcomes[index] for index in range(len(inputs))]


def create(
    client: HubSpotClient,
    object_type: str,
    inputs: Sequence[CreateInput],
    ref_of: Callable[[Row], str | None],
    label: Label = str,
) -> list[Outcome]:
    """Traced batch create; one Outcome per input, in input order. ``ref_of`` finds a created
    record's input when HubSpot does not echo its ``objectWriteTraceId``."""

    def send(chunk: list[tuple[int, CreateInput]]) -> dict[int, Outcome]:
        body = BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": c.properties, "associations": c.associations, "objectWriteTraceId": c.ref}
                for _, c in chunk
            ]
        )
        answer = client.call(
            f"batch create {object_type}", client.objects_batch.create_with_http_info, object_type, body
        )
        by_ref: dict[str, Outcome] = {}
        for result in answer.get("results") or []:
            ref = result.get("objectWriteTraceId") or ref_of(row(result))
            if ref:
                by_ref[str(ref)] = Outcome(str(ref), ok=True, crm_id=str(result["id"]))
        for error in answer.get("errors") or []:
            for ref in (error.get("context") or {}).get("objectWriteTraceId") or []:
                by_ref[str(ref)] = _failure(str(ref), None, error)
        return {
            index: by_ref.get(item.ref)
            or Outcome(item.ref, ok=False, error_code="UNKNOWN", message="HubSpot returned no result for it")
            for index, item in chunk
        }

    outcomes: dict[int, Outcome] = {}
    isolation = _Isolation()
    for chunk in chunks(list(enumerate(inputs)), BATCH_LIMIT):
        outcomes.update(isolation.run(chunk, send, lambda c, e: _rejected(c.ref, None, e, label)))
    return [outcomes[index] for index in range(len(inputs))]

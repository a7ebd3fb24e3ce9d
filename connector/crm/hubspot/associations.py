"""Associations v4 batch read: which records of one type are associated with each of many records.

At most 1,000 ids a call (``POST /crm/v4/associations/{from}/{to}/batch/read``), so a page of 2,000
companies costs two calls per evidence type, never one per company. An id without associations comes
back as a per-input error in a 207: that is "none", not a failure. HubSpot returns at most 500
associations per id and a ``paging.next.after`` for the rest; those ids are asked again, with their
cursor, in the next batch call.
"""

from __future__ import annotations

from collections.abc import Sequence

from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest

from connector.crm import paging
from connector.crm.hubspot.batch import chunks
from connector.crm.hubspot.client import HubSpotClient

BATCH_LIMIT = 1000
MAX_ROUNDS = 1000
"""Rounds of per-id paging (500 associations each): a runaway cursor fails loudly instead of looping."""

Pending = tuple[tuple[str, str | None], ...]
"""The ids a round asks for, each with its cursor (None: from the first association)."""


def associated(
    client: HubSpotClient, from_type: str, to_type: str, ids: Sequence[str]
) -> dict[str, list[str]]:
    """``from id -> associated ids`` (each once, in HubSpot's order); ids with none are absent."""
    found: dict[str, dict[str, None]] = {}
    guard = paging.CursorGuard(f"HubSpot associations {from_type}->{to_type}")

    def fetch(pending: Pending | None) -> tuple[None, Pending | None]:
        """One round: every pending id's next page of associations, 1,000 ids a call."""
        again: list[tuple[str, str | None]] = []
        for chunk in chunks(list(pending or ()), BATCH_LIMIT):
            body = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[{"id": i, **({"after": after} if after else {})} for i, after in chunk]
            )
            answer = client.call(
                f"associations {from_type}->{to_type}",
                client.associations_batch.get_page_with_http_info,
                from_type,
                to_type,
                body,
            )
            for result in answer.get("results") or []:
                from_id = str(result["from"]["id"])
                targets = found.setdefault(from_id, {})
                for target in result.get("to") or []:
                    targets[str(target["toObjectId"])] = None
                cursor = ((result.get("paging") or {}).get("next") or {}).get("after")
                if cursor:
                    guard.advance((from_id, str(cursor)))  # one id's cursors, followed round by round
                    again.append((from_id, str(cursor)))
        return None, tuple(again) or None

    start: Pending = tuple((i, None) for i in dict.fromkeys(ids))
    if start:
        for _ in paging.pages(fetch, what=guard.what, cap=MAX_ROUNDS, start=start):
            pass
    return {from_id: list(targets) for from_id, targets in found.items()}

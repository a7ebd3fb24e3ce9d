"""CRM search, paged by ``hs_object_id`` windows so that HubSpot's 10,000-result cap never truncates.

HubSpot refuses to page a search past its 10,000th result (and ``total`` keeps counting, so nothing
says results were lost unless you look). Every page here is therefore its own search, sorted by
``hs_object_id`` ascending and filtered ``hs_object_id > <last id of the previous page>``: a keyset
window that restarts on each page. No request ever pages with ``after``, so no result set, however
large, reaches the cap; and unlike offset paging, a record archived between two pages cannot shift
the offsets and make the next page skip one. Searches are paced to their own per-second limit by the
client (``search=True``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hubspot.crm.objects import PublicObjectSearchRequest

from connector.crm import paging
from connector.crm.base import FatalError
from connector.crm.hubspot.batch import OBJECT_ID, Row, row
from connector.crm.hubspot.client import HubSpotClient, Json

PAGE_LIMIT = 200
"""HubSpot's largest search page."""
IN_VALUES = 100
"""Values per ``IN`` filter: HubSpot documents no larger bound we could rely on."""
MAX_WINDOWS = 100_000
"""20 million records: a cursor that stops moving fails loudly before this."""
MODIFIED = "hs_lastmodifieddate"
"""Last modification on every object type the adapter reads (contacts, unused here, say ``lastmodifieddate``)."""


def condition(name: str, operator: str, value: str | None = None, values: Sequence[str] = ()) -> Json:
    """One search filter (``Filter``): ``value`` for comparisons, ``values`` for ``IN``, neither for
    ``HAS_PROPERTY`` (the spec refuses a ``null`` value)."""
    if values:
        return {"propertyName": name, "operator": operator, "values": list(values)}
    if value is None:
        return {"propertyName": name, "operator": operator}
    return {"propertyName": name, "operator": operator, "value": value}


def windows(
    client: HubSpotClient,
    object_type: str,
    filters: Sequence[Json],
    properties: Sequence[str],
    *,
    after_id: str | None = None,
    any_of: Sequence[Json] = (),
) -> Iterator[list[Row]]:
    """Pages of the records matching every filter (and, when given, at least one of ``any_of``: one
    filter group each, so at most 5), in ``hs_object_id`` order, after ``after_id``."""

    def fetch(last: str | None) -> tuple[list[Row], str | None]:
        window = [*filters, *([condition(OBJECT_ID, "GT", last)] if last is not None else [])]
        groups = [{"filters": [*window, extra]} for extra in any_of]
        if not groups and window:
            groups = [{"filters": window}]
        body = PublicObjectSearchRequest(
            filter_groups=groups,
            sorts=[{"propertyName": OBJECT_ID, "direction": "ASCENDING"}],
            properties=list(dict.fromkeys([OBJECT_ID, *properties])),
            limit=PAGE_LIMIT,
        )
        answer = client.call(
            f"search {object_type}",
            client.objects_search.do_search_with_http_info,
            object_type,
            body,
            search=True,
        )
        rows = [row(r) for r in answer.get("results") or []]
        if not rows:
            return rows, None
        newest = rows[-1][OBJECT_ID]
        if last is not None and int(newest) <= int(last):
            raise FatalError(f"HubSpot search on {object_type} did not move past id {last}; stopped")
        # (a short page with a next cursor is not the end: HubSpot returns those)
        return rows, newest if (answer.get("paging") or {}).get("next") else None

    found = paging.pages(fetch, what=f"HubSpot search on {object_type}", cap=MAX_WINDOWS, start=after_id)
    return (rows for rows in found if rows)

"""Owner names from HubSpot's owners API (``GET /crm/v3/owners``), so that people read names, not ids.

The API lists owners in pages (``limit`` at most 500, ``paging.next.after``); there is no batch read
by id, and a portal has far fewer owners than records, so listing them costs one or two calls per run.
Archived owners (people who left) are listed with ``archived=true``: their records still name them.

With ``hubspot.owners_ttl_seconds`` every name listed is kept in the portal's cache: a later run asks
HubSpot only when it meets an owner id the cache does not hold (a new colleague), and then lists afresh
(a renamed owner keeps the old name until the TTL runs out). An id HubSpot does not list at all is
never kept, so each run asks about it again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from connector.crm import paging
from connector.crm.hubspot.client import HubSpotClient
from connector.crm.metadata_cache import MetadataCache

PAGE = 500
MAX_PAGES = 200
"""A hard cap on pages, so that a paging loop in the API cannot run forever (100,000 owners)."""


def _name(owner: dict[str, Any]) -> str:
    name = " ".join(str(owner.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
    return name or str(owner.get("email") or "")


def owner_names(
    client: HubSpotClient, owner_ids: Sequence[str], cache: MetadataCache | None = None
) -> dict[str, str]:
    """``{owner id: "First Last"}`` (the email when the owner has no name) for the ids asked for."""
    wanted = set(owner_ids)
    kept = {} if cache is None else cache.facts([f"owner:{i}" for i in sorted(wanted)])
    known = {key.removeprefix("owner:"): name for key, name in kept.items()}
    if wanted <= known.keys():
        return known
    listed = _listed(client, wanted)
    if cache is not None:
        cache.remember_all({f"owner:{key}": name for key, name in listed.items()})
    return {key: name for key, name in {**known, **listed}.items() if key in wanted}


def _listed(client: HubSpotClient, wanted: set[str]) -> dict[str, str]:
    """Every owner listed until all of ``wanted`` are named: the active ones, then the archived."""
    names: dict[str, str] = {}
    api = client.hubspot.crm.owners.owners_api

    def lister(archived: bool) -> Callable[[str | None], tuple[list[dict[str, Any]], str | None]]:
        def fetch(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
            kwargs: dict[str, Any] = {"limit": PAGE} | ({"after": after} if after else {})
            if archived:
                kwargs["archived"] = "true"  # the client renders True as 'True', which the API refuses
            page = client.call("owners", api.get_page_with_http_info, **kwargs)
            following = ((page.get("paging") or {}).get("next") or {}).get("after")
            return page.get("results") or [], str(following) if following else None

        return fetch

    for archived in (False, True):
        # A looping or endless owner list ends the names there: a name missing is no reason to fail.
        with contextlib.suppress(paging.PagingError):
            for owners in paging.pages(lister(archived), what="HubSpot owners", cap=MAX_PAGES):
                for owner in owners:
                    key = str(owner.get("id"))
                    if _name(owner):
                        names.setdefault(key, _name(owner))
        if wanted <= names.keys():
            break
    return names

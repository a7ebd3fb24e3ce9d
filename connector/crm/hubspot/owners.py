"""Owner names from HubSpot's owners API (``GET /crm/v3/owners``), so that people read names, not ids.

The API lists owners in pages (``limit`` at most 500, ``paging.next.after``); there is no batch read
by id, and a portal has far fewer owners than records, so listing them costs one or two calls per run.
Archived owners (people who left) are listed with ``archived=true``: their records still name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connector.crm.hubspot.client import HubSpotClient

PAGE = 500
MAX_PAGES = 200
"""A hard cap on pages, so that a paging loop in the API cannot run forever (100,000 owners)."""


def _name(owner: dict[str, Any]) -> str:
    name = " ".join(str(owner.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
    return name or str(owner.get("email") or "")


def owner_names(client: HubSpotClient, owner_ids: Sequence[str]) -> dict[str, str]:
    """``{owner id: "First Last"}`` (the email when the owner has no name) for the ids asked for."""
    wanted = set(owner_ids)
    names: dict[str, str] = {}
    api = client.hubspot.crm.owners.owners_api
    for archived in (False, True):
        after: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"limit": PAGE} | ({"after": after} if after else {})
            if archived:
                kwargs["archived"] = "true"  # the client renders True as 'True', which the API refuses
            page = client.call("owners", api.get_page_with_http_info, **kwargs)
            for owner in page.get("results") or []:
                key = str(owner.get("id"))
                if key in wanted and _name(owner):
                    names.setdefault(key, _name(owner))
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after or after in seen:
                break
            seen.add(after)
        if wanted <= names.keys():
            break
    return names

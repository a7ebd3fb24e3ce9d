"""Owner names from HubSpot's owners API (``GET /crm/v3/owners``), so that people read names, not ids.

The API lists owners in pages (``limit`` at most 500, ``paging.next.after``); there is no batch read
by id, and a portal has far fewer owners than records, so listing them costs one or two calls per run.
Archived owners (people who left) are listed with ``archived=true``: their records still name them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from connector.crm import paging
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
                    if key in wanted and _name(owner):
                        names.setdefault(key, _name(owner))
        if wanted <= names.keys():
            break
    return names

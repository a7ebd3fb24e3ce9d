"""How a full read finds the clients: search on the mapping's client filter, or list every company.

HubSpot's list endpoint takes no filter, so listing reads every company (100 a call) and keeps the
clients on this side. A portal of 200,000 companies with 10,000 customers would pay 2,000 calls for
what a search on ``lifecyclestage = customer`` returns in 50 (200 a call). Search has its own, lower
rate limit, though: a search call costs :meth:`~connector.crm.hubspot.pacing.Pacer.search_weight`
ordinary calls of wall time at the limits. So before a full read, two searches with ``limit 1`` count
the clients and the companies (search answers ``total`` whatever the limit), and the read searches when

    ceil(clients / 200) * search_weight  <  ceil(companies / 100)

and lists otherwise. The search goes through ``search.windows`` (``hs_object_id`` windows), so the
10,000-result cap never truncates it, paced by the client's search pacing.

Only the filter's ``=`` and ``IN`` clauses are sent (as ``EQ``/``IN``, values lower-cased as the
mapping's ``where`` compares them); ``!=``/``NOT IN`` stay client-side, because HubSpot's negative
operators and the ``where`` may disagree on records without the property. Every row is still checked
against the whole ``where`` after either read, so both strategies return the same accounts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from hubspot.crm.objects import PublicObjectSearchRequest

from connector.crm.hubspot.batch import OBJECT_ID
from connector.crm.hubspot.client import HubSpotClient, Json
from connector.crm.hubspot.search import PAGE_LIMIT, condition
from connector.crm.hubspot.where import Where

Strategy = Literal["list", "search"]
Choice = Literal["auto", "list", "search"]
LIST_LIMIT = 100
"""HubSpot's largest list page."""


def search_filters(where: Where | None) -> list[Json]:
    """The ``where``'s positive clauses as search filters (empty: nothing narrows a search)."""
    if where is None:
        return []
    filters: list[Json] = []
    for clause in where.clauses:
        if clause.negated:
            continue
        values = sorted(clause.values)
        if len(values) == 1:
            filters.append(condition(clause.name, "EQ", values[0]))
        else:
            filters.append(condition(clause.name, "IN", values=values))
    return filters


def count(client: HubSpotClient, object_type: str, filters: list[Json]) -> int:
    """How many records match ``filters``: one search with ``limit 1``, read from its ``total``."""
    body = PublicObjectSearchRequest(
        filter_groups=[{"filters": filters}] if filters else [], properties=[OBJECT_ID], limit=1
    )
    answer = client.call(
        f"count {object_type}", client.objects_search.do_search_with_http_info, object_type, body, search=True
    )
    return int(answer.get("total") or 0)


@dataclass(frozen=True)
class ReadPlan:
    """Which way a full read goes, and the figures it was chosen from (for logs and benchmarks)."""

    strategy: Strategy
    filters: list[Json]
    companies: int | None = None
    clients: int | None = None
    search_weight: float | None = None

    @property
    def list_calls(self) -> int | None:
        return None if self.companies is None else math.ceil(self.companies / LIST_LIMIT)

    @property
    def search_calls(self) -> int | None:
        return None if self.clients is None else math.ceil(self.clients / PAGE_LIMIT)

    def describe(self) -> str:
        if self.companies is None:
            return f"{self.strategy}: no count made"
        return (
            f"{self.strategy}: {self.clients} clients of {self.companies} companies; list "
            f"{self.list_calls} calls, search {self.search_calls} calls x {self.search_weight:.2f}"
        )


def plan(client: HubSpotClient, object_type: str, where: Where | None, choice: Choice = "auto") -> ReadPlan:
    """The read to make; ``auto`` counts first (two searches) unless no filter can narrow a search."""
    filters = search_filters(where)
    if choice != "auto" or not filters:
        strategy: Strategy = "search" if choice == "search" else "list"
        return ReadPlan(strategy, filters)
    clients = count(client, object_type, filters)
    companies = count(client, object_type, [])
    weight = client.pacer.search_weight()
    cheaper = math.ceil(clients / PAGE_LIMIT) * weight < math.ceil(companies / LIST_LIMIT)
    return ReadPlan("search" if cheaper else "list", filters, companies, clients, weight)

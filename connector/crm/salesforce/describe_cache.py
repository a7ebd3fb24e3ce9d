"""Describes kept across runs (``connector.crm.metadata_cache``), for ``salesforce.describe_ttl_seconds``.

Every run otherwise starts with one describe per mapped object (seven on the default mapping). Entries
are keyed by org, user and API version (field-level security differs per user), and hold only what
:class:`~connector.crm.salesforce.describe.FieldInfo` reads. Beside each describe the mapping ``where``
conditions that a ``LIMIT 1`` query proved valid against it are kept (``checked``): they stay valid as
long as that describe does, so a warm run re-checks none, and a new describe that differs drops them.
The API user's Id and the owners' names are kept as facts: a username names one user for good and a
user is rarely renamed, so looking them up once per TTL is enough.
"""

from __future__ import annotations

from typing import Any

from connector.crm.metadata_cache import MetadataCache

KEPT_FIELD_KEYS = (
    "name",
    "type",
    "length",
    "updateable",
    "idLookup",
    "picklistValues",
    "referenceTo",
    "relationshipName",
)


class DescribeCache(MetadataCache):
    """``object name -> describe`` (None: the org has no such object), trimmed to what is read."""

    def put(self, name: str, value: dict[str, Any] | None) -> None:
        kept = (
            None
            if value is None
            else {
                "name": value.get("name", name),
                "fields": [{k: f[k] for k in KEPT_FIELD_KEYS if k in f} for f in value.get("fields", [])],
            }
        )
        super().put(name, kept)

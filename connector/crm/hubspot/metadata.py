"""Where the HubSpot adapter keeps what it learns about a portal between runs (``metadata_cache``).

* The portal id a token reaches (``GET /account-info/v3/details``), under the host and a SHA-256
  digest of the token (never the token): a private app's or OAuth token belongs to one portal for
  its whole life, so the answer cannot change while the token stays the same; another token is
  another key and asks again. Kept for ``hubspot.properties_ttl_seconds``.
* Property definitions (``schema``) for ``properties_ttl_seconds`` and owner names for
  ``owners_ttl_seconds``, under the host and that portal id, so two portals never share an entry.

Nothing is kept without a file (no state path, such as a PostgreSQL state) or with both TTLs at 0.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from connector.config import HubSpotSettings
from connector.crm.metadata_cache import MetadataCache

PORTAL_KEY = "portal"


class PortalMetadata:
    """The portal id (looked up by ``look_up`` at most once per instance) and the portal's caches."""

    def __init__(
        self,
        settings: HubSpotSettings,
        path: Path | None,
        look_up: Callable[[], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._path = path
        self._look_up = look_up
        self._clock = clock
        self._portal: str | None = None

    def _file(self, ttl: float, scope: str) -> MetadataCache | None:
        return None if self._path is None or ttl <= 0 else MetadataCache(self._path, ttl, scope, self._clock)

    def portal_id(self) -> str:
        """The Hub ID the token reaches: from memory, the cache, or one account-details call."""
        if self._portal is None:
            secret = self._settings.access_token
            digest = hashlib.sha256((secret.get_secret_value() if secret else "").encode()).hexdigest()
            tokens = self._file(self._settings.properties_ttl_seconds, f"{self._host}|token:{digest[:32]}")
            known = None if tokens is None else tokens.fact(PORTAL_KEY)
            if known is None:
                known = self._look_up()
                if tokens is not None:
                    tokens.remember(PORTAL_KEY, known)
            self._portal = known
        return self._portal

    @property
    def _host(self) -> str:
        return self._settings.host.rstrip("/")

    def properties(self) -> MetadataCache | None:
        """The portal's cache of property definitions (None: read them every run)."""
        if self._path is None or self._settings.properties_ttl_seconds <= 0:
            return None  # decided before the portal id is asked for: no call without a cache
        return self._file(self._settings.properties_ttl_seconds, f"{self._host}|portal:{self.portal_id()}")

    def owners(self) -> MetadataCache | None:
        """The portal's cache of owner names (None: list the owners every run)."""
        if self._path is None or self._settings.owners_ttl_seconds <= 0:
            return None
        return self._file(self._settings.owners_ttl_seconds, f"{self._host}|portal:{self.portal_id()}")

"""Building the configured CRM adapter: the one place that maps ``settings.crm`` to a class."""

from __future__ import annotations

from pathlib import Path

from connector.config import Settings
from connector.crm.base import CrmAdapter
from connector.crm.mapping import default_mapping, load_mapping


def make_adapter(settings: Settings, *, cached: bool = True) -> CrmAdapter:
    """The adapter for ``settings.crm`` with its mapping file; raises ``MappingFileError`` / ``AuthError``.
    ``cached=False`` reads the CRM's metadata afresh, whatever the TTLs say (``doctor``)."""
    path = mapping_path(settings)
    mapping = load_mapping(path)
    kept = settings.state_path is not None and cached
    if settings.crm == "salesforce":
        from connector.crm.salesforce import SalesforceAdapter

        cache = Path(f"{settings.state_path}.describes.json") if kept else None
        return SalesforceAdapter(settings.salesforce, mapping, mapping_file=str(path), describe_cache=cache)
    from connector.crm.hubspot import HubSpotAdapter

    metadata = Path(f"{settings.state_path}.properties.json") if kept else None
    return HubSpotAdapter(settings.hubspot, mapping, mapping_file=str(path), metadata_cache=metadata)


def mapping_path(settings: Settings) -> Path:
    """The mapping file in use: ``mapping`` (relative to the config file), else the packaged default."""
    return settings.mapping or default_mapping(settings.crm)

"""Building the configured CRM adapter: the one place that maps ``settings.crm`` to a class."""

from __future__ import annotations

from connector.config import Settings
from connector.crm.base import CrmAdapter
from connector.crm.mapping import default_mapping, load_mapping


def make_adapter(settings: Settings) -> CrmAdapter:
    """The adapter for ``settings.crm`` with its mapping file; raises ``MappingFileError`` / ``AuthError``."""
    mapping = load_mapping(settings.mapping or default_mapping(settings.crm))
    if settings.crm == "salesforce":
        from connector.crm.salesforce import SalesforceAdapter

        return SalesforceAdapter(settings.salesforce, mapping)
    from connector.crm.hubspot import HubSpotAdapter

    return HubSpotAdapter(settings.hubspot, mapping)

"""The HubSpot adapter: translates between HubSpot (through hubspot-api-client) and the canonical model.

See BEHAVIOR.md beside this file for the API's gotchas and how the code handles each.
"""

from connector.crm.hubspot.adapter import HubSpotAdapter

__all__ = ["HubSpotAdapter"]

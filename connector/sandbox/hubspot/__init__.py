"""A local HubSpot CRM (objects v3, search, properties v3, associations v4, owners) for tests and demos.

See BEHAVIOR.md beside this file for what is emulated, the HubSpot document each behaviour follows,
and what is deliberately left out.
"""

from connector.sandbox.hubspot.app import HubSpotSandbox, utcnow

__all__ = ["HubSpotSandbox", "utcnow"]

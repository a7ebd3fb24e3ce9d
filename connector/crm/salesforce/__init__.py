"""The Salesforce adapter: translates between Salesforce (through simple_salesforce) and the canonical model.

See BEHAVIOR.md beside this file for the API's gotchas and how the code handles each.
"""

from connector.crm.salesforce.adapter import SalesforceAdapter

__all__ = ["SalesforceAdapter"]

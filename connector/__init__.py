"""tiersync: ranks a company's clients and writes the result back to Salesforce or HubSpot."""

__version__ = "0.1.0"

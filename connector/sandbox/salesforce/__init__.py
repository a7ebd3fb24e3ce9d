"""The Salesforce side of the sandbox CRM: a local org the real ``simple_salesforce`` client works against.

See BEHAVIOR.md beside this file for what is emulated (and what is not) and the documentation each
behaviour follows.
"""

from .app import SalesforceSandbox
from .auth import login_domain

__all__ = ["SalesforceSandbox", "login_domain"]

"""The Salesforce sandbox fixtures of ``tests/sandbox``, shared with the adapter tests."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import SalesforceSandboxFixture, _sf_server, sf_sandbox

__all__ = ["_sf_server", "box", "sf_sandbox"]


@pytest.fixture
def box(sf_sandbox: SalesforceSandboxFixture) -> SalesforceSandboxFixture:
    """A fresh sandbox org (frozen clock at 2026-11-26T06:50Z) behind HTTPS."""
    return sf_sandbox

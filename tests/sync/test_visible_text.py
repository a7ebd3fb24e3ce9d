"""Text a client may see: after a demo-size sync, nothing tiersync wrote into either CRM carries a
trait code (``bully``, ``goalpost_mover``…); traits appear under their neutral labels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.config import Settings
from connector.model import Trait
from tests.sync.conftest import FIELDS, Org, make_org

DEMO_ACCOUNTS = 2000
CODES = re.compile("|".join(sorted((t.value for t in Trait), key=len, reverse=True)))
"""Trait codes, and with them every trait reason code (``bully.abusive``…)."""
TEXT_FIELDS = [f for f in FIELDS["salesforce"] if f not in ("traits", "override_tier", "override_expires")]
"""Every write-back field but the traits multi-select, whose stored values are its options' API
names (shown to users under the option labels that setup-fields takes from ``trait_labels``)."""


@pytest.fixture
def demo_org(tmp_path: Path, crm: str) -> Iterator[Org]:
    yield from make_org(tmp_path, DEMO_ACCOUNTS, seed=7, crm=crm)


def test_no_trait_code_in_any_text_tiersync_wrote(demo_org: Org) -> None:
    summary, _ = demo_org.sync("full", tasks={"max_new_per_owner_per_week": 0, "max_open_per_owner": 0})
    assert summary.status == "ok", summary.message
    clients = demo_org.clients()
    texts = [(f"{a['id']}.{f}", str(a[f])) for a in clients for f in TEXT_FIELDS if a[f] is not None]
    tasks = demo_org.tasks()
    texts += [(t.key, t.subject) for t in tasks] + [(t.key, t.body) for t in tasks]
    assert len(tasks) > 1000 and sum(1 for a in clients if a["traits"]) > 100, "enough text to mean something"
    labels = [Settings().label(t) for t in Trait]
    assert sum(1 for _, text in texts if any(label in text for label in labels)) > 100
    found = [(where, CODES.search(text).group()) for where, text in texts if CODES.search(text)]  # type: ignore[union-attr]
    assert found == []

"""The sandbox answers the calls ``tiersync cleanup`` makes as the vendors document them."""

from __future__ import annotations

import pytest
from hubspot.crm.objects import BatchInputSimplePublicObjectId, SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException

from tests.sandbox.conftest import HubSpotSandboxFixture


def test_hubspot_property_group_cannot_be_archived_while_it_holds_live_properties(
    hs_sandbox: HubSpotSandboxFixture,
) -> None:
    client = hs_sandbox.client()
    groups, properties = client.crm.properties.groups_api, client.crm.properties.core_api
    groups.create("companies", PropertyGroupCreate(name="undo_me", label="Undo me"))
    properties.create(
        "companies",
        PropertyCreate(
            name="undo_value", label="Undo value", type="string", field_type="text", group_name="undo_me"
        ),
    )
    with pytest.raises(ApiException) as refused:
        groups.archive("companies", "undo_me")
    assert refused.value.status == 400
    properties.archive("companies", "undo_value")
    assert all(p.name != "undo_value" for p in properties.get_all("companies").results)
    assert any(p.name == "undo_value" for p in properties.get_all("companies", archived=True).results)
    groups.archive("companies", "undo_me")
    assert all(g.name != "undo_me" for g in groups.get_all("companies").results)


def test_hubspot_batch_archive_of_tasks_answers_204_even_for_ids_already_archived(
    hs_sandbox: HubSpotSandboxFixture,
) -> None:
    client = hs_sandbox.client()
    created = client.crm.objects.basic_api.create(
        "tasks",
        SimplePublicObjectInputForCreate(
            properties={"hs_task_subject": "Call", "hs_timestamp": "2026-11-02T12:00:00.000Z"}
        ),
    )
    body = BatchInputSimplePublicObjectId(inputs=[{"id": created.id}])
    client.crm.objects.batch_api.archive("tasks", body)
    client.crm.objects.batch_api.archive("tasks", body)  # a retried archive is no error
    assert hs_sandbox.sandbox.get("tasks", created.id)["archived"] is True

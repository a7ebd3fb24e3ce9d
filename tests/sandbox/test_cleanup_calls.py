"""The sandbox answers the calls ``tiersync cleanup`` makes as the vendors document them."""

from __future__ import annotations

import pytest
from hubspot.crm.objects import BatchInputSimplePublicObjectId, SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException
from simple_salesforce.exceptions import SalesforceMalformedRequest
from simple_salesforce.format import format_soql

from tests.sandbox.conftest import HubSpotSandboxFixture, SalesforceSandboxFixture


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
    assert hs_sandbox.sandbox.portal.registry.defs["companies"]["undo_value"].archived, "in the recycle bin"
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


def test_salesforce_permission_set_is_deleted_only_after_its_assignments_and_takes_its_field_permissions(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf = sf_sandbox.client()
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Account.Undo_Me__c",
            "Metadata": {"label": "Undo me", "type": "Text", "length": 20},
        },
    )
    user = sf.query(format_soql("SELECT Id FROM User WHERE Username = {}", sf_sandbox.sandbox.org.username))
    permission_set = sf.PermissionSet.create({"Name": "Undo", "Label": "Undo"})["id"]
    assignment = sf.PermissionSetAssignment.create(
        {"AssigneeId": user["records"][0]["Id"], "PermissionSetId": permission_set}
    )["id"]
    sf.FieldPermissions.create(
        {
            "ParentId": permission_set,
            "SobjectType": "Account",
            "Field": "Account.Undo_Me__c",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.PermissionSet.delete(permission_set)
    assert refused.value.content[0]["errorCode"] == "DELETE_FAILED"
    sf.PermissionSetAssignment.delete(assignment)
    sf.PermissionSet.delete(permission_set)
    grants = sf.query(format_soql("SELECT Id FROM FieldPermissions WHERE ParentId = {}", permission_set))
    assert grants["totalSize"] == 0, "field permissions go with their permission set"


def test_salesforce_collections_delete_reports_each_id_and_an_already_deleted_one(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf = sf_sandbox.client()
    first = sf.Task.create({"Subject": "Call"})["id"]
    second = sf.Task.create({"Subject": "Mail"})["id"]
    sf.Task.delete(first)
    results = sf.restful(f"composite/sobjects?ids={first},{second}&allOrNone=false", method="DELETE")
    assert results[0]["success"] is False and results[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert results[1] == {"id": second, "success": True, "errors": []}
    assert sf.query_all("SELECT Id FROM Task", include_deleted=True)["totalSize"] == 2, (
        "deleted, kept in the bin"
    )
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 0


def test_salesforce_collections_delete_refuses_to_mix_a_setup_object_with_another_type(
    sf_sandbox: SalesforceSandboxFixture,
) -> None:
    sf = sf_sandbox.client()
    task = sf.Task.create({"Subject": "Call"})["id"]
    permission_set = sf.PermissionSet.create({"Name": "Mixed", "Label": "Mixed"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful(f"composite/sobjects?ids={task},{permission_set}&allOrNone=false", method="DELETE")
    assert refused.value.content[0]["errorCode"] == "MIXED_DML_OPERATION"
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 1, "nothing was deleted"

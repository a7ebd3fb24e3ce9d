"""The page layout a fresh org's Account has, in the full shape of the Metadata API's Layout type.

Salesforce's Tooling API answers ``GET tooling/sobjects/Layout/{id}`` with the layout's whole
``Metadata`` and a ``PATCH`` replaces all of it, so a client that sends back only the keys it knows
wipes the rest (buttons, related lists, actions, the mini and summary layouts). The seeded layout
therefore carries every key of the type (Metadata API Developer Guide, "Layout",
https://developer.salesforce.com/docs/platform/api-metadata/references/meta-types/metadata-layout.html),
and the sandbox refuses keys the type does not have.
"""

from __future__ import annotations

import copy
from typing import Any

LAYOUT_KEYS = frozenset(
    {
        "customButtons",
        "customConsoleComponents",
        "emailDefault",
        "excludeButtons",
        "feedLayout",
        "headers",
        "layoutSections",
        "miniLayout",
        "multilineLayoutFields",
        "platformActionList",
        "quickActionList",
        "relatedContent",
        "relatedLists",
        "relatedObjects",
        "runAssignmentRulesDefault",
        "showEmailCheckbox",
        "showHighlightsPanel",
        "showInteractionLogPanel",
        "showKnowledgeComponent",
        "showRunAssignmentRulesCheckbox",
        "showSolutionSection",
        "showSubmitAndAttachButton",
        "summaryLayout",
    }
)
"""The fields of the Metadata API's Layout type (``fullName`` comes from Metadata and is not sent)."""

DEFAULT_LAYOUT_SECTIONS: list[dict[str, Any]] = [
    {
        "customLabel": False,
        "detailHeading": False,
        "editHeading": True,
        "label": "Account Information",
        "layoutColumns": [
            {
                "layoutItems": [
                    {"behavior": "Readonly", "field": "OwnerId"},
                    {"behavior": "Required", "field": "Name"},
                    {"behavior": "Edit", "field": "Type"},
                ]
            },
            {
                "layoutItems": [
                    {"behavior": "Edit", "field": "Industry"},
                    {"behavior": "Edit", "field": "NumberOfEmployees"},
                    {"behavior": "Edit", "field": "AccountSource"},
                ]
            },
        ],
        "style": "TwoColumnsTopToBottom",
    },
    {
        "customLabel": False,
        "detailHeading": False,
        "editHeading": True,
        "label": "Address Information",
        "layoutColumns": [{"layoutItems": [{"behavior": "Edit", "field": "BillingCountry"}]}],
        "style": "TwoColumnsTopToBottom",
    },
]


_ACCOUNT_LAYOUT: dict[str, Any] = {
    "customButtons": ["Account_Plan"],
    "customConsoleComponents": None,
    "emailDefault": False,
    "excludeButtons": ["Submit", "IncludeOffline"],
    "feedLayout": None,
    "headers": ["PersonalTagging", "PublicTagging"],
    "layoutSections": DEFAULT_LAYOUT_SECTIONS,
    "miniLayout": {"fields": ["Name", "Type", "Industry"], "relatedLists": []},
    "multilineLayoutFields": [],
    "platformActionList": {
        "actionListContext": "Record",
        "platformActionListItems": [
            {"actionName": "Edit", "actionType": "StandardButton", "sortOrder": 0, "subtype": None},
            {"actionName": "FeedItem.TextPost", "actionType": "QuickAction", "sortOrder": 1, "subtype": None},
        ],
        "relatedSourceEntity": None,
    },
    "quickActionList": {
        "quickActionListItems": [{"quickActionName": "FeedItem.TextPost"}, {"quickActionName": "NewTask"}]
    },
    "relatedContent": None,
    "relatedLists": [
        {
            "customButtons": [],
            "excludeButtons": [],
            "fields": ["FULL_NAME", "CONTACT.TITLE", "CONTACT.EMAIL", "CONTACT.PHONE1"],
            "relatedList": "RelatedContactList",
            "sortField": None,
            "sortOrder": None,
        },
        {
            "customButtons": [],
            "excludeButtons": [],
            "fields": ["OPPORTUNITY.NAME", "OPPORTUNITY.STAGE_NAME", "OPPORTUNITY.AMOUNT"],
            "relatedList": "RelatedOpportunityList",
            "sortField": "OPPORTUNITY.CLOSE_DATE",
            "sortOrder": "Desc",
        },
        {"customButtons": [], "excludeButtons": [], "fields": [], "relatedList": "RelatedActivityList"},
    ],
    "relatedObjects": ["ParentId"],
    "runAssignmentRulesDefault": False,
    "showEmailCheckbox": False,
    "showHighlightsPanel": True,
    "showInteractionLogPanel": True,
    "showKnowledgeComponent": False,
    "showRunAssignmentRulesCheckbox": False,
    "showSolutionSection": False,
    "showSubmitAndAttachButton": False,
    "summaryLayout": {
        "masterLabel": "00h000000000000",
        "sizeX": 4,
        "sizeY": 0,
        "summaryLayoutItems": [],
        "summaryLayoutStyle": "Default",
    },
}


def default_account_layout() -> dict[str, Any]:
    """A fresh copy of the seeded Account layout's Metadata (every key of the Layout type)."""
    return copy.deepcopy(_ACCOUNT_LAYOUT)

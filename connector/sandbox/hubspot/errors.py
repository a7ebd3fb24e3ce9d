"""HubSpot's error shapes: the top-level ``Error`` body of a failed call and the per-item ``StandardError``.

Handlers raise :class:`ApiError`; the app turns it into the JSON body HubSpot sends (``status``,
``message``, ``correlationId``, ``category`` and, where HubSpot gives them, ``context`` and ``errors``).
"""

from __future__ import annotations

import uuid
from typing import Any

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
    "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class ApiError(Exception):
    """A whole-call failure; nothing the call asked for was applied."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        context: dict[str, list[str]] | None = None,
        errors: list[dict[str, Any]] | None = None,
        sub_category: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = context
        self.errors = errors
        self.sub_category = sub_category

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.context:
            body["context"] = self.context
        if self.errors:
            body["errors"] = self.errors
        return body


def validation(message: str, *, errors: list[dict[str, Any]] | None = None, **context: list[str]) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, context=context or None, errors=errors)


def not_found(singular: str, object_id: str) -> ApiError:
    return ApiError(
        404,
        "OBJECT_NOT_FOUND",
        f"Object not found. objectId are usually numeric. ({singular} {object_id})",
        context={"id": [object_id]},
    )


def item_error(category: str, message: str, **context: list[str]) -> dict[str, Any]:
    """One failed input of a batch, as ``StandardError`` (the spec requires ``errors`` and ``links``)."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


def rate_limited(policy: str, message: str) -> dict[str, Any]:
    """The 429 body HubSpot documents: ``errorType``/``policyName`` and no ``category``."""
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "groupName": "publicapi:private-app:sandbox",
    }

"""Errors in the shapes the REST API documents, so the real client raises what it would raise in production.

Request-level errors are a JSON list ``[{"message", "errorCode", "fields"}]`` with an HTTP status;
record-level errors (inside composite and Bulk results) are ``{"statusCode", "message", "fields"}``.
"""

from __future__ import annotations

from typing import Any


class RecordError(Exception):
    """One record could not be saved; the call itself may still answer 200 (composite) or 400 (single)."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields or []

    def as_result(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class ApiError(Exception):
    """A whole request failed with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[str] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or []

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def malformed_query(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", message)

"""Associations v4: batch read, default and labelled creates, removal, and per-record listing.

Batch calls take at most 1,000 inputs (HubSpot's documented limit for batch read, applied to every v4
batch here). A batch read answers 207 when some inputs have no associations to the target type, with
one error per such id, as HubSpot does; per-record paging of more than 500 targets is not emulated (all
targets of a record come back in one result).
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.hubspot.catalog import OBJECT_TYPES
from connector.sandbox.hubspot.errors import item_error, not_found, validation
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.wire import Request, Response

V4_BATCH_LIMIT = 1000


class AssociationsApi:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def _inputs(self, request: Request) -> list[dict[str, Any]]:
        inputs = request.json_object().get("inputs") or []
        if len(inputs) > V4_BATCH_LIMIT:
            raise validation(
                f"Batch input contains {len(inputs)} inputs; the limit is {V4_BATCH_LIMIT}.",
                inputs=[str(len(inputs))],
            )
        return list(inputs)

    def _types(self, raw_from: str, raw_to: str) -> tuple[str, str]:
        return self.portal.object_type(raw_from), self.portal.object_type(raw_to)

    def _exists(self, object_type: str, object_id: str) -> bool:
        return self.portal.store.get(object_type, object_id) is not None

    def _targets_json(self, from_type: str, from_id: str, to_type: str) -> list[dict[str, Any]]:
        return [
            {
                "toObjectId": to_id,
                "associationTypes": [
                    self.portal.associations.spec_with_label(from_type, t) for t in sorted(type_ids)
                ],
            }
            for to_id, type_ids in self.portal.associations.targets(from_type, from_id, to_type).items()
        ]

    def _check_specs(self, from_type: str, to_type: str, specs: list[dict[str, Any]]) -> set[int]:
        type_ids: set[int] = set()
        for spec in specs:
            kind = self.portal.associations.kind(from_type, int(spec["associationTypeId"]))
            if kind is None or kind.to_type != to_type or kind.category != spec["associationCategory"]:
                raise validation(
                    f"{spec['associationCategory']}/{spec['associationTypeId']} is not an association type "
                    f"from {from_type} to {to_type}."
                )
            type_ids.add(kind.type_id)
        return type_ids

    def _labels_pair(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: set[int]
    ) -> dict[str, Any]:
        return {
            "fromObjectTypeId": OBJECT_TYPES[from_type].type_id,
            "fromObjectId": from_id,
            "toObjectTypeId": OBJECT_TYPES[to_type].type_id,
            "toObjectId": to_id,
            "labels": self.portal.associations.labels(from_type, type_ids),
        }

    def batch_read(self, request: Request, raw_from: str, raw_to: str) -> Response:
        from_type, to_type = self._types(raw_from, raw_to)
        started = self.portal.now()
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for from_id in dict.fromkeys(str(item["id"]) for item in self._inputs(request)):
            targets = (
                self._targets_json(from_type, from_id, to_type) if self._exists(from_type, from_id) else []
            )
            if targets:
                results.append({"from": {"id": from_id}, "to": targets})
            else:
                errors.append(
                    item_error(
                        "VALIDATION_ERROR",
                        f"No {self.portal.singular(to_type)} is associated with {self.portal.singular(from_type)} {from_id}.",
                        fromObjectId=[from_id],
                    )
                )
        status = 207 if errors else 200
        return Response(status, self.portal.batch_body(started, results, errors), records=len(results))

    def create_default(
        self, request: Request, raw_from: str, from_id: str, raw_to: str, to_id: str
    ) -> Response:
        from_type, to_type = self._types(raw_from, raw_to)
        started = self.portal.now()
        if not self._exists(from_type, from_id):
            raise not_found(self.portal.singular(from_type), from_id)
        if not self._exists(to_type, to_id):
            raise not_found(self.portal.singular(to_type), to_id)
        kind = self.portal.associations.default_kind(from_type, to_type)
        if kind is None:
            raise validation(f"There is no default association from {from_type} to {to_type}.")
        self.portal.associations.link(from_type, from_id, to_type, to_id, set())
        result = {
            "from": {"id": from_id},
            "to": {"id": to_id},
            "associationSpec": {"associationCategory": kind.category, "associationTypeId": kind.type_id},
        }
        return Response(200, self.portal.batch_body(started, [result], []), records=1)

    def batch_default(self, request: Request, raw_from: str, raw_to: str) -> Response:
        from_type, to_type = self._types(raw_from, raw_to)
        started = self.portal.now()
        kind = self.portal.associations.default_kind(from_type, to_type)
        if kind is None:
            raise validation(f"There is no default association from {from_type} to {to_type}.")
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in self._inputs(request):
            from_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
            if not (self._exists(from_type, from_id) and self._exists(to_type, to_id)):
                errors.append(
                    item_error(
                        "OBJECT_NOT_FOUND", f"{from_id} or {to_id} does not exist.", ids=[from_id, to_id]
                    )
                )
                continue
            self.portal.associations.link(from_type, from_id, to_type, to_id, set())
            results.append(
                {
                    "from": {"id": from_id},
                    "to": {"id": to_id},
                    "associationSpec": {
                        "associationCategory": kind.category,
                        "associationTypeId": kind.type_id,
                    },
                }
            )
        return Response(200, self.portal.batch_body(started, results, errors), records=len(results))

    def create_labelled(
        self, request: Request, raw_from: str, from_id: str, raw_to: str, to_id: str
    ) -> Response:
        from_type, to_type = self._types(raw_from, raw_to)
        specs = request.json()
        if not isinstance(specs, list):
            raise validation("Expected a JSON array of association types.")
        type_ids = self._check_specs(from_type, to_type, specs)
        if not self._exists(from_type, from_id):
            raise not_found(self.portal.singular(from_type), from_id)
        if not self._exists(to_type, to_id):
            raise not_found(self.portal.singular(to_type), to_id)
        linked = self.portal.associations.link(from_type, from_id, to_type, to_id, type_ids)
        return Response(201, self._labels_pair(from_type, from_id, to_type, to_id, linked), records=1)

    def batch_create(self, request: Request, raw_from: str, raw_to: str) -> Response:
        from_type, to_type = self._types(raw_from, raw_to)
        started = self.portal.now()
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in self._inputs(request):
            from_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
            type_ids = self._check_specs(from_type, to_type, item.get("types") or [])
            if not (self._exists(from_type, from_id) and self._exists(to_type, to_id)):
                errors.append(
                    item_error(
                        "OBJECT_NOT_FOUND", f"{from_id} or {to_id} does not exist.", ids=[from_id, to_id]
                    )
                )
                continue
            linked = self.portal.associations.link(from_type, from_id, to_type, to_id, type_ids)
            results.append(self._labels_pair(from_type, from_id, to_type, to_id, linked))
        status = 207 if errors else 201
        return Response(status, self.portal.batch_body(started, results, errors), records=len(results))

    def remove(self, request: Request, raw_from: str, from_id: str, raw_to: str, to_id: str) -> Response:
        from_type, to_type = self._types(raw_from, raw_to)
        self.portal.associations.unlink(from_type, from_id, to_type, to_id)
        return Response(204, records=1)

    def batch_archive(self, request: Request, raw_from: str, raw_to: str) -> Response:
        from_type, to_type = self._types(raw_from, raw_to)
        removed = 0
        for item in self._inputs(request):
            for target in item.get("to") or []:
                self.portal.associations.unlink(
                    from_type, str(item["from"]["id"]), to_type, str(target["id"])
                )
                removed += 1
        return Response(204, records=removed)

    def batch_archive_labels(self, request: Request, raw_from: str, raw_to: str) -> Response:
        """Removing labels is emulated as removing the association (labels are not tracked separately)."""
        from_type, to_type = self._types(raw_from, raw_to)
        removed = 0
        for item in self._inputs(request):
            self.portal.associations.unlink(
                from_type, str(item["from"]["id"]), to_type, str(item["to"]["id"])
            )
            removed += 1
        return Response(204, records=removed)

    def list_for(self, request: Request, raw_from: str, from_id: str, raw_to: str) -> Response:
        from_type, to_type = self._types(raw_from, raw_to)
        limit = int(request.param("limit") or 500)
        offset = int(request.param("after") or 0)
        targets = self._targets_json(from_type, from_id, to_type)
        page = targets[offset : offset + limit]
        body: dict[str, Any] = {"results": page}
        if offset + limit < len(targets):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, body, records=len(page))

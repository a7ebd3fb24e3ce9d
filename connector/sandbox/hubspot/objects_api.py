"""CRM objects v3: list, read, create, update, archive, the five batch calls and search.

Batch semantics follow HubSpot: at most 100 inputs; a batch update, read or upsert answers 207 with
``errors`` for the inputs it could not apply (unknown id, locked record, unique-value clash) and 200 for
the rest; a property HubSpot would reject fails the whole call with 400 before anything is written.
Batch *create* is all-or-nothing unless every input carries an ``objectWriteTraceId`` — HubSpot's
documented switch for multi-status batch creates — in which case failures come back per input (207).
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.hubspot.catalog import OBJECT_TYPES
from connector.sandbox.hubspot.errors import ApiError, item_error, not_found, validation
from connector.sandbox.hubspot.portal import BATCH_LIMIT, LIST_LIMIT, Portal
from connector.sandbox.hubspot.store import Record
from connector.sandbox.hubspot.wire import Request, Response


class ObjectsApi:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    # -- helpers --------------------------------------------------------------------------------
    def _names(self, object_type: str, requested: list[str]) -> list[str]:
        """Requested properties that exist (HubSpot ignores unknown ones), else the type's defaults."""
        if not requested:
            return list(OBJECT_TYPES[object_type].default_properties)
        return [name for name in dict.fromkeys(requested) if self.portal.registry.get(object_type, name)]

    def _json(
        self, object_type: str, record: Record, names: list[str], associations: list[str]
    ) -> dict[str, Any]:
        body = record.to_json(names)
        linked: dict[str, Any] = {}
        for raw in associations:
            to_type = self.portal.object_type(raw)
            targets = self.portal.associations.targets(object_type, record.id, to_type)
            if targets:
                kind = self.portal.associations.v3_type_name(object_type, to_type)
                linked[raw] = {"results": [{"id": to_id, "type": kind} for to_id in targets]}
        if linked:
            body["associations"] = linked
        return body

    def _written(self, record: Record) -> dict[str, Any]:
        """Create/update answers carry every property that has a value."""
        return record.to_json(sorted(name for name, value in record.properties.items() if value))

    @staticmethod
    def _inputs(body: dict[str, Any], limit: int = BATCH_LIMIT) -> list[dict[str, Any]]:
        inputs = body.get("inputs") or []
        if len(inputs) > limit:
            raise validation(
                f"Batch input contains {len(inputs)} inputs; the limit is {limit}.",
                inputs=[str(len(inputs))],
            )
        return list(inputs)

    def _missing(self, object_type: str, verb: str, ids: list[str]) -> dict[str, Any]:
        """HubSpot's one error for all the unknown ids of a batch."""
        return item_error(
            "OBJECT_NOT_FOUND",
            f"Could not {verb} some {self.portal.singular(object_type).upper()} objects, they may be "
            "deleted or not exist. Check that ids are valid.",
            ids=ids,
        )

    def _lookup(self, object_type: str, key: str, id_property: str | None) -> Record | None:
        if id_property and id_property != "hs_object_id":
            if not self.portal.store.is_unique(object_type, id_property):
                raise validation(
                    f"{id_property} is not a unique-value property of {object_type}; it cannot be an idProperty."
                )
            found = self.portal.store.unique_owner(object_type, id_property, key)
            return None if found is None else self.portal.store.get(object_type, found)
        return self.portal.store.get(object_type, key)

    def _conflict(
        self, object_type: str, values: dict[str, str], own_id: str | None
    ) -> tuple[str, str, str] | None:
        """(property, value, existing id) of the first unique-value clash, if any."""
        for name, value in values.items():
            if value and self.portal.store.is_unique(object_type, name):
                holder = self.portal.store.unique_owner(object_type, name, value)
                if holder is not None and holder != own_id:
                    return name, value, holder
        return None

    def _conflict_message(self, object_type: str, clash: tuple[str, str, str]) -> str:
        name, value, holder = clash
        return f"A {self.portal.singular(object_type)} with {name} '{value}' already exists. Existing ID: {holder}"

    def _associations_for_create(
        self, object_type: str, specs: list[dict[str, Any]]
    ) -> list[tuple[str, str, set[int]]]:
        """(to type, to id, type ids) for an ``associations`` array, checked before anything is written."""
        links: list[tuple[str, str, set[int]]] = []
        for spec in specs:
            to_id = str(spec["to"]["id"])
            type_ids: set[int] = set()
            to_type: str | None = None
            for entry in spec.get("types") or []:
                kind = self.portal.associations.kind(object_type, int(entry["associationTypeId"]))
                if kind is None or kind.category != entry["associationCategory"]:
                    raise validation(
                        f"Association type {entry['associationCategory']}/{entry['associationTypeId']} "
                        f"does not start at {object_type}."
                    )
                if to_type not in (None, kind.to_type):
                    raise validation(f"Association types for {to_id} point at different object types.")
                to_type = kind.to_type
                type_ids.add(kind.type_id)
            if to_type is None:
                raise validation(f"Association to {to_id} names no association type.")
            if self.portal.store.get(to_type, to_id) is None:
                raise validation(
                    f"Cannot associate with {self.portal.singular(to_type)} {to_id}: it does not exist."
                )
            links.append((to_type, to_id, type_ids))
        return links

    def _create(
        self, object_type: str, values: dict[str, str], links: list[tuple[str, str, set[int]]]
    ) -> Record:
        record = self.portal.store.add(object_type, values, self.portal.now())
        for to_type, to_id, type_ids in links:
            self.portal.associations.link(object_type, record.id, to_type, to_id, type_ids)
        return record

    # -- basic ----------------------------------------------------------------------------------
    def list(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        limit = int(request.param("limit") or 10)
        if limit < 1 or limit > LIST_LIMIT:
            raise validation(f"limit must be between 1 and {LIST_LIMIT}; got {limit}.")
        after_raw = request.param("after") or "0"
        if not after_raw.isdigit():
            raise validation(f"after must be a paging cursor from a previous page; got {after_raw!r}.")
        archived = (request.param("archived") or "false").lower() == "true"
        records, next_after = self.portal.store.page(object_type, int(after_raw), limit, archived=archived)
        names = self._names(object_type, request.param_list("properties"))
        associations = request.param_list("associations")
        body: dict[str, Any] = {"results": [self._json(object_type, r, names, associations) for r in records]}
        if next_after is not None:
            body["paging"] = {"next": {"after": next_after, "link": f"?after={next_after}"}}
        return Response(200, body, records=len(records))

    def read(self, request: Request, raw_type: str, object_id: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        archived = (request.param("archived") or "false").lower() == "true"
        id_property = request.param("idProperty")
        record = (
            self._lookup(object_type, object_id, id_property)
            if id_property
            else self.portal.store.get(object_type, object_id, archived=archived)
        )
        if record is None:
            raise not_found(self.portal.singular(object_type), object_id)
        names = self._names(object_type, request.param_list("properties"))
        return Response(
            200, self._json(object_type, record, names, request.param_list("associations")), records=1
        )

    def create(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        body = request.json_object()
        values = self.portal.registry.coerce(object_type, body.get("properties") or {}, creating=True)
        clash = self._conflict(object_type, values, None)
        if clash is not None:
            raise ApiError(
                409,
                "CONFLICT",
                self._conflict_message(object_type, clash),
                context={"existingId": [clash[2]]},
            )
        links = self._associations_for_create(object_type, body.get("associations") or [])
        record = self._create(object_type, values, links)
        return Response(201, self._written(record), records=1)

    def update(self, request: Request, raw_type: str, object_id: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        record = self._lookup(object_type, object_id, request.param("idProperty"))
        if record is None:
            raise not_found(self.portal.singular(object_type), object_id)
        values = self.portal.registry.coerce(
            object_type, request.json_object().get("properties") or {}, creating=False
        )
        clash = self._conflict(object_type, values, record.id)
        if clash is not None:
            raise ApiError(
                409,
                "CONFLICT",
                self._conflict_message(object_type, clash),
                context={"existingId": [clash[2]]},
            )
        self.portal.store.update(object_type, record, values, self.portal.now())
        return Response(200, self._written(record), records=1)

    def archive(self, request: Request, raw_type: str, object_id: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        record = self.portal.store.get(object_type, object_id)
        if record is None:
            return Response(204)
        self.portal.store.archive(object_type, record, self.portal.now())
        self.portal.associations.drop_object(object_type, record.id)
        return Response(204, records=1)

    # -- batch ----------------------------------------------------------------------------------
    def batch_read(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        started = self.portal.now()
        body = request.json_object()
        inputs = self._inputs(body)
        archived = (request.param("archived") or "false").lower() == "true"
        id_property = body.get("idProperty")
        names = self._names(object_type, list(body.get("properties") or []))
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        for key in dict.fromkeys(str(item["id"]) for item in inputs):
            record = (
                self._lookup(object_type, key, id_property)
                if id_property
                else self.portal.store.get(object_type, key, archived=archived)
            )
            if record is None:
                missing.append(key)
            else:
                results.append(record.to_json(names))
        errors = [self._missing(object_type, "get", missing)] if missing else []
        status = 207 if errors else 200
        return Response(status, self.portal.batch_body(started, results, errors), records=len(results))

    def batch_create(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        started = self.portal.now()
        inputs = self._inputs(request.json_object())
        multi_status = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
        planned: list[tuple[dict[str, Any], dict[str, str], list[tuple[str, str, set[int]]]]] = []
        errors: list[dict[str, Any]] = []
        claimed: dict[tuple[str, str], str] = {}
        for index, item in enumerate(inputs):
            trace = str(item.get("objectWriteTraceId") or "")
            context = {"objectWriteTraceId": [trace]} if trace else {}
            try:
                values = self.portal.registry.coerce(object_type, item.get("properties") or {}, creating=True)
                links = self._associations_for_create(object_type, item.get("associations") or [])
            except ApiError as exc:
                if not multi_status:
                    raise
                errors.append(item_error(exc.category, exc.message, **context))
                continue
            clash = self._conflict(object_type, values, None) or next(
                (
                    (name, value, claimed[(name, value)])
                    for name, value in values.items()
                    if (name, value) in claimed
                ),
                None,
            )
            if clash is not None:
                message = self._conflict_message(object_type, clash)
                if not multi_status:
                    raise ApiError(409, "CONFLICT", message, context={"existingId": [clash[2]]})
                errors.append(item_error("CONFLICT", message, existingId=[clash[2]], **context))
                continue
            fault = self.portal.record_fault(object_type, trace or f"create-{index}")
            if fault is not None:
                if not multi_status:
                    raise ApiError(
                        423 if fault["category"] == "LOCKED" else 400, fault["category"], fault["message"]
                    )
                fault["context"].update(context)
                errors.append(fault)
                continue
            for name, value in values.items():
                if self.portal.store.is_unique(object_type, name) and value:
                    claimed[(name, value)] = f"input {index}"
            planned.append((item, values, links))
        results = []
        for item, values, links in planned:
            record = self._create(object_type, values, links)
            created = self._written(record)
            if item.get("objectWriteTraceId"):
                created["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(created)
        status = 207 if errors else 201
        return Response(status, self.portal.batch_body(started, results, errors), records=len(results))

    def batch_update(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        started = self.portal.now()
        inputs = self._inputs(request.json_object())
        keys = [str(item["id"]) for item in inputs]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise validation(f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique")
        coerced = [
            self.portal.registry.coerce(object_type, item.get("properties") or {}, creating=False)
            for item in inputs
        ]
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        missing: list[str] = []
        for item, values in zip(inputs, coerced, strict=True):
            key = str(item["id"])
            record = self._lookup(object_type, key, item.get("idProperty"))
            if record is None:
                missing.append(key)
                continue
            clash = self._conflict(object_type, values, record.id)
            if clash is not None:
                errors.append(item_error("CONFLICT", self._conflict_message(object_type, clash), ids=[key]))
                continue
            fault = self.portal.record_fault(object_type, record.id)
            if fault is not None:
                errors.append(fault)
                continue
            self.portal.store.update(object_type, record, values, self.portal.now())
            results.append(self._written(record))
        if missing:
            errors.append(self._missing(object_type, "update", missing))
        status = 207 if errors else 200
        return Response(status, self.portal.batch_body(started, results, errors), records=len(results))

    def batch_upsert(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        started = self.portal.now()
        inputs = self._inputs(request.json_object())
        coerced = [
            self.portal.registry.coerce(object_type, item.get("properties") or {}, creating=False)
            for item in inputs
        ]
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item, values in zip(inputs, coerced, strict=True):
            key = str(item["id"])
            id_property = item.get("idProperty")
            if not id_property or not self.portal.store.is_unique(object_type, id_property):
                raise validation(
                    f"Upsert needs an idProperty that is a unique-value property of {object_type}."
                )
            record = self._lookup(object_type, key, id_property)
            fault = self.portal.record_fault(object_type, record.id if record else key)
            if fault is not None:
                errors.append(fault)
                continue
            if record is None:
                record = self._create(object_type, {**values, id_property: key}, [])
                created = True
            else:
                self.portal.store.update(object_type, record, values, self.portal.now())
                created = False
            results.append({**self._written(record), "new": created})
        status = 207 if errors else 200
        return Response(status, self.portal.batch_body(started, results, errors), records=len(results))

    def batch_archive(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        archived = 0
        for item in self._inputs(request.json_object()):
            record = self.portal.store.get(object_type, str(item["id"]))
            if record is not None:
                self.portal.store.archive(object_type, record, self.portal.now())
                self.portal.associations.drop_object(object_type, record.id)
                archived += 1
        return Response(204, records=archived)

    # -- search ---------------------------------------------------------------------------------
    def search(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        body = request.json_object()
        page, total, next_after = self.portal.search.run(object_type, body)
        names = self._names(object_type, list(body.get("properties") or []))
        answer: dict[str, Any] = {"total": total, "results": [r.to_json(names) for r in page]}
        if next_after is not None:
            answer["paging"] = {"next": {"after": next_after, "link": f"?after={next_after}"}}
        return Response(200, answer, records=len(page))

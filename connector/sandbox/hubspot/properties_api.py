"""Properties v3 and property groups, plus the owners list: the portal's schema endpoints."""

from __future__ import annotations

from typing import Any

from connector.sandbox.hubspot.errors import ApiError, item_error, validation
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.wire import Request, Response

OWNERS_LIMIT = 500


class PropertiesApi:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def _definition_json(self, object_type: str, name: str) -> dict[str, Any]:
        definition = self.portal.registry.get(object_type, name)
        if definition is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for {object_type}.")
        return definition.to_json()

    def list(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        archived = (request.param("archived") or "false").lower() == "true"
        results = [
            d.to_json() for d in self.portal.registry.defs[object_type].values() if d.archived == archived
        ]
        return Response(200, {"results": results}, records=len(results))

    def read(self, request: Request, raw_type: str, name: str) -> Response:
        return Response(200, self._definition_json(self.portal.object_type(raw_type), name), records=1)

    def create(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        definition = self.portal.registry.create(object_type, request.json_object(), self.portal.now())
        if definition.has_unique_value:
            self.portal.store.make_unique(object_type, definition.name)
        return Response(201, definition.to_json(), records=1)

    def update(self, request: Request, raw_type: str, name: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        definition = self.portal.registry.update(object_type, name, request.json_object(), self.portal.now())
        return Response(200, definition.to_json(), records=1)

    def archive(self, request: Request, raw_type: str, name: str) -> Response:
        self.portal.registry.archive(self.portal.object_type(raw_type), name, self.portal.now())
        return Response(204, records=1)

    def batch_read(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        started = self.portal.now()
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        for item in request.json_object().get("inputs") or []:
            definition = self.portal.registry.get(object_type, str(item["name"]))
            if definition is None:
                missing.append(str(item["name"]))
            else:
                results.append(definition.to_json())
        errors = (
            [item_error("OBJECT_NOT_FOUND", f"Unable to find properties {missing}.", names=missing)]
            if missing
            else []
        )
        return Response(
            207 if errors else 200, self.portal.batch_body(started, results, errors), records=len(results)
        )

    def batch_create(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        started = self.portal.now()
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in request.json_object().get("inputs") or []:
            try:
                definition = self.portal.registry.create(object_type, item, self.portal.now())
            except ApiError as exc:
                errors.append(item_error(exc.category, exc.message, names=[str(item.get("name"))]))
                continue
            if definition.has_unique_value:
                self.portal.store.make_unique(object_type, definition.name)
            results.append(definition.to_json())
        return Response(
            207 if errors else 201, self.portal.batch_body(started, results, errors), records=len(results)
        )

    def batch_archive(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        inputs = request.json_object().get("inputs") or []
        for item in inputs:
            self.portal.registry.archive(object_type, str(item["name"]), self.portal.now())
        return Response(204, records=len(inputs))

    # -- groups ---------------------------------------------------------------------------------
    def groups(self, request: Request, raw_type: str) -> Response:
        object_type = self.portal.object_type(raw_type)
        groups = [g for g in self.portal.registry.groups[object_type].values() if not g["archived"]]
        return Response(200, {"results": groups}, records=len(groups))

    def create_group(self, request: Request, raw_type: str) -> Response:
        group = self.portal.registry.create_group(self.portal.object_type(raw_type), request.json_object())
        return Response(201, group, records=1)

    def _group(self, raw_type: str, name: str) -> dict[str, Any]:
        group = self.portal.registry.groups[self.portal.object_type(raw_type)].get(name)
        if group is None or group["archived"]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property group {name}.")
        return group

    def read_group(self, request: Request, raw_type: str, name: str) -> Response:
        return Response(200, self._group(raw_type, name), records=1)

    def update_group(self, request: Request, raw_type: str, name: str) -> Response:
        group = self._group(raw_type, name)
        body = request.json_object()
        for key in ("label", "displayOrder"):
            if key in body:
                group[key] = body[key]
        return Response(200, group, records=1)

    def archive_group(self, request: Request, raw_type: str, name: str) -> Response:
        group = self._group(raw_type, name)
        members = sorted(
            d.name
            for d in self.portal.registry.defs[self.portal.object_type(raw_type)].values()
            if d.group_name == name and not d.archived
        )
        if members:  # stricter than documented: never leave live properties in an archived group
            raise validation(
                f"Property group {name} still holds properties ({', '.join(members)}); archive or move them first."
            )
        group["archived"] = True
        return Response(204, records=1)

    # -- owners ---------------------------------------------------------------------------------
    def owners(self, request: Request) -> Response:
        limit = int(request.param("limit") or 100)
        if limit < 1 or limit > OWNERS_LIMIT:
            raise validation(f"limit must be between 1 and {OWNERS_LIMIT}; got {limit}.")
        email = request.param("email")
        archived = request.param("archived")
        if archived not in (None, "true", "false"):
            raise validation(f"archived must be true or false; got {archived}.")
        # the portal's owners are all active: archived=true lists only archived ones, so none
        owners = [
            o
            for o in self.portal.store.owners.values()
            if (email is None or o.email == email) and archived != "true"
        ]
        offset = int(request.param("after") or 0)
        page = owners[offset : offset + limit]
        body: dict[str, Any] = {"results": [o.to_json() for o in page]}
        if offset + limit < len(owners):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, body, records=len(page))

    def owner(self, request: Request, owner_id: str) -> Response:
        owner = self.portal.store.owners.get(owner_id)
        if owner is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Owner {owner_id} not found.")
        return Response(200, owner.to_json(), records=1)

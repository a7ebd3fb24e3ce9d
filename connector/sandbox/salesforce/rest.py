"""The REST resources: versions, query/queryAll with cursors, describe, limits, sObject CRUD and collections.

Shapes follow the REST API Developer Guide: ``{"totalSize","done","nextRecordsUrl","records"}`` for
queries (pages of ``Sforce-Query-Options: batchSize`` rows, 200-2000, default 2000), 201
``{"id","success","errors"}`` for creates, 204 for updates and deletes, 201/200 with ``created`` for
upserts, and a 200 list of per-record results for sObject Collections (``allOrNone`` rolls back all).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import ids, soql
from .catalogs import DataCatalog
from .errors import ApiError, RecordError, not_found
from .org import REQUEST_LEVEL_CODES, Org
from .query import Catalog, CompiledQuery, attributes, compile_query, execute, project
from .schema import ObjectDef
from .store import Row
from .web import Reply, Request, Router, json_reply

MAX_COLLECTION = 200
SETUP_OBJECTS = frozenset({"User", "PermissionSet", "PermissionSetAssignment", "FieldPermissions"})
"""Objects "related to a feature in the Salesforce Setup area": a collections delete may not mix them
with other types (REST API "Delete Records Using sObject Collections")."""
DEFAULT_BATCH = 2000
MIN_BATCH = 200
OLDEST_VERSION = 50.0

_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


def batch_size(header: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N``; Salesforce clamps to 200..2000 (the default)."""
    if not header:
        return DEFAULT_BATCH
    for part in header.split(","):
        name, _, value = part.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH, min(DEFAULT_BATCH, int(value.strip())))
    return DEFAULT_BATCH


@dataclass
class Cursor:
    compiled: CompiledQuery
    rows: list[Row]
    batch: int
    catalog: Catalog
    endpoint: str
    """``query`` or ``tooling/query``: where the next page lives."""


class Cursors:
    """Open query locators; like Salesforce, only the most recent ``limit`` stay open per user."""

    def __init__(self, org: Org, limit: int) -> None:
        self.org = org
        self.limit = limit
        self._open: OrderedDict[str, Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, cursor: Cursor) -> str:
        locator = self.org.id_factory.new("01g")
        with self._lock:
            self._open[locator] = cursor
            while len(self._open) > self.limit:
                self._open.popitem(last=False)
        return locator

    def get(self, locator: str) -> Cursor | None:
        with self._lock:
            return self._open.get(locator)

    def close(self, locator: str) -> None:
        with self._lock:
            self._open.pop(locator, None)


def page_of(cursor: Cursor, start: int, locator: str | None, cursors: Cursors, version: str) -> Reply:
    end = start + cursor.batch
    chunk = cursor.rows[start:end]
    records = [project(cursor.compiled, row, cursor.catalog, version) for row in chunk]
    done = end >= len(cursor.rows)
    body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
    if cursor.endpoint.startswith("tooling/"):
        # Tooling API "QueryResult": the REST answer also carries size, queryLocator and entityTypeName.
        body = {
            "size": len(cursor.rows),
            **body,
            "queryLocator": None,
            "entityTypeName": cursor.compiled.obj.name,
        }
    if done:
        if locator is not None:
            cursors.close(locator)
    else:
        locator = locator or cursors.open(cursor)
        body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.endpoint}/{locator}-{end}"
    body["records"] = records
    return json_reply(200, body, records=len(records))


def run_query(
    request: Request,
    version: str,
    catalog: Catalog,
    cursors: Cursors,
    *,
    endpoint: str,
    include_deleted: bool,
) -> Reply:
    source = request.query.get("q")
    if not source:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    compiled = compile_query(soql.parse(source), catalog)
    rows = execute(compiled, catalog, include_deleted=include_deleted)
    if compiled.count:
        return json_reply(200, {"totalSize": len(rows), "done": True, "records": []})
    cursor = Cursor(
        compiled, rows, batch_size(request.headers.get("sforce-query-options")), catalog, endpoint
    )
    return page_of(cursor, 0, None, cursors, version)


def query_more(locator_and_offset: str, version: str, cursors: Cursors) -> Reply:
    locator, _, offset = locator_and_offset.rpartition("-")
    cursor = cursors.get(locator) if locator else None
    if cursor is None or not offset.isdigit():
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return page_of(cursor, int(offset), locator, cursors, version)


def _too_many_records() -> ApiError:
    return ApiError(
        400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
    )


def _single_error(error: RecordError) -> ApiError:
    status = 404 if error.code in ("NOT_FOUND", "ENTITY_IS_DELETED") else 400
    return ApiError(status, error.code, error.message, error.fields)


class RestApi:
    """Handlers for ``/services/data/vXX.X/...`` (everything but Bulk, Tooling and login)."""

    def __init__(self, org: Org, usage: Callable[[], tuple[int, int]], *, max_open_cursors: int = 10) -> None:
        self.org = org
        self.usage = usage
        self.data = DataCatalog(org)
        self.cursors = Cursors(org, max_open_cursors)

    def register(self, router: Router) -> None:
        base = "/services/data/v{version}"
        router.add("GET", "/services/data", self.versions, api=False)
        router.add("GET", base, self.resources)
        router.add("GET", f"{base}/limits", self.limits)
        router.add("GET", f"{base}/query", self.query)
        router.add("GET", f"{base}/query/{{locator}}", self.query_more)
        router.add("GET", f"{base}/queryAll", self.query_all)
        router.add("GET", f"{base}/queryAll/{{locator}}", self.query_more)
        router.add("GET", f"{base}/sobjects", self.describe_global)
        router.add("GET", f"{base}/sobjects/{{sobject}}", self.object_info)
        router.add("POST", f"{base}/sobjects/{{sobject}}", self.create, writes=True)
        router.add("GET", f"{base}/sobjects/{{sobject}}/describe", self.describe)
        router.add("GET", f"{base}/sobjects/{{sobject}}/{{id}}", self.retrieve)
        router.add("PATCH", f"{base}/sobjects/{{sobject}}/{{id}}", self.update, writes=True)
        router.add("DELETE", f"{base}/sobjects/{{sobject}}/{{id}}", self.delete, writes=True)
        router.add("GET", f"{base}/sobjects/{{sobject}}/{{field}}/{{value}}", self.retrieve_by_external_id)
        router.add("PATCH", f"{base}/sobjects/{{sobject}}/{{field}}/{{value}}", self.upsert, writes=True)
        router.add(
            "DELETE",
            f"{base}/sobjects/{{sobject}}/{{field}}/{{value}}",
            self.delete_by_external_id,
            writes=True,
        )
        router.add("GET", f"{base}/composite/sobjects/{{sobject}}", self.collection_retrieve)
        router.add("POST", f"{base}/composite/sobjects", self.collection_create, writes=True)
        router.add("PATCH", f"{base}/composite/sobjects", self.collection_update, writes=True)
        router.add("DELETE", f"{base}/composite/sobjects", self.collection_delete, writes=True)
        router.add(
            "PATCH", f"{base}/composite/sobjects/{{sobject}}/{{field}}", self.collection_upsert, writes=True
        )

    # -- discovery ------------------------------------------------------------------------------
    def versions(self, request: Request, params: dict[str, str]) -> Reply:
        known = ["55.0", "56.0", "57.0", "58.0", "59.0", "60.0", "61.0", "62.0"]
        return json_reply(
            200,
            [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in known],
        )

    def resources(self, request: Request, params: dict[str, str]) -> Reply:
        base = f"/services/data/v{params['version']}"
        names = ["limits", "query", "queryAll", "sobjects", "composite", "jobs", "tooling"]
        return json_reply(200, {name: f"{base}/{name}" for name in names})

    def limits(self, request: Request, params: dict[str, str]) -> Reply:
        used, maximum = self.usage()
        return json_reply(
            200,
            {
                "DailyApiRequests": {"Max": maximum, "Remaining": max(0, maximum - used)},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkV2QueryFileStorageMB": {"Max": 1000000, "Remaining": 1000000},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
                "FileStorageMB": {"Max": 1024, "Remaining": 1024},
            },
        )

    def _object(self, name: str) -> ObjectDef:
        obj = self.org.sobject(name)
        if obj is None:
            raise not_found()
        return obj

    def describe_global(self, request: Request, params: dict[str, str]) -> Reply:
        base = f"/services/data/v{params['version']}"
        objects = [obj.summary(base) for obj in self.org.data.objects.values()]
        return json_reply(200, {"encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION, "sobjects": objects})

    def object_info(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        base = f"/services/data/v{params['version']}"
        return json_reply(200, {"objectDescribe": obj.summary(base), "recentItems": []})

    def describe(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        base = f"/services/data/v{params['version']}"
        visible = self.org.visible_fields(obj)
        body = obj.describe(visible, base)
        for fd, described in zip(visible, body["fields"], strict=True):
            if not self.org.editable(obj, fd):
                described["createable"] = described["updateable"] = False
        # "Get Field and Other Metadata for an Object": the UI templates are absolute URLs.
        body["urls"]["uiEditTemplate"] = f"{request.base_url}/{{ID}}/e"
        body["urls"]["uiDetailTemplate"] = f"{request.base_url}/{{ID}}"
        return json_reply(200, body)

    # -- query ----------------------------------------------------------------------------------
    def query(self, request: Request, params: dict[str, str]) -> Reply:
        return run_query(
            request, params["version"], self.data, self.cursors, endpoint="query", include_deleted=False
        )

    def query_all(self, request: Request, params: dict[str, str]) -> Reply:
        return run_query(
            request, params["version"], self.data, self.cursors, endpoint="queryAll", include_deleted=True
        )

    def query_more(self, request: Request, params: dict[str, str]) -> Reply:
        return query_more(params["locator"], params["version"], self.cursors)

    # -- single records -------------------------------------------------------------------------
    def _record_body(self, obj: ObjectDef, row: Row, version: str, fields: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": attributes(obj, row, self.data, version)}
        if fields:
            chosen = []
            for name in fields.split(","):
                fd = self.org.visible_field(obj, name.strip())
                if fd is None:
                    raise ApiError(
                        400, "INVALID_FIELD", f"No such column '{name.strip()}' on sobject of type {obj.name}"
                    )
                chosen.append(fd)
        else:
            chosen = self.org.visible_fields(obj)
        for fd in chosen:
            out[fd.name] = row.get(fd.name, fd.missing)
        return out

    def _row(self, obj: ObjectDef, record_id: str) -> Row:
        normalized = ids.normalize(record_id)
        row = (
            self.org.data.get(obj.name, normalized)
            if normalized and normalized[:3] == obj.key_prefix
            else None
        )
        if row is None:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {record_id}",
            )
        if row.get("IsDeleted"):
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return row

    def create(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        values = request.json_object()
        if any(k.lower() == "id" for k in values):
            raise ApiError(
                400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
            )
        try:
            record_id = self.org.create(obj, values)
        except RecordError as error:
            raise _single_error(error) from None
        return json_reply(201, {"id": record_id, "success": True, "errors": []}, records=1, changed=True)

    def retrieve(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        row = self._row(obj, params["id"])
        return json_reply(
            200, self._record_body(obj, row, params["version"], request.query.get("fields")), records=1
        )

    def update(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        row = self._row(obj, params["id"])
        try:
            self.org.update(obj, row["Id"], request.json_object())
        except RecordError as error:
            raise _single_error(error) from None
        return Reply(204, records=1, changed=True)

    def delete(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        row = self._row(obj, params["id"])
        try:
            self.org.delete(row["Id"])
        except RecordError as error:
            raise _single_error(error) from None
        return Reply(204, records=1, changed=True)

    def _by_external_id(self, obj: ObjectDef, field: str, value: str) -> Row:
        fd = self.org.visible_field(obj, field)
        if fd is None or not fd.id_lookup:
            raise ApiError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}"
            )
        if fd.name == "Id":
            return self._row(obj, value)
        matches = self.org.data.lookup(obj, fd, value)
        if not matches:
            raise not_found()
        if len(matches) > 1:
            raise ApiError(300, "MULTIPLE_CHOICES", f"more than one record found for {fd.name} = {value}")
        return self._row(obj, next(iter(matches)))

    def retrieve_by_external_id(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        row = self._by_external_id(obj, params["field"], params["value"])
        return json_reply(
            200, self._record_body(obj, row, params["version"], request.query.get("fields")), records=1
        )

    def delete_by_external_id(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        row = self._by_external_id(obj, params["field"], params["value"])
        try:
            self.org.delete(row["Id"])
        except RecordError as error:
            raise _single_error(error) from None
        return Reply(204, records=1, changed=True)

    def upsert(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        try:
            record_id, created = self.org.upsert(obj, params["field"], params["value"], request.json_object())
        except RecordError as error:
            if error.code == "DUPLICATE_EXTERNAL_ID":
                raise ApiError(300, error.code, error.message, error.fields) from None
            raise _single_error(error) from None
        body = {"id": record_id, "success": True, "errors": [], "created": created}
        return json_reply(201 if created else 200, body, records=1, changed=True)

    # -- sObject Collections --------------------------------------------------------------------
    def _collection_records(self, request: Request) -> tuple[list[dict[str, Any]], bool]:
        payload = request.json_object()
        records = payload.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ApiError(400, "JSON_PARSER_ERROR", "records must be a JSON array of sObjects")
        if len(records) > MAX_COLLECTION:
            raise _too_many_records()
        return records, bool(payload.get("allOrNone", False))

    def _typed(self, record: dict[str, Any]) -> ObjectDef:
        attrs = record.get("attributes")
        type_name = attrs.get("type") if isinstance(attrs, dict) else None
        if not isinstance(type_name, str):
            raise ApiError(400, "INVALID_TYPE", "Each record must name its sObject type in attributes.type")
        obj = self.org.sobject(type_name)
        if obj is None:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        return obj

    def _run_collection(
        self,
        items: list[Any],
        all_or_none: bool,
        apply: Callable[[Any], dict[str, Any]],
        known_id: Callable[[Any], str | None],
    ) -> Reply:
        results: list[dict[str, Any]] = []
        with self.org.transaction() as rollback:
            for item in items:
                try:
                    results.append(apply(item))
                except RecordError as error:
                    if error.code in REQUEST_LEVEL_CODES:
                        rollback()
                        raise ApiError(400, error.code, error.message, error.fields) from None
                    failed: dict[str, Any] = {"success": False, "errors": [error.as_result()]}
                    record_id = known_id(item)
                    if record_id:
                        failed = {"id": record_id, **failed}
                    results.append(failed)
            if all_or_none and not all(r["success"] for r in results):
                rollback()
                results = [
                    r if not r["success"] else {"id": r.get("id"), "success": False, "errors": [_ROLLED_BACK]}
                    for r in results
                ]
        written = sum(1 for r in results if r["success"])
        return json_reply(200, results, records=written, changed=written > 0)

    def collection_create(self, request: Request, params: dict[str, str]) -> Reply:
        records, all_or_none = self._collection_records(request)
        typed = [(self._typed(r), r) for r in records]
        for _, record in typed:
            if any(k.lower() == "id" for k in record):
                raise ApiError(
                    400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
                )

        def apply(item: tuple[ObjectDef, dict[str, Any]]) -> dict[str, Any]:
            return {"id": self.org.create(item[0], item[1]), "success": True, "errors": []}

        return self._run_collection(typed, all_or_none, apply, lambda item: None)

    def collection_update(self, request: Request, params: dict[str, str]) -> Reply:
        records, all_or_none = self._collection_records(request)
        typed = [(self._typed(r), r) for r in records]

        def apply(item: tuple[ObjectDef, dict[str, Any]]) -> dict[str, Any]:
            obj, record = item
            record_id = next((str(v) for k, v in record.items() if k.lower() == "id"), None)
            if not record_id:
                raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            body = {k: v for k, v in record.items() if k.lower() != "id"}
            return {"id": self.org.update(obj, record_id, body), "success": True, "errors": []}

        def known(item: tuple[ObjectDef, dict[str, Any]]) -> str | None:
            return next((str(v) for k, v in item[1].items() if k.lower() == "id"), None)

        return self._run_collection(typed, all_or_none, apply, known)

    def collection_upsert(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        records, all_or_none = self._collection_records(request)
        fd = self.org.visible_field(obj, params["field"])
        if fd is None or not fd.id_lookup:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {params['field']}",
            )
        for record in records:
            if self._typed(record).name != obj.name:
                raise ApiError(
                    400, "INVALID_TYPE", f"All records must be of type {obj.name} in an upsert call"
                )

        def apply(record: dict[str, Any]) -> dict[str, Any]:
            value = next((v for k, v in record.items() if k.lower() == fd.name.lower()), None)
            record_id, created = self.org.upsert(obj, fd.name, value, record)
            return {"id": record_id, "success": True, "errors": [], "created": created}

        return self._run_collection(records, all_or_none, apply, lambda record: None)

    def collection_delete(self, request: Request, params: dict[str, str]) -> Reply:
        record_ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not record_ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(record_ids) > MAX_COLLECTION:
            raise _too_many_records()
        all_or_none = request.query.get("allOrNone", "false").lower() == "true"
        kinds = {
            obj.name
            for obj in (self.org.data.object_for_id(ids.normalize(i) or "") for i in record_ids)
            if obj is not None
        }
        if len(kinds) > 1 and kinds & SETUP_OBJECTS:
            raise ApiError(
                400,
                "MIXED_DML_OPERATION",
                "You can't delete records for multiple object types in one call when one of those types "
                f"is related to a feature in the Salesforce Setup area: {', '.join(sorted(kinds))}",
            )

        def apply(record_id: str) -> dict[str, Any]:
            _, deleted = self.org.delete(record_id)
            return {"id": deleted, "success": True, "errors": []}

        return self._run_collection(record_ids, all_or_none, apply, lambda record_id: record_id)

    def collection_retrieve(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        record_ids = [i for i in request.query.get("ids", "").split(",") if i]
        fields = request.query.get("fields")
        if not record_ids or not fields:
            raise ApiError(400, "MISSING_ARGUMENT", "ids and fields parameters are required")
        out: list[dict[str, Any] | None] = []
        for record_id in record_ids:
            normalized = ids.normalize(record_id)
            row = self.org.data.get(obj.name, normalized) if normalized else None
            usable = row is not None and not row.get("IsDeleted")
            out.append(self._record_body(obj, row, params["version"], fields) if usable and row else None)
        return json_reply(200, out, records=sum(1 for r in out if r is not None))

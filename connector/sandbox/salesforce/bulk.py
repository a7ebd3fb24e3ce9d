"""Bulk API 2.0: query jobs with locator-paged CSV results, and CSV ingest jobs with per-row results.

Jobs are processed synchronously (a query when it is created, an ingest job when it is closed with
``UploadComplete``) and then report ``InProgress`` for ``in_progress_polls`` status reads before
``JobComplete``, so clients exercise their polling loops. Every row goes through the same DML rules
as REST, including injected record faults; failed rows land in ``failedResults`` with
``sf__Error`` as ``CODE:message:fields --``.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import soql
from .catalogs import DataCatalog
from .errors import ApiError, RecordError, not_found
from .org import Org
from .query import CompiledQuery, compile_query, execute
from .schema import FieldDef, ObjectDef
from .store import Row
from .values import SKIP, from_csv, to_csv
from .web import CSV_TYPE, Handler, Reply, Request, Router, json_reply

_DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
_LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_INGEST_OPERATIONS = frozenset({"insert", "update", "upsert", "delete", "hardDelete"})
_TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})


@dataclass
class Job:
    id: str
    operation: str
    object: str
    created: str
    version: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id_field: str | None = None
    state: str = "Open"
    polls_left: int = 0
    error_message: str | None = None
    compiled: CompiledQuery | None = None
    rows: list[Row] = field(default_factory=list)
    uploads: list[bytes] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    successes: list[tuple[str, bool, list[str]]] = field(default_factory=list)
    failures: list[tuple[str, str, list[str]]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)

    @property
    def is_query(self) -> bool:
        return self.compiled is not None

    def info(self, user_id: str, *, processing: bool = True) -> dict[str, Any]:
        """The job's JSON. ``processing=False`` is the answer to a create, close or abort, which in
        Salesforce's examples ("Create a Job", "Create a Query Job", "Close or Abort a Job") carries no
        jobType, counters or processing times: only a status read ("Get Job Info") has them."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": user_id,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Query" if self.is_query else "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
            "retries": 0,
            "totalProcessingTime": 0,
        }
        if self.is_query:
            body["numberRecordsProcessed"] = len(self.rows) if self.state == "JobComplete" else 0
        else:
            body["externalIdFieldName"] = self.external_id_field
            body["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
            body["numberRecordsProcessed"] = len(self.successes) + len(self.failures)
            body["numberRecordsFailed"] = len(self.failures)
            body["apiActiveProcessingTime"] = 0
            body["apexProcessingTime"] = 0
        if self.error_message:
            body["errorMessage"] = self.error_message
        if not processing:
            for key in _PROCESSING_KEYS:
                body.pop(key, None)
            if self.state != "Open":
                body.pop("contentUrl", None)
        return body


_PROCESSING_KEYS = (
    "jobType",
    "retries",
    "totalProcessingTime",
    "numberRecordsProcessed",
    "numberRecordsFailed",
    "apiActiveProcessingTime",
    "apexProcessingTime",
)


def _invalid_job(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOB", message)


class BulkApi:
    def __init__(self, org: Org, *, in_progress_polls: int = 1, enabled: bool = True) -> None:
        self.org = org
        self.catalog = DataCatalog(org)
        self.in_progress_polls = in_progress_polls
        self.enabled = enabled
        """False: every ``jobs/`` call answers 403 ``FEATURENOTENABLED``, like an org without Bulk API."""
        self.jobs: dict[str, Job] = {}

    def register(self, router: Router) -> None:
        base = "/services/data/v{version}/jobs"
        add = self._add(router)
        add("POST", f"{base}/query", self.create_query_job)
        add("GET", f"{base}/query", self.list_query_jobs)
        add("GET", f"{base}/query/{{job}}", self.job_info)
        add("PATCH", f"{base}/query/{{job}}", self.set_state)
        add("DELETE", f"{base}/query/{{job}}", self.delete_job)
        add("GET", f"{base}/query/{{job}}/results", self.query_results)
        add("POST", f"{base}/ingest", self.create_ingest_job, writes=True)
        add("GET", f"{base}/ingest", self.list_ingest_jobs)
        add("GET", f"{base}/ingest/{{job}}", self.job_info)
        add("PATCH", f"{base}/ingest/{{job}}", self.set_state, writes=True)
        add("DELETE", f"{base}/ingest/{{job}}", self.delete_job)
        add("PUT", f"{base}/ingest/{{job}}/batches", self.upload, writes=True)
        add("GET", f"{base}/ingest/{{job}}/{{results}}", self.ingest_results)

    def _add(self, router: Router) -> Callable[..., None]:
        """``router.add`` with every handler refused while ``enabled`` is False."""

        def add(method: str, template: str, handler: Handler, *, writes: bool = False) -> None:
            def guarded(request: Request, params: dict[str, str]) -> Reply:
                if not self.enabled:
                    raise ApiError(
                        403, "FEATURENOTENABLED", "Bulk API 2.0 is not enabled for this organization"
                    )
                return handler(request, params)

            router.add(method, template, guarded, writes=writes)

        return add

    # -- shared -------------------------------------------------------------------------------
    def _job(self, params: dict[str, str], *, query: bool) -> Job:
        job = self.jobs.get(params["job"])
        if job is None or job.is_query != query:
            raise not_found()
        return job

    def _new_job(self, payload: dict[str, Any], version: str, operation: str, obj: str) -> Job:
        delimiter = str(payload.get("columnDelimiter") or "COMMA")
        line_ending = str(payload.get("lineEnding") or "LF")
        if delimiter not in _DELIMITERS or line_ending not in _LINE_ENDINGS:
            raise _invalid_job(
                f"InvalidJob : unsupported columnDelimiter {delimiter} or lineEnding {line_ending}"
            )
        return Job(
            id=self.org.id_factory.new("750"),
            operation=operation,
            object=obj,
            created=self.org.now(),
            version=version,
            column_delimiter=delimiter,
            line_ending=line_ending,
        )

    def _csv(self, job: Job, header: list[str], rows: list[list[str]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(
            buffer,
            delimiter=_DELIMITERS[job.column_delimiter],
            lineterminator=_LINE_ENDINGS[job.line_ending],
            quoting=csv.QUOTE_ALL,
        )
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue().encode()

    def job_info(self, request: Request, params: dict[str, str]) -> Reply:
        job = self.jobs.get(params["job"])
        if job is None or ("/jobs/query/" in request.path) != job.is_query:
            raise not_found()
        if job.state in ("UploadComplete", "InProgress"):
            if job.error_message is not None:
                job.state = "Failed"
            elif job.polls_left > 0:
                job.polls_left -= 1
                job.state = "InProgress"
            else:
                job.state = "JobComplete"
        return json_reply(200, job.info(self.org.api_user_id))

    def set_state(self, request: Request, params: dict[str, str]) -> Reply:
        job = self.jobs.get(params["job"])
        if job is None or ("/jobs/query/" in request.path) != job.is_query:
            raise not_found()
        wanted = request.json_object().get("state")
        if wanted == "Aborted":
            if job.state in _TERMINAL:
                raise _invalid_job(f"InvalidJob : job {job.id} is already {job.state}")
            job.state = "Aborted"
            job.unprocessed = self._uploaded_rows(job)[1] if not job.is_query else []
            return json_reply(200, job.info(self.org.api_user_id, processing=False))
        if wanted != "UploadComplete" or job.is_query:
            raise _invalid_job(f"InvalidJob : cannot set state {wanted!r} on this job")
        if job.state != "Open":
            raise _invalid_job(f"InvalidJob : job {job.id} is {job.state}, not Open")
        job.state = "UploadComplete"
        job.polls_left = self.in_progress_polls
        written = self._process(job)
        return json_reply(
            200, job.info(self.org.api_user_id, processing=False), records=written, changed=written > 0
        )

    def delete_job(self, request: Request, params: dict[str, str]) -> Reply:
        job = self.jobs.get(params["job"])
        if job is None:
            raise not_found()
        if job.state not in _TERMINAL:
            raise _invalid_job(
                f"InvalidJob : job {job.id} must be complete, failed or aborted before deletion"
            )
        del self.jobs[job.id]
        return Reply(204)

    def _list(self, query: bool) -> Reply:
        records = [j.info(self.org.api_user_id) for j in self.jobs.values() if j.is_query == query]
        return json_reply(200, {"done": True, "records": records, "nextRecordsUrl": None})

    def list_query_jobs(self, request: Request, params: dict[str, str]) -> Reply:
        return self._list(True)

    def list_ingest_jobs(self, request: Request, params: dict[str, str]) -> Reply:
        return self._list(False)

    # -- query jobs ---------------------------------------------------------------------------
    def create_query_job(self, request: Request, params: dict[str, str]) -> Reply:
        payload = request.json_object()
        operation = payload.get("operation")
        if operation not in ("query", "queryAll"):
            raise _invalid_job(f"InvalidJob : operation must be query or queryAll, not {operation!r}")
        source = payload.get("query")
        if not isinstance(source, str):
            raise _invalid_job("InvalidJob : query is required")
        parsed = soql.parse(source)
        if parsed.count or parsed.offset is not None:
            raise ApiError(400, "API_ERROR", "Bulk API 2.0 query jobs do not support COUNT() or OFFSET")
        compiled = compile_query(parsed, self.catalog)
        job = self._new_job(payload, params["version"], operation, compiled.obj.name)
        job.compiled = compiled
        job.rows = execute(compiled, self.catalog, include_deleted=operation == "queryAll")
        job.state = "UploadComplete"
        job.polls_left = self.in_progress_polls
        self.jobs[job.id] = job
        return json_reply(200, job.info(self.org.api_user_id, processing=False))

    def query_results(self, request: Request, params: dict[str, str]) -> Reply:
        job = self._job(params, query=True)
        if job.state != "JobComplete":
            raise _invalid_job(
                f"InvalidJob : job {job.id} is {job.state}; results are ready once JobComplete"
            )
        assert job.compiled is not None
        start = _decode_locator(request.query.get("locator", ""))
        max_records = request.query.get("maxRecords", "")
        size = int(max_records) if max_records.isdigit() and int(max_records) > 0 else len(job.rows)
        chunk = job.rows[start : start + size]
        columns = job.compiled.columns
        header = [c.header for c in columns]
        body = self._csv(job, header, [[to_csv(c.get(row), c.field) for c in columns] for row in chunk])
        end = start + len(chunk)
        locator = base64.b64encode(str(end).encode()).decode().rstrip("=") if end < len(job.rows) else "null"
        headers = [("Sforce-Locator", locator), ("Sforce-NumberOfRecords", str(len(chunk)))]
        return Reply(200, body, CSV_TYPE, headers, records=len(chunk))

    # -- ingest jobs --------------------------------------------------------------------------
    def create_ingest_job(self, request: Request, params: dict[str, str]) -> Reply:
        payload = request.json_object()
        operation = payload.get("operation")
        obj = self.org.sobject(str(payload.get("object")))
        if operation not in _INGEST_OPERATIONS:
            raise _invalid_job(
                f"InvalidJob : operation {operation!r} is not one of {sorted(_INGEST_OPERATIONS)}"
            )
        if obj is None:
            raise _invalid_job(f"InvalidJob : Unable to find object: {payload.get('object')}")
        if payload.get("contentType", "CSV") != "CSV":
            raise _invalid_job("InvalidJob : contentType must be CSV")
        job = self._new_job(payload, params["version"], str(operation), obj.name)
        if operation == "upsert":
            name = str(payload.get("externalIdFieldName") or "")
            fd = self.org.visible_field(obj, name)
            if fd is None or not fd.id_lookup:
                raise _invalid_job(
                    f"InvalidJob : Field name provided, {name} does not match an External ID, Salesforce Id, or "
                    f"indexed field for {obj.name}"
                )
            job.external_id_field = fd.name
        self.jobs[job.id] = job
        return json_reply(200, job.info(self.org.api_user_id, processing=False))

    def upload(self, request: Request, params: dict[str, str]) -> Reply:
        job = self._job(params, query=False)
        if job.state != "Open":
            raise _invalid_job(
                f"InvalidJob : job {job.id} is {job.state}; data can be uploaded only while Open"
            )
        if not request.body:
            raise _invalid_job("InvalidJob : empty upload")
        job.uploads.append(request.body)
        return Reply(201)

    def _uploaded_rows(self, job: Job) -> tuple[list[str], list[list[str]]]:
        header: list[str] = []
        rows: list[list[str]] = []
        for upload in job.uploads:
            reader = csv.reader(
                io.StringIO(upload.decode("utf-8-sig"), newline=""),
                delimiter=_DELIMITERS[job.column_delimiter],
            )
            lines = [line for line in reader if line]
            if not lines:
                continue
            if header and lines[0] != header:
                raise _invalid_job("InvalidBatch : every upload of a job must have the same header")
            header = lines[0]
            rows.extend(lines[1:])
        return header, rows

    def _process(self, job: Job) -> int:
        obj = self.org.sobject(job.object)
        assert obj is not None
        header, rows = self._uploaded_rows(job)
        job.header = header
        fields: list[FieldDef] = []
        for name in header:
            fd = self.org.visible_field(obj, name)
            if fd is None:
                job.error_message = f"InvalidBatch : Field name not found : {name}"
                job.unprocessed = rows
                return 0
            fields.append(fd)
        needs_id = job.operation in ("update", "delete", "hardDelete")
        if needs_id and "Id" not in [f.name for f in fields]:
            job.error_message = "InvalidBatch : Field name not found : Id"
            job.unprocessed = rows
            return 0
        if job.operation in ("delete", "hardDelete") and len(fields) != 1:
            job.error_message = "InvalidBatch : The 'delete' batch must contain only ids"
            job.unprocessed = rows
            return 0
        if job.operation == "upsert" and job.external_id_field not in [f.name for f in fields]:
            job.error_message = f"InvalidBatch : Field name not found : {job.external_id_field}"
            job.unprocessed = rows
            return 0
        for cells in rows:
            self._process_row(job, obj, fields, cells)
        return len(job.successes)

    def _process_row(self, job: Job, obj: ObjectDef, fields: list[FieldDef], cells: list[str]) -> None:
        values: dict[str, Any] = {}
        for fd, cell in zip(fields, cells, strict=False):
            value = from_csv(fd, cell)
            if value is not SKIP:
                values[fd.name] = value
        record_id = str(values.get("Id") or "")
        try:
            if job.operation == "insert":
                record_id = self.org.create(obj, values)
                created = True
            elif job.operation == "update":
                body = {k: v for k, v in values.items() if k != "Id"}
                record_id = self.org.update(obj, record_id, body)
                created = False
            elif job.operation == "upsert":
                assert job.external_id_field is not None
                record_id, created = self.org.upsert(
                    obj, job.external_id_field, values.get(job.external_id_field), values
                )
            else:
                _, record_id = self.org.delete(record_id)
                if job.operation == "hardDelete":
                    self.org.data.remove(obj.name, record_id)
                created = False
        except RecordError as error:
            message = f"{error.code}:{error.message}:{','.join(error.fields)} --"
            job.failures.append((record_id, message, cells))
            return
        except ApiError as error:
            job.failures.append((record_id, f"{error.code}:{error.message}: --", cells))
            return
        job.successes.append((record_id, created, cells))

    def ingest_results(self, request: Request, params: dict[str, str]) -> Reply:
        job = self._job(params, query=False)
        kind = params["results"].lower()
        if kind == "successfulresults":
            header = ["sf__Id", "sf__Created", *job.header]
            rows = [[i, "true" if created else "false", *cells] for i, created, cells in job.successes]
        elif kind == "failedresults":
            header = ["sf__Id", "sf__Error", *job.header]
            rows = [[i, error, *cells] for i, error, cells in job.failures]
        elif kind == "unprocessedrecords":
            header = list(job.header or self._uploaded_rows(job)[0])
            rows = job.unprocessed
        else:
            raise not_found()
        return Reply(200, self._csv(job, header, rows), CSV_TYPE, records=len(rows))


def _decode_locator(locator: str) -> int:
    if not locator or locator == "null":
        return 0
    try:
        return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except ValueError:
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None

"""The OpenAPI 3 document of /api/v1 (hand-written, checked by schemathesis in the test suite)."""

from __future__ import annotations

from typing import Any

from engine.collab import CONTENT_TYPES, DEFAULT_MAX_ATTACHMENT_BYTES, FILE_TYPES
from web.roles import ROLES
from web.security import MIN_PASSWORD_LENGTH


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}


def _op(summary: str, ok: dict[str, Any], *codes: int, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, public: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**ok, **_errors(*codes)}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


_NULLABLE_STR = {"type": ["string", "null"]}
_DT = {"type": ["string", "null"], "format": "date-time"}
_TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
_INSTANCE_ID = {"name": "instance_id", "in": "path", "required": True, "schema": {"type": "string"}}

SCHEMAS: dict[str, Any] = {
    "Cemetery": {"type": "object", "required": ["id", "code", "name", "cemetery_type", "county_code", "status"],
                 "properties": {"id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
                                "cemetery_type": {"type": "string", "enum": ["public_welfare", "commercial"]},
                                "county_code": {"type": "string"}, "township_code": {"type": "string"},
                                "status": {"type": "string", "enum": ["open", "sales_frozen", "closed"]},
                                "frozen_inspection_id": {"type": ["integer", "null"]},
                                "documents": {"type": "array"}, "inspections": {"type": "array"},
                                "rectifications": {"type": "array"}}},
    "Delegation": {"type": "object", "required": ["id", "county_code", "township_code", "benefit_type",
                                                  "effective_from", "effective_to", "document_no"],
                   "properties": {"id": {"type": "integer"}, "county_code": {"type": "string"},
                                  "township_code": _NULLABLE_STR, "benefit_type": {"type": "string"},
                                  "effective_from": {"type": "string", "format": "date"},
                                  "effective_to": {"type": ["string", "null"], "format": "date"},
                                  "document_no": {"type": "string"}, "created_by": {"type": "string"}}},
    "DibaoCase": {"type": "object", "required": ["id", "business_key", "applicant_name", "applicant_id_number",
                                                 "household_size", "delegated", "decision", "monthly_amount"],
                  "properties": {"id": {"type": "string"}, "business_key": _NULLABLE_STR,
                                 "org_unit": {"type": "string"}, "township_code": _NULLABLE_STR,
                                 "county_code": _NULLABLE_STR, "applicant_name": _NULLABLE_STR,
                                 "applicant_id_number": {"type": ["string", "null"],
                                                         "description": "masked in lists: 510102********1234"},
                                 "household_size": {"type": ["integer", "null"]},
                                 "separately_registered": {"type": "boolean"}, "complaint": {"type": "boolean"},
                                 "delegated": {"type": ["boolean", "null"]}, "accepted_at": _DT,
                                 "deadline_at": _DT, "decision": _NULLABLE_STR, "decided_at": _DT,
                                 "monthly_amount": _NULLABLE_STR, "closed_at": _DT}},
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "array", "items": {"type": "object", "required": ["field", "code", "message"],
                                                  "properties": {"field": {"type": "string"},
                                                                 "code": {"type": "string"},
                                                                 "message": {"type": "string"}}}}}}}},
    "Task": {"type": "object", "required": ["id", "instance_id", "process_key", "name", "title", "candidate_role",
                                            "org_unit", "assignee", "state", "due_at", "created_at"],
             "properties": {"id": {"type": "string", "format": "uuid"}, "instance_id": {"type": "string"},
                            "process_key": {"type": "string"}, "bpmn_id": {"type": "string"},
                            "name": {"type": "string"}, "title": {"type": "string"},
                            "candidate_role": {"type": "string"}, "org_unit": {"type": "string"},
                            "assignee": _NULLABLE_STR, "owner": _NULLABLE_STR, "priority": {"type": "integer"},
                            "state": {"type": "string", "enum": ["READY", "CLAIMED", "DONE", "CANCELED"]},
                            "due_at": _DT, "created_at": _DT, "completed_at": _DT, "completed_by": _NULLABLE_STR,
                            "form": {"type": ["object", "null"]}, "actionable": {"type": "boolean"},
                            "escalated_at": _DT}},
    "Attachment": {"type": "object", "required": ["id", "instance_id", "task_id", "filename", "content_type", "size",
                                                  "sha256", "uploaded_by", "created_at", "download_url"],
                   "properties": {"id": {"type": "integer"}, "instance_id": {"type": "string"},
                                  "task_id": _NULLABLE_STR, "filename": {"type": "string"},
                                  "content_type": {"type": "string", "enum": CONTENT_TYPES},
                                  "size": {"type": "integer"},
                                  "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                  "uploaded_by": {"type": "string"}, "created_at": {"type": "string",
                                                                                    "format": "date-time"},
                                  "download_url": {"type": "string"}}},
    "Comment": {"type": "object", "required": ["id", "instance_id", "task_id", "author", "kind", "body", "created_at"],
                "properties": {"id": {"type": "integer"}, "instance_id": {"type": "string"}, "task_id": _NULLABLE_STR,
                               "author": {"type": "string"},
                               "kind": {"type": "string", "enum": ["comment", "opinion", "resolution"]},
                               "body": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}},
    "Instance": {"type": "object", "required": ["id", "process_key", "version", "business_key", "org_unit", "status",
                                                "ready_tasks"],
                 "properties": {"id": {"type": "string", "format": "uuid"}, "process_key": {"type": "string"},
                                "version": {"type": "integer"}, "lock_version": {"type": "integer"},
                                "business_key": _NULLABLE_STR, "org_unit": {"type": "string"},
                                "status": {"type": "string", "enum": ["running", "completed", "cancelled", "error"]},
                                "created_at": _DT, "updated_at": _DT, "completed_at": _DT, "next_timer_at": _DT,
                                "data": {"type": "object"}, "ready_tasks": {"type": "array", "items": _ref("Task")}}},
}

_CEMETERY_ID = {"name": "cemetery_id", "in": "path", "required": True, "schema": {"type": "string"}}
_CHECK = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"},
                                                                "note": {"type": "string", "maxLength": 500}}}
_RECTIFICATION_ID = {"name": "rectification_id", "in": "path", "required": True, "schema": {"type": "string"}}
_RECTIFICATION = {"type": "object", "required": ["id", "inspection_id", "cemetery_id", "item", "status", "due_on",
                                                 "overdue", "evidence"],
                  "properties": {"id": {"type": "integer"}, "inspection_id": {"type": "integer"},
                                 "cemetery_id": {"type": "integer"}, "cemetery_name": {"type": "string"},
                                 "year": {"type": "integer"}, "item": {"type": "string"},
                                 "finding": {"type": "string"}, "owner": {"type": "string"},
                                 "due_on": {"type": "string", "format": "date"},
                                 "status": {"type": "string", "enum": ["open", "verified", "closed"]},
                                 "overdue": {"type": "boolean"}, "progress": _NULLABLE_STR, "progress_at": _DT,
                                 "progress_by": _NULLABLE_STR, "progress_by_name": _NULLABLE_STR,
                                 "reported_done_at": _DT, "evidence": {"type": "array"}}}
CEMETERY_PATHS: dict[str, Any] = {  # web/cemetery_api.py
    "/cemetery/cemeteries": {"get": _op(
        "公墓 register entries in your scope",
        {"200": _json({"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": _ref("Cemetery")}}}, "Cemeteries")},
        400, 401,
        params=[{"name": "county", "in": "query", "schema": {"type": "string", "maxLength": 32}},
                {"name": "type", "in": "query", "schema": {"type": "string", "enum": ["public_welfare", "commercial"]}},
                {"name": "status", "in": "query",
                 "schema": {"type": "string", "enum": ["open", "sales_frozen", "closed"]}}])},
    "/cemetery/cemeteries/{cemetery_id}": {"get": _op(
        "One cemetery with its documents (expiry state), inspections and rectification items",
        {"200": _json(_ref("Cemetery"), "Cemetery")}, 401, 404, params=[_CEMETERY_ID])},
    "/cemetery/cemeteries/{cemetery_id}/status": {"post": _op(
        "Change the sales status (admin, city manager, county reviewer). Reopening a cemetery frozen by 限期整改 "
        "before its acceptance passed: 409 acceptance_required; freezing by hand: 409 freeze_by_inspection_only",
        {"200": _json(_ref("Cemetery"), "The cemetery after the change")}, 400, 401, 403, 404, 409, 422,
        params=[_CEMETERY_ID],
        body={"type": "object", "required": ["status", "reason"],
              "properties": {"status": {"type": "string", "enum": ["open", "sales_frozen", "closed"]},
                             "reason": {"type": "string", "minLength": 2, "maxLength": 500,
                                        "description": "at least 2 characters besides spaces (else code blank)"}}})},
    "/cemetery/campaigns": {"post": _op(
        "Open a year's 公墓年检 and start an inspection for every cemetery in your scope that has none (city, admin)",
        {"201": _json({"type": "object", "required": ["year", "started"],
                       "properties": {"year": {"type": "integer"}, "started": {"type": "array"}}}, "Opened")},
        400, 401, 403, 404, 422,
        body={"type": "object", "required": ["year"],
              "properties": {"year": {"type": "integer", "minimum": 2000, "maximum": 2100}}})},
    "/cemetery/rectifications": {"get": _op(
        "Rectification items (整改事项) of cemetery inspections in your scope; overdue=true: open items past their "
        "due date (the progress page's 逾期未整改 list)",
        {"200": _json({"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": _RECTIFICATION}}}, "Rectification items")},
        400, 401,
        params=[{"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "verified", "closed"]}},
                {"name": "overdue", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
                {"name": "year", "in": "query", "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}}])},
    "/cemetery/rectifications/{rectification_id}": {"get": _op(
        "One rectification item with its progress and evidence", {"200": _json(_RECTIFICATION, "Rectification")},
        401, 404, params=[_RECTIFICATION_ID])},
    "/cemetery/rectifications/{rectification_id}/progress": {"post": _op(
        "Report progress on an open rectification item (township, county, inspector): a note, evidence (ids of files "
        "uploaded to the inspection's case, e.g. POST /tasks/{task_id}/attachments on its 限期整改 task) and/or "
        "done (已整改, awaiting the acceptance inspection; needs a description). An item already verified or "
        "closed: 409 not_open",
        {"200": _json(_RECTIFICATION, "The item after the report")}, 400, 401, 403, 404, 409, 422,
        params=[_RECTIFICATION_ID],
        body={"type": "object", "properties": {
            "progress": {"type": "string", "maxLength": 1000}, "done": {"type": "boolean"},
            "evidence": {"type": "array", "maxItems": 20, "items": {"type": "integer", "minimum": 1}}}})},
    "/cemetery/tasks/{task_id}/checklist": {
        "get": _op("The checklist an on-site or acceptance task needs: items, plot limits, photos so far",
                   {"200": _json({"type": "object", "required": ["task_id", "check_items", "plot_limits_m2"]},
                                 "Checklist")}, 401, 403, 404, 409, params=[_TASK_ID]),
        "post": _op(
            "Submit the checklist of an on-site (县级实地检查) or acceptance (整改验收) task; findings become "
            "rectification items and the task completes. Same rules as the page: every check item of the cemetery "
            "type answered (a failed one with a note), at least measured_sample_min plots, 0 <= eco_plots <= "
            "total_plots, an opinion. Photos: images uploaded first with POST /tasks/{task_id}/attachments.",
            {"201": _json({"type": "object", "required": ["id", "passed", "findings", "template_version"]},
                          "The checklist record")}, 400, 401, 403, 404, 409, 422, params=[_TASK_ID],
            body={"type": "object", "required": ["checks", "plots", "eco_plots", "total_plots", "opinion"],
                  "properties": {
                      "checks": {"type": "object", "additionalProperties": _CHECK,
                                 "description": "check item code → answer"},
                      "plots": {"type": "array", "maxItems": 200, "items": {
                          "type": "object", "required": ["kind", "area"],
                          "properties": {"label": {"type": "string", "maxLength": 100},
                                         "kind": {"type": "string", "enum": ["single", "double", "body"]},
                                         "area": {"type": ["string", "number"], "description": "m², > 0"}}}},
                      "eco_plots": {"type": "integer", "minimum": 0}, "total_plots": {"type": "integer", "minimum": 1},
                      "notes": {"type": "string", "maxLength": 2000},
                      "opinion": {"type": "string", "minLength": 2, "maxLength": 2000},
                      "photos": {"type": "array", "items": {
                          "type": "object", "required": ["attachment_id"],
                          "properties": {"attachment_id": {"type": "integer"}, "item": {"type": "string"},
                                         "plot_label": {"type": "string"}}}}}}),
    },
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "CivicFlow API", "version": "1.0.0",
             "description": "Processes, instances and tasks of the CivicFlow workflow system. Strings in requests "
                            "must not contain NUL (U+0000): such a body or query parameter gets 400, such a "
                            "path parameter names nothing (404)."},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
        "responses": {f"E{c}": _json(_ref("Error"), d) for c, d in {
            400: "Malformed request", 401: "Missing or invalid token", 403: "Outside your scope or role",
            404: "Not found", 409: "Conflict", 422: "Validation failed", 429: "Too many failed logins"}.items()},
    },
    "paths": {
        "/auth/token": {
            "post": _op("Exchange username and password for a bearer token",
                        {"201": _json({"type": "object", "required": ["token", "token_type"],
                                       "properties": {"token": {"type": "string"},
                                                      "token_type": {"type": "string"}}}, "Token issued")},
                        400, 401, 422, 429, public=True,
                        body={"type": "object", "required": ["username", "password"],
                              "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}),
            "delete": _op("Revoke the token used for this call", {"204": {"description": "Revoked"}}, 401),
        },
        "/processes": {"get": _op("Deployed processes (latest version each)", {"200": _json(
            {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
                "type": "object", "required": ["key", "name", "latest_version"]}}}}, "Processes")}, 401)},
        "/processes/{key}": {"get": _op(
            "A process with its versions and start form JSON Schema",
            {"200": _json({"type": "object", "required": ["key", "name", "versions", "start_form"]}, "Process")},
            401, 404, params=[{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/instances": {"post": _op(
            "Start an instance", {"201": _json(_ref("Instance"), "Started")}, 400, 401, 403, 404, 422,
            body={"type": "object", "required": ["process_key"],
                  "properties": {"process_key": {"type": "string", "minLength": 1, "maxLength": 100},
                                 "business_key": {"type": ["string", "null"], "maxLength": 100},
                                 "org_unit": {"type": "string", "maxLength": 32,
                                              "description": "default: your own org unit"},
                                 "data": {"type": "object", "description": "fields of the start form"}}})},
        "/instances/{instance_id}": {"get": _op(
            "An instance with its ready tasks", {"200": _json(_ref("Instance"), "Instance")}, 401, 403, 404,
            params=[{"name": "instance_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/tasks": {"get": _op(
            "Tasks in your scope (mine=true: tasks you can act on)",
            {"200": _json({"type": "object", "required": ["items", "total", "page", "page_size"],
                           "properties": {"items": {"type": "array", "items": _ref("Task")},
                                          "total": {"type": "integer"}, "page": {"type": "integer"},
                                          "page_size": {"type": "integer"}}}, "A page of tasks")},
            400, 401,
            params=[{"name": "mine", "in": "query", "schema": {  # true/false (any case), 1/0
                        "type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$"}},
                    {"name": "process_key", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                    {"name": "state", "in": "query",
                     "schema": {"type": "string", "enum": ["READY", "CLAIMED", "DONE", "CANCELED"]}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                "maximum": 1_000_000}},
                    {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                     "maximum": 200}}])},
        "/tasks/{task_id}": {"get": _op("A task with its form JSON Schema", {"200": _json(_ref("Task"), "Task")},
                                        401, 403, 404, params=[_TASK_ID])},
        "/tasks/{task_id}/claim": {"post": _op("Claim a task", {"200": _json(_ref("Task"), "Claimed")},
                                               401, 403, 404, 409, params=[_TASK_ID])},
        "/tasks/{task_id}/unclaim": {"post": _op("Give a claimed task back", {"200": _json(_ref("Task"), "Released")},
                                                 401, 403, 404, 409, params=[_TASK_ID])},
        "/tasks/{task_id}/complete": {"post": _op(
            "Complete a task with its form data", {"200": _json(_ref("Instance"), "The updated instance")},
            400, 401, 403, 404, 409, 422, params=[_TASK_ID],
            body={"type": "object", "properties": {
                "data": {"type": "object"}, "lock_version": {"type": "integer"},
                "opinion": {"type": "string", "maxLength": 2000,
                            "description": "审批意见, recorded as a comment; required (non-empty, or an earlier "
                                           "comment by you on the task) where the step has requireOpinion: else "
                                           "422 with field opinion, code required"}}})},
        "/tasks/{task_id}/attachments": {"post": {
            "summary": "Attach a file to a task",
            "description": f"multipart/form-data with one field `file`. Allowed: {', '.join(sorted(FILE_TYPES))} (by "
                           "extension AND content); at most "
                           f"{DEFAULT_MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB by default "
                           "(CIVICFLOW_ATTACHMENT_MAX_MB). A refused file gets 422 with field `file` and code "
                           "required / empty / type / too_large / "
                           "content_mismatch, and nothing is stored. The same bytes attached to the same task again "
                           "return the existing attachment with 200.",
            "parameters": [_TASK_ID],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"201": _json(_ref("Attachment"), "Stored"),
                          "200": _json(_ref("Attachment"), "Already attached: the existing attachment"),
                          **_errors(400, 401, 403, 404, 422)}}},
        "/attachments/{attachment_id}": {"get": {
            "summary": "Download an attachment (the case must be in your scope)",
            "parameters": [{"name": "attachment_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {
                "description": "The file, with its stored content type and Content-Disposition: attachment",
                "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in CONTENT_TYPES}},
                **_errors(401, 403, 404)}}},
        "/tasks/{task_id}/reassign": {"post": _op(
            "Reassign an open task to a user who can act on it (a supervisor in scope, or the assignee)",
            {"200": _json(_ref("Task"), "Reassigned: CLAIMED by the new assignee, any delegation ended")},
            400, 401, 403, 404, 409, 422, params=[_TASK_ID],
            body={"type": "object", "required": ["to"], "properties": {
                "to": {"type": "string", "maxLength": 64,
                       "description": "username; 422 field to, code not_eligible (role or org unit does not match) "
                                      "or unchanged"},
                "expected_assignee": {"type": ["string", "null"],
                                      "description": "the assignee you saw (null: unassigned); a different one "
                                                     "now is 409"}}})},
        "/tasks/{task_id}/delegate": {"post": _op(
            "Delegate a task (委托) to a colleague in its org unit or below; it returns to you when resolved",
            {"200": _json(_ref("Task"), "Delegated: owner is you, assignee the delegate")},
            400, 401, 403, 404, 409, 422, params=[_TASK_ID],
            body={"type": "object", "required": ["to"], "properties": {
                "to": {"type": "string", "maxLength": 64,
                       "description": "username; 422 field to, code not_eligible outside the task's scope"}}})},
        "/tasks/{task_id}/resolve": {"post": _op(
            "The delegate records an opinion and the task returns to its owner",
            {"200": _json(_ref("Task"), "Returned to the owner")}, 400, 401, 403, 404, 409, 422,
            params=[_TASK_ID],
            body={"type": "object", "required": ["opinion"], "properties": {
                "opinion": {"type": "string", "maxLength": 2000, "pattern": r"\S",
                            "description": "non-blank; else 422 field opinion, code required"}}})},
        "/tasks/{task_id}/comments": {
            "get": _op("Comments on a task (审批意见, delegation resolutions, remarks), oldest first",
                       {"200": _json({"type": "object", "required": ["items"],
                                      "properties": {"items": {"type": "array", "items": _ref("Comment")}}},
                                     "Comments")}, 401, 403, 404, params=[_TASK_ID]),
            "post": _op("Comment on a task (audited)", {"201": _json(_ref("Comment"), "Added")},
                        400, 401, 403, 404, 422, params=[_TASK_ID],
                        body={"type": "object", "required": ["body"], "properties": {
                            "body": {"type": "string", "maxLength": 2000, "pattern": r"\S",
                                     "description": "non-blank; else 422 field body, code required"}}})},
        "/instances/{instance_id}/comments": {
            "get": _op("Comments on a case and all its tasks, oldest first",
                       {"200": _json({"type": "object", "required": ["items"],
                                      "properties": {"items": {"type": "array", "items": _ref("Comment")}}},
                                     "Comments")}, 401, 403, 404, params=[_INSTANCE_ID]),
            "post": _op("Comment on a case (audited)", {"201": _json(_ref("Comment"), "Added")},
                        400, 401, 403, 404, 422, params=[_INSTANCE_ID],
                        body={"type": "object", "required": ["body"], "properties": {
                            "body": {"type": "string", "maxLength": 2000, "pattern": r"\S",
                                     "description": "non-blank; else 422 field body, code required"}}})},
        "/dibao/delegations": {
            "get": _op("低保 delegation registry entries of the counties in your scope",
                       {"200": _json({"type": "object", "required": ["items"],
                                      "properties": {"items": {"type": "array", "items": _ref("Delegation")}}},
                                     "Delegations")}, 401),
            "post": _op("Register a delegation of 审核确认 to townships (admin)",
                        {"201": _json(_ref("Delegation"), "Registered")}, 400, 401, 403, 422,
                        body={"type": "object",
                              "required": ["county_code", "benefit_type", "effective_from", "document_no"],
                              "properties": {
                                  "county_code": {"type": "string", "maxLength": 32},
                                  "township_code": {"type": ["string", "null"], "maxLength": 32,
                                                    "description": "null or empty: every township of the county"},
                                  "benefit_type": {"type": "string", "enum": ["dibao", "tekun", "linshi"]},
                                  "effective_from": {"type": "string", "format": "date"},
                                  "effective_to": {"type": ["string", "null"], "format": "date",
                                                   "description": "exclusive; null: open-ended"},
                                  "document_no": {"type": "string", "minLength": 1, "maxLength": 100}}}),
        },
        **CEMETERY_PATHS,
        "/dibao/cases": {"get": _op(
            "低保 cases in your org subtree (ID numbers masked, no member details)",
            {"200": _json({"type": "object", "required": ["items", "total", "page", "page_size"],
                           "properties": {"items": {"type": "array", "items": _ref("DibaoCase")},
                                          "total": {"type": "integer"}, "page": {"type": "integer"},
                                          "page_size": {"type": "integer"}}}, "A page of cases")},
            400, 401, 403,
            params=[{"name": "view", "in": "query", "schema": {"type": "string", "enum": ["all", "open", "closed"]}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                "maximum": 1_000_000}},
                    {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                     "maximum": 200}}])},
        "/dibao/cases/{case_id}": {"get": _op(
            "The full household file of a 低保 case (actors on the case and supervisors in scope; each view is "
            "logged, and supervisors also get the log as `views`)",
            {"200": _json({"allOf": [_ref("DibaoCase"), {
                "type": "object", "required": ["members", "payment_changes", "current_monthly_amount"],
                "properties": {"members": {"type": "array", "items": {"type": "object"}},
                               "amount_explanation": _NULLABLE_STR,
                               "current_monthly_amount": {"type": ["string", "null"], "description":
                                                          "after the latest payment change (from its "
                                                          "effective_from); 0.00 once stopped"},
                               "payment_changes": {"type": "array", "items": {"type": "object"}},
                               "views": {"type": "array", "items": {"type": "object"}}}}]}, "Case file")},
            401, 403, 404,
            params=[{"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/users": {"post": _op(
            "Create a user (admin)", {"201": _json({"type": "object", "required": ["id", "username"]}, "Created")},
            400, 401, 403, 422,
            body={"type": "object", "required": ["username", "display_name", "password", "org_unit", "roles"],
                  "properties": {
                      # letters (any script), digits, "_" and ".", with at least one letter or digit
                      "username": {"type": "string", "maxLength": 64, "pattern": r"^[\w.]*[^\W_][\w.]*$"},
                      "display_name": {"type": "string", "maxLength": 100, "pattern": r"\S"},
                      "password": {"type": "string", "minLength": MIN_PASSWORD_LENGTH},
                      "org_unit": {"type": "string", "maxLength": 32, "description": "an org unit in your scope"},
                      "roles": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": sorted(ROLES)}}}})},
        "/org-units": {"get": _op("Org units in your scope (admin)", {"200": _json(
            {"type": "object", "required": ["items"]}, "Org units")}, 401, 403)},
    },
}

# The project library's paths live next to its API (web/projects_api.py); imported last: they use the helpers above.
from web import projects_openapi  # noqa: E402

SCHEMAS.update(projects_openapi.SCHEMAS)
OPENAPI["paths"].update(projects_openapi.PATHS)

# 社会组织 findings and spot-check checklist API (web/social_org_api.py), documented next to it.
from web import social_org_openapi  # noqa: E402

OPENAPI["paths"].update(social_org_openapi.PATHS)

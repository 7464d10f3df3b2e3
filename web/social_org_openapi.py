"""OpenAPI paths of the 社会组织 API (web/social_org_api.py), merged into web.openapi.OPENAPI (which imports this
module at its end, so nothing here imports web.openapi: the helpers are the same, restated)."""

from __future__ import annotations

from typing import Any

from engine.models import MAX_DB_INT

_NULLABLE_STR = {"type": ["string", "null"]}
_DT = {"type": ["string", "null"], "format": "date-time"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: dict[str, Any], *codes: int, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {
        **ok, **{str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    return op

# Semantic refusals a schema cannot express: nothing changed, a check item or evidence not given, a note missing on a
# failed item, a number out of the item's range, a file that is not this case's.
SEMANTIC_CODES = {"unchanged", "incomplete", "range", "refused"}

_FINDING_ID = {"name": "finding_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TARGET_ID = {"name": "target_id", "in": "path", "required": True, "schema": {"type": "string"}}
_NOTE = {"type": "string", "minLength": 2, "maxLength": 4000, "pattern": r"\S\s*\S",
         "description": "at least 2 characters besides spaces (else code blank)"}
_EVIDENCE_ID = {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_DB_INT,
                "description": "a file of the check's case, uploaded with POST /social-org/findings/{finding_id}/"
                               "evidence (else code unknown)"}
_FINDING = {"type": "object", "required": ["id", "subject_type", "subject_id", "label", "corrective_action", "owner",
                                           "due_date", "status", "overdue"],
            "properties": {"id": {"type": "integer"}, "subject_type": {"type": "string"},
                           "subject_id": {"type": "string"}, "subject_name": {"type": "string"},
                           "item": {"type": "string"}, "label": {"type": "string"}, "message": {"type": "string"},
                           "corrective_action": {"type": "string"}, "owner": {"type": "string"},
                           "owner_unit_code": _NULLABLE_STR, "due_date": {"type": "string", "format": "date"},
                           "status": {"type": "string", "enum": ["open", "closed"]}, "overdue": {"type": "boolean"},
                           "closed_at": _DT, "closed_by": _NULLABLE_STR, "closure_note": _NULLABLE_STR,
                           "evidence_attachment_id": {"type": ["integer", "null"]},
                           "progress": {"type": "array"}, "may": {"type": "object"}}}
_TARGET = {"type": "object", "required": ["id", "plan_id", "organization", "check_mode", "actionable"],
           "properties": {"id": {"type": "integer"}, "plan_id": {"type": "integer"},
                          "organization": {"type": "object"}, "check_mode": {"type": "string"},
                          "checklist_task_id": _NULLABLE_STR, "actionable": {"type": "boolean"},
                          "outcome": _NULLABLE_STR, "checklist_record_id": {"type": ["integer", "null"]}}}
_CHECK = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"},
                                                                "note": {"type": "string", "maxLength": 1000}}}

PATHS: dict[str, Any] = {
    "/social-org/findings": {"get": _op(
        "Checklist findings you see: those your authority tracks, and those owned by an org unit in your scope "
        "(township, county or city staff). overdue: open and past the due date",
        {"200": _json({"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": _FINDING}}}, "Findings")},
        400, 401, 403,
        params=[{"name": "status", "in": "query",
                 "schema": {"type": "string", "enum": ["open", "overdue", "closed", "all"]}}])},
    "/social-org/findings/{finding_id}": {"get": _op(
        "One finding with its progress reports and what you may do (edit, close, report_progress)",
        {"200": _json(_FINDING, "Finding")}, 401, 403, 404, params=[_FINDING_ID])},
    "/social-org/findings/{finding_id}/edit": {"post": _op(
        "The registration authority changes the owner (organization, supervisor, or unit:<code> of an org unit in "
        "your scope), the corrective action and the due date of an open finding (audited). Closed: 409 not_open; "
        "nothing changed: 422 unchanged; a due date before today or over 366 days after the check: 422 order",
        {"200": _json(_FINDING, "The finding after the change")}, 400, 401, 403, 404, 409, 422,
        params=[_FINDING_ID],
        body={"type": "object", "required": ["owner", "corrective_action", "due_date"],
              "properties": {"owner": {"type": "string", "maxLength": 64,
                                       "description": "organization | supervisor | unit:<org unit code> (else "
                                                      "code unknown)"},
                             "corrective_action": {"type": "string", "minLength": 2, "maxLength": 1000,
                                                   "pattern": r"\S\s*\S"},
                             "due_date": {"type": "string", "format": "date"}}})},
    "/social-org/findings/{finding_id}/evidence": {"post": {
        "summary": "Upload an evidence file (multipart field `file`) to the check's case, for a progress report or "
                   "a closure (owner unit or authority)",
        "parameters": [_FINDING_ID],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}}}},
        "responses": {"201": _json({"type": "object", "required": ["id", "filename"]}, "Stored attachment"),
                      "200": _json({"type": "object", "required": ["id", "filename"]}, "Same file already stored"),
                      **{str(c): {"$ref": f"#/components/responses/E{c}"} for c in (400, 401, 403, 404, 409, 422)}}}},
    "/social-org/findings/{finding_id}/progress": {"post": _op(
        "The owner unit reports progress on an open finding: a note and optionally an evidence attachment; the "
        "finding stays open (the authority closes it). Closed: 409 not_open",
        {"201": _json(_FINDING, "The finding with the new report")}, 400, 401, 403, 404, 409, 422,
        params=[_FINDING_ID],
        body={"type": "object", "required": ["note"],
              "properties": {"note": _NOTE, "evidence_attachment_id": _EVIDENCE_ID}})},
    "/social-org/findings/{finding_id}/close": {"post": _op(
        "The authority (registrar, inspector) closes an open finding after review: a closure note and optionally "
        "an evidence attachment. Closed already: 409 not_open",
        {"200": _json(_FINDING, "The closed finding")}, 400, 401, 403, 404, 409, 422, params=[_FINDING_ID],
        body={"type": "object", "required": ["note"],
              "properties": {"note": _NOTE, "evidence_attachment_id": _EVIDENCE_ID}})},
    "/social-org/spot-checks/targets": {"get": _op(
        "Spot-check targets you are drawn to inspect (your inspector record), newest plan first, with the open "
        "checklist task if any",
        {"200": _json({"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": _TARGET}}}, "Targets")}, 401)},
    "/social-org/spot-checks/targets/{target_id}/checklist": {
        "get": _op("The spot-check checklist of a target: template items, the open task, the record once submitted",
                   {"200": _json({"type": "object", "required": ["target", "template", "record"]}, "Checklist")},
                   401, 404, params=[_TARGET_ID]),
        "post": _op(
            "Submit the checklist (inspector of the authority, after the 检查通知书 is served). Same rules as the "
            "phone page: every check item answered, a failed one with a note (code blank); numbers 0..100 (code "
            "range); a required evidence item needs at least one file (code incomplete): ids of jpg/png/pdf files "
            "uploaded first with POST /tasks/{task_id}/attachments on the checklist task (else code unknown). "
            "Failed items become findings. No open checklist task: 409 not_ready",
            {"201": _json({"type": "object", "required": ["id", "passed", "findings"]}, "The checklist record")},
            400, 401, 403, 404, 409, 422, params=[_TARGET_ID],
            body={"type": "object", "properties": {
                "checks": {"type": "object", "additionalProperties": _CHECK,
                           "description": "check item code → answer (else code undeclared)"},
                "values": {"type": "object", "description": "number item code → number, text item code → string",
                           "additionalProperties": {"type": ["number", "string"], "maxLength": 2000}},
                "evidence": {"type": "object", "description": "evidence item code → attachment ids",
                             "additionalProperties": {"type": "array", "maxItems": 10,
                                                      "items": {"type": "integer", "minimum": 1,
                                                                "maximum": MAX_DB_INT}}}}})},
}

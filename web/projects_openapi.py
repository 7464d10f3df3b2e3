"""OpenAPI paths and schemas of the project library API (web/projects_api.py); merged into web.openapi.OPENAPI.

Each schema states exactly what `projects_api` checks, so that schema-valid requests are refused only for reasons
a schema cannot express (field codes: unknown org unit, sums that disagree, banned uses, missing preconditions,
incomplete indicators, date order, budget already used up)."""

from __future__ import annotations

from typing import Any

from engine.models import MAX_DB_INT
from projects_registry.models import BUDGET_CATEGORIES, CATEGORIES, FUNDING_SOURCES, INDICATOR_KINDS, STAGES
from projects_registry.rules import MATURITY_ITEMS, RUBRIC_LABELS

# The helpers of web.openapi, repeated: web.openapi imports this module, so this one cannot import it.


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: dict[str, Any], *codes: int, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary,
                          "responses": {**ok, **{str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


MAX_ID = MAX_DB_INT
MAX_AMOUNT = 999_999_999_999  # the columns hold 14 digits with 2 decimals; amounts are rounded to cents
SEMANTIC_CODES = {"incomplete", "mismatch", "banned_use", "precondition", "exhausted"}  # besides unknown / order


def _text(max_len: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_len, "pattern": r"\S"}


_MONEY = {"type": "number", "minimum": 0.01, "maximum": MAX_AMOUNT}
_MONEY_OUT = {"type": ["string", "null"], "pattern": r"^-?\d+\.\d{2}$"}
_DATE = {"type": "string", "format": "date"}
_OPINION = _text(1000)
_PROJECT_ID = {"name": "project_id", "in": "path", "required": True, "schema": {"type": "string"}}
_BATCH_ID = {"name": "batch_id", "in": "path", "required": True, "schema": {"type": "string"}}

SUBMISSION: dict[str, Any] = {
    "type": "object",
    "required": ["name", "applicant_unit", "category", "scope", "beneficiaries", "period_start", "period_end",
                 "location", "funding", "budget_lines", "indicators"],
    "description": "A declaration (申报). Refused with 422 for: the budget lines not adding up to the funding "
                   "(mismatch), a 福彩公益金 line of a banned category (banned_use, the message says which rule), "
                   "a construction project without land, planning and EIA (precondition), indicators without an "
                   "output, an outcome and a satisfaction indicator (incomplete), period_end not after "
                   "period_start (order), an applicant_org outside your scope (unknown).",
    "properties": {
        "name": _text(200), "applicant_unit": _text(200), "contact": {"type": "string", "maxLength": 100},
        "applicant_org": {"type": "string", "maxLength": 32, "description": "city or county org unit; default yours"},
        "category": {"type": "string", "enum": list(CATEGORIES)}, "scope": _text(4000),
        "beneficiaries": _text(300), "beneficiary_count": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
        "period_start": _DATE, "period_end": _DATE, "location": _text(200),
        **{k: {"type": "boolean"} for k in ("is_construction", "has_land", "has_planning", "has_eia")},
        "funding": {"type": "object", "minProperties": 1, "additionalProperties": False,
                    "properties": {s: {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT}
                                   for s in FUNDING_SOURCES}},
        "budget_lines": {"type": "array", "minItems": 1, "maxItems": 50, "items": {
            "type": "object", "required": ["item", "category", "source", "amount"],
            "properties": {"item": _text(200), "category": {"type": "string", "enum": list(BUDGET_CATEGORIES)},
                           "source": {"type": "string", "enum": list(FUNDING_SOURCES)}, "amount": _MONEY}}},
        "indicators": {"type": "array", "minItems": 1, "maxItems": 50, "items": {
            "type": "object", "required": ["kind", "name", "target"],
            "properties": {"kind": {"type": "string", "enum": list(INDICATOR_KINDS)}, "name": _text(200),
                           "target": _MONEY, "unit": {"type": "string", "maxLength": 20}}}},
    },
}


def _action(name: str, required: list[str], properties: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "object", "title": name, "description": description, "required": ["action", *required],
            "properties": {"action": {"const": name}, **properties}}


ACTIONS: list[dict[str, Any]] = [
    _action("county_review", ["decision", "opinion"], {"decision": {"enum": ["pass", "return", "reject"]},
                                                       "opinion": _OPINION}, "县级初审 (county_reviewer)"),
    _action("revise", ["note"], {"note": _OPINION}, "resubmit after 退回 (edit first with PUT)"),
    _action("score", ["scores"], {
        "scores": {"type": "object", "required": list(RUBRIC_LABELS), "additionalProperties": False,
                   "properties": {c: {"type": "number", "minimum": 0, "maximum": 100} for c in RUBRIC_LABELS}},
        "comment": {"type": "string", "maxLength": 500}}, "one reviewer's rubric scores (city_manager)"),
    _action("decide_entry", ["opinion"], {"opinion": _OPINION}, "评审入库: the mean decides 入库 or 未入库"),
    _action("assess", ["checklist", "opinion"], {
        "checklist": {"type": "object", "additionalProperties": False,
                      "properties": {k: {"type": "boolean"} for k in MATURITY_ITEMS}},
        "remove": {"type": "boolean"}, "opinion": _OPINION}, "储备 maturity assessment (re-assessable)"),
    _action("remove", ["reason"], {"reason": _OPINION}, "动态调整: remove a mature project from the reserve"),
    _action("fund", ["agreement_no", "agreement_date", "amount"], {
        "agreement_no": _text(100), "agreement_date": _DATE, "amount": _MONEY}, "资金下达 with the agreement"),
    _action("milestone", ["name", "due_on"], {"name": _text(200), "due_on": _DATE,
                                              "done_on": {"type": ["string", "null"], "format": "date"},
                                              "note": {"type": "string", "maxLength": 500}}, "a milestone"),
    _action("execution", ["reported_on", "spent_total", "target_progress"], {
        "reported_on": _DATE, "spent_total": {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT},
        "target_progress": {"type": "number", "minimum": 0, "maximum": 100},
        "note": {"type": "string", "maxLength": 500}}, "a cumulative budget execution report (运行监控)"),
    _action("finish", ["summary"], {"summary": _OPINION}, "implementation finished"),
    _action("monitor", ["opinion"], {"opinion": _OPINION}, "mid-year 运行监控 review (city)"),
    _action("accept", ["passed", "opinion"], {"passed": {"type": "boolean"}, "opinion": _OPINION}, "验收"),
    _action("rectify_impl", ["note"], {"note": _OPINION}, "rectification after a failed 验收"),
    _action("self_eval", ["actuals", "report"], {
        "actuals": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0,
                                                               "maximum": MAX_AMOUNT},
                    "description": "indicator id → actual value, for every indicator of the project "
                                   "(else 422 incomplete; an id not of this project: 422 unknown)"},
        "report": _OPINION}, "绩效自评"),
    _action("evaluate", ["opinion"], {"opinion": _OPINION}, "绩效评价 (100 points, 优/良/中/差)"),
    _action("rectify", ["plan"], {"plan": _OPINION}, "rectification after 差, then 结项"),
]

SCHEMAS: dict[str, Any] = {
    "ProjectSummary": {"type": "object", "required": ["id", "code", "name", "stage", "total_budget", "version"],
                       "properties": {"id": {"type": "integer"}, "code": {"type": "string"},
                                      "name": {"type": "string"}, "applicant_org": {"type": "string"},
                                      "category": {"type": "string", "enum": list(CATEGORIES)},
                                      "stage": {"type": "string", "enum": list(STAGES)},
                                      "stage_label": {"type": "string"}, "total_budget": _MONEY_OUT,
                                      "review_score": _MONEY_OUT, "evaluation_score": _MONEY_OUT,
                                      "grade": {"type": ["string", "null"]}, "version": {"type": "integer"}}},
    "Project": {"allOf": [_ref("ProjectSummary"), {
        "type": "object", "required": ["funding", "budget_lines", "indicators", "open_tasks", "timeline"],
        "properties": {"funding": {"type": "array"}, "budget_lines": {"type": "array"},
                       "indicators": {"type": "array"}, "open_tasks": {"type": "array"},
                       "milestones": {"type": "array"}, "executions": {"type": "array"},
                       "evaluations": {"type": "array"},
                       "timeline": {"type": "array", "items": {
                           "type": "object", "required": ["at", "actor", "stage", "action", "detail"]}}}}]},
    "ReleaseBatch": {"type": "object", "required": ["id", "code", "year", "source", "budget", "status", "total",
                                                    "left", "items"],
                     "properties": {"id": {"type": "integer"}, "code": {"type": "string"},
                                    "year": {"type": "integer"}, "source": {"type": "string"},
                                    "budget": _MONEY_OUT, "status": {"enum": ["draft", "confirmed"]},
                                    "total": _MONEY_OUT, "left": _MONEY_OUT, "items": {"type": "array"}}},
}

_LIST_PARAMS = [
    {"name": "stage", "in": "query", "schema": {"type": "string", "enum": list(STAGES)}},
    {"name": "category", "in": "query", "schema": {"type": "string", "enum": list(CATEGORIES)}},
    {"name": "source", "in": "query", "schema": {"type": "string", "enum": list(FUNDING_SOURCES)}},
    {"name": "county", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{1,32}$"}},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000}},
    {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
]

PATHS: dict[str, Any] = {
    "/projects": {
        "get": _op("Projects in your scope (项目库)", {"200": _json({
            "type": "object", "required": ["items", "total", "page", "page_size"],
            "properties": {"items": {"type": "array", "items": _ref("ProjectSummary")}, "total": {"type": "integer"},
                           "page": {"type": "integer"}, "page_size": {"type": "integer"}}}, "A page of projects")},
            400, 401, params=_LIST_PARAMS),
        "post": _op("申报: declare a project (project_manager)", {"201": _json(_ref("Project"), "Submitted")},
                    400, 401, 403, 409, 422, body=SUBMISSION),
    },
    "/projects/{project_id}": {
        "get": _op("A project with its lines, indicators, scores, milestones, evaluations and timeline",
                   {"200": _json(_ref("Project"), "Project")}, 401, 404, params=[_PROJECT_ID]),
        "put": _op("Edit the declaration after 退回 (at 修改完善 only; recorded on the timeline)",
                   {"200": _json(_ref("Project"), "Edited; `changed` lists what changed")},
                   400, 401, 403, 404, 409, 422, params=[_PROJECT_ID], body=SUBMISSION),
    },
    "/projects/{project_id}/actions": {"post": _op(
        "A lifecycle action of the project page; 409 when the project is not at that step",
        {"200": _json({"type": "object", "required": ["action", "result", "project"],
                       "properties": {"action": {"type": "string"}, "result": {"type": "object"},
                                      "project": _ref("Project")}}, "Done")},
        400, 401, 403, 404, 409, 422, params=[_PROJECT_ID], body={"oneOf": ACTIONS})},
    "/project-batches": {"post": _op(
        "Build a release batch: mature projects by review score within the year's remaining budget (city_manager)",
        {"201": _json({"allOf": [_ref("ReleaseBatch"), {"type": "object", "required": ["arithmetic"]}]},
                      "Draft batch with the arithmetic")}, 400, 401, 403, 422,
        body={"type": "object", "required": ["year", "source", "budget"],
              "properties": {"year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                             "source": {"type": "string", "enum": list(FUNDING_SOURCES)}, "budget": _MONEY}})},
    "/project-batches/{batch_id}": {"get": _op("A release batch", {"200": _json(_ref("ReleaseBatch"), "Batch")},
                                               401, 403, 404, params=[_BATCH_ID])},
    "/project-batches/{batch_id}/adjust": {"post": _op(
        "Add or drop a project of a draft batch (adding never exceeds the budget: else 409)",
        {"200": _json(_ref("ReleaseBatch"), "Adjusted")}, 400, 401, 403, 404, 409, 422, params=[_BATCH_ID],
        body={"type": "object", "minProperties": 1, "additionalProperties": False,
              "properties": {"add": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                             "remove": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}})},
    "/project-batches/{batch_id}/confirm": {"post": _op(
        "出库: every project of the batch moves on, or none (409 with the reason)",
        {"200": _json(_ref("ReleaseBatch"), "Confirmed")}, 401, 403, 404, 409, params=[_BATCH_ID])},
}

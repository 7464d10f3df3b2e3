"""社会组织 JSON API under /api/v1 (bearer token): findings tracked to closure, and the inspector's spot checks.

    GET  /social-org/findings                             findings you see (status: open, overdue, closed, all)
    GET  /social-org/findings/{id}                        one finding with its progress reports and what you may do
    POST /social-org/findings/{id}/edit                   the authority: owner, corrective action, due date
    POST /social-org/findings/{id}/evidence               upload a file (multipart `file`) to the check's case
    POST /social-org/findings/{id}/progress               the owner unit: note + optional evidence attachment
    POST /social-org/findings/{id}/close                  the authority: closure note + optional evidence attachment
    GET  /social-org/spot-checks/targets                  spot-check targets the caller is drawn to inspect
    GET  /social-org/spot-checks/targets/{id}/checklist   the checklist: items, the open task, the record if done
    POST /social-org/spot-checks/targets/{id}/checklist   submit it (the page's rules: workflows.social_org.
                                                          spot_check.parse_answers); evidence = ids of files
                                                          uploaded with POST /tasks/{task_id}/attachments

Who sees and may act is the pages' rule (web.social_org_cases: may_close, may_edit, owner_scope); a finding or a
target outside the caller's scope reads as absent (404). Errors are `{"error": {"code", "message", "fields"?}}`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import authz, collab
from engine.authz import Actor
from engine.calendar import local_date
from engine.errors import ConflictError, InvalidTaskState, NotFound
from engine.models import MAX_DB_INT, Attachment, HumanTask, ProcessInstance
from web.api import ApiError, endpoint, json_body, methods
from web.auth import ctx_of
from web.collab import attachment_json, read_api_upload, store_of
from web.social_org import VIEW_ROLES, _checklist_task
from web.social_org_cases import (
    FINDING_FILTERS,
    OWNER_ROLES,
    _owner_choices,
    _owner_units,
    may_close,
    may_edit,
    owner_scope,
)
from workflows.common import findings as rules
from workflows.common.models import ChecklistRecord, FindingRecord
from workflows.social_org.models import Inspector, SpotCheckTarget
from workflows.social_org.projection import project_ids
from workflows.social_org.register import parse_date
from workflows.social_org.spot_check import SpotCheckError, checklist_template, parse_answers, record_checklist

MAX_EVIDENCE = 10


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _today(request: Request) -> date:
    return local_date(ctx_of(request).engine.clock.now())


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if 0 < value <= MAX_DB_INT else None


def finding_json(row: FindingRecord, today: date) -> dict[str, Any]:
    return {"id": row.id, "subject_type": row.subject_type, "subject_id": row.subject_id,
            "subject_name": row.subject_name, "item": row.item, "label": row.label, "message": row.message,
            "legal_basis": row.legal_basis, "severity": row.severity, "value": row.value,
            "corrective_action": row.corrective_action, "owner": row.owner, "owner_unit_code": row.owner_unit_code,
            "due_date": row.due_date.isoformat(), "status": row.status, "overdue": rules.is_overdue(row, today),
            "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at), "updated_by": row.updated_by,
            "closed_at": _iso(row.closed_at), "closed_by": row.closed_by, "closure_note": row.closure_note,
            "evidence_attachment_id": row.evidence_attachment_id}


# -- findings -------------------------------------------------------------------------------------------------------

def _require_viewer(actor: Actor) -> None:
    if not actor.roles & (VIEW_ROLES | OWNER_ROLES):
        raise ApiError(403, "forbidden", "social-organization findings need a registration, inspector or "
                                         "owner-unit staff role")


async def list_findings(request: Request, actor: Actor) -> Response:
    _require_viewer(actor)
    status = request.query_params.get("status", "open")
    if status not in FINDING_FILTERS:
        raise ApiError(400, "invalid_parameter", f"status must be one of {', '.join(FINDING_FILTERS)}")
    today = _today(request)
    qs = rules.visible(actor.org_path, await owner_scope(actor))
    if status == "overdue":
        qs = rules.overdue(qs, today)
    elif status != "all":
        qs = qs.filter(status=status)
    rows = await qs.order_by("status", "due_date", "id").limit(1000)
    return JSONResponse({"items": [finding_json(r, today) for r in rows]})


async def _finding(request: Request, actor: Actor) -> tuple[FindingRecord, list[str]]:
    _require_viewer(actor)
    raw = str(request.path_params["finding_id"])
    row = await FindingRecord.get_or_none(id=int(raw)) if raw.isdecimal() and 0 < int(raw) <= MAX_DB_INT else None
    codes = await owner_scope(actor)
    if row is None or not (authz.can_see_path(actor, row.scope_path) or rules.owned_by(row, codes)):
        raise ApiError(404, "not_found", f"finding {raw} does not exist in your scope")
    return row, codes


async def _detail(request: Request, actor: Actor, row: FindingRecord, codes: list[str],
                  status_code: int = 200) -> Response:
    progress = (await rules.progress_of([row.id])).get(row.id, [])
    return JSONResponse({
        **finding_json(row, _today(request)),
        "progress": [{"id": p.id, "note": p.note, "evidence_attachment_id": p.evidence_attachment_id,
                      "reported_by": p.reported_by, "reported_unit": p.reported_unit,
                      "reported_at": _iso(p.reported_at)} for p in progress],
        "may": {"edit": row.status == "open" and may_edit(actor, row),
                "close": row.status == "open" and may_close(actor, row),
                "report_progress": row.status == "open" and rules.owned_by(row, codes)},
    }, status_code=status_code)


async def get_finding(request: Request, actor: Actor) -> Response:
    row, codes = await _finding(request, actor)
    return await _detail(request, actor, row, codes)


def _text(body: dict[str, Any], key: str, limit: int, problems: list[dict[str, str]], minimum: int = 2) -> str:
    value = body.get(key)
    if not isinstance(value, str) or len(value) > limit:
        problems.append({"field": key, "code": "type", "message": f"{key} must be a string of at most {limit}"})
        return ""
    if len(value.strip()) < minimum:
        problems.append({"field": key, "code": "blank",
                         "message": f"{key} must have at least {minimum} characters besides spaces"})
    return value.strip()


async def _evidence(body: dict[str, Any], row: FindingRecord, problems: list[dict[str, str]]) -> int | None:
    """`evidence_attachment_id`: a file of the check's case (uploaded with POST …/evidence), or absent / null."""
    raw = body.get("evidence_attachment_id")
    if raw is None:
        return None
    attachment_id = _as_id(raw)
    if attachment_id is None:
        problems.append({"field": "evidence_attachment_id", "code": "type",
                         "message": "evidence_attachment_id must be a positive integer or null"})
        return None
    record = await ChecklistRecord.get(id=row.record_id)
    if record.instance_id is None or not await Attachment.filter(id=attachment_id,
                                                                 instance_id=record.instance_id).exists():
        problems.append({"field": "evidence_attachment_id", "code": "unknown",
                         "message": "not a file of this check's case (upload it with POST "
                                    "/social-org/findings/{finding_id}/evidence)"})
    return attachment_id


def _open(row: FindingRecord) -> None:
    if row.status != "open":
        raise ApiError(409, "not_open", f"finding {row.id} is {row.status}: it can no longer change")


async def edit_finding(request: Request, actor: Actor) -> Response:
    row, codes = await _finding(request, actor)
    if not may_edit(actor, row):
        raise ApiError(403, "forbidden", "only the registration authority changes owner, action or due date")
    body = await json_body(request)
    problems: list[dict[str, str]] = []
    owner = body.get("owner")
    choices = (await _owner_choices([row], await _owner_units(actor))).get(row.id, {})
    if not isinstance(owner, str) or owner not in choices:
        problems.append({"field": "owner", "code": "unknown", "message": "owner must be one of: " + ", ".join(
            choices or ["organization"]) + " (unit:<code> for an org unit in your scope)"})
    action = _text(body, "corrective_action", 1000, problems)
    raw_due = body.get("due_date")
    due = parse_date(raw_due) if isinstance(raw_due, str) and len(raw_due) <= 10 else None
    if due is None:
        problems.append({"field": "due_date", "code": "type", "message": "due_date must be a date YYYY-MM-DD"})
    if problems:
        raise ApiError(422, "validation_failed", "invalid finding change", problems)
    _open(row)
    key = str(owner)
    try:
        await rules.update_finding(row.id, actor=actor.username, owner=choices[key],
                                   owner_unit_code=key.removeprefix("unit:") if key.startswith("unit:") else None,
                                   corrective_action=action, due_date=due or date.min, today=_today(request),
                                   now=ctx_of(request).engine.clock.now())
    except rules.FindingError as exc:
        message = str(exc)
        if "已关闭" in message:
            raise ApiError(409, "not_open", f"finding {row.id} is closed: it can no longer change") from exc
        field, code = ("due_date", "order") if "期限" in message else ("", "unchanged")
        raise ApiError(422, "validation_failed", message, [
            {"field": field or "owner", "code": code, "message": message}]) from exc
    return await _detail(request, actor, await FindingRecord.get(id=row.id), codes)


async def upload_evidence(request: Request, actor: Actor) -> Response:
    """A file for a progress report or a closure, stored on the check's case (so the case keeps its evidence)."""
    row, codes = await _finding(request, actor)
    if not (may_close(actor, row) or rules.owned_by(row, codes)):
        raise ApiError(403, "forbidden", "only the owner unit or the authority may add evidence")
    _open(row)
    record = await ChecklistRecord.get(id=row.record_id)
    instance = await ProcessInstance.get_or_none(id=record.instance_id) if record.instance_id else None
    if instance is None:
        raise ApiError(409, "no_case", "this check has no case to store evidence on")
    store = store_of(request)
    filename, content = await read_api_upload(request, store)
    attachment, created = await collab.add_attachment(store, instance=instance, task=None, filename=filename,
                                                      content=content, actor=actor.username,
                                                      now=ctx_of(request).engine.clock.now())
    return JSONResponse(attachment_json(attachment), status_code=201 if created else 200)


async def report_progress(request: Request, actor: Actor) -> Response:
    row, codes = await _finding(request, actor)
    if not rules.owned_by(row, codes):
        raise ApiError(403, "forbidden", "only users of the owner unit report progress")
    body = await json_body(request)
    problems: list[dict[str, str]] = []
    note = _text(body, "note", rules.MAX_PROGRESS, problems)
    evidence = await _evidence(body, row, problems)
    if problems:
        raise ApiError(422, "validation_failed", "invalid progress report", problems)
    _open(row)
    try:
        await rules.report_progress(row.id, actor=actor.username, unit_code=actor.org_code, note=note,
                                    now=ctx_of(request).engine.clock.now(), evidence_attachment_id=evidence)
    except rules.FindingError as exc:
        raise ApiError(409, "not_open", str(exc)) from exc
    return await _detail(request, actor, row, codes, status_code=201)


async def close_finding(request: Request, actor: Actor) -> Response:
    row, codes = await _finding(request, actor)
    if not may_close(actor, row):
        raise ApiError(403, "forbidden", "only the registration authority (registrar, inspector) closes a finding")
    body = await json_body(request)
    problems: list[dict[str, str]] = []
    note = _text(body, "note", 4000, problems)
    evidence = await _evidence(body, row, problems)
    if problems:
        raise ApiError(422, "validation_failed", "invalid closure", problems)
    _open(row)
    try:
        closed = await rules.close_finding(row.id, actor=actor.username, note=note,
                                           now=ctx_of(request).engine.clock.now(), evidence_attachment_id=evidence)
    except rules.FindingError as exc:
        raise ApiError(409, "not_open", str(exc)) from exc
    return await _detail(request, actor, closed, codes)


# -- spot checks ----------------------------------------------------------------------------------------------------

async def _task_of(target: SpotCheckTarget) -> HumanTask | None:
    return await _checklist_task(target)


async def target_json(target: SpotCheckTarget, actor: Actor) -> dict[str, Any]:
    task = await _task_of(target)
    org = target.organization
    return {"id": target.id, "plan_id": target.plan_id, "rank": target.rank,  # type: ignore[attr-defined]
            "organization": {"id": org.id, "uscc": org.uscc, "name": org.name, "org_type": org.org_type},
            "check_mode": target.check_mode, "instance_id": target.instance_id,
            "notice_no": target.notice_no, "outcome": target.outcome, "findings_count": target.findings_count,
            "rectify_deadline": _iso(target.rectify_deadline), "result_date": _iso(target.result_date),
            "published": target.published, "checklist_record_id": target.checklist_record_id,
            "checklist_task_id": str(task.id) if task else None,
            "actionable": task is not None and authz.can_act(actor, task)}


async def my_targets(request: Request, actor: Actor) -> Response:
    """The targets whose drawn inspectors include the caller's inspector record (Inspector.username)."""
    mine = {i.id for i in await Inspector.filter(username=actor.username, active=True)}
    rows = [t for t in await SpotCheckTarget.filter(plan__authority_path__startswith=actor.org_path)
            .prefetch_related("organization").order_by("-plan_id", "rank").limit(5000)
            if mine & set(t.inspectors or [])] if mine else []
    return JSONResponse({"items": [await target_json(t, actor) for t in rows]})


async def _target(request: Request, actor: Actor) -> SpotCheckTarget:
    raw = str(request.path_params["target_id"])
    target = await SpotCheckTarget.filter(id=int(raw), plan__authority_path__startswith=actor.org_path) \
        .prefetch_related("organization").first() if raw.isdecimal() and 0 < int(raw) <= MAX_DB_INT else None
    if target is None:
        raise ApiError(404, "not_found", f"spot-check target {raw} does not exist in your scope")
    if target.instance_id and await project_ids([target.instance_id], ctx_of(request).engine.clock.now()):
        await target.refresh_from_db()
    return target


async def get_checklist(request: Request, actor: Actor) -> Response:
    target = await _target(request, actor)
    template = await checklist_template()
    record = await ChecklistRecord.get_or_none(id=target.checklist_record_id) if target.checklist_record_id \
        else None
    return JSONResponse({
        "target": await target_json(target, actor),
        "template": {"code": template.code, "version": template.version, "items": template.body["items"],
                     "parameters": template.body.get("parameters", {})},
        "record": {"id": record.id, "passed": record.passed, "answers": record.answers,
                   "findings": record.findings} if record else None,
    })


# parse_answers' Chinese errors → field codes. "incomplete" / "blank" / "unknown" are the semantic refusals the
# schema cannot state (which items the template has, a note only when failed, which files exist).
def _problems(errors: dict[str, str], kinds: dict[str, str]) -> list[dict[str, str]]:
    out = []
    for code, message in errors.items():
        kind = kinds.get(code, "")
        if not code:
            out.append({"field": "", "code": "refused", "message": message})
        elif kind == "evidence":
            out.append({"field": f"evidence.{code}", "code": "incomplete" if "至少" in message else "unknown",
                        "message": "at least one file uploaded to this check's task" if "至少" in message
                        else message})
        elif kind == "check":
            blank = "具体问题" in message
            out.append({"field": f"checks.{code}", "code": "blank" if blank else "incomplete",
                        "message": "a failed item needs a note" if blank else "answer ok true or false"})
        else:
            out.append({"field": f"values.{code}", "code": "range", "message": "a number from 0 to 100"})
    return out


def _form_of(body: dict[str, Any], kinds: dict[str, str]) -> tuple[dict[str, str], dict[str, list[int]]]:
    """The API body in the page form's shape (so parse_answers judges both); type errors are 422 at once."""
    problems: list[dict[str, str]] = []
    form: dict[str, str] = {}
    checks, values, evidence = body.get("checks", {}), body.get("values", {}), body.get("evidence", {})
    for name, value in (("checks", checks), ("values", values), ("evidence", evidence)):
        if not isinstance(value, dict):
            problems.append({"field": name, "code": "type", "message": f"{name} must be an object"})
    checks = checks if isinstance(checks, dict) else {}
    values = values if isinstance(values, dict) else {}
    evidence = evidence if isinstance(evidence, dict) else {}
    for code, answer in checks.items():
        if kinds.get(code) != "check":
            problems.append({"field": f"checks.{code}", "code": "undeclared", "message": "not a check item"})
        elif not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool) or \
                not isinstance(answer.get("note", ""), str) or len(answer.get("note", "")) > 1000:
            problems.append({"field": f"checks.{code}", "code": "type",
                             "message": "each check is {\"ok\": true|false, \"note\": string (≤ 1000)}"})
        else:
            form[f"{code}__ok"] = "yes" if answer["ok"] else "no"
            form[f"{code}__note"] = str(answer.get("note", ""))
    for code, value in values.items():
        kind = kinds.get(code)
        if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            form[code] = str(value)
        elif kind == "text" and isinstance(value, str) and len(value) <= 2000:
            form[code] = value
        else:
            problems.append({"field": f"values.{code}", "code": "type" if kind in ("number", "text") else
                             "undeclared", "message": "a number item takes a number, a text item a string "
                                                      "(≤ 2000); other codes are not value items"})
    ids: dict[str, list[int]] = {}
    for code, raw in evidence.items():
        parsed = [_as_id(v) for v in raw] if isinstance(raw, list) and len(raw) <= MAX_EVIDENCE else None
        if kinds.get(code) != "evidence" or parsed is None or None in parsed:
            problems.append({"field": f"evidence.{code}", "code": "type" if kinds.get(code) == "evidence"
                             else "undeclared", "message": f"an evidence item takes at most {MAX_EVIDENCE} "
                                                           "attachment ids"})
        else:
            ids[code] = sorted({int(v) for v in parsed if v is not None})
    if problems:
        raise ApiError(422, "validation_failed", "invalid checklist", problems)
    return form, ids


async def submit_checklist(request: Request, actor: Actor) -> Response:
    target = await _target(request, actor)
    task = await _task_of(target)
    if task is None:
        raise ApiError(409, "not_ready", "this target has no open checklist task (notice not yet served, or the "
                                         "checklist is already submitted)")
    if not authz.can_act(actor, task):
        raise ApiError(403, "forbidden", "you cannot act on this checklist (inspector role of the authority)")
    body = await json_body(request)
    template = await checklist_template()
    kinds = {i["code"]: i["kind"] for i in template.body["items"]}
    form, ids = _form_of(body, kinds)
    errors: dict[str, str] = {}
    for code, wanted in ids.items():  # files of this target's case with an accepted type, as on the page
        accept = next((i.get("accept") or [] for i in template.body["items"] if i["code"] == code), [])
        files = await Attachment.filter(id__in=wanted, instance_id=target.instance_id)
        if len(files) != len(wanted) or any(accept and collab.extension(a.filename) not in accept for a in files):
            errors[code] = "not a file of this check's case, or not an accepted type (" + ", ".join(accept) + ")"
    answers, rule_errors = parse_answers(template.body, form, ids)
    errors = {**rule_errors, **errors}
    if errors:
        raise ApiError(422, "validation_failed", "the checklist is incomplete or invalid", _problems(errors, kinds))
    try:
        record, findings = await record_checklist(ctx_of(request).engine, target, str(task.id), answers,
                                                  actor.username)
    except SpotCheckError as exc:
        raise ApiError(422, "validation_failed", str(exc), [
            {"field": "evidence", "code": "unknown", "message": str(exc)}]) from exc
    except (ConflictError, InvalidTaskState, NotFound) as exc:
        raise ApiError(409, "conflict", "the checklist was submitted meanwhile or the case changed") from exc
    await project_ids([target.instance_id or ""], ctx_of(request).engine.clock.now())
    today = _today(request)
    opened = await FindingRecord.filter(record_id=record.id).order_by("id")
    return JSONResponse({"id": record.id, "passed": record.passed, "findings": [finding_json(r, today)
                                                                                 for r in opened],
                         "target": await target_json(await _target(request, actor), actor)}, status_code=201)


api_routes = [
    Route("/social-org/findings", methods(GET=endpoint(list_findings))),
    Route("/social-org/findings/{finding_id}", methods(GET=endpoint(get_finding))),
    Route("/social-org/findings/{finding_id}/edit", methods(POST=endpoint(edit_finding))),
    Route("/social-org/findings/{finding_id}/evidence", methods(POST=endpoint(upload_evidence))),
    Route("/social-org/findings/{finding_id}/progress", methods(POST=endpoint(report_progress))),
    Route("/social-org/findings/{finding_id}/close", methods(POST=endpoint(close_finding))),
    Route("/social-org/spot-checks/targets", methods(GET=endpoint(my_targets))),
    Route("/social-org/spot-checks/targets/{target_id}/checklist",
          methods(GET=endpoint(get_checklist), POST=endpoint(submit_checklist))),
]

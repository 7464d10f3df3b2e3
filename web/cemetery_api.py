"""公墓年检 JSON API under /api/v1 (bearer token), next to `web.api.routes`.

    GET  /cemetery/cemeteries                       the register in your scope (filters: county, type, status)
    GET  /cemetery/cemeteries/{id}                  one cemetery: documents, inspections, rectifications
    POST /cemetery/cemeteries/{id}/status           change the sales status (reopening needs a passed acceptance)
    POST /cemetery/campaigns                        open a year's campaign, start the inspections (city, admin)
    GET  /cemetery/tasks/{task_id}/checklist        the checklist a task needs: items, limits, photos so far
    POST /cemetery/tasks/{task_id}/checklist        submit it (the page's validation), findings → rectifications
    GET  /cemetery/rectifications                   rectification items in your scope (status, overdue, year)
    GET  /cemetery/rectifications/{id}              one item with its progress and evidence
    POST /cemetery/rectifications/{id}/progress     report progress: note, evidence already uploaded, 已整改

The generic task-complete API refuses checklist tasks (the checklist is a record, not form data): this is their
API. Errors are `{"error": {"code", "message", "fields"?}}`; the page's Chinese rules give precise field codes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import authz
from engine.authz import Actor
from engine.models import MAX_DB_INT, Attachment, HumanTask
from web.api import MAX_ORG_CODE, ApiError, _int_param, _path_uuid, endpoint, json_body, methods
from web.auth import ctx_of
from web.cemetery import CAMPAIGN_OPENERS, STATUS_EDITORS, validate_submission
from web.collab import display_names, store_of
from workflows.cemetery import checklist as cl
from workflows.cemetery import editing, photos, register
from workflows.cemetery import inspection as insp
from workflows.cemetery.models import (
    CEMETERY_TYPES,
    RECTIFICATION_STATUSES,
    SALES_STATUSES,
    Cemetery,
    CemeteryInspection,
    Rectification,
)
from workflows.cemetery.sales import SalesStatusError, change_status
from workflows.common.checklist import ChecklistError
from workflows.common.models import ChecklistRecord

MAX_PLOTS = 200


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def _as_int(value: Any) -> int | None:
    """An integer as JSON Schema counts them (2041.0 is one); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def cemetery_json(c: Cemetery) -> dict[str, Any]:
    return {"id": c.id, "code": c.code, "name": c.name, "cemetery_type": c.cemetery_type, "area_kind": c.area_kind,
            "county_code": c.county_code, "township_code": c.township_code, "operator": c.operator,
            "area_m2": str(c.area_m2), "plots_single": c.plots_single, "plots_double": c.plots_double,
            "plots_ashes": c.plots_ashes, "plots_body": c.plots_body, "plots_eco": c.plots_eco, "prices": c.prices,
            "status": c.status, "status_reason": c.status_reason, "status_changed_at": _iso(c.status_changed_at),
            "frozen_inspection_id": c.frozen_inspection_id, "is_demo": c.is_demo}


def inspection_json(i: CemeteryInspection) -> dict[str, Any]:
    return {"id": i.id, "cemetery_id": i.cemetery_id, "year": i.year,  # type: ignore[attr-defined]
            "instance_id": i.instance_id, "stage": i.stage, "outcome": i.outcome,
            "published_at": _iso(i.published_at), "checklist_record_id": i.checklist_record_id,
            "acceptance_record_id": i.acceptance_record_id, "rectification_due": _iso(i.rectification_due),
            "reinspection_due": _iso(i.reinspection_due), "escalated_at": _iso(i.escalated_at)}


def rectification_json(r: Rectification) -> dict[str, Any]:
    return {"id": r.id, "inspection_id": r.inspection_id, "item": r.item,  # type: ignore[attr-defined]
            "finding": r.finding, "legal_basis": r.legal_basis, "corrective_action": r.corrective_action,
            "owner": r.owner, "due_on": _iso(r.due_on), "status": r.status}


def photo_json(p: photos.Photo) -> dict[str, Any]:
    return {"attachment_id": p.attachment.id, "item": p.link.item, "plot_label": p.link.plot_label or None,
            "filename": p.attachment.filename, "sha256": p.attachment.sha256,
            "download_url": f"/api/v1/attachments/{p.attachment.id}"}


async def _cemetery(request: Request, actor: Actor) -> Cemetery:
    raw = str(request.path_params["cemetery_id"])
    cemetery = await register.visible_cemeteries(actor).filter(id=int(raw)).first() \
        if raw.isdecimal() and 0 < int(raw) <= MAX_DB_INT else None
    if cemetery is None:  # outside the scope reads as absent, as on the pages
        raise ApiError(404, "not_found", f"cemetery {raw} does not exist in your scope")
    return cemetery


async def list_cemeteries(request: Request, actor: Actor) -> Response:
    q = request.query_params
    qs = register.visible_cemeteries(actor)
    county = q.get("county")
    if county is not None:
        if len(county) > MAX_ORG_CODE or "\x00" in county:
            raise ApiError(400, "invalid_parameter",
                           f"county must be an org unit code: at most {MAX_ORG_CODE} characters, without NUL")
        qs = qs.filter(county_code=county)
    for name, allowed, column in (("type", CEMETERY_TYPES, "cemetery_type"), ("status", SALES_STATUSES, "status")):
        value = q.get(name)
        if value is not None:
            if value not in allowed:
                raise ApiError(400, "invalid_parameter", f"{name} must be one of {', '.join(allowed)}")
            qs = qs.filter(**{column: value})
    rows = await qs.order_by("county_code", "code")
    return JSONResponse({"items": [cemetery_json(c) for c in rows]})


async def get_cemetery(request: Request, actor: Actor) -> Response:
    cemetery = await _cemetery(request, actor)
    today = insp.local_day(ctx_of(request).engine.clock.now())
    documents = register.document_states(list(await cemetery.documents.all().order_by("kind")), today)
    inspections = await CemeteryInspection.filter(cemetery=cemetery).order_by("-year")
    rectifications = await Rectification.filter(inspection__cemetery=cemetery).order_by("id")
    return JSONResponse({
        **cemetery_json(cemetery),
        "documents": [{"id": d.document.id, "kind": d.document.kind, "number": d.document.number,
                       "issued_by": d.document.issued_by, "issued_on": _iso(d.document.issued_on),
                       "expires_on": _iso(d.document.expires_on), "state": d.state} for d in documents],
        "inspections": [inspection_json(i) for i in inspections],
        "rectifications": [rectification_json(r) for r in rectifications],
    })


async def set_status(request: Request, actor: Actor) -> Response:
    cemetery = await _cemetery(request, actor)
    if not actor.roles & STATUS_EDITORS:
        raise ApiError(403, "forbidden", "only admin, city manager or county reviewer may change the sales status")
    body = await json_body(request)
    status, reason = body.get("status"), body.get("reason")
    problems = []
    if status not in SALES_STATUSES:
        problems.append({"field": "status", "code": "enum",
                         "message": f"status must be one of {', '.join(SALES_STATUSES)}"})
    if not isinstance(reason, str):
        problems.append({"field": "reason", "code": "type", "message": "reason must be a string"})
    elif len(reason.strip()) < 2:
        problems.append({"field": "reason", "code": "blank", "message": "reason must have at least 2 characters"})
    if problems:
        raise ApiError(422, "validation_failed", "invalid status change", problems)
    try:
        changed = await change_status(cemetery, str(status), reason=str(reason)[:500], actor=actor.username,
                                      now=ctx_of(request).engine.clock.now())
    except SalesStatusError as exc:
        # 重开 a frozen cemetery needs a passed acceptance; a freeze only comes from a 限期整改 decision.
        code = "acceptance_required" if status == "open" else "freeze_by_inspection_only"
        raise ApiError(409, code, f"{exc}") from exc
    return JSONResponse({**cemetery_json(cemetery), "changed": changed})


async def open_campaign(request: Request, actor: Actor) -> Response:
    if not actor.roles & CAMPAIGN_OPENERS:
        raise ApiError(403, "forbidden", "only admin or city manager may open a campaign")
    body = await json_body(request)
    year = _as_int(body.get("year"))
    if year is None or not 2000 <= year <= 2100:
        raise ApiError(422, "validation_failed", "invalid campaign",
                       [{"field": "year", "code": "range", "message": "year must be an integer 2000..2100"}])
    engine = ctx_of(request).engine
    campaign = await insp.open_campaign(year, actor=actor.username, now=engine.clock.now())
    done = set(await CemeteryInspection.filter(year=year).values_list("cemetery_id", flat=True))
    started = []
    for cemetery in await register.visible_cemeteries(actor).exclude(status="closed").order_by("code"):
        if cemetery.id not in done:
            started.append(await insp.start_inspection(engine, cemetery, campaign, actor=actor.username))
    return JSONResponse({"year": year, "started": [inspection_json(i) for i in started]}, status_code=201)


async def _checklist_task(request: Request, actor: Actor) -> tuple[HumanTask, CemeteryInspection, Cemetery]:
    task = await HumanTask.get_or_none(id=_path_uuid(request, "task_id", "task"))
    if task is None:
        raise ApiError(404, "not_found", f"task {request.path_params['task_id']} does not exist")
    if not authz.can_view_task(actor, task):
        raise ApiError(403, "forbidden", "task is outside your scope")
    if task.process_key != insp.PROCESS_KEY or task.bpmn_id not in insp.CHECKLIST_TASKS:
        raise ApiError(409, "not_a_checklist_task", "this task takes no checklist; complete it with "
                                                    "POST /tasks/{task_id}/complete")
    inspection = await insp.inspection_of_task(task)
    return task, inspection, await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]


async def get_checklist(request: Request, actor: Actor) -> Response:
    task, inspection, cemetery = await _checklist_task(request, actor)
    template = await cl.template_of(inspection)
    items = cl.items_for(template.body, cemetery.cemetery_type)
    return JSONResponse({
        "task_id": str(task.id), "kind": insp.CHECKLIST_TASKS[task.bpmn_id], "actionable": authz.can_act(actor, task),
        "inspection": inspection_json(inspection), "cemetery": cemetery_json(cemetery),
        "template": {"code": template.code, "version": template.version, "parameters": template.body["parameters"]},
        "check_items": [{"code": i["code"], "label": i["label"], "legal_basis": i.get("legal_basis", "")}
                        for i in items if i["kind"] == "check"],
        "plot_limits_m2": {k: str(cl.limit_for(template.body, cemetery.cemetery_type, k)) for k in cl.PLOT_KINDS},
        "photos": [photo_json(p) for p in await photos.photos_of_task(str(task.id))],
    })


# The page's Chinese errors (web.cemetery.validate_submission), as field codes and English messages.
def _field_problems(errors: dict[str, str]) -> list[dict[str, str]]:
    out = []
    for key, message in errors.items():
        if key.startswith("check_"):
            code = "required" if "请选择" in message else "blank"
            out.append({"field": f"checks.{key[6:]}", "code": code,
                        "message": "answer ok or fail" if code == "required" else "a failed item needs a note"})
        elif key == "rows":
            code = "too_few" if "至少" in message else "invalid"
            out.append({"field": "plots", "code": code, "message": "too few measured plots" if code == "too_few"
                        else "each plot needs a kind (single, double, body) and an area > 0 (m²)"})
        elif key == "eco":
            out.append({"field": "eco_plots", "code": "order",
                        "message": "eco_plots and total_plots: integers, 0 <= eco_plots <= total_plots, total > 0"})
        elif key == "opinion":
            out.append({"field": "opinion", "code": "blank", "message": "opinion must have at least 2 characters"})
        elif key.startswith("photo"):
            out.append({"field": "photos", "code": "unknown", "message": message})
    return out


def _text(body: dict[str, Any], key: str, problems: list[dict[str, str]], limit: int = 2000) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        problems.append({"field": key, "code": "type", "message": f"{key} must be a string of at most {limit}"})
        return ""
    return value.strip()


def _submission(body: dict[str, Any], check_items: list[dict[str, Any]]) -> dict[str, Any]:
    """The API body in the page's `values` shape; type errors raise 422 at once."""
    problems: list[dict[str, str]] = []
    raw_checks = body.get("checks", {})
    checks: dict[str, str] = {}
    notes: dict[str, str] = {}
    if not isinstance(raw_checks, dict):
        problems.append({"field": "checks", "code": "type", "message": "checks must be an object"})
        raw_checks = {}
    known = {i["code"] for i in check_items}
    for code, answer in raw_checks.items():
        if code not in known:
            problems.append({"field": f"checks.{code}", "code": "undeclared",
                             "message": "not a check item of this cemetery type"})
        elif not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool) or \
                not isinstance(answer.get("note", ""), str):
            problems.append({"field": f"checks.{code}", "code": "type",
                             "message": "each check is {\"ok\": true|false, \"note\": string}"})
        else:
            checks[code] = "ok" if answer["ok"] else "fail"
            notes[code] = str(answer.get("note", "")).strip()[:500]
    plots = body.get("plots", [])
    rows: list[tuple[str, str, str]] = []
    if not isinstance(plots, list) or len(plots) > MAX_PLOTS or not all(
            isinstance(p, dict) and isinstance(p.get("label", ""), str) and isinstance(p.get("kind"), str)
            and isinstance(p.get("area"), str | int | float) and not isinstance(p.get("area"), bool) for p in plots):
        problems.append({"field": "plots", "code": "type", "message": f"plots: at most {MAX_PLOTS} of "
                                                                      "{label, kind, area}"})
    else:
        rows = [(str(p.get("label", ""))[:100], str(p["kind"]), str(p["area"])) for p in plots]
    counts = {}
    for key in ("eco_plots", "total_plots"):
        value = _as_int(body.get(key))
        if value is None:
            problems.append({"field": key, "code": "type", "message": f"{key} must be an integer"})
        counts[key] = str(value)
    values = {"checks": checks, "notes_by_item": notes, "rows": rows, **counts,
              "notes": _text(body, "notes", problems), "opinion": _text(body, "opinion", problems)}
    if problems:
        raise ApiError(422, "validation_failed", "invalid checklist", problems)
    return values


async def submit_checklist(request: Request, actor: Actor) -> Response:
    task, inspection, cemetery = await _checklist_task(request, actor)
    if not authz.can_act(actor, task):
        raise ApiError(403, "forbidden", "you cannot act on this task (role, org unit or assignee)")
    body = await json_body(request)
    template = await cl.template_of(inspection)
    check_items = [i for i in cl.items_for(template.body, cemetery.cemetery_type) if i["kind"] == "check"]
    values = _submission(body, check_items)
    rows, row_errors = cl.parse_rows(*zip(*values["rows"], strict=True)) if values["rows"] else ([], [])
    errors: dict[str, str] = {"rows": " ".join(row_errors)} if row_errors else {}
    checks, eco_share = validate_submission(template.body, check_items, values, rows, errors)
    links = await _photo_links(body, task, errors, {i["code"] for i in check_items}, {r.label for r in rows})
    if errors:
        raise ApiError(422, "validation_failed", "the checklist is incomplete or invalid", _field_problems(errors))
    engine = ctx_of(request).engine
    now = engine.clock.now()
    for attachment, item, plot_label in links:
        await photos.link(inspection, task, attachment, item=item, plot_label=plot_label, actor=actor.username,
                          now=now)
    try:
        record = await insp.submit_checklist(engine, task, actor=actor.username, checks=checks, rows=rows,
                                             eco_share=eco_share, notes=values["notes"],
                                             opinion=values["opinion"])
    except (ChecklistError, insp.InspectionError) as exc:
        raise ApiError(409, "checklist_refused", str(exc)) from exc
    return JSONResponse(await record_json(record, cemetery, inspection.id), status_code=201)


async def _photo_links(body: dict[str, Any], task: HumanTask, errors: dict[str, str], items: set[str],
                       plot_labels: set[str]) -> list[tuple[Attachment, str, str]]:
    """`photos`: [{attachment_id, item} | {attachment_id, plot_label}] of images uploaded to this task with
    POST /tasks/{task_id}/attachments; a plot_label names one of the submitted plots."""
    raw = body.get("photos", [])
    if not isinstance(raw, list) or not all(isinstance(p, dict) and _as_int(p.get("attachment_id")) is not None
                                            for p in raw):
        raise ApiError(422, "validation_failed", "invalid photos", [
            {"field": "photos", "code": "type", "message": "photos: a list of {attachment_id, item | plot_label}"}])
    out = []
    for n, p in enumerate(raw):
        attachment_id = _as_int(p["attachment_id"]) or 0
        attachment = await Attachment.get_or_none(id=attachment_id, task_id=str(task.id)) \
            if 0 < attachment_id <= MAX_DB_INT else None
        item, plot_label = p.get("item"), p.get("plot_label")
        target_ok = (item in items and plot_label is None) or \
            (item in (None, photos.PLOT) and isinstance(plot_label, str) and plot_label.strip() in plot_labels)
        if attachment is None or not attachment.content_type.startswith("image/") or not target_ok:
            errors[f"photo_{n}"] = f"photos[{n}]: not an image uploaded to this task, or names no item / plot"
            continue
        out.append((attachment, str(item) if plot_label is None else photos.PLOT, str(plot_label or "").strip()))
    return out


async def record_json(record: ChecklistRecord, cemetery: Cemetery, inspection_id: int) -> dict[str, Any]:
    template = await record.template
    inspection = await CemeteryInspection.get(id=inspection_id)
    return {
        "id": record.id, "template_version": template.version, "passed": record.passed,
        "findings": record.findings,
        "measured_plots": sum(len(a) for a in record.answers.values() if isinstance(a, list)),
        "photos": [photo_json(p) for p in await photos.photos_of_record(record.id)],
        "inspection": inspection_json(inspection), "cemetery_status": (await Cemetery.get(id=cemetery.id)).status,
    }


# -- rectification progress (the page's rules: web.cemetery.rectification_update) --------------------------

MAX_EVIDENCE = 20


def rectification_detail_json(r: Rectification, names: dict[str, str], today: date) -> dict[str, Any]:
    inspection: CemeteryInspection = r.inspection
    cemetery: Cemetery = inspection.cemetery
    return {**rectification_json(r), "cemetery_id": cemetery.id, "cemetery_name": cemetery.name,
            "year": inspection.year, "overdue": r.status == "open" and r.due_on < today,
            "progress": r.progress, "progress_at": _iso(r.progress_at), "progress_by": r.progress_by,
            "progress_by_name": names.get(r.progress_by or "", r.progress_by) if r.progress_by else None,
            "reported_done_at": _iso(r.reported_done_at), "evidence": [
                {"attachment_id": n, "download_url": f"/api/v1/attachments/{n}"} for n in (r.evidence or [])]}


def _today_of(request: Request) -> date:
    return insp.local_day(ctx_of(request).engine.clock.now())


async def list_rectifications(request: Request, actor: Actor) -> Response:
    q = request.query_params
    qs = Rectification.filter(inspection__org_path__startswith=actor.org_path)
    status = q.get("status")
    if status is not None:
        if status not in RECTIFICATION_STATUSES:
            raise ApiError(400, "invalid_parameter", f"status must be one of {', '.join(RECTIFICATION_STATUSES)}")
        qs = qs.filter(status=status)
    overdue = q.get("overdue")
    if overdue is not None:
        if overdue not in ("true", "false"):
            raise ApiError(400, "invalid_parameter", "overdue must be true or false")
        today = _today_of(request)
        qs = qs.filter(status="open", due_on__lt=today) if overdue == "true" else \
            qs.exclude(status="open", due_on__lt=today)
    if q.get("year") is not None:
        qs = qs.filter(inspection__year=_int_param(request, "year", 0, 2000, 2100))
    rows = await qs.select_related("inspection__cemetery").order_by("due_on", "id").limit(5000)
    names = await display_names({r.progress_by for r in rows if r.progress_by})
    today = _today_of(request)
    return JSONResponse({"items": [rectification_detail_json(r, names, today) for r in rows]})


async def _rectification(request: Request, actor: Actor) -> Rectification:
    raw = str(request.path_params["rectification_id"])
    rect = await Rectification.filter(id=int(raw), inspection__org_path__startswith=actor.org_path).select_related(
        "inspection__cemetery").first() if raw.isdecimal() and 0 < int(raw) <= MAX_DB_INT else None
    if rect is None:
        raise ApiError(404, "not_found", f"rectification {raw} does not exist in your scope")
    return rect


async def get_rectification(request: Request, actor: Actor) -> Response:
    rect = await _rectification(request, actor)
    names = await display_names({rect.progress_by or ""})
    return JSONResponse(rectification_detail_json(rect, names, _today_of(request)))


async def report_progress(request: Request, actor: Actor) -> Response:
    """Progress on an open item: `progress` (note), `evidence` (ids of files uploaded to the case, e.g. with
    POST /tasks/{task_id}/attachments on its 限期整改 task), `done` (已整改, awaiting the acceptance inspection)."""
    rect = await _rectification(request, actor)
    if not actor.roles & editing.RECTIFIERS:
        raise ApiError(403, "forbidden", "only township, county or inspector staff may report rectification progress")
    body = await json_body(request)
    problems: list[dict[str, str]] = []
    progress, done, evidence = body.get("progress", ""), body.get("done", False), body.get("evidence", [])
    if not isinstance(progress, str):
        problems.append({"field": "progress", "code": "type", "message": "progress must be a string"})
    elif len(progress.strip()) > editing.MAX_PROGRESS:
        problems.append({"field": "progress", "code": "too_long",
                         "message": f"progress must have at most {editing.MAX_PROGRESS} characters"})
    if not isinstance(done, bool):
        problems.append({"field": "done", "code": "type", "message": "done must be a boolean"})
    ids = [_as_int(n) for n in evidence] if isinstance(evidence, list) else None
    if ids is None or len(ids) > MAX_EVIDENCE or any(n is None or not 0 < n <= MAX_DB_INT for n in ids):
        problems.append({"field": "evidence", "code": "type",
                         "message": f"evidence must be a list of at most {MAX_EVIDENCE} attachment ids"})
        ids = []
    inspection: CemeteryInspection = rect.inspection
    uploaded = list(await Attachment.filter(id__in=ids, instance_id=inspection.instance_id)) \
        if ids and inspection.instance_id else []
    if len({a.id for a in uploaded}) != len(set(ids)):
        problems.append({"field": "evidence", "code": "unknown",
                         "message": "each id must name a file uploaded to this inspection's case"})
    if problems:
        raise ApiError(422, "validation_failed", "invalid progress report", problems)
    if rect.status != "open":
        raise ApiError(409, "not_open", f"rectification {rect.id} is {rect.status}: progress can no longer change")
    text = str(progress)
    if not text.strip() and not done and not uploaded:
        raise ApiError(422, "validation_failed", "nothing to report", [
            {"field": "progress", "code": "blank", "message": "give progress, evidence or done"}])
    if done and not text.strip() and not rect.progress:
        raise ApiError(422, "validation_failed", "done needs a description", [
            {"field": "progress", "code": "blank", "message": "describe what was done before marking it done"}])
    try:
        await editing.report_progress(store_of(request), rect, actor=actor.username, progress=text, done=bool(done),
                                      filename=None, content=b"", now=ctx_of(request).engine.clock.now(),
                                      uploaded=uploaded)
    except ValueError as exc:
        raise ApiError(409, "refused", str(exc)) from exc
    names = await display_names({actor.username})
    return JSONResponse(rectification_detail_json(rect, names, _today_of(request)))


api_routes = [
    Route("/cemetery/cemeteries", methods(GET=endpoint(list_cemeteries))),
    Route("/cemetery/cemeteries/{cemetery_id}", methods(GET=endpoint(get_cemetery))),
    Route("/cemetery/cemeteries/{cemetery_id}/status", methods(POST=endpoint(set_status))),
    Route("/cemetery/campaigns", methods(POST=endpoint(open_campaign))),
    Route("/cemetery/tasks/{task_id}/checklist", methods(GET=endpoint(get_checklist), POST=endpoint(submit_checklist))),
    Route("/cemetery/rectifications", methods(GET=endpoint(list_rectifications))),
    Route("/cemetery/rectifications/{rectification_id}", methods(GET=endpoint(get_rectification))),
    Route("/cemetery/rectifications/{rectification_id}/progress", methods(POST=endpoint(report_progress))),
]

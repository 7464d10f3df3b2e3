"""公墓年检 pages: the register (list, detail, sales status), the checklist entry, campaign progress."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import authz
from engine.authz import Actor
from engine.errors import ConflictError, InvalidTaskState, NotFound
from engine.models import HumanTask, OrgUnit
from web.auth import ctx_of, login_required
from web.render import flash, is_htmx, page
from workflows.cemetery import checklist as cl
from workflows.cemetery import inspection as insp
from workflows.cemetery import kpi, register
from workflows.cemetery.models import (
    AREA_KINDS,
    CEMETERY_TYPES,
    DOCUMENT_KINDS,
    INSPECTION_STAGES,
    OUTCOMES,
    RECTIFICATION_STATUSES,
    SALES_STATUSES,
    Cemetery,
    CemeteryInspection,
    Rectification,
)
from workflows.cemetery.sales import SalesStatusError, change_status
from workflows.common.checklist import ChecklistError
from workflows.common.models import ChecklistRecord

STATUS_EDITORS = frozenset({"admin", "city_manager", "county_reviewer"})
CAMPAIGN_OPENERS = frozenset({"admin", "city_manager"})
BLANK_ROWS = 6
LABELS = {"types": CEMETERY_TYPES, "areas": AREA_KINDS, "statuses": SALES_STATUSES, "outcomes": OUTCOMES,
          "stages": INSPECTION_STAGES, "doc_kinds": DOCUMENT_KINDS, "rect_statuses": RECTIFICATION_STATUSES,
          "plot_kinds": cl.PLOT_KINDS}


def _today(request: Request) -> Any:
    return insp.local_day(ctx_of(request).engine.clock.now())


def _year(request: Request) -> int:
    try:
        return int(request.query_params.get("year", ""))
    except ValueError:
        return _today(request).year


# -- register ------------------------------------------------------------------------------------

@login_required
async def cemetery_list(request: Request, actor: Actor) -> Response:
    q = request.query_params
    params = {k: q.get(k, "") for k in ("county", "type", "status", "q")}
    qs = register.visible_cemeteries(actor)
    if params["county"]:
        qs = qs.filter(county_code=params["county"])
    if params["type"] in CEMETERY_TYPES:
        qs = qs.filter(cemetery_type=params["type"])
    if params["status"] in SALES_STATUSES:
        qs = qs.filter(status=params["status"])
    if params["q"].strip():
        qs = qs.filter(name__icontains=params["q"].strip())
    rows = await qs.order_by("county_code", "code")
    orgs = {o.code: o.name for o in await authz.visible_org_units(actor).filter(level__in=["county", "township"])}
    counties = await authz.visible_org_units(actor).filter(level="county").order_by("code")
    latest = {i.cemetery_id: i for i in await CemeteryInspection.filter(  # type: ignore[attr-defined]
        cemetery_id__in=[r.id for r in rows], year=_today(request).year)}
    return page(request, "cemetery_list.html", {
        "rows": rows, "orgs": orgs, "counties": counties, "params": params, "latest": latest,
        "my_tasks": await register.checklist_tasks_for(actor), "year": _today(request).year, **LABELS,
    }, block="cemetery_rows")


async def _cemetery_or_404(actor: Actor, cemetery_id: object) -> Cemetery:
    cemetery = await register.visible_cemetery(actor, cemetery_id)
    if cemetery is None:
        raise HTTPException(404, "公墓不存在或不在您的管理范围内。")
    return cemetery


async def _detail(request: Request, actor: Actor, cemetery: Cemetery, *, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    inspections = await CemeteryInspection.filter(cemetery=cemetery).order_by("-year")
    rectifications = await Rectification.filter(inspection__cemetery=cemetery).order_by("-id")
    orgs = {o.code: o.name for o in await OrgUnit.filter(code__in=[cemetery.county_code, cemetery.township_code])}
    open_tasks = await HumanTask.filter(instance_id__in=[i.instance_id for i in inspections if i.instance_id],
                                        state__in=authz.OPEN_STATES)
    return page(request, "cemetery_detail.html", {
        "c": cemetery, "orgs": orgs, "inspections": inspections, "rectifications": rectifications,
        "documents": register.document_states(list(await cemetery.documents.all().order_by("kind")),
                                              _today(request)),
        "open_tasks": open_tasks, "can_act": {str(t.id): authz.can_act(actor, t) for t in open_tasks},
        "checklist_tasks": insp.CHECKLIST_TASKS, "today": _today(request),
        "can_edit_status": bool(actor.roles & STATUS_EDITORS), "errors": errors or {}, "values": values or {},
        **LABELS,
    }, status_code=status_code)


@login_required
async def cemetery_detail(request: Request, actor: Actor) -> Response:
    return await _detail(request, actor, await _cemetery_or_404(actor, request.path_params["cemetery_id"]))


@login_required
async def cemetery_status(request: Request, actor: Actor) -> Response:
    """Change the sales status by hand: reopening a frozen cemetery is refused until acceptance has passed."""
    cemetery = await _cemetery_or_404(actor, request.path_params["cemetery_id"])
    if not actor.roles & STATUS_EDITORS:
        raise HTTPException(403, "您无权变更公墓销售状态。")
    form = await request.form()
    values = {"status": str(form.get("status", "")), "reason": str(form.get("reason", "")).strip()}
    errors: dict[str, str] = {}
    if values["status"] not in SALES_STATUSES:
        errors["status"] = "请选择销售状态。"
    if len(values["reason"]) < 2:
        errors["reason"] = "请填写变更原因(至少 2 个字)。"
    if not errors:
        try:
            changed = await change_status(cemetery, values["status"], reason=values["reason"], actor=actor.username,
                                          now=ctx_of(request).engine.clock.now())
        except SalesStatusError as exc:
            errors["status"] = str(exc)
        else:
            flash(request, "已变更销售状态。" if changed else "销售状态未变化。")
            return RedirectResponse(f"/cemetery/{cemetery.id}", status_code=303)
    return await _detail(request, actor, cemetery, errors=errors, values=values, status_code=422)


# -- checklist -----------------------------------------------------------------------------------

def _checklist_values(form: FormData | None, check_items: list[dict[str, Any]],
                      cemetery: Cemetery) -> dict[str, Any]:
    if form is None:
        return {"checks": {}, "notes_by_item": {}, "rows": [("", "single", "")] * BLANK_ROWS,
                "eco_plots": str(cemetery.plots_eco), "total_plots": str(cemetery.plots_total), "notes": "",
                "opinion": ""}
    rows = [(str(a), str(b), str(c)) for a, b, c in zip(form.getlist("plot_label"), form.getlist("plot_kind"),
                                                        form.getlist("plot_area"), strict=False)]
    return {
        "checks": {i["code"]: str(form.get(f"check_{i['code']}", "")) for i in check_items},
        "notes_by_item": {i["code"]: str(form.get(f"note_{i['code']}", "")).strip() for i in check_items},
        "rows": rows + [("", "single", "")] * (1 if form.get("action") == "more" else 0),
        "eco_plots": str(form.get("eco_plots", "")).strip(), "total_plots": str(form.get("total_plots", "")).strip(),
        "notes": str(form.get("notes", "")).strip(), "opinion": str(form.get("opinion", "")).strip(),
    }


def _eco_share(values: dict[str, Any], errors: dict[str, str]) -> Decimal:
    try:
        eco, total = int(values["eco_plots"]), int(values["total_plots"])
        if eco < 0 or total <= 0 or eco > total:
            raise ValueError
    except ValueError:
        errors["eco"] = "生态安葬墓位数和墓位总数须为整数,总数大于 0 且不小于生态安葬墓位数。"
        return Decimal(0)
    return (Decimal(eco) / Decimal(total)).quantize(Decimal("0.0001"))


def validate_submission(body: dict[str, Any], check_items: list[dict[str, Any]], values: dict[str, Any],
                        rows: list[cl.PlotRow], errors: dict[str, str]) -> tuple[dict[str, tuple[bool, str]], Decimal]:
    """The checks and eco-burial share of a complete submission; problems go into `errors` (Chinese), keyed
    check_<item> / rows / eco / opinion. The page and the API (web.cemetery_api) both use it."""
    checks: dict[str, tuple[bool, str]] = {}
    for item in check_items:
        answer, note = values["checks"].get(item["code"], ""), values["notes_by_item"].get(item["code"], "")
        if answer not in ("ok", "fail"):
            errors[f"check_{item['code']}"] = "请选择“符合”或“不符合”。"
        elif answer == "fail" and len(note) < 2:
            errors[f"check_{item['code']}"] = "不符合的项目请填写问题说明。"
        else:
            checks[item["code"]] = (answer == "ok", note)
    minimum = int(body["parameters"].get("measured_sample_min", 3))
    if len(rows) < minimum and "rows" not in errors:
        errors["rows"] = f"请至少录入 {minimum} 个实测墓位。"
    eco_share = _eco_share(values, errors)
    if len(values["opinion"]) < 2:
        errors["opinion"] = "请填写检查意见(至少 2 个字)。"
    return checks, eco_share


@login_required
async def checklist_page(request: Request, actor: Actor) -> Response:
    try:
        task = await HumanTask.get_or_none(id=request.path_params["task_id"])
    except (ValueError, TypeError):
        task = None
    if task is None or not authz.can_see_path(actor, task.org_path) or task.process_key != insp.PROCESS_KEY or \
            task.bpmn_id not in insp.CHECKLIST_TASKS:
        raise HTTPException(404, "检查事项不存在。")
    inspection = await insp.inspection_of_task(task)
    cemetery = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    if not authz.can_see_path(actor, cemetery.org_path) and not authz.can_act(actor, task):
        raise HTTPException(404, "检查事项不存在。")
    template = await cl.ensure_template()
    body = template.body
    check_items = [i for i in cl.items_for(body, cemetery.cemetery_type) if i["kind"] == "check"]
    actionable = authz.can_act(actor, task)
    form = await request.form() if request.method == "POST" else None
    if form is not None and not actionable:
        raise HTTPException(403, "您无权办理该检查事项。")
    values = _checklist_values(form, check_items, cemetery)
    errors: dict[str, str] = {}
    rows, row_errors = cl.parse_rows(*zip(*values["rows"], strict=True)) if values["rows"] else ([], [])
    flagged = cl.flag_rows(body, cemetery.cemetery_type, rows)
    status = 200
    action = str(form.get("action", "check")) if form is not None else ""
    if form is not None:
        if row_errors:
            errors["rows"] = " ".join(row_errors)
        if action == "submit":
            checks, eco_share = validate_submission(body, check_items, values, rows, errors)
            if not errors:
                try:
                    record = await insp.submit_checklist(
                        ctx_of(request).engine, task, actor=actor.username, checks=checks, rows=rows,
                        eco_share=eco_share, notes=values["notes"], opinion=values["opinion"])
                except (ChecklistError, insp.InspectionError) as exc:
                    errors["form"] = str(exc)
                except (ConflictError, InvalidTaskState, NotFound):
                    errors["form"] = "该事项已被他人处理或流程状态已变化,请刷新后重试。"
                else:
                    verdict = "全部符合" if record.passed else f"发现 {len(record.findings)} 个问题,已生成整改清单"
                    flash(request, f"已提交检查表:{cemetery.name},{verdict}。")
                    return RedirectResponse(f"/cemetery/{cemetery.id}", status_code=303)
        status = 422 if errors else 200
    context = {
        "task": task, "inspection": inspection, "c": cemetery, "template": template, "check_items": check_items,
        "values": values, "flagged": flagged, "errors": errors, "actionable": actionable,
        "limits": {k: cl.limit_for(body, cemetery.cemetery_type, k) for k in cl.PLOT_KINDS},
        "over_count": sum(1 for f in flagged if f.over), "kind_label": insp.CHECKLIST_TASKS[task.bpmn_id],
        "eco_min": body["parameters"].get("eco_share_min"), **LABELS,
    }
    block = "plot_rows" if form is not None and action == "check" and is_htmx(request) else None
    return page(request, "cemetery_checklist.html", context, block=block, status_code=status)


# -- numbers -------------------------------------------------------------------------------------

@login_required
async def progress(request: Request, actor: Actor) -> Response:
    year = _year(request)
    rows = await kpi.campaign_progress(actor, year)
    today = _today(request)
    return page(request, "cemetery_progress.html", {
        "year": year, "rows": rows, "total": kpi.totals(rows), "pass_share": await kpi.pass_share(actor, year),
        "eco_share": await kpi.eco_burial_share(actor), "overdue": await kpi.overdue_rectifications(actor, today),
        "today": today, "can_open": bool(actor.roles & CAMPAIGN_OPENERS), **LABELS,
    })


@login_required
async def open_campaign(request: Request, actor: Actor) -> Response:
    """Open the year's campaign and start an inspection for every visible cemetery that has none yet."""
    if not actor.roles & CAMPAIGN_OPENERS:
        raise HTTPException(403, "只有市级管理人员可以启动年检。")
    form = await request.form()
    try:
        year = int(str(form.get("year", "")))
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        flash(request, "年度无效。", "error")
        return RedirectResponse("/cemetery/progress", status_code=303)
    engine = ctx_of(request).engine
    campaign = await insp.open_campaign(year, actor=actor.username, now=engine.clock.now())
    done = set(await CemeteryInspection.filter(year=year).values_list("cemetery_id", flat=True))
    started = 0
    for cemetery in await register.visible_cemeteries(actor).exclude(status="closed").order_by("code"):
        if cemetery.id not in done:
            await insp.start_inspection(engine, cemetery, campaign, actor=actor.username)
            started += 1
    flash(request, f"{year} 年度公墓年检已启动:新增 {started} 个公墓的年检。")
    return RedirectResponse(f"/cemetery/progress?year={year}", status_code=303)


@login_required
async def checklist_record(request: Request, actor: Actor) -> Response:
    """A completed checklist, printable: answers, measured plots, findings, template version."""
    record = await ChecklistRecord.get_or_none(id=request.path_params["record_id"], subject_type="cemetery")
    if record is None:
        raise HTTPException(404, "检查记录不存在。")
    cemetery = await _cemetery_or_404(actor, record.subject_id)
    template = await record.template
    items = {i["code"]: i for i in template.body["items"]}
    return page(request, "cemetery_record.html", {"record": record, "c": cemetery, "template": template,
                                                  "items": items, **LABELS})


routes = [
    Route("/cemetery", cemetery_list),
    Route("/cemetery/progress", progress),
    Route("/cemetery/campaigns", open_campaign, methods=["POST"]),
    Route("/cemetery/records/{record_id:int}", checklist_record),
    Route("/cemetery/tasks/{task_id}/checklist", checklist_page, methods=["GET", "POST"]),
    Route("/cemetery/{cemetery_id:int}", cemetery_detail),
    Route("/cemetery/{cemetery_id:int}/status", cemetery_status, methods=["POST"]),
]

"""公墓年检 pages: the register (list, detail, editing, documents, sales status), the checklist entry with photos,
rectification progress, campaign progress, the printable 年检报告 and the XLSX export of results.
The JSON API is `web.cemetery_api`."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from openpyxl import Workbook
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import authz
from engine.authz import Actor
from engine.errors import ConflictError, InvalidTaskState, NotFound
from engine.forms import FormValidationError
from engine.models import Attachment, HumanTask, OrgUnit
from engine.runtime import parse_uuid
from web.auth import ctx_of, login_required
from web.collab import display_names, message_zh, store_of
from web.render import SHANGHAI, flash, is_htmx, page
from workflows.cemetery import checklist as cl
from workflows.cemetery import editing, kpi, photos, register
from workflows.cemetery import inspection as insp
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
from workflows.common.models import ChecklistRecord, ChecklistTemplate

STATUS_EDITORS = frozenset({"admin", "city_manager", "county_reviewer"})
REGISTER_EDITORS = STATUS_EDITORS  # the register is kept by the civil-affairs bureaus, each in its own scope
CAMPAIGN_OPENERS = frozenset({"admin", "city_manager"})
BLANK_ROWS = 6
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CHECKLIST_BODY = 64 * 1024 * 1024  # all photos of one post together
LABELS = {"types": CEMETERY_TYPES, "areas": AREA_KINDS, "statuses": SALES_STATUSES, "outcomes": OUTCOMES,
          "stages": INSPECTION_STAGES, "doc_kinds": DOCUMENT_KINDS, "rect_statuses": RECTIFICATION_STATUSES,
          "plot_kinds": cl.PLOT_KINDS}


def _today(request: Request) -> Any:
    return insp.local_day(ctx_of(request).engine.clock.now())


def _year(request: Request) -> int:
    try:
        year = int(request.query_params.get("year", ""))
    except ValueError:
        return _today(request).year
    return year if 1900 <= year <= 9999 else _today(request).year  # a year the database can compare


# -- register ------------------------------------------------------------------------------------

@login_required
async def cemetery_list(request: Request, actor: Actor) -> Response:
    q = request.query_params
    params = {k: q.get(k, "") for k in ("county", "type", "status", "q", "result")}
    year = _year(request)
    qs = register.visible_cemeteries(actor)
    if params["result"] in kpi.RESULT_FILTERS:
        qs = kpi.filter_by_result(qs, params["result"], year)
    if params["county"] and len(params["county"]) <= 32:  # longer names no county (and the column refuses it)
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
        cemetery_id__in=[r.id for r in rows], year=year)}
    plots = sum(r.plots_total for r in rows)
    eco = sum(r.plots_eco for r in rows)
    return page(request, "cemetery_list.html", {
        "rows": rows, "orgs": orgs, "counties": counties, "params": params, "latest": latest,
        "my_tasks": await register.checklist_tasks_for(actor), "year": year, "results": kpi.RESULT_FILTERS,
        "plots_sum": plots, "eco_sum": eco, "eco_ratio": kpi.share(eco, plots),
        "can_register": bool(actor.roles & REGISTER_EDITORS), **LABELS,
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
        "can_edit_status": bool(actor.roles & STATUS_EDITORS), "can_edit": bool(actor.roles & REGISTER_EDITORS),
        "can_rectify": bool(actor.roles & editing.RECTIFIERS), "evidence": {a.id: a for a in await Attachment.filter(
            id__in=[i for r in rectifications for i in (r.evidence or [])])},
        "errors": errors or {}, "values": values or {},
        "names": await display_names({r.progress_by for r in rectifications if r.progress_by}),
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


# -- register editing ----------------------------------------------------------------------------

REGISTER_FIELDS = ("code", "name", "cemetery_type", "area_kind", "township_code", "operator", "area_m2",
                   *editing.PLOT_FIELDS, "prices")
DOCUMENT_FIELDS = ("kind", "number", "issued_by", "issued_on", "expires_on")


def _require_editor(actor: Actor) -> None:
    if not actor.roles & REGISTER_EDITORS:
        raise HTTPException(403, "您无权编辑公墓登记信息。")


async def _edit_page(request: Request, actor: Actor, cemetery: Cemetery | None, values: dict[str, str],
                     errors: dict[str, str], *, doc_values: dict[str, str] | None = None,
                     doc_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    townships = await authz.visible_org_units(actor).filter(level="township").order_by("code")
    documents = register.document_states(list(await cemetery.documents.all().order_by("kind", "id")),
                                         _today(request)) if cemetery else []
    return page(request, "cemetery_edit.html", {
        "c": cemetery, "values": values, "errors": errors, "townships": townships, "documents": documents,
        "doc_values": doc_values or {}, "doc_errors": doc_errors or {}, "plot_fields": editing.PLOT_FIELDS,
        **LABELS}, status_code=status_code)


def _register_values(c: Cemetery) -> dict[str, str]:
    values = {k: str(getattr(c, k)) for k in REGISTER_FIELDS if k != "prices"}
    values["prices"] = editing.prices_text(c.prices)
    return values


@login_required
async def cemetery_new(request: Request, actor: Actor) -> Response:
    _require_editor(actor)
    if request.method == "GET":
        return await _edit_page(request, actor, None, {"cemetery_type": "public_welfare", "area_kind": "rural"}, {})
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in REGISTER_FIELDS}
    clean, errors = await editing.validate_cemetery(values, scope_path=actor.org_path)
    if errors:
        return await _edit_page(request, actor, None, values, errors, status_code=422)
    cemetery = await editing.save_cemetery(clean, actor=actor.username, now=ctx_of(request).engine.clock.now())
    flash(request, f"已登记公墓:{cemetery.name}。请继续登记批准文件。")
    return RedirectResponse(f"/cemetery/{cemetery.id}/edit", status_code=303)


@login_required
async def cemetery_edit(request: Request, actor: Actor) -> Response:
    cemetery = await _cemetery_or_404(actor, request.path_params["cemetery_id"])
    _require_editor(actor)
    if request.method == "GET":
        return await _edit_page(request, actor, cemetery, _register_values(cemetery), {})
    form = await request.form()
    values = {**_register_values(cemetery), **{k: str(form.get(k, "")) for k in REGISTER_FIELDS
                                               if k not in ("code", "township_code")}}
    clean, errors = await editing.validate_cemetery(values, scope_path=actor.org_path, existing=cemetery)
    if errors:
        return await _edit_page(request, actor, cemetery, values, errors, status_code=422)
    await editing.save_cemetery(clean, actor=actor.username, now=ctx_of(request).engine.clock.now(),
                                existing=cemetery)
    flash(request, "已保存登记信息。")
    return RedirectResponse(f"/cemetery/{cemetery.id}", status_code=303)


@login_required
async def document_add(request: Request, actor: Actor) -> Response:
    cemetery = await _cemetery_or_404(actor, request.path_params["cemetery_id"])
    _require_editor(actor)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in DOCUMENT_FIELDS}
    clean, errors = editing.validate_document(values)
    if errors:
        return await _edit_page(request, actor, cemetery, _register_values(cemetery), {}, doc_values=values,
                                doc_errors=errors, status_code=422)
    await editing.add_document(cemetery, clean, actor=actor.username, now=ctx_of(request).engine.clock.now())
    flash(request, "已登记批准文件。")
    return RedirectResponse(f"/cemetery/{cemetery.id}/edit#documents", status_code=303)


@login_required
async def document_remove(request: Request, actor: Actor) -> Response:
    cemetery = await _cemetery_or_404(actor, request.path_params["cemetery_id"])
    _require_editor(actor)
    number = register.db_id(request.path_params["document_id"])
    removed = number is not None and await editing.remove_document(cemetery, number, actor=actor.username,
                                                                   now=ctx_of(request).engine.clock.now())
    if not removed:
        raise HTTPException(404, "批准文件不存在。")
    flash(request, "已删除批准文件。")
    return RedirectResponse(f"/cemetery/{cemetery.id}/edit#documents", status_code=303)


@login_required
async def rectification_update(request: Request, actor: Actor) -> Response:
    """The township or county reports progress on a rectification item: note, evidence file, 已整改."""
    number = register.db_id(request.path_params["rectification_id"])
    rect = await Rectification.filter(id=number, inspection__org_path__startswith=actor.org_path).first() \
        if number else None
    if rect is None:
        raise HTTPException(404, "整改事项不存在或不在您的管理范围内。")
    if not actor.roles & editing.RECTIFIERS:
        raise HTTPException(403, "您无权更新整改进展。")
    inspection = await CemeteryInspection.get(id=rect.inspection_id)  # type: ignore[attr-defined]
    cemetery = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    form = await request.form()
    store = store_of(request)
    upload = form.get("file")
    filename, content = (upload.filename, await upload.read(store.max_bytes + 1)) \
        if isinstance(upload, UploadFile) and upload.filename else (None, b"")
    progress = str(form.get("progress", ""))
    try:
        await editing.report_progress(store, rect, actor=actor.username, progress=progress,
                                      done=form.get("done") == "1", filename=filename, content=content,
                                      now=ctx_of(request).engine.clock.now())
    except (ValueError, FormValidationError) as exc:
        message = message_zh(exc.errors[0], store, len(content)) if isinstance(exc, FormValidationError) else str(exc)
        return await _detail(request, actor, cemetery, errors={f"rect_{rect.id}": message},
                             values={f"progress_{rect.id}": progress}, status_code=422)
    flash(request, "已更新整改进展。")
    return RedirectResponse(f"/cemetery/{cemetery.id}#rectifications", status_code=303)


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


async def _store_photos(request: Request, form: FormData, task: HumanTask, inspection: CemeteryInspection,
                        check_items: list[dict[str, Any]], values: dict[str, Any], actor: Actor,
                        errors: dict[str, str]) -> None:
    """Store the photos of this post at once (a refused checklist loses none of them); a refused photo is
    reported next to its item or plot and nothing of it is stored."""
    store = store_of(request)
    targets = [(f"photo_{i['code']}", i["code"], "") for i in check_items]
    targets += [(f"plot_photo_{n}", photos.PLOT, label.strip() or f"第 {n + 1} 个墓位")
                for n, (label, _, _) in enumerate(values["rows"])]
    for field, item, plot_label in targets:
        upload = form.get(field)
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        content = await upload.read(store.max_bytes + 1)
        try:
            await photos.add_photo(store, inspection, task, item=item, plot_label=plot_label,
                                   filename=upload.filename, content=content, actor=actor.username,
                                   now=ctx_of(request).engine.clock.now())
        except FormValidationError as exc:
            error = exc.errors[0]
            errors[field] = "仅支持 JPG、PNG 照片,未保存。" if error.code == "type" else \
                message_zh(error, store, len(content))


@login_required
async def checklist_page(request: Request, actor: Actor) -> Response:
    task_uuid = parse_uuid(request.path_params["task_id"])  # not a UUID: names nothing (PostgreSQL would raise)
    task = await HumanTask.get_or_none(id=task_uuid) if task_uuid else None
    if task is None or not authz.can_see_path(actor, task.org_path) or task.process_key != insp.PROCESS_KEY or \
            task.bpmn_id not in insp.CHECKLIST_TASKS:
        raise HTTPException(404, "检查事项不存在。")
    inspection = await insp.inspection_of_task(task)
    cemetery = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    if not authz.can_see_path(actor, cemetery.org_path) and not authz.can_act(actor, task):
        raise HTTPException(404, "检查事项不存在。")
    template = await cl.template_of(inspection)
    body = template.body
    check_items = [i for i in cl.items_for(body, cemetery.cemetery_type) if i["kind"] == "check"]
    actionable = authz.can_act(actor, task)
    if request.method == "POST" and not actionable:
        raise HTTPException(403, "您无权办理该检查事项。")
    length = request.headers.get("content-length", "")
    if length.isdecimal() and int(length) > MAX_CHECKLIST_BODY:
        raise HTTPException(422, "上传的照片总量过大,请分批上传(每次提交不超过 64 MB)。")
    form = await request.form() if request.method == "POST" else None
    values = _checklist_values(form, check_items, cemetery)
    errors: dict[str, str] = {}
    if form is not None:
        await _store_photos(request, form, task, inspection, check_items, values, actor, errors)
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
        "eco_min": body["parameters"].get("eco_share_min"),
        "photos": photos.by_target(await photos.photos_of_task(str(task.id))), **LABELS,
    }
    block = "plot_rows" if form is not None and action == "check" and is_htmx(request) else None
    return page(request, "cemetery_checklist.html", context, block=block, status_code=status)


# -- numbers -------------------------------------------------------------------------------------

@login_required
async def progress(request: Request, actor: Actor) -> Response:
    year = _year(request)
    rows = await kpi.campaign_progress(actor, year)
    today = _today(request)

    def link(**params: str) -> str:  # the register list behind a figure
        return "/cemetery?" + urlencode({"year": year, **{k: v for k, v in params.items() if v}})

    return page(request, "cemetery_progress.html", {
        "link": link,
        "year": year, "rows": rows, "total": kpi.totals(rows), "pass_share": await kpi.pass_share(actor, year),
        "pass_counts": await kpi.pass_counts(actor, year), "eco_counts": await kpi.eco_burial_counts(actor),
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
    number = register.db_id(request.path_params["record_id"])
    record = await ChecklistRecord.get_or_none(id=number, subject_type="cemetery") if number else None
    if record is None:
        raise HTTPException(404, "检查记录不存在。")
    cemetery = await _cemetery_or_404(actor, record.subject_id)
    template = await record.template
    items = {i["code"]: i for i in template.body["items"]}
    return page(request, "cemetery_record.html", {
        "record": record, "c": cemetery, "template": template, "items": items,
        "names": await display_names({record.inspector}),
        "photos": photos.by_target(await photos.photos_of_record(record.id)), **LABELS})


async def _inspection_or_404(actor: Actor, inspection_id: object) -> CemeteryInspection:
    number = register.db_id(inspection_id)
    inspection = await CemeteryInspection.filter(id=number, org_path__startswith=actor.org_path).first() \
        if number else None
    if inspection is None:
        raise HTTPException(404, "年检记录不存在或不在您的管理范围内。")
    return inspection


def _plots(record: ChecklistRecord | None, body: dict[str, Any], items: dict[str, Any]) -> list[dict[str, Any]]:
    """The measured plots of a record, each with the limit of its template version and the over-limit flag."""
    if record is None:
        return []
    over = {(f["item"], f.get("value")) for f in record.findings}
    out: list[dict[str, Any]] = []
    for code, answer in record.answers.items():
        if isinstance(answer, list) and code in items:
            limit = body["parameters"].get(items[code].get("limit_param", ""), "")
            out.extend({"label": m["label"], "area": m["value"], "limit": limit, "item": items[code]["label"],
                        "over": (code, m["value"]) in over} for m in answer)
    return out


@login_required
async def inspection_report(request: Request, actor: Actor) -> Response:
    """The printable 年检报告 of one cemetery and year: facts, checklist, measured plots, photos, findings,
    rectification and acceptance, outcome."""
    inspection = await _inspection_or_404(actor, request.path_params["inspection_id"])
    cemetery = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    records = {r.id: r for r in await ChecklistRecord.filter(
        id__in=[i for i in (inspection.checklist_record_id, inspection.acceptance_record_id) if i])
        .prefetch_related("template")}
    onsite = records.get(inspection.checklist_record_id or 0)
    acceptance = records.get(inspection.acceptance_record_id or 0)
    template = onsite.template if onsite else await cl.template_of(inspection)
    items = {i["code"]: i for i in template.body["items"]}
    orgs = {o.code: o.name for o in await OrgUnit.filter(code__in=[cemetery.county_code, cemetery.township_code])}
    shots = photos.by_target(await photos.photos_of_record(onsite.id)) if onsite else {}
    return page(request, "cemetery_report.html", {
        "i": inspection, "c": cemetery, "onsite": onsite, "acceptance": acceptance, "template": template,
        "items": items, "plots": _plots(onsite, template.body, items), "photos": shots, "orgs": orgs,
        "rectifications": await Rectification.filter(inspection=inspection).order_by("id"),
        "names": await display_names({r.inspector for r in records.values()}),
        "today": _today(request), **LABELS,
    })


@login_required
async def export_results(request: Request, actor: Actor) -> Response:
    """The year's inspection results in the actor's scope as XLSX (one row per cemetery inspected)."""
    year = _year(request)
    inspections = await CemeteryInspection.filter(year=year, org_path__startswith=actor.org_path).select_related(
        "cemetery").order_by("cemetery__county_code", "cemetery__code").limit(5000)
    records = {r.id: r for r in await ChecklistRecord.filter(
        id__in=[i.checklist_record_id for i in inspections if i.checklist_record_id]).prefetch_related("template")}
    rects = await Rectification.filter(inspection_id__in=[i.id for i in inspections]).values_list(
        "inspection_id", "status")
    orgs = {o.code: o.name for o in await authz.visible_org_units(actor).filter(level__in=["county", "township"])}
    rows = []
    for i in inspections:
        c: Cemetery = i.cemetery
        record = records.get(i.checklist_record_id or 0)
        plots = _plots(record, record.template.body, {x["code"]: x for x in record.template.body["items"]}) \
            if record else []
        mine = [status for inspection_id, status in rects if inspection_id == i.id]
        rows.append([
            orgs.get(c.county_code, c.county_code), orgs.get(c.township_code, c.township_code), c.code, c.name,
            CEMETERY_TYPES.get(c.cemetery_type, c.cemetery_type), INSPECTION_STAGES.get(i.stage, i.stage),
            OUTCOMES.get(i.outcome or "", "") if i.outcome else "",
            i.published_at.astimezone(SHANGHAI).strftime("%Y-%m-%d") if i.published_at else "",
            record.template.version if record else "", len(record.findings) if record else "",
            len(plots) if record else "", sum(1 for p in plots if p["over"]) if record else "",
            mine.count("open"), mine.count("verified"),
            i.rectification_due.astimezone(SHANGHAI).strftime("%Y-%m-%d") if i.rectification_due else "",
            "是" if i.escalated_at else "", SALES_STATUSES.get(c.status, c.status)])
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = f"{year}年度公墓年检结果"
    sheet.append(["县(区)", "乡镇(街道)", "编号", "公墓", "类型", "环节", "结论", "公布日期", "检查表版本", "问题数",
                  "实测墓位数", "超标墓位数", "整改中", "已验收", "整改期限", "逾期督办", "销售状态"])
    for row in rows:
        sheet.append([str(v) if v is not None and not isinstance(v, int | float) else v for v in row])
    await _add_figures(wb, actor, year, _today(request), orgs)
    buffer = io.BytesIO()
    wb.save(buffer)
    return Response(buffer.getvalue(), media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f"attachment; filename=cemetery-inspections-{year}.xlsx"})


def _percent(part: int, whole: int) -> str:
    ratio = kpi.share(part, whole)
    return f"{ratio * 100:.1f}%" if ratio is not None else "—"


async def _add_figures(wb: Workbook, actor: Actor, year: int, today: Any, orgs: dict[str, str]) -> None:
    """The progress page's figures as further sheets of the results workbook: progress per county, the shares with
    their numerator and denominator, the overdue rectification items."""
    progress_rows = await kpi.campaign_progress(actor, year)
    sheet = wb.create_sheet("各县年检进度")
    sheet.append(["县(区)", "应检", "已启动", "已公布", "合格", "限期整改", "延期年检", "完成率"])
    for r in [*progress_rows, kpi.totals(progress_rows)]:
        sheet.append([r.county_name, r.due, r.started, r.published, r.outcomes["pass"], r.outcomes["rectify"],
                      r.outcomes["defer"], _percent(r.published, r.due)])
    passed, published = await kpi.pass_counts(actor, year)
    eco, plots = await kpi.eco_burial_counts(actor)
    total = kpi.totals(progress_rows)
    sheet = wb.create_sheet("统计指标")
    sheet.append(["指标", "分子", "分母", "比例"])
    sheet.append(["年检完成率(已公布 / 应检)", total.published, total.due, _percent(total.published, total.due)])
    sheet.append(["合格率(合格 / 已公布结论)", passed, published, _percent(passed, published)])
    sheet.append(["公益性公墓生态安葬墓位占比(生态安葬 / 单穴与双穴墓位)", eco, plots, _percent(eco, plots)])
    overdue = await kpi.overdue_rectifications(actor, today)
    sheet.append(["逾期未整改事项", len(overdue), "", ""])
    sheet = wb.create_sheet("逾期未整改")
    sheet.append(["县(区)", "公墓", "问题", "整改措施", "责任单位", "整改期限", "逾期天数"])
    for item in overdue:
        c = item.inspection.cemetery
        sheet.append([orgs.get(c.county_code, c.county_code), c.name, item.finding, item.corrective_action,
                      item.owner, item.due_on.isoformat(), (today - item.due_on).days])


# -- checklist limits ------------------------------------------------------------------------------

TEMPLATE_PUBLISHERS = CAMPAIGN_OPENERS


async def _limits_page(request: Request, actor: Actor, values: dict[str, str] | None = None,
                       errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    current = await cl.ensure_template()
    versions = await ChecklistTemplate.filter(code=cl.TEMPLATE_CODE).order_by("-version")
    pinned: dict[int, int] = {}
    for template_id in await CemeteryInspection.filter(org_path__startswith=actor.org_path).values_list(
            "template_id", flat=True):
        if isinstance(template_id, int):
            pinned[template_id] = pinned.get(template_id, 0) + 1
    params = current.body["parameters"]
    shown = {s.key: cl.shown_value(s, params[s.key]) for s in cl.PARAM_SPECS if s.key in params}
    specs = {s.key: s for s in cl.PARAM_SPECS}

    def fmt(key: str, value: Any) -> str:
        spec = specs.get(key)
        return f"{cl.shown_value(spec, value)} {spec.unit}" if spec else str(value)
    return page(request, "cemetery_limits.html", {
        "current": current, "versions": versions, "pinned": pinned, "specs": cl.PARAM_SPECS, "shown": shown,
        "spec_of": specs, "fmt": fmt, "values": values or {**shown, "base_version": current.version},
        "errors": errors or {}, "can_publish": bool(actor.roles & TEMPLATE_PUBLISHERS),
        "names": await display_names({v.created_by for v in versions}), **LABELS,
    }, status_code=status_code)


@login_required
async def checklist_limits(request: Request, actor: Actor) -> Response:
    """The `cemetery_annual` template's limits; the city publishes a new version with changed limits."""
    if request.method == "GET":
        return await _limits_page(request, actor)
    if not actor.roles & TEMPLATE_PUBLISHERS:
        raise HTTPException(403, "只有市级管理人员可以发布检查表限值。")
    form = await request.form()
    keys = [s.key for s in cl.PARAM_SPECS] + ["document_number", "note", "base_version"]
    values = {k: str(form.get(k, "")).strip() for k in keys}
    current = await cl.ensure_template()
    changes, errors = cl.parse_parameters(values, current.body["parameters"])
    if not values["document_number"]:
        errors["document_number"] = "请填写调整依据的文号。"
    elif len(values["document_number"]) > cl.MAX_DOCUMENT_NUMBER:
        errors["document_number"] = f"文号不能超过 {cl.MAX_DOCUMENT_NUMBER} 个字。"
    if len(values["note"]) > cl.MAX_PUBLISH_NOTE:
        errors["note"] = f"调整说明不能超过 {cl.MAX_PUBLISH_NOTE} 个字。"
    if not errors:
        base = int(values["base_version"]) if values["base_version"].isdecimal() else -1
        try:
            row = await cl.publish_version(changes, base_version=base, document_number=values["document_number"],
                                           note=values["note"], actor=actor.username,
                                           now=ctx_of(request).engine.clock.now())
        except ChecklistError as exc:
            errors["form"] = str(exc)
        else:
            flash(request, f"已发布检查表第 {row.version} 版。此后启动的年检按新限值检查,已启动的年检仍按原版本。")
            return RedirectResponse("/cemetery/limits", status_code=303)
    return await _limits_page(request, actor, values, errors, status_code=422)


routes = [
    Route("/cemetery", cemetery_list),
    Route("/cemetery/limits", checklist_limits, methods=["GET", "POST"]),
    Route("/cemetery/progress", progress),
    Route("/cemetery/progress.xlsx", export_results),
    Route("/cemetery/inspections/{inspection_id:int}/report", inspection_report),
    Route("/cemetery/campaigns", open_campaign, methods=["POST"]),
    Route("/cemetery/records/{record_id:int}", checklist_record),
    Route("/cemetery/tasks/{task_id}/checklist", checklist_page, methods=["GET", "POST"]),
    Route("/cemetery/new", cemetery_new, methods=["GET", "POST"]),
    Route("/cemetery/{cemetery_id:int}", cemetery_detail),
    Route("/cemetery/{cemetery_id:int}/edit", cemetery_edit, methods=["GET", "POST"]),
    Route("/cemetery/{cemetery_id:int}/documents", document_add, methods=["POST"]),
    Route("/cemetery/rectifications/{rectification_id:int}", rectification_update, methods=["POST"]),
    Route("/cemetery/{cemetery_id:int}/documents/{document_id:int}/delete", document_remove, methods=["POST"]),
    Route("/cemetery/{cemetery_id:int}/status", cemetery_status, methods=["POST"]),
]

"""社会组织 pages: the register (import/export), annual-inspection campaigns, 双随机 spot checks with the mobile
checklist, inspectors, credit lists; and the public pages (results, draw verification, credit lookup) that need no
login and show published fields only."""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from engine import authz, collab
from engine.authz import Actor
from engine.calendar import local_date
from engine.errors import ConflictError, InvalidTaskState, NotFound
from engine.forms import FormValidationError
from engine.models import Attachment, HumanTask, OrgUnit, ProcessInstance
from web.auth import ctx_of, login_required
from web.collab import message_zh, store_of
from web.render import flash, page
from web.uploads import UploadError, read_upload
from workflows.common import findings as finding_rules
from workflows.common.models import ChecklistRecord, ChecklistTemplate, DrawRecord, FindingRecord
from workflows.social_org import campaign as campaigns
from workflows.social_org import credit, kpi
from workflows.social_org.importing import XLSX_MIME, ImportFileError, export_xlsx, import_register, template_xlsx
from workflows.social_org.models import (
    CAMPAIGN_STATUSES,
    CONCLUSIONS,
    CREDIT_STATUSES,
    INSPECTION_STATUSES,
    ORG_TYPES,
    OUTCOMES,
    PLAN_TYPES,
    REVOCATION_STAGES,
    AnnualCampaign,
    AnnualInspection,
    CreditListEntry,
    Inspector,
    InspectorConflict,
    RevocationCase,
    SocialOrganization,
    SpotCheckPlan,
    SpotCheckTarget,
)
from workflows.social_org.projection import project_ids
from workflows.social_org.register import authority_units, scoped, search, validate_org
from workflows.social_org.spot_check import (
    PUBLIC_PURPOSES,
    TARGET_PURPOSE,
    SpotCheckError,
    checklist_template,
    create_plan,
    default_ratio,
    parse_answers,
    record_checklist,
    verify_inspector_record,
    verify_target_record,
)

log = logging.getLogger("civicflow.social_org")
VIEW_ROLES = frozenset({"admin", "so_registrar", "city_manager", "inspector"})
MANAGE_ROLES = frozenset({"admin", "so_registrar"})
PAGE_SIZE = 30
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
LABELS = {"ORG_TYPES": ORG_TYPES, "CREDIT_STATUSES": CREDIT_STATUSES, "CONCLUSIONS": CONCLUSIONS,
          "INSPECTION_STATUSES": INSPECTION_STATUSES, "OUTCOMES": OUTCOMES, "PLAN_TYPES": PLAN_TYPES,
          "CAMPAIGN_STATUSES": CAMPAIGN_STATUSES, "REVOCATION_STAGES": REVOCATION_STAGES}
_background: set[asyncio.Task[Any]] = set()  # keep launches referenced until they finish


def _require(actor: Actor, roles: frozenset[str]) -> None:
    if not actor.roles & roles:
        raise HTTPException(403, "您没有社会组织管理的权限。")


def _today(request: Request) -> date:
    return local_date(ctx_of(request).engine.clock.now())


def _int(value: object, default: int = 0) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


async def _visible_org(actor: Actor, org_id: int) -> SocialOrganization:
    org = await SocialOrganization.get_or_none(id=org_id)
    if org is None or not authz.can_see_path(actor, org.authority_path):
        raise HTTPException(404, "社会组织不存在或不在您的管理范围内。")
    return org


# -- register ------------------------------------------------------------------------------------------------------

@login_required
async def org_list(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    q = request.query_params
    params = {"q": q.get("q", ""), "type": q.get("type", ""), "credit": q.get("credit", ""),
              "authority": q.get("authority", "")}
    qs = search(scoped(actor.org_path), params["q"])
    if params["type"] in ORG_TYPES:
        qs = qs.filter(org_type=params["type"])
    if params["credit"] in CREDIT_STATUSES:
        qs = qs.filter(credit_status=params["credit"])
    authorities = await authority_units(actor.org_path)
    if params["authority"] in authorities:
        qs = qs.filter(authority_code=params["authority"])
    total = await qs.count()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_no = min(max(1, _int(q.get("page", "1"), 1)), pages)
    rows = await qs.order_by("authority_code", "name").offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return page(request, "social_org_orgs.html", {
        "rows": rows, "total": total, "page": page_no, "pages": pages, "params": params,
        "authorities": authorities, "can_manage": bool(actor.roles & MANAGE_ROLES), **LABELS,
        "query": lambda **kw: urlencode({**params, **kw}),
    }, block="org_list")


@login_required
async def org_detail(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    org = await _visible_org(actor, _int(request.path_params["org_id"]))
    inspections = await AnnualInspection.filter(organization_id=org.id).order_by("-year")
    targets = await SpotCheckTarget.filter(organization_id=org.id).prefetch_related("plan").order_by("-id")
    ids = [i.instance_id for i in inspections if i.instance_id] + [t.instance_id for t in targets if t.instance_id]
    if ids and await project_ids(ids, ctx_of(request).engine.clock.now()):
        org = await _visible_org(actor, org.id)
        inspections = await AnnualInspection.filter(organization_id=org.id).order_by("-year")
        targets = await SpotCheckTarget.filter(organization_id=org.id).prefetch_related("plan").order_by("-id")
    authority = await OrgUnit.get_or_none(code=org.authority_code)
    return page(request, "social_org_org.html", {
        "org": org, "authority": authority, "inspections": inspections, "targets": targets,
        "entries": await CreditListEntry.filter(organization_id=org.id).order_by("-entered_on", "-id"),
        "cases": await RevocationCase.filter(organization_id=org.id).order_by("-year"),
        "can_manage": bool(actor.roles & MANAGE_ROLES), **LABELS})


@login_required
async def org_import(request: Request, actor: Actor) -> Response:
    _require(actor, MANAGE_ROLES)
    report = None
    error = None
    status = 200
    if request.method == "POST":
        form = await request.form()
        try:
            name, content = await read_upload(form, MAX_UPLOAD_BYTES, missing="请选择要导入的 .xlsx 或 .csv 文件。",
                                              too_big="文件过大(上限 5 MB)。")
            report = await import_register(name, content, scope_path=actor.org_path, today=_today(request))
        except UploadError as exc:
            error, status = str(exc), 422
        except ImportFileError as exc:
            error, status = f"导入失败,未做任何更改:{exc}", 422
        else:
            status = 200 if not report.errors else 422 if not report.ok else 200
    return page(request, "social_org_import.html", {"report": report, "error": error},
                status_code=status)


@login_required
async def org_new(request: Request, actor: Actor) -> Response:
    _require(actor, MANAGE_ROLES)
    authorities = await authority_units(actor.org_path)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        values = {k: str(form.get(k, "")) for k in ("uscc", "name", "org_type", "authority_code", "supervisor_unit",
                                                     "registration_date", "legal_representative", "contact_phone",
                                                     "address")}
        clean, errors = validate_org(values, authorities, _today(request))
        if clean is not None and await SocialOrganization.exists(uscc=clean.uscc):
            errors = {"uscc": "该统一社会信用代码已在登记库中"}
        if clean is not None and not errors:
            org = await SocialOrganization.create(**clean.fields())
            flash(request, f"已登记:{org.name}")
            return RedirectResponse(f"/social-org/orgs/{org.id}", status_code=303)
        status = 422
    return page(request, "social_org_new.html", {"values": values, "errors": errors, "authorities": authorities,
                                                  **LABELS}, status_code=status)


@login_required
async def org_template(request: Request, actor: Actor) -> Response:
    _require(actor, MANAGE_ROLES)
    return Response(template_xlsx(), media_type=XLSX_MIME,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''social_org_template.xlsx"})


@login_required
async def org_export(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    authorities = await authority_units(actor.org_path)
    rows = await scoped(actor.org_path).order_by("authority_code", "name")
    return Response(export_xlsx(rows, {c: o.name for c, o in authorities.items()}), media_type=XLSX_MIME,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''social_orgs.xlsx"})


# -- annual inspection campaigns ------------------------------------------------------------------------------------

async def _run_launch(engine: Any, campaign_id: int, actor: str) -> None:
    try:
        await campaigns.launch(engine, campaign_id, actor=actor)
    except Exception:  # noqa: BLE001 - the failure is stored on the campaign row and shown on the page
        log.exception("campaign %s launch failed", campaign_id)


@login_required
async def campaign_list(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    engine = ctx_of(request).engine
    errors: dict[str, str] = {}
    values = {"year": str(campaigns.campaign_year_default(engine.clock.now())), "authority_code": actor.org_code}
    status = 200
    authorities = await authority_units(actor.org_path)
    if request.method == "POST":
        _require(actor, MANAGE_ROLES)
        form = await request.form()
        values = {"year": str(form.get("year", "")), "authority_code": str(form.get("authority_code", ""))}
        year = _int(values["year"])
        authority = authorities.get(values["authority_code"])
        if not 2000 <= year <= local_date(engine.clock.now()).year:
            errors["year"] = "请填写有效的年检年度(不晚于今年)。"
        if authority is None:
            errors["authority_code"] = "请选择您管理范围内的登记管理机关。"
        elif await AnnualCampaign.exists(year=year, authority_code=authority.code):
            errors["year"] = "该机关本年度的年检已经发起。"
        if not errors and authority is not None:
            campaign = await campaigns.open_campaign(year, authority, actor.username)
            task = asyncio.create_task(_run_launch(engine, campaign.id, actor.username))
            _background.add(task)
            task.add_done_callback(_background.discard)
            flash(request, f"已发起 {year} 年度年检,正在为应参检的社会组织逐一启动年检流程。")
            return RedirectResponse(f"/social-org/campaigns/{campaign.id}", status_code=303)
        status = 422
    rows = await AnnualCampaign.filter(authority_path__startswith=actor.org_path).order_by("-year", "authority_code")
    rates = {r.id: await kpi.inspection_rate(r.year, r.authority_path) for r in rows}
    return page(request, "social_org_campaigns.html", {
        "rows": rows, "rates": rates, "authorities": authorities, "values": values, "errors": errors,
        "can_manage": bool(actor.roles & MANAGE_ROLES), **LABELS}, status_code=status)


async def _visible_campaign(actor: Actor, campaign_id: int) -> AnnualCampaign:
    row = await AnnualCampaign.get_or_none(id=campaign_id)
    if row is None or not authz.can_see_path(actor, row.authority_path):
        raise HTTPException(404, "年检活动不存在。")
    return row


@login_required
async def campaign_detail(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    campaign = await _visible_campaign(actor, _int(request.path_params["campaign_id"]))
    counts = {}
    for key in INSPECTION_STATUSES:
        counts[key] = await AnnualInspection.filter(campaign_id=campaign.id, status=key).count()
    conclusions = {k: await AnnualInspection.filter(campaign_id=campaign.id, conclusion=k).count()
                   for k in CONCLUSIONS}
    return page(request, "social_org_campaign.html", {
        "c": campaign, "counts": counts, "conclusions": conclusions,
        "rate": await kpi.inspection_rate(campaign.year, campaign.authority_path), **LABELS}, block="progress")


# -- spot checks ----------------------------------------------------------------------------------------------------

@login_required
async def plan_list(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    engine = ctx_of(request).engine
    authorities = await authority_units(actor.org_path)
    year_now = local_date(engine.clock.now()).year
    values = {"year": str(year_now), "authority_code": actor.org_code, "plan_type": "random", "ratio": "",
              "check_mode": "site", "departments": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        _require(actor, MANAGE_ROLES)
        form = await request.form()
        values = {k: str(form.get(k, "")).strip() for k in values}
        year = _int(values["year"])
        authority = authorities.get(values["authority_code"])
        if not year_now - 1 <= year <= year_now + 1:
            errors["year"] = "抽查年度应为去年、今年或明年。"
        if authority is None:
            errors["authority_code"] = "请选择您管理范围内的登记管理机关。"
        if values["plan_type"] not in PLAN_TYPES:
            errors["plan_type"] = "请选择抽查类型。"
        if values["check_mode"] not in ("desk", "site"):
            errors["check_mode"] = "请选择检查方式。"
        ratio: float | None = None
        if values["ratio"]:
            try:
                ratio = float(values["ratio"]) / 100
                if not 0 < ratio <= 1:
                    raise ValueError
            except ValueError:
                errors["ratio"] = "抽查比例应为 0-100 之间的百分数,例如 4。"
        if authority is not None and ratio is not None and not errors:
            minimum = default_ratio(values["plan_type"], authority.level)
            if ratio < minimum:
                errors["ratio"] = f"抽查比例不得低于 {minimum * 100:g}%。"
        if not errors and authority is not None:
            try:
                result = await create_plan(
                    engine, year=year, authority=authority, plan_type=values["plan_type"],
                    ratio=ratio or default_ratio(values["plan_type"], authority.level), actor=actor.username,
                    check_mode=values["check_mode"], departments=values["departments"])
            except SpotCheckError as exc:
                errors["ratio"] = str(exc)
            else:
                flash(request, f"已抽取 {len(result.targets)} 个检查对象,并为每个对象随机抽取检查人员。")
                return RedirectResponse(f"/social-org/spot-checks/{result.plan.id}", status_code=303)
        status = 422
    rows = await SpotCheckPlan.filter(authority_path__startswith=actor.org_path).order_by("-year", "-id")
    return page(request, "social_org_plans.html", {
        "rows": rows, "authorities": authorities, "values": values, "errors": errors,
        "spot": await kpi.spot_check_ratio(year_now, actor.org_path),
        "joint": await kpi.joint_check_ratio(year_now, actor.org_path), "year": year_now,
        "findings_open": await finding_rules.in_scope(actor.org_path).filter(status="open").count(),
        "findings_overdue": await finding_rules.overdue(finding_rules.in_scope(actor.org_path),
                                                        _today(request)).count(),
        "can_manage": bool(actor.roles & MANAGE_ROLES), **LABELS}, status_code=status)


@login_required
async def plan_detail(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    plan = await SpotCheckPlan.get_or_none(id=_int(request.path_params["plan_id"]))
    if plan is None or not authz.can_see_path(actor, plan.authority_path):
        raise HTTPException(404, "抽查计划不存在。")
    targets = await SpotCheckTarget.filter(plan_id=plan.id).prefetch_related("organization").order_by("rank")
    ids = [t.instance_id for t in targets if t.instance_id]
    if ids and await project_ids(ids, ctx_of(request).engine.clock.now()):
        targets = await SpotCheckTarget.filter(plan_id=plan.id).prefetch_related("organization").order_by("rank")
    inspector_ids = {i for t in targets for i in [*t.inspectors, *t.recused]}
    inspectors = {i.id: i for i in await Inspector.filter(id__in=sorted(inspector_ids))}
    return page(request, "social_org_plan.html", {"plan": plan, "targets": targets, "inspectors": inspectors,
                                                   **LABELS})


async def _checklist_task(target: SpotCheckTarget) -> HumanTask | None:
    if not target.instance_id:
        return None
    return await HumanTask.filter(instance_id=target.instance_id, bpmn_id="Task_checklist",
                                  state__in=authz.OPEN_STATES).first()


async def _collect_evidence(request: Request, form: FormData, template: dict[str, Any], target: SpotCheckTarget,
                            task: HumanTask, actor: Actor) -> tuple[dict[str, list[Attachment]], dict[str, str]]:
    """Per evidence item: the files kept from an earlier (refused) submission plus the ones uploaded now, each
    stored at once as an attachment of the checklist task (so a refused form loses no photo). Kept ids must be
    attachments of this target's instance; a bad file is reported by name and the others are kept."""
    store = store_of(request)
    instance = await ProcessInstance.get(id=target.instance_id)
    now = ctx_of(request).engine.clock.now()
    evidence: dict[str, list[Attachment]] = {}
    errors: dict[str, str] = {}
    for item in template["items"]:
        if item["kind"] != "evidence":
            continue
        code = item["code"]
        kept = sorted({_int(v) for v in form.getlist(f"{code}__ids") if isinstance(v, str)} - {0})
        rows = list(await Attachment.filter(id__in=kept, instance_id=str(instance.id)).order_by("id")) if kept else []
        accept = item.get("accept") or []
        problems = []
        for upload in form.getlist(code):
            if not isinstance(upload, UploadFile) or not upload.filename:
                continue
            name = collab.clean_filename(upload.filename) or "文件"
            content = await upload.read(store.max_bytes + 1)
            if accept and collab.extension(name) not in accept:
                problems.append(f"「{name}」不是允许的类型(仅限 {'、'.join(accept)}),未保存")
                continue
            try:
                row, _ = await collab.add_attachment(store, instance=instance, task=task, filename=name,
                                                     content=content, actor=actor.username, now=now)
            except FormValidationError as exc:
                problems.append(f"「{name}」" + message_zh(exc.errors[0], store, len(content)))
                continue
            if row.id not in {r.id for r in rows}:
                rows.append(row)
        max_files = int(item.get("max_files", 10))
        if len(rows) > max_files:
            problems.append(f"最多保留 {max_files} 个文件,请取消勾选多余的文件")
        if problems:
            errors[code] = ";".join(problems)
        evidence[code] = rows
    return evidence, errors


async def _record_evidence(template: dict[str, Any], answers: dict[str, Any]) -> dict[str, list[Attachment]]:
    ids = {code: answers.get(code) or [] for code in (i["code"] for i in template["items"] if i["kind"] == "evidence")}
    rows = {a.id: a for a in await Attachment.filter(id__in=sorted({i for v in ids.values() for i in v}))}
    return {code: [rows[i] for i in v if i in rows] for code, v in ids.items()}


@login_required
async def checklist_page(request: Request, actor: Actor) -> Response:
    target = await SpotCheckTarget.get_or_none(id=_int(request.path_params["target_id"])).prefetch_related(
        "organization", "plan")
    if target is None or not authz.can_see_path(actor, target.plan.authority_path):
        raise HTTPException(404, "检查对象不存在。")
    if target.instance_id and await project_ids([target.instance_id], ctx_of(request).engine.clock.now()):
        await target.refresh_from_db()  # the notice served since the last sweep
    template = await checklist_template()
    task = await _checklist_task(target)
    can_act = task is not None and authz.can_act(actor, task)
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    evidence: dict[str, list[Attachment]] = {}
    status = 200
    if request.method == "POST":
        if task is None or not can_act:
            raise HTTPException(403, "该检查表当前不能由您填写(需检查人员角色,且检查通知书已送达)。")
        form = await request.form()
        values = {k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}
        evidence, file_errors = await _collect_evidence(request, form, template.body, target, task, actor)
        answers, errors = parse_answers(template.body, values, {k: [a.id for a in v] for k, v in evidence.items()})
        errors.update(file_errors)
        if not errors:
            try:
                record, findings = await record_checklist(ctx_of(request).engine, target, str(task.id), answers,
                                                          actor.username)
            except SpotCheckError as exc:
                errors[""] = str(exc)
            except (ConflictError, InvalidTaskState, NotFound):
                errors[""] = "该检查表已被他人提交或流程状态已变化,请刷新后重试。"
            else:
                await project_ids([target.instance_id or ""], ctx_of(request).engine.clock.now())
                flash(request, f"检查表已提交,发现问题 {len(findings)} 项。")
                return RedirectResponse(f"/social-org/spot-checks/targets/{target.id}/checklist", status_code=303)
        status = 422
    saved = await ChecklistRecord.get_or_none(id=target.checklist_record_id) if target.checklist_record_id else None
    finding_rows = await FindingRecord.filter(record_id=saved.id).order_by("id") if saved else []
    record_template = (await ChecklistTemplate.get(id=saved.template_id)).body if saved else None
    inspectors = await Inspector.filter(id__in=list(target.inspectors))
    return page(request, "social_org_checklist.html", {
        "target": target, "template": template.body, "task": task, "can_act": can_act, "errors": errors,
        "values": values, "evidence": evidence, "record": saved, "finding_rows": finding_rows,
        "record_template": record_template,
        "record_evidence": await _record_evidence(record_template, saved.answers) if saved and record_template
        else {}, "today": _today(request), "inspectors": inspectors, **LABELS}, status_code=status)


# -- inspectors and credit lists --------------------------------------------------------------------------------------

@login_required
async def inspector_list(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    authorities = await authority_units(actor.org_path)
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        _require(actor, MANAGE_ROLES)
        form = await request.form()
        values = {k: str(form.get(k, "")).strip() for k in ("action", "name", "department", "authority_code",
                                                             "username", "inspector_code", "uscc", "reason")}
        if values["action"] == "conflict":
            inspector = await Inspector.get_or_none(code=values["inspector_code"],
                                                    authority_path__startswith=actor.org_path)
            org = await scoped(actor.org_path).get_or_none(uscc=values["uscc"].upper())
            if inspector is None:
                errors["inspector_code"] = "检查人员编号不存在或不在您的管理范围内。"
            if org is None:
                errors["uscc"] = "统一社会信用代码不在本机关登记库中。"
            if len(values["reason"]) < 2:
                errors["reason"] = "请填写利害关系说明。"
            if not errors and inspector is not None and org is not None:
                await InspectorConflict.get_or_create(inspector_id=inspector.id, organization_id=org.id,
                                                      defaults={"reason": values["reason"][:200]})
                flash(request, f"已登记回避:{inspector.code} 与 {org.name}")
                return RedirectResponse("/social-org/inspectors", status_code=303)
        else:
            authority = authorities.get(values["authority_code"])
            if not 2 <= len(values["name"]) <= 50:
                errors["name"] = "请填写检查人员姓名。"
            if authority is None:
                errors["authority_code"] = "请选择您管理范围内的登记管理机关。"
            if not errors and authority is not None:
                n = await Inspector.filter(authority_code=authority.code).count() + 1
                code = f"JC{authority.code}{n:02d}"
                while await Inspector.exists(code=code):
                    n += 1
                    code = f"JC{authority.code}{n:02d}"
                await Inspector.create(code=code, name=values["name"], department=values["department"] or "民政局",
                                       authority_code=authority.code, authority_path=authority.path,
                                       username=values["username"] or None)
                flash(request, f"已登记检查人员 {code}。")
                return RedirectResponse("/social-org/inspectors", status_code=303)
        status = 422
    rows = await Inspector.filter(authority_path__startswith=actor.org_path).order_by("code")
    conflicts = await InspectorConflict.filter(inspector_id__in=[r.id for r in rows]).prefetch_related(
        "organization", "inspector")
    return page(request, "social_org_inspectors.html", {
        "rows": rows, "conflicts": conflicts, "authorities": authorities, "values": values, "errors": errors,
        "can_manage": bool(actor.roles & MANAGE_ROLES)}, status_code=status)


@login_required
async def credit_remove(request: Request, actor: Actor) -> Response:
    _require(actor, MANAGE_ROLES)
    entry = await CreditListEntry.get_or_none(id=_int(request.path_params["entry_id"])).prefetch_related(
        "organization")
    if entry is None or not authz.can_see_path(actor, entry.organization.authority_path):
        raise HTTPException(404, "名录记录不存在。")
    form = await request.form()
    try:
        await credit.remove_abnormal(entry.id, str(form.get("reason", "")), _today(request))
        flash(request, "已移出活动异常名录。")
    except credit.CreditRuleError as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/social-org/orgs/{entry.organization_id}", status_code=303)


# -- public pages: no login, published fields only --------------------------------------------------------------------

async def public_results(request: Request) -> Response:
    q = request.query_params.get("q", "").strip()
    qs = SpotCheckTarget.filter(published=True)
    if q:
        qs = qs.filter(organization__name__icontains=q)
    rows = await qs.prefetch_related("organization", "plan").order_by("-result_date", "-id").limit(200)
    inspections = await AnnualInspection.filter(published=True).prefetch_related("organization").order_by(
        "-year", "-concluded_on").limit(200)
    revocations = await RevocationCase.filter(stage="announced").prefetch_related("organization").order_by(
        "-announced_on", "-id").limit(200)
    return page(request, "social_org_public_results.html", {"rows": rows, "inspections": inspections, "q": q,
                                                            "revocations": revocations, **LABELS})


async def _public_draw(request: Request) -> DrawRecord:
    record = await DrawRecord.get_or_none(id=_int(request.path_params["draw_id"]))
    if record is None or record.purpose not in PUBLIC_PURPOSES:
        raise HTTPException(404, "抽取记录不存在。")
    return record


async def public_draw(request: Request) -> Response:
    record = await _public_draw(request)
    if record.purpose == TARGET_PURPOSE:
        check = verify_target_record(record)
        names = {o.uscc: o.name for o in await SocialOrganization.filter(uscc__in=list(record.selected))}
    else:
        plan = await SpotCheckPlan.get_or_none(inspector_draw_id=record.id)
        recused: dict[str, list[str]] = {}
        if plan is not None:
            codes = {i.id: i.code for i in await Inspector.filter(authority_code=plan.authority_code)}
            for t in await SpotCheckTarget.filter(plan_id=plan.id).prefetch_related("organization"):
                recused[t.organization.uscc] = [codes[i] for i in t.recused if i in codes]
        check = verify_inspector_record(record, recused)
        names = {}
    return page(request, "social_org_public_draw.html", {"r": record, "check": check, "names": names,
                                                         "is_target": record.purpose == TARGET_PURPOSE})


async def public_draw_population(request: Request) -> Response:
    record = await _public_draw(request)
    return PlainTextResponse("\n".join(sorted(set(record.population))) + "\n")


async def public_credit(request: Request) -> Response:
    q = request.query_params.get("q", "").strip()
    rows: list[SocialOrganization] = []
    if q:
        rows = await search(SocialOrganization.all(), q).order_by("name").limit(50)
    listed = await SocialOrganization.filter(credit_status__in=["abnormal", "serious"]).order_by(
        "credit_status", "name").limit(500)
    entries: dict[int, list[CreditListEntry]] = {}  # open entries (objection links) and, for a search, history
    ids = [o.id for o in listed] + [o.id for o in rows]
    for e in await CreditListEntry.filter(organization_id__in=ids).order_by("-entered_on", "-id") if ids else []:
        entries.setdefault(e.organization_id, []).append(e)
    return page(request, "social_org_public_credit.html", {"rows": rows, "listed": listed, "q": q,
                                                          "entries": entries, **LABELS})


@login_required
async def home(request: Request, actor: Actor) -> Response:
    """The register for registration staff; the findings their unit must carry out for other staff (a township,
    a county or city department named as the owner of a corrective action)."""
    return RedirectResponse("/social-org/orgs" if actor.roles & VIEW_ROLES else "/social-org/findings",
                            status_code=303)


routes = [
    Route("/social-org", home),
    Route("/social-org/orgs", org_list),
    Route("/social-org/orgs/new", org_new, methods=["GET", "POST"]),
    Route("/social-org/orgs/import", org_import, methods=["GET", "POST"]),
    Route("/social-org/orgs/template.xlsx", org_template),
    Route("/social-org/orgs/export.xlsx", org_export),
    Route("/social-org/orgs/{org_id:int}", org_detail),
    Route("/social-org/campaigns", campaign_list, methods=["GET", "POST"]),
    Route("/social-org/campaigns/{campaign_id:int}", campaign_detail),
    Route("/social-org/spot-checks", plan_list, methods=["GET", "POST"]),
    Route("/social-org/spot-checks/{plan_id:int}", plan_detail),
    Route("/social-org/spot-checks/targets/{target_id:int}/checklist", checklist_page, methods=["GET", "POST"]),
    Route("/social-org/inspectors", inspector_list, methods=["GET", "POST"]),
    Route("/social-org/credit/{entry_id:int}/remove", credit_remove, methods=["POST"]),
    Route("/public/social-org/results", public_results),
    Route("/public/social-org/draws/{draw_id:int}", public_draw),
    Route("/public/social-org/draws/{draw_id:int}/population.txt", public_draw_population),
    Route("/public/social-org/credit", public_credit),
]

"""低保 admin pages: the delegation registry (委托审核确认登记) and the assistance standards (保障标准)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from tortoise.expressions import Q

from engine import authz
from engine.authz import Actor
from engine.calendar import SHANGHAI
from engine.models import HumanTask, OrgUnit
from engine.runtime import parse_uuid
from web.admin import admin_required
from web.api import MAX_PAGE_SIZE, ApiError, _int_param, endpoint, json_body, methods
from web.auth import login_required
from web.collab import display_names
from web.render import flash, page
from web.xlsx import xlsx_response
from workflows.common.models import DrawRecord
from workflows.dibao.amount import DEFAULT_BANDS, MAX_BANDS, band_ranges, describe_bands, parse_bands
from workflows.dibao.casefile import (
    amount_on,
    current_amount,
    file_access,
    file_json,
    in_scope,
    is_staff,
    log_view,
    pay_from,
    payment_schedule,
    record_correction,
    summary_json,
)
from workflows.dibao.cases import effective_deadline, extend_deadline
from workflows.dibao.idnumber import mask_id_number
from workflows.dibao.models import (
    AREA_TYPES,
    BENEFIT_TYPES,
    METHODS,
    PAYMENT_CHANGES,
    AssistanceStandard,
    CaseFileView,
    CountyBands,
    CountyMethod,
    Delegation,
    DibaoCase,
    PaymentChange,
    PostAudit,
)
from workflows.dibao.post_audit import OUTCOMES, draw_month, record_outcome

RELATIONS = {"applicant": "申请人本人", "spouse": "配偶", "child": "子女", "parent": "父母",
             "grandparent": "(外)祖父母", "grandchild": "(外)孙子女", "sibling": "兄弟姐妹",
             "other": "其他共同生活成员"}
DECISIONS = {"approve": "予以确认", "refuse": "不予确认", "terminated": "终止", "not_eligible": "不符合条件"}


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


async def validate_delegation(actor: Actor, values: dict[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    errors: dict[str, str] = {}
    if any(len(values.get(k) or "") > 32 for k in ("county_code", "township_code")) or \
            any(len(values.get(k) or "") > 10 for k in ("effective_from", "effective_to")):
        values = {**values, "county_code": "", "township_code": ""}  # cannot exist: reported as unknown below
    county = await authz.visible_org_units(actor).filter(code=values.get("county_code", ""), level="county").first()
    if county is None:
        errors["county_code"] = "请选择您管理范围内的县(区)。"
    township_code = values.get("township_code") or None
    if township_code and county is not None and not await OrgUnit.exists(
            code=township_code, level="township", parent_id=county.code):
        errors["township_code"] = "乡镇(街道)不属于所选县(区)。"
    if values.get("benefit_type") not in BENEFIT_TYPES:
        errors["benefit_type"] = "请选择救助类别。"
    start, end = _date(values.get("effective_from")), _date(values.get("effective_to")) if values.get(
        "effective_to") else None
    if start is None:
        errors["effective_from"] = "请填写有效的生效日期(YYYY-MM-DD)。"
    if values.get("effective_to") and end is None:
        errors["effective_to"] = "截止日期格式无效(YYYY-MM-DD)。"
    elif start and end and end <= start:
        errors["effective_to"] = "截止日期必须晚于生效日期。"
    if not (values.get("document_no") or "").strip():
        errors["document_no"] = "请填写批准文号。"
    clean: dict[str, object] = {"county_code": values.get("county_code"), "township_code": township_code,
                                "benefit_type": values.get("benefit_type"), "effective_from": start,
                                "effective_to": end, "document_no": (values.get("document_no") or "").strip()[:100]}
    return clean, errors


@admin_required
async def delegations(request: Request, actor: Actor) -> Response:
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        values = {k: str(form.get(k, "")) for k in ("county_code", "township_code", "benefit_type",
                                                     "effective_from", "effective_to", "document_no")}
        clean, errors = await validate_delegation(actor, values)
        if not errors:
            await Delegation.create(created_by=actor.username, **clean)  # type: ignore[arg-type]
            flash(request, "已登记委托。此后到达审核确认环节的案件按新登记分派。")
            return RedirectResponse("/dibao/delegations", status_code=303)
        status = 422
    orgs = await authz.visible_org_units(actor).filter(level__in=["county", "township"]).order_by("path")
    counties = [o for o in orgs if o.level == "county"]
    rows = await Delegation.filter(county_code__in=[c.code for c in counties]).order_by("county_code",
                                                                                        "-effective_from")
    return page(request, "dibao_delegations.html", {
        "rows": rows, "orgs": orgs, "counties": counties, "names": {o.code: o.name for o in orgs},
        "errors": errors, "values": values, "benefits": BENEFIT_TYPES}, status_code=status)


@admin_required
async def standards(request: Request, actor: Actor) -> Response:
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        values = {k: str(form.get(k, "")) for k in ("county_code", "area_type", "monthly_amount", "effective_from",
                                                     "document_no")}
        county = values["county_code"] or None
        if county and not await authz.visible_org_units(actor).filter(code=county, level="county").exists():
            errors["county_code"] = "请选择您管理范围内的县(区),或留空表示全市统一标准。"
        if not county and not actor.org_path.count("/") == 2:
            errors["county_code"] = "只有市级管理员可以设置全市统一标准。"
        if values["area_type"] not in AREA_TYPES:
            errors["area_type"] = "请选择城市或农村。"
        try:
            amount = Decimal(values["monthly_amount"])
            if not amount.is_finite() or amount <= 0 or amount > 100000:
                raise InvalidOperation
        except InvalidOperation:
            errors["monthly_amount"] = "请填写大于 0 的金额(元/人·月)。"
        start = _date(values["effective_from"])
        if start is None:
            errors["effective_from"] = "请填写有效的生效日期(YYYY-MM-DD)。"
        if not errors:
            await AssistanceStandard.create(county_code=county, area_type=values["area_type"], benefit_type="dibao",
                                            monthly_amount=amount, effective_from=start,
                                            document_no=values["document_no"].strip()[:100],
                                            created_by=actor.username)
            for refresh in request.app.state.ctx.refreshers:
                await refresh()
            flash(request, "已登记保障标准。")
            return RedirectResponse("/dibao/standards", status_code=303)
        status = 422
    counties = await authz.visible_org_units(actor).filter(level="county").order_by("path")
    rows = await AssistanceStandard.all().order_by("county_code", "area_type", "-effective_from")
    return page(request, "dibao_standards.html", {
        "rows": rows, "counties": counties, "names": {c.code: c.name for c in counties}, "errors": errors,
        "values": values, "areas": AREA_TYPES}, status_code=status)


@login_required
async def cases(request: Request, actor: Actor) -> Response:
    """低保案件台账: overall clock per case, overdue first."""
    if not is_staff(actor):
        raise HTTPException(403, "低保案件台账仅向低保经办、审核人员和上级管理人员开放。")
    ctx = request.app.state.ctx
    now = ctx.engine.clock.now()
    qs = DibaoCase.filter(org_path__startswith=actor.org_path)
    view = request.query_params.get("view", "open")
    if view == "overdue":
        qs = qs.filter(closed_at=None).filter(
            Q(extended_deadline_at__lt=now) | Q(extended_deadline_at=None, deadline_at__lt=now))
    elif view == "closed":
        qs = qs.exclude(closed_at=None)
    else:
        qs = qs.filter(closed_at=None)
    rows = await qs.order_by("deadline_at", "business_key").limit(500)
    changes: dict[str, list[PaymentChange]] = {}
    for change in await PaymentChange.filter(case_id__in=[r.instance_id for r in rows if r.decision == "approve"]
                                             ).order_by("created_at", "id"):
        changes.setdefault(change.case_id, []).append(change)
    current = {r.instance_id: schedule[-1] for r in rows if (schedule := payment_schedule(r, changes.get(
        r.instance_id, [])))}
    names = dict(await OrgUnit.filter(code__in={r.township_code for r in rows if r.township_code}).values_list(
        "code", "name"))
    # 一次性告知书 exists only once the 一次性告知 step was done: link it for those cases only (else a 404)
    notified = set(await HumanTask.filter(
        instance_id__in=[i for r in rows if r.accepted_at is None and (i := parse_uuid(r.instance_id))],
        bpmn_id="Task_notify_missing",
        state="DONE").values_list("instance_id", flat=True))
    return page(request, "dibao_cases.html", {
        "rows": rows, "now": now, "view": view, "names": names, "can_extend": actor.is_supervisor,
        "deadline": effective_deadline, "decisions": DECISIONS, "mask": mask_id_number, "current": current,
        "can_view_log": bool(VIEW_LOG_ROLES & actor.roles), "notified": {str(i) for i in notified}})


async def _case_in_path(request: Request) -> DibaoCase | None:
    """The case named by the path, or None: an id longer than a UUID or holding NUL names nothing (PostgreSQL
    would refuse the NUL with an error rather than find no row)."""
    raw = request.path_params["instance_id"]
    return await DibaoCase.get_or_none(instance_id=raw) if len(raw) <= 36 and "\x00" not in raw else None


@login_required
async def case_file(request: Request, actor: Actor) -> Response:
    """完整家庭档案: actors on the case and supervisors in scope only; each view is logged."""
    ctx = request.app.state.ctx
    case = await _case_in_path(request)
    if case is None or not in_scope(actor, case):
        raise HTTPException(404, "案件不存在。")
    basis = await file_access(actor, case)
    if basis is None:
        raise HTTPException(403, "完整家庭档案仅限本案经办人员和上级审核人员查看。")
    now = ctx.engine.clock.now()
    await log_view(case, actor, basis, "web", now)
    changes = await PaymentChange.filter(case_id=case.instance_id).order_by("created_at", "id")
    audits = await PostAudit.filter(case_id=case.instance_id).order_by("period")
    views = await CaseFileView.filter(case_id=case.instance_id).order_by("-viewed_at", "-id").limit(200) \
        if basis == "supervisor" else []
    codes = {c for c in (case.township_code, case.county_code) if c} | {v.viewer_org for v in views}
    names = dict(await OrgUnit.filter(code__in=sorted(codes)).values_list("code", "name"))
    return page(request, "dibao_case.html", {
        "case": case, "names": names, "deadline": effective_deadline(case), "now": now, "decisions": DECISIONS,
        "changes": changes, "change_kinds": PAYMENT_CHANGES, "current": current_amount(case, changes),
        "schedule": payment_schedule(case, changes),
        "audits": audits, "outcomes": OUTCOMES, "views": views, "basis": basis, "relations": RELATIONS,
        "people": await display_names({case.decided_by or "", *(c.created_by for c in changes),
                                       *(v.viewer for v in views)})})


@login_required
async def extend(request: Request, actor: Actor) -> Response:
    if not actor.is_supervisor:
        raise HTTPException(403, "只有县级审核人员可以延长办理期限。")
    case = await _case_in_path(request)
    if case is None or not in_scope(actor, case):
        raise HTTPException(404, "案件不存在。")
    form = await request.form()
    try:
        extend_deadline(case, str(form.get("reason", "")), request.app.state.ctx.engine.calendar,
                        request.app.state.ctx.engine.clock.now())
    except ValueError as exc:
        flash(request, str(exc), "error")
    else:
        await case.save()
        flash(request, f"{case.business_key} 办理期限已延长至 45 个工作日。")
    return RedirectResponse("/dibao/cases", status_code=303)


@login_required
async def notice(request: Request, actor: Actor) -> Response:
    """确认通知书 / 不予确认告知书, printable, with the amount explanation or the reasons and appeal rights."""
    case = await _case_in_path(request)
    if case is None or not in_scope(actor, case):
        raise HTTPException(404, "案件不存在。")
    if case.decision not in ("approve", "refuse") or case.closed_at is None:
        raise HTTPException(404, "案件尚未作出确认结论,暂无通知书。")
    instance = await request.app.state.ctx.engine.get_instance(case.instance_id)
    org = await OrgUnit.get_or_none(code=case.county_code or "")
    decided = case.decided_at.astimezone(SHANGHAI) if case.decided_at else None
    changes = await PaymentChange.filter(case_id=case.instance_id).order_by("created_at", "id")
    return page(request, "dibao_notice.html", {"case": case, "data": instance.data, "county": org,
                                               "decided": decided, "pay_from": pay_from(case),
                                               "schedule": payment_schedule(case, changes)})


@login_required
async def change_notice(request: Request, actor: Actor) -> Response:
    """变更通知书 of one payment change (停发 / 调整金额): amounts, date, reason, 复议/诉讼 rights; printable."""
    case = await _case_in_path(request)
    if case is None or not in_scope(actor, case):
        raise HTTPException(404, "案件不存在。")
    raw = request.path_params["change_id"]
    change = await PaymentChange.get_or_none(id=int(raw), case_id=case.instance_id) \
        if raw.isdecimal() and len(raw) < 10 else None
    if change is None:
        raise HTTPException(404, "该保障金变更不存在。")
    audit = await PostAudit.get_or_none(id=change.audit_id) if change.audit_id else None
    org = await OrgUnit.get_or_none(code=case.county_code or "")
    return page(request, "dibao_change_notice.html", {
        "case": case, "change": change, "audit": audit, "county": org,
        "issued": change.created_at.astimezone(SHANGHAI)})


@login_required
async def intake_notice(request: Request, actor: Actor) -> Response:
    """受理通知书 (after 受理) or 一次性告知书 (the latest list of missing materials), printable."""
    from engine.runtime import completed_task_data

    kind = request.path_params["kind"]
    case = await _case_in_path(request)
    if case is None or not in_scope(actor, case) or kind not in ("accept", "missing"):
        raise HTTPException(404, "案件不存在。")
    engine = request.app.state.ctx.engine
    instance = await engine.get_instance(case.instance_id)
    bpmn_id = "Task_accept" if kind == "accept" else "Task_notify_missing"
    data = await completed_task_data(engine, instance, bpmn_id)
    if data is None or (kind == "accept" and case.accepted_at is None):
        raise HTTPException(404, "该案件尚无此文书。")
    township = await OrgUnit.get_or_none(code=case.township_code or "")
    return page(request, "dibao_intake_notice.html", {
        "case": case, "kind": kind, "data": data, "township": township, "instance": instance,
        "deadline": effective_deadline(case)})


async def publication(request: Request) -> Response:
    """Public list (no login) of approved households: name, household size and amount only (低保办法 24).

    The amount is the one in force today after recorded payment changes; a household whose payment has been
    stopped is no longer listed from the stop date."""
    county = request.query_params.get("county", "")
    counties = await OrgUnit.filter(level="county").order_by("code")
    if county not in {c.code for c in counties}:  # anything else names no county (and may not fit the column)
        county = ""
    qs = DibaoCase.filter(decision="approve").exclude(closed_at=None)
    if county:
        qs = qs.filter(county_code=county)
    cases = await qs.order_by("township_code", "business_key")
    changes: dict[str, list[PaymentChange]] = {}
    for change in await PaymentChange.filter(case_id__in=[c.instance_id for c in cases]).order_by("created_at", "id"):
        changes.setdefault(change.case_id, []).append(change)
    today = request.app.state.ctx.engine.clock.now().astimezone(SHANGHAI).date()
    rows = [{"applicant_name": c.applicant_name, "household_size": c.household_size, "monthly_amount": amount,
             "township_code": c.township_code} for c in cases
            if (amount := amount_on(c, changes.get(c.instance_id, []), today)) is not None]
    names = dict(await OrgUnit.filter(level__in=["county", "township"]).values_list("code", "name"))
    return page(request, "dibao_publication.html", {"rows": rows, "names": names, "county": county,
                                                    "counties": counties})


@login_required
async def post_audit(request: Request, actor: Actor) -> Response:
    if not actor.is_supervisor:
        raise HTTPException(403, "只有县级审核人员可以开展事后抽查审计。")
    ctx = request.app.state.ctx
    now = ctx.engine.clock.now()
    counties = await authz.visible_org_units(actor).filter(level="county").order_by("code")
    error = None
    status = 200
    if request.method == "POST":
        form = await request.form()
        try:
            if form.get("action") == "draw":
                county = str(form.get("county_code", ""))
                if county not in {c.code for c in counties}:
                    raise ValueError("请选择您管理范围内的县(区)。")
                drawn = await draw_month(county, str(form.get("period", "")), actor.username, now)
                flash(request, f"已抽取 {len(drawn)} 件(含必审件)。抽取种子与名单已留存,可复核。")
            else:
                raw = str(form.get("audit_id", ""))
                audit = await PostAudit.get_or_none(id=int(raw)) if raw.isdecimal() and len(raw) <= 9 else None
                if audit is None or audit.county_code not in {c.code for c in counties}:
                    raise ValueError("审计记录不存在。")
                if form.get("outcome") == "corrected":
                    await record_correction(audit, str(form.get("change_kind", "")), str(form.get("new_amount", "")),
                                            str(form.get("effective_from", "")), str(form.get("opinion", "")),
                                            actor.username, now)
                    flash(request, "已记录纠正结论及保障金变更。")
                else:
                    await record_outcome(audit, str(form.get("outcome", "")), str(form.get("opinion", "")),
                                         actor.username, now)
                    flash(request, "已记录审计结论。")
            return RedirectResponse("/dibao/post-audit", status_code=303)
        except ValueError as exc:
            error, status = str(exc), 422
    audits = await PostAudit.filter(county_code__in=[c.code for c in counties]).prefetch_related("case").order_by(
        "-period", "township_code")
    draws = {d.id: d for d in await DrawRecord.filter(id__in={a.draw_id for a in audits if a.draw_id})}
    notices = {c.audit_id: c for c in await PaymentChange.filter(audit_id__in=[a.id for a in audits
                                                                               if a.outcome == "corrected"])}
    names = dict(await OrgUnit.filter(level__in=["county", "township"]).values_list("code", "name"))
    return page(request, "dibao_post_audit.html", {
        "audits": audits, "draws": draws, "names": names, "counties": counties, "error": error,
        "outcomes": OUTCOMES, "default_period": f"{now.astimezone(SHANGHAI):%Y-%m}",
        "change_kinds": PAYMENT_CHANGES, "notices": notices}, status_code=status)


async def _methods_view(request: Request, actor: Actor, errors: dict[str, str], values: dict[str, str],
                        band_errors: list[str], band_values: dict[str, str], status: int) -> Response:
    counties = await authz.visible_org_units(actor).filter(level="county").order_by("path")
    codes = [c.code for c in counties]
    rows = await CountyMethod.filter(county_code__in=codes).order_by("county_code", "-effective_from", "-id")
    band_rows = await CountyBands.filter(county_code__in=codes).order_by("county_code", "-effective_from", "-id")
    if not band_values:  # the form starts from the default table
        band_values = {f"{k}_{i}": r[k] for i, r in enumerate(band_ranges(DEFAULT_BANDS))
                       for k in ("from", "to", "pay")}
    return page(request, "dibao_methods.html", {
        "rows": rows, "counties": counties, "names": {c.code: c.name for c in counties}, "errors": errors,
        "values": values, "methods": METHODS, "band_rows": band_rows, "band_errors": band_errors,
        "band_values": band_values, "band_slots": range(MAX_BANDS), "default_bands": describe_bands(DEFAULT_BANDS)},
        status_code=status)


@admin_required
async def methods_page(request: Request, actor: Actor) -> Response:
    """保障金计算方法: per county, gap or banded, from a date; who set it and when is kept."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        counties = await authz.visible_org_units(actor).filter(level="county").order_by("path")
        form = await request.form()
        values = {k: str(form.get(k, "")) for k in ("county_code", "method", "effective_from", "document_no")}
        if values["county_code"] not in {c.code for c in counties}:
            errors["county_code"] = "请选择您管理范围内的县(区)。"
        if values["method"] not in METHODS:
            errors["method"] = "请选择差额法或分档法。"
        start = _date(values["effective_from"])
        if start is None:
            errors["effective_from"] = "请填写有效的生效日期(YYYY-MM-DD)。"
        if len(values["document_no"]) > 100:
            errors["document_no"] = "文号不能超过 100 个字。"
        if not errors:
            await CountyMethod.create(county_code=values["county_code"], method=values["method"],
                                      effective_from=start, document_no=values["document_no"].strip(),
                                      created_by=actor.username)
            for refresh in request.app.state.ctx.refreshers:
                await refresh()
            flash(request, "已登记计算方法。此后核定金额的案件按新方法计算。")
            return RedirectResponse("/dibao/methods", status_code=303)
        status = 422
    return await _methods_view(request, actor, errors, values, [], {}, status)


@admin_required
async def bands_page(request: Request, actor: Actor) -> Response:
    """分档表: per county, from a date, validated (contiguous, ascending, shares between 0 and 1)."""
    counties = await authz.visible_org_units(actor).filter(level="county").order_by("path")
    form = await request.form()
    keys = ["county_code", "effective_from", "document_no"] + [f"{k}_{i}" for i in range(MAX_BANDS)
                                                               for k in ("from", "to", "pay")]
    values = {k: str(form.get(k, ""))[:100] for k in keys}
    errors: list[str] = []
    if values["county_code"] not in {c.code for c in counties}:
        errors.append("请选择您管理范围内的县(区)。")
    start = _date(values["effective_from"])
    if start is None:
        errors.append("请填写有效的生效日期(YYYY-MM-DD)。")
    bands, band_errors = parse_bands([(values[f"from_{i}"], values[f"to_{i}"], values[f"pay_{i}"])
                                      for i in range(MAX_BANDS)])
    errors += band_errors
    if errors:
        return await _methods_view(request, actor, {}, {}, errors, values, 422)
    await CountyBands.create(county_code=values["county_code"], effective_from=start, bands=band_ranges(bands),
                             document_no=values["document_no"].strip(), created_by=actor.username)
    for refresh in request.app.state.ctx.refreshers:
        await refresh()
    flash(request, "已登记分档表。决定日在生效日期及以后、采用分档法的案件按此表核定金额。")
    return RedirectResponse("/dibao/methods", status_code=303)


VIEW_LOG_ROLES = authz.SUPERVISOR_ROLES | {"township_reviewer"}
VIEW_LOG_PAGE = 200
VIEW_LOG_EXPORT_MAX = 20000
BASES = {"supervisor": "上级审核", "actor": "本案经办"}
CHANNELS = {"web": "网页", "api": "接口"}


@login_required
async def view_log(request: Request, actor: Actor) -> Response:
    """档案查阅记录: views of household files of cases in the supervisor's scope, by viewer and date; XLSX."""
    if not VIEW_LOG_ROLES & actor.roles:
        raise HTTPException(403, "只有审核人员和上级管理人员可以查看档案查阅记录。")
    q = request.query_params
    viewer = q.get("viewer", "").strip()[:64]
    errors: dict[str, str] = {}
    day_from, day_to = (_date(q.get(k)) if q.get(k) else None for k in ("from", "to"))
    if q.get("from") and day_from is None:
        errors["from"] = "起始日期无效,请按 YYYY-MM-DD 填写。"
    if q.get("to") and day_to is None:
        errors["to"] = "截止日期无效,请按 YYYY-MM-DD 填写。"
    if day_from and day_to and day_to < day_from:
        errors["to"] = "截止日期不能早于起始日期。"
    scoped = CaseFileView.filter(case__org_path__startswith=actor.org_path)
    qs = scoped
    if viewer:
        qs = qs.filter(viewer=viewer)
    if day_from and "from" not in errors:
        qs = qs.filter(viewed_at__gte=datetime.combine(day_from, time(0), SHANGHAI))
    if day_to and not errors.get("to"):
        qs = qs.filter(viewed_at__lt=datetime.combine(day_to + timedelta(days=1), time(0), SHANGHAI))
    export = q.get("format") == "xlsx"
    if export and errors:
        raise HTTPException(400, next(iter(errors.values())))
    total = await qs.count()
    rows = await qs.select_related("case").order_by("-viewed_at", "-id").limit(
        VIEW_LOG_EXPORT_MAX if export else VIEW_LOG_PAGE)
    codes = {r.viewer_org for r in rows} | {r.case.township_code for r in rows if r.case.township_code}
    names = dict(await OrgUnit.filter(code__in=sorted(codes)).values_list("code", "name"))
    if export:
        return xlsx_response("dibao-case-file-views.xlsx", "档案查阅记录",
                             ["查阅时间", "查阅人", "所属单位", "业务编号", "申请人", "乡镇(街道)", "查阅依据", "渠道"],
                             [[f"{r.viewed_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}", r.viewer,
                               names.get(r.viewer_org, r.viewer_org), r.case.business_key or r.case_id,
                               r.case.applicant_name or "", names.get(r.case.township_code or "", ""),
                               BASES.get(r.basis, r.basis), CHANNELS.get(r.channel, r.channel)] for r in rows])
    viewers = sorted({str(v) for v in await scoped.distinct().values_list("viewer", flat=True)})
    return page(request, "dibao_views.html", {
        "rows": rows, "total": total, "names": names, "viewers": viewers, "errors": errors,
        "people": await display_names(set(viewers)),
        "values": {"viewer": viewer, "from": q.get("from", "")[:10], "to": q.get("to", "")[:10]},
        "bases": BASES, "channels": CHANNELS, "limit": VIEW_LOG_PAGE,
        "export_query": urlencode({k: v for k, v in (("viewer", viewer), ("from", q.get("from", "")[:10]),
                                                     ("to", q.get("to", "")[:10])) if v} | {"format": "xlsx"})},
        status_code=400 if errors else 200)


# The page's Chinese messages, as precise codes and English messages for the API.
API_ERRORS = {
    "county_code": ("unknown", "county_code is not a county in your scope"),
    "township_code": ("unknown", "township_code is not a township of that county"),
    "benefit_type": ("enum", "benefit_type must be dibao, tekun or linshi"),
    "effective_from": ("format", "effective_from must be a date (YYYY-MM-DD)"),
    "effective_to": ("order", "effective_to must be a date after effective_from"),
    "document_no": ("blank", "document_no must not be blank"),
}


def delegation_json(row: Delegation) -> dict[str, object]:
    return {"id": row.id, "county_code": row.county_code, "township_code": row.township_code,
            "benefit_type": row.benefit_type, "effective_from": row.effective_from.isoformat(),
            "effective_to": row.effective_to.isoformat() if row.effective_to else None,
            "document_no": row.document_no, "created_by": row.created_by}


async def api_list_delegations(request: Request, actor: Actor) -> Response:
    counties = await authz.visible_org_units(actor).filter(level__in=["county", "township"]).values_list(
        "code", flat=True)
    rows = await Delegation.filter(county_code__in=[str(c) for c in counties]).order_by("county_code",
                                                                                      "-effective_from")
    return JSONResponse({"items": [delegation_json(r) for r in rows]})


async def api_create_delegation(request: Request, actor: Actor) -> Response:
    body = await json_body(request)
    keys = ("county_code", "township_code", "benefit_type", "effective_from", "effective_to", "document_no")
    bad = [{"field": k, "code": "type", "message": f"{k} must be a string"} for k in keys
           if body.get(k) is not None and not isinstance(body.get(k), str)]
    if bad:
        raise ApiError(422, "validation_failed", "invalid delegation", bad)
    clean, errors = await validate_delegation(actor, {k: str(body.get(k) or "") for k in keys})
    if errors:
        raise ApiError(422, "validation_failed", "invalid delegation",
                       [{"field": k, "code": API_ERRORS[k][0], "message": API_ERRORS[k][1]} for k in errors])
    row = await Delegation.create(created_by=actor.username, **clean)  # type: ignore[arg-type]
    return JSONResponse(delegation_json(row), status_code=201)


async def api_list_cases(request: Request, actor: Actor) -> Response:
    """Cases in the caller's org subtree, newest first; ID numbers masked, no member details."""
    if not is_staff(actor):
        raise ApiError(403, "forbidden", "only 低保 staff (clerks, reviewers, managers) may list 低保 cases")
    q = request.query_params
    view = q.get("view", "all")
    if view not in ("all", "open", "closed"):
        raise ApiError(400, "invalid_parameter", "view must be one of all, open, closed")
    page_no = _int_param(request, "page", 1, 1, 1_000_000)
    size = _int_param(request, "page_size", 50, 1, MAX_PAGE_SIZE)
    qs = DibaoCase.filter(org_path__startswith=actor.org_path)
    if view == "open":
        qs = qs.filter(closed_at=None)
    elif view == "closed":
        qs = qs.exclude(closed_at=None)
    total = await qs.count()
    rows = await qs.order_by("-accepted_at", "instance_id").offset((page_no - 1) * size).limit(size)
    return JSONResponse({"items": [summary_json(r, effective_deadline(r)) for r in rows], "total": total,
                         "page": page_no, "page_size": size})


async def api_get_case(request: Request, actor: Actor) -> Response:
    """The full household file, for actors on the case and supervisors in scope; the view is logged."""
    raw = request.path_params["case_id"]
    case = await DibaoCase.get_or_none(instance_id=raw) if len(raw) <= 36 and "\x00" not in raw else None
    if case is None or not in_scope(actor, case):
        raise ApiError(404, "not_found", f"case {raw} does not exist")
    basis = await file_access(actor, case)
    if basis is None:
        raise ApiError(403, "forbidden", "the full file is for actors on the case and supervisors in scope")
    await log_view(case, actor, basis, "api", request.app.state.ctx.engine.clock.now())
    return JSONResponse(await file_json(case, effective_deadline(case), basis == "supervisor"))


api_routes = [
    Route("/dibao/delegations", methods(GET=endpoint(api_list_delegations),
                                        POST=endpoint(api_create_delegation, admin=True))),
    Route("/dibao/cases", methods(GET=endpoint(api_list_cases))),
    Route("/dibao/cases/{case_id}", methods(GET=endpoint(api_get_case))),
]

routes = [
    Route("/dibao/cases", cases),
    Route("/dibao/cases/{instance_id}", case_file),
    Route("/dibao/cases/{instance_id}/extend", extend, methods=["POST"]),
    Route("/dibao/cases/{instance_id}/notice", notice),
    Route("/dibao/cases/{instance_id}/notice/{kind}", intake_notice),
    Route("/dibao/cases/{instance_id}/changes/{change_id}/notice", change_notice),
    Route("/dibao/publication", publication),
    Route("/dibao/views", view_log),
    Route("/dibao/post-audit", post_audit, methods=["GET", "POST"]),
    Route("/dibao/delegations", delegations, methods=["GET", "POST"]),
    Route("/dibao/standards", standards, methods=["GET", "POST"]),
    Route("/dibao/methods", methods_page, methods=["GET", "POST"]),
    Route("/dibao/methods/bands", bands_page, methods=["POST"]),
]

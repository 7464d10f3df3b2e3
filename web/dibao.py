"""低保 admin pages: the delegation registry (委托审核确认登记) and the assistance standards (保障标准)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import authz
from engine.authz import Actor
from engine.models import OrgUnit
from web.admin import admin_required
from web.render import flash, page
from workflows.dibao.models import AREA_TYPES, BENEFIT_TYPES, AssistanceStandard, Delegation


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


async def validate_delegation(actor: Actor, values: dict[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    errors: dict[str, str] = {}
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


routes = [
    Route("/dibao/delegations", delegations, methods=["GET", "POST"]),
    Route("/dibao/standards", standards, methods=["GET", "POST"]),
]

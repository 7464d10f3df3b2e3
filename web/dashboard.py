"""督办看板: the plan's KPIs against their targets, each number linking to the list behind it."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine import authz
from engine.authz import Actor
from engine.models import OrgUnit
from web.auth import ctx_of, login_required
from web.charts import hbar_chart
from web.render import SHANGHAI, page
from web.xlsx import xlsx_response


@dataclass
class Kpi:
    title: str
    value: str
    target: str
    met: bool | None
    href: str
    detail: str = ""


def _pct(fraction: Any) -> str:
    """workflows.cemetery.kpi.share gives fractions (0.1234 = 12.34%)."""
    return "—" if fraction is None else f"{float(fraction) * 100:.1f}%"


def _days(average: str) -> str:
    return "—" if average == "—" else f"{average} 工作日"


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


async def dibao_times(actor: Actor, request: Request) -> dict[str, Any]:
    """低保 processing time in working days (受理 → 审核确认), delegated vs not, by township."""
    from workflows.dibao.models import DibaoCase

    calendar = ctx_of(request).engine.calendar
    rows = await DibaoCase.filter(org_path__startswith=actor.org_path, accepted_at__not_isnull=True,
                                  decided_at__not_isnull=True).values(
        "township_code", "delegated", "accepted_at", "decided_at")
    groups: dict[str, list[float]] = {"delegated": [], "county": []}
    by_town: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        days = float(calendar.working_days_between(r["accepted_at"], r["decided_at"]))
        groups["delegated" if r["delegated"] else "county"].append(days)
        by_town[r["township_code"] or ""].append(days)
    names = dict(await OrgUnit.filter(code__in=list(by_town)).values_list("code", "name"))

    def stats(values: list[float]) -> tuple[str, str]:
        if not values:
            return "—", "—"
        return f"{sum(values) / len(values):.1f}", f"{percentile(values, 0.9):g}"

    return {"groups": {k: (len(v), *stats(v)) for k, v in groups.items()},
            "chart": hbar_chart([(names.get(t, t), round(sum(v) / len(v), 1), "/dibao/cases?view=closed")
                                 for t, v in sorted(by_town.items())], unit="工作日", target=20)}


async def overdue_by_org(actor: Actor, request: Request) -> list[tuple[str, str, int]]:
    now = ctx_of(request).engine.clock.now()
    counts: dict[str, int] = defaultdict(int)
    for org in await authz.visible_tasks(actor).filter(state__in=authz.OPEN_STATES, due_at__lt=now).values_list(
            "org_unit", flat=True):
        counts[str(org)] += 1
    names = dict(await OrgUnit.filter(code__in=list(counts)).values_list("code", "name"))
    return sorted(((code, names.get(code, code), n) for code, n in counts.items()), key=lambda r: -r[2])


async def collect(actor: Actor, request: Request, year: int) -> dict[str, Any]:
    from projects_registry.models import STAGES, Evaluation
    from projects_registry.queries import board
    from workflows.cemetery import kpi as cemetery_kpi
    from workflows.social_org import kpi as social_kpi

    inspection = await social_kpi.inspection_rate(year - 1, actor.org_path)  # year N inspects year N − 1
    spot = await social_kpi.spot_check_ratio(year, actor.org_path)
    joint = await social_kpi.joint_check_ratio(year, actor.org_path)
    progress = await cemetery_kpi.campaign_progress(actor, year)
    total = cemetery_kpi.totals(progress)
    pass_share = await cemetery_kpi.pass_share(actor, year)
    eco = await cemetery_kpi.eco_burial_share(actor)
    overdue_rect = len(await cemetery_kpi.overdue_rectifications(actor, ctx_of(request).engine.clock.now().astimezone(
        SHANGHAI).date()))
    dibao = await dibao_times(actor, request)
    delegated_avg, county_avg = dibao["groups"]["delegated"][1], dibao["groups"]["county"][1]
    kpis = [
        Kpi(f"社会组织年检率({year - 1} 年度)", inspection.percent, "≥ 90%",
            inspection.met if inspection.denominator else None, "/social-org/campaigns",
            f"已检 {inspection.numerator} / 应检 {inspection.denominator}"),
        Kpi("社会组织抽查比例", spot.percent, "≥ 4%", spot.met if spot.denominator else None, "/social-org/spot-checks",
            f"抽查 {spot.numerator} / 登记 {spot.denominator}"),
        Kpi("联合检查比例", joint.percent, "≥ 6%", joint.met if joint.denominator else None,
            "/social-org/spot-checks", f"联合检查 {joint.numerator} / 登记 {joint.denominator}"),
        Kpi("低保平均办理时间(委托乡镇)", _days(delegated_avg), "≤ 20 工作日",
            None if delegated_avg == "—" else float(delegated_avg) <= 20, "/dibao/cases?view=closed",
            f"{dibao['groups']['delegated'][0]} 件,p90 {dibao['groups']['delegated'][2]} 工作日"),
        Kpi("低保平均办理时间(县级确认)", _days(county_avg), "≤ 30 工作日",
            None if county_avg == "—" else float(county_avg) <= 30, "/dibao/cases?view=closed",
            f"{dibao['groups']['county'][0]} 件,p90 {dibao['groups']['county'][2]} 工作日"),
        Kpi("公墓年检完成率", _pct(total.progress), "100%",
            None if total.progress is None else total.progress >= 1, "/cemetery/progress",
            f"已公布 {total.published} / 应检 {total.due};合格率 {_pct(pass_share)};整改逾期 {overdue_rect} 项"),
        Kpi("公益性公墓节地生态葬位占比", _pct(eco), "提升", None, "/cemetery", ""),
    ]
    columns = await board(actor)
    pipeline = [(STAGES.get(c.stage, c.stage), len(c.projects), c.amount) for c in columns if c.projects]
    grades: dict[str, int] = defaultdict(int)
    for g in await Evaluation.filter(kind="performance", project__org_path__startswith=actor.org_path).values_list(
            "grade", flat=True):
        grades[str(g)] += 1
    overdue = await overdue_by_org(actor, request)
    from web.social_org import VIEW_ROLES as SOCIAL_ORG_VIEW_ROLES
    if not actor.roles & SOCIAL_ORG_VIEW_ROLES:  # the figure stays, without a link to pages the actor may not open
        kpis = [replace(k, href="") if k.href.startswith("/social-org") else k for k in kpis]
    return {
        "kpis": kpis, "dibao": dibao, "overdue": overdue, "pipeline": pipeline, "grades": dict(grades),
        "cemetery_rows": progress, "cemetery_total": total,
        "overdue_chart": hbar_chart([(name, n, f"/inbox?view=scope&due=overdue&org={code}")
                                     for code, name, n in overdue[:12]], unit="件"),
        "pipeline_chart": hbar_chart([(label, n, "/projects") for label, n, _ in pipeline], unit="个"),
    }


def _year(request: Request) -> int:
    try:
        year = int(request.query_params.get("year", ""))
    except ValueError:
        year = ctx_of(request).engine.clock.now().astimezone(SHANGHAI).year
    return min(max(year, 2020), 2100)


@login_required
async def dashboard(request: Request, actor: Actor) -> Response:
    if not actor.is_supervisor:
        raise HTTPException(403, "督办看板仅向市、县两级管理人员开放。")
    year = _year(request)
    return page(request, "dashboard.html", {"year": year, **await collect(actor, request, year)})


@login_required
async def export(request: Request, actor: Actor) -> Response:
    """XLSX of a dashboard list: kpis, overdue (by org unit), or tasks (the overdue tasks themselves)."""
    if not actor.is_supervisor:
        raise HTTPException(403, "督办看板仅向市、县两级管理人员开放。")
    which = request.path_params["which"]
    year = _year(request)
    if which == "kpis":
        data = await collect(actor, request, year)
        return xlsx_response(f"kpis-{year}.xlsx", "指标", ["指标", "当前值", "目标", "是否达标", "说明"],
                             [[k.title, k.value, k.target, {True: "达标", False: "未达标", None: "—"}[k.met], k.detail]
                              for k in data["kpis"]])
    if which == "overdue":
        rows = await overdue_by_org(actor, request)
        return xlsx_response("overdue-by-org.xlsx", "超期事项", ["单位代码", "单位", "超期事项数"],
                             [list(r) for r in rows])
    if which == "tasks":
        now = ctx_of(request).engine.clock.now()
        tasks = await authz.visible_tasks(actor).filter(state__in=authz.OPEN_STATES, due_at__lt=now).order_by(
            "due_at").limit(5000)
        return xlsx_response("overdue-tasks.xlsx", "超期事项明细", ["事项", "流程", "单位", "角色", "签收人", "期限"],
                             [[t.title, t.process_key, t.org_unit, t.candidate_role, t.assignee or "",
                               t.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d") if t.due_at else ""]
                              for t in tasks])
    raise HTTPException(404, "没有这个导出。")


routes = [
    Route("/dashboard", dashboard),
    Route("/dashboard/export/{which}.xlsx", export),
]

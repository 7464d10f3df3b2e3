"""Demo projects (DEMO data: invented units and figures) across every stage and the six counties.

`seed_demo(engine)` needs the org tree and the deployed `fund_project_lifecycle`; it acts through the same
`lifecycle` functions as the pages, with the actors below. Log-in accounts for them are the caller's business
(this package does not import web): `DEMO_USERS` lists the ones the web demo should create.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from engine.authz import Actor
from engine.models import OrgUnit
from engine.runtime import Engine
from projects_registry import lifecycle
from projects_registry.models import Project
from projects_registry.rules import BudgetItem, Indicator

D = Decimal
COUNTY_ABBR = {"511402": "dp", "511403": "ps", "511421": "rs", "511423": "hy", "511424": "dl", "511425": "qs"}
CITY = Actor("city", "市局业务科(演示)", "511400", "/511400/", "眉山市", frozenset({"city_manager", "project_manager"}))
EXPERT = Actor("expert", "评审专家(演示)", "511400", "/511400/", "眉山市", frozenset({"city_manager"}))
# (username, display name, org unit, roles) for the web demo to create.
DEMO_USERS = [(f"{a}_pm", "项目管理员(演示)", code, ["project_manager"]) for code, a in COUNTY_ABBR.items()] + [
    (f"{a}_county", "县级审核员(演示)", code, ["county_reviewer"]) for code, a in COUNTY_ABBR.items()] + [
    ("expert", "评审专家(演示)", "511400", ["city_manager"])]

CATALOGUE = [  # name, category, lottery, other source, other amount, construction
    ("社区居家养老服务中心建设", "elderly", 400000, "county", 200000, True),
    ("农村互助幸福院提升改造", "elderly", 250000, "self", 50000, True),
    ("老年助餐点运营补助", "elderly", 180000, "county", 60000, False),
    ("困难失能老人照护服务", "elderly", 300000, "province", 100000, False),
    ("残疾儿童康复救助", "disability", 220000, "central", 150000, False),
    ("残疾人辅助器具适配", "disability", 120000, "county", 30000, False),
    ("残疾人托养服务站", "disability", 350000, "county", 120000, True),
    ("儿童之家阵地建设", "children", 160000, "county", 40000, True),
    ("困境儿童关爱服务", "children", 140000, "self", 20000, False),
    ("孤儿助学项目", "children", 90000, "city", 30000, False),
    ("社区慈善超市", "public_welfare", 110000, "self", 40000, False),
    ("社会工作站能力提升", "public_welfare", 200000, "county", 80000, False),
    ("流浪乞讨人员救助站改造", "other", 260000, "city", 100000, True),
]
# how far each demo project goes (index into the catalogue × county)
STOPS = ["county_review", "revision", "city_review", "rejected", "reserve", "mature", "mature", "released",
         "implementing", "acceptance", "self_evaluation", "closed_good", "closed_poor", "removed", "county_rejected",
         "stale"]


def _actors(county: str) -> tuple[Actor, Actor]:
    path = f"/511400/{county}/"
    return (Actor(f"{COUNTY_ABBR[county]}_pm", "项目管理员(演示)", county, path, county,
                  frozenset({"project_manager"})),
            Actor(f"{COUNTY_ABBR[county]}_county", "县级审核员(演示)", county, path, county,
                  frozenset({"county_reviewer"})))


def _submission(n: int, county: str, county_name: str) -> lifecycle.Submission:
    name, category, lottery, other, other_amount, construction = CATALOGUE[n % len(CATALOGUE)]
    start = date(2026, 1, 1) + timedelta(days=30 * (n % 4))
    return lifecycle.Submission(
        name=f"{county_name}{name}", applicant_org=county, applicant_unit=f"{county_name}民政局", contact="(演示)",
        category=category, scope=f"{name}:实施内容(演示)", beneficiaries="辖区困难群众(演示)",
        beneficiary_count=100 + 37 * n, period_start=start, period_end=start + timedelta(days=330),
        location=county_name, is_construction=construction, has_land=construction, has_planning=construction,
        has_eia=construction, funding={"lottery": D(lottery), other: D(other_amount)},
        budget_lines=[BudgetItem("设施设备购置", "equipment", "lottery", D(lottery) * D("0.6")),
                      BudgetItem("服务购买", "services", "lottery", D(lottery) * D("0.4")),
                      BudgetItem("配套服务", "services", other, D(other_amount))],
        indicators=[Indicator("output_quantity", "服务人次", D(2000), None),
                    Indicator("output_timeliness", "按期完成率", D(100), None),
                    Indicator("outcome", "服务对象生活改善率", D(80), None),
                    Indicator("satisfaction", "服务对象满意度", D(90), None)],
        units=["人次", "%", "%", "%"])


ALL_READY = {"plan_ready": True, "co_funding_ready": True, "site_ready": True, "team_ready": True,
             "procurement_ready": True, "approvals_ready": True}


def _scores(base: int) -> dict[str, Decimal]:
    return {c: D(base) for c in ("policy_fit", "compliance", "feasibility", "readiness", "cost", "targets")}


async def _advance(engine: Engine, p: Project, stop: str, pm: Actor, county: Actor, n: int) -> None:
    if stop == "county_review":
        return
    if stop == "revision":
        await lifecycle.county_review(engine, county, p, "return", "请补充绩效目标测算依据。")
        return
    if stop == "county_rejected":
        await lifecycle.county_review(engine, county, p, "reject", "不属于专项资金支持范围。")
        return
    await lifecycle.county_review(engine, county, p, "pass", "材料齐全,同意推荐。")
    if stop == "city_review":
        await lifecycle.record_scores(engine, EXPERT, p, _scores(80))
        return
    base = 62 if stop == "rejected" else 72 + (n * 7) % 25
    await lifecycle.record_scores(engine, EXPERT, p, _scores(base))
    await lifecycle.record_scores(engine, CITY, p, _scores(base + 2))
    await lifecycle.decide_entry(engine, CITY, p, "按专家平均分决定。")
    if stop in ("rejected", "reserve"):
        if stop == "reserve":
            await lifecycle.assess(engine, CITY, p, {"plan_ready": True}, "场地和配套资金尚未落实。")
        return
    if stop in ("stale", "removed"):
        await Project.filter(id=p.id).update(reserve_entered_on=date(2022, 5, 10))
        if stop == "removed":
            await lifecycle.assess(engine, CITY, p, {}, "入库超过 3 年仍不具备实施条件,移出。", remove=True)
        return
    await lifecycle.assess(engine, CITY, p, ALL_READY, "准备事项均已落实。")


async def _implement(engine: Engine, p: Project, stop: str, pm: Actor, county: Actor) -> None:
    p = await Project.get(id=p.id)
    await lifecycle.fund(engine, CITY, p, f"眉民项协〔2026〕{p.id}号", date(2026, 3, 1), D(str(p.total_budget)))
    budget = D(str(p.total_budget))
    await lifecycle.add_milestone(engine, pm, p, "完成采购", p.period_start + timedelta(days=90),
                                  p.period_start + timedelta(days=85))
    await lifecycle.add_milestone(engine, pm, p, "服务全面开展", p.period_start + timedelta(days=200))
    poor = stop == "closed_poor"
    await lifecycle.report_execution(engine, pm, p, p.period_start + timedelta(days=120),
                                     budget * (D("0.10") if poor else D("0.35")), D(20 if poor else 40))
    if stop == "implementing":
        return
    await lifecycle.monitor_review(engine, CITY, p, "按进度推进。" if not poor else "执行滞后,已约谈督促。")
    await lifecycle.report_execution(engine, pm, p, p.period_start + timedelta(days=320),
                                     budget * (D("0.55") if poor else D("0.97")), D(50 if poor else 100))
    await lifecycle.finish_implementation(engine, pm, p, "项目已按计划实施完成。")
    if stop == "acceptance":
        return
    await lifecycle.accept(engine, county, p, True, "验收合格。")
    if stop == "self_evaluation":
        return
    inds = await p.indicators.all().order_by("id")
    values = [D(900), D(60), D(40), D(70)] if poor else [D(2100), D(100), D(78), D(93)]
    await lifecycle.self_evaluate(engine, pm, p, {i.id: v for i, v in zip(inds, values, strict=True)}, "自评报告(演示)")
    await lifecycle.evaluate_performance(engine, CITY, p, "绩效评价意见(演示)。")
    if poor:
        await lifecycle.rectify(engine, pm, p, "调整实施主体,整改后再申报。")


async def seed_demo(engine: Engine) -> int:
    """Create the demo projects once (none if any project exists); returns how many were created."""
    if await Project.exists():
        return 0
    names = dict(await OrgUnit.filter(code__in=list(COUNTY_ABBR)).values_list("code", "name"))
    counties = [c for c in COUNTY_ABBR if c in names]
    if not counties:
        return 0
    created: list[tuple[Project, str, Actor, Actor]] = []
    for n, stop in enumerate(STOPS * 2):
        county = counties[n % len(counties)]
        pm, reviewer = _actors(county)
        p = await lifecycle.submit(engine, pm, _submission(n, county, str(names[county])))
        await _advance(engine, p, stop, pm, reviewer, n)
        created.append((p, stop, pm, reviewer))
    batch = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("3000000"))
    for p, stop, _, _ in created:
        if stop == "mature":  # these stay in the reserve, waiting for the next batch
            await lifecycle.adjust_batch(CITY, batch, remove=p.id)
    released = {i.project_id for i in await batch.items.all()}
    await lifecycle.confirm_batch(engine, CITY, batch)
    for p, stop, pm, reviewer in created:
        if p.id in released and stop in ("implementing", "acceptance", "self_evaluation", "closed_good",
                                         "closed_poor"):
            await _implement(engine, p, stop, pm, reviewer)
    return len(created)

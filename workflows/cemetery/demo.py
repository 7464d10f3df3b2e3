"""Demo register (DEMO data: generated names and numbers) and a 2026 campaign with inspections in several states.

The plan counts 83 rural public-welfare cemeteries in Meishan; they are spread here over the demo townships,
with a few commercial cemeteries, all marked `is_demo`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.models import HumanTask, OrgUnit, ProcessDefinition
from engine.runtime import Engine
from workflows.cemetery import inspection as insp
from workflows.cemetery.checklist import CHECK_ITEMS, PlotRow
from workflows.cemetery.models import Cemetery, CemeteryDocument, CemeteryInspection

PUBLIC_WELFARE_COUNT = 83
COMMERCIAL = [("青龙山陵园", "眉山青龙山陵园有限公司"), ("东坡福寿园", "眉山福寿园殡葬服务有限公司"),
              ("仁寿龙华陵园", "仁寿龙华陵园有限公司"), ("洪雅瓦屋山纪念园", "洪雅纪念园管理有限公司")]
SELF_REPORT = {"submitted_on": "2026-03-05", "burials_this_year": 14, "plots_sold_this_year": 11,
               "report_summary": "对照年检内容逐项自查,证照齐全,墓位面积符合标准。(演示)"}
OK_ROWS = [PlotRow("一区3排5号", "single", Decimal("0.48")), PlotRow("一区4排2号", "double", Decimal("0.78")),
           PlotRow("二区1排8号", "single", Decimal("0.50"))]
OVER_ROWS = [PlotRow("三区2排1号", "single", Decimal("0.72")), PlotRow("三区2排2号", "double", Decimal("1.10")),
             PlotRow("一区1排1号", "single", Decimal("0.49"))]


def _prices(cemetery_type: str, n: int) -> list[dict[str, str]]:
    if cemetery_type == "commercial":
        return [{"item": "骨灰单穴", "unit": "元/穴", "price": str(18000 + 1000 * n)},
                {"item": "骨灰双穴", "unit": "元/穴", "price": str(30000 + 1500 * n)},
                {"item": "树葬", "unit": "元/位", "price": "3800"}, {"item": "管理费", "unit": "元/年", "price": "120"}]
    return [{"item": "骨灰单穴(本村村民)", "unit": "元/穴", "price": str(1200 + 100 * (n % 5))},
            {"item": "骨灰双穴(本村村民)", "unit": "元/穴", "price": str(2000 + 100 * (n % 5))},
            {"item": "生态葬", "unit": "元/位", "price": "0"}]


def _county(town: OrgUnit) -> str:
    return str(getattr(town, "parent_id", "") or "")  # the FK column of OrgUnit.parent


async def seed_register() -> int:
    if await Cemetery.exists(is_demo=True):
        return 0
    townships = await OrgUnit.filter(level="township").order_by("code")
    if not townships:
        return 0
    created = 0
    for n in range(1, PUBLIC_WELFARE_COUNT + 1):
        town = townships[(n - 1) % len(townships)]
        single, double = 300 + (n * 37) % 500, 80 + (n * 13) % 150
        cemetery = await Cemetery.create(
            code=f"GY{n:03d}", name=f"{town.name}第{(n - 1) // len(townships) + 1}农村公益性公墓(演示)",
            cemetery_type="public_welfare", area_kind="rural", county_code=_county(town),
            township_code=town.code, org_path=town.path, operator=f"{town.name}人民政府", area_m2=Decimal(
                3000 + (n * 211) % 9000), plots_single=single, plots_double=double, plots_ashes=single + double,
            plots_body=0, plots_eco=(single + double) * (5 + n % 20) // 100, prices=_prices("public_welfare", n),
            is_demo=True)
        await CemeteryDocument.create(cemetery=cemetery, kind="construction_approval", number=f"眉民殡批〔2019〕{n}号",
                                      issued_by="县(区)民政局", issued_on=date(2019, 6, 1))
        await CemeteryDocument.create(cemetery=cemetery, kind="land", number=f"眉自然资用〔2019〕{n}号",
                                      issued_by="自然资源局", issued_on=date(2019, 5, 1))
        created += 1
    for n, (name, operator) in enumerate(COMMERCIAL, start=1):
        town = townships[(n * 5) % len(townships)]
        cemetery = await Cemetery.create(
            code=f"JY{n:03d}", name=f"{name}(演示)", cemetery_type="commercial", area_kind="urban",
            county_code=_county(town), township_code=town.code, org_path=town.path, operator=operator,
            area_m2=Decimal(60000 + 10000 * n), plots_single=6000 + 500 * n, plots_double=3000, plots_ashes=9000,
            plots_body=200, plots_eco=800 + 100 * n, prices=_prices("commercial", n), is_demo=True)
        await CemeteryDocument.create(cemetery=cemetery, kind="operating_licence", number=f"川民殡许〔2016〕{n}号",
                                      issued_by="四川省民政厅", issued_on=date(2016, 3, 1),
                                      expires_on=date(2026, 4 + n, 1))
        await CemeteryDocument.create(cemetery=cemetery, kind="price_approval", number=f"眉发改价〔2021〕{n}号",
                                      issued_by="市发展改革委", issued_on=date(2021, 1, 1))
        created += 1
    return created


async def _checklist(engine: Engine, inspection: CemeteryInspection, bpmn_id: str, rows: list[PlotRow],
                     failed: tuple[str, ...] = ()) -> None:
    task = await _task(inspection, bpmn_id)
    checks = {code: (code not in failed, "现场发现问题(演示)" if code in failed else "") for code in CHECK_ITEMS}
    await insp.submit_checklist(engine, task, actor="dp_inspector", checks=checks, rows=rows,
                                eco_share=Decimal("0.15"), notes="", opinion="现场检查完毕。(演示)")


async def _task(inspection: CemeteryInspection, bpmn_id: str) -> HumanTask:
    return await HumanTask.get(instance_id=inspection.instance_id, bpmn_id=bpmn_id, state="READY")


async def seed(engine: Engine) -> str:
    """Register + campaign; inspections only when the diagram is deployed and none exist yet."""
    created = await seed_register()
    report = f"demo cemeteries created: {created}"
    if not await ProcessDefinition.exists(key=insp.PROCESS_KEY) or await CemeteryInspection.exists():
        return report
    campaign = await insp.open_campaign(2026, actor="city", now=engine.clock.now())
    cemeteries = await Cemetery.filter(is_demo=True, county_code="511402").order_by("code").limit(8)
    started = [await insp.start_inspection(engine, c, campaign, actor="city") for c in cemeteries]
    # 0: self-report pending; 1: on-site pending; 2-3: 合格; 4: 限期整改 (frozen); 5: reopened; 6: 延期年检
    for n, inspection in enumerate(started[1:], start=1):
        task = await _task(inspection, "Task_self_report")
        await insp.complete(engine, task.id, SELF_REPORT, actor="th_clerk")
        if n == 1:
            continue
        over = n in (4, 5)
        await _checklist(engine, inspection, "Task_onsite", OVER_ROWS if over else OK_ROWS,
                         ("prices_posted",) if over else ())
        outcome = "rectify" if over else "defer" if n == 6 else "pass"
        task = await _task(inspection, "Task_city_review")
        await insp.complete(engine, task.id, {"outcome": outcome, "rectification_days": 30,
                                              "reinspection_days": 60, "review_opinion": "同意县级检查意见。(演示)"},
                            actor="city")
        if n == 5:
            task = await _task(inspection, "Task_rectify")
            await insp.complete(engine, task.id, {"actions_taken": "已拆除超标墓基并公示收费标准。(演示)",
                                                  "completed_on": "2026-03-20"}, actor="th_clerk")
            await _checklist(engine, inspection, "Task_acceptance", OK_ROWS)
    return f"{report}; demo inspections started: {len(started)}"

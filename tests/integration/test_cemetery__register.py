"""Cemetery register: template versions, rectification items, the sales-freeze rule, KPIs and scoping."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.authz import actor_for
from engine.models import AuditEvent, User
from tests.cemetery_helpers import checklist, install_cemetery, make_cemetery, open_task, review, to_city_review
from workflows.cemetery import checklist as cl
from workflows.cemetery import inspection as insp
from workflows.cemetery import kpi
from workflows.cemetery.models import Cemetery, CemeteryInspection, Rectification
from workflows.cemetery.sales import SalesStatusError, change_status
from workflows.common.checklist import evaluate
from workflows.common.models import ChecklistRecord, ChecklistTemplate

OVER = [("single", "0.62"), ("double", "0.75"), ("single", "0.45")]


async def _actor(username: str, org: str, roles: list[str]) -> Any:
    user = await User.create(username=username, display_name=username, org_unit_id=org, roles=roles,
                             password_hash="x")
    return await actor_for(user)


async def _frozen(engine: Any, code: str = "GM001", **kw: Any) -> CemeteryInspection:
    await install_cemetery(engine)
    c = await make_cemetery(code, **kw)
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    inspection = await insp.start_inspection(engine, c, campaign, actor="city_mgr")
    await to_city_review(engine, inspection, areas=OVER)
    await review(engine, inspection, "rectify", rectification_days=30)
    return inspection


async def test_findings_become_rectification_items_with_owner_due_date_and_basis(engine: Any) -> None:
    inspection = await _frozen(engine, operator="修文镇人民政府")
    items = await Rectification.filter(inspection_id=inspection.id)
    assert len(items) == 1
    item = items[0]
    assert item.owner == "修文镇人民政府" and "第十九条" in item.legal_basis and "A-1" in item.finding
    assert item.corrective_action.startswith("拆除超标部分")
    assert item.due_on == insp.local_day(engine.clock.now()) + timedelta(days=30)
    record = await ChecklistRecord.get(id=item.checklist_record_id)
    assert (record.subject_type, record.subject_id, record.passed) == ("cemetery", str(inspection.cemetery_id), False)


async def test_a_new_limit_changes_new_verdicts_only(engine: Any) -> None:
    await install_cemetery(engine)
    c = await make_cemetery()
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    first = await insp.start_inspection(engine, c, campaign, actor="city_mgr")
    old = await to_city_review(engine, first, areas=[("single", "0.55")] * 3)
    assert not old.passed
    v2 = await cl.publish_parameters({"pw_single_max_m2": 0.6}, actor="city_mgr")
    assert v2.version == 2 and (await cl.current_template()) == v2
    with pytest.raises(cl.ChecklistError):
        await cl.publish_parameters({"no_such_limit": 1}, actor="city_mgr")
    other = await make_cemetery("GM002")
    second = await insp.start_inspection(engine, other, campaign, actor="city_mgr")
    new = await to_city_review(engine, second, areas=[("single", "0.55")] * 3)
    assert new.passed
    old = await ChecklistRecord.get(id=old.id).prefetch_related("template")
    assert old.template.version == 1 and not old.passed  # the old record keeps its version and verdict
    v1 = await ChecklistTemplate.get(code=cl.TEMPLATE_CODE, version=1)
    assert evaluate(cl.template_for(v1.body, "public_welfare"), old.answers)  # still findings under v1


async def test_frozen_cemetery_cannot_be_reopened_without_a_passed_acceptance(engine: Any) -> None:
    inspection = await _frozen(engine)
    cemetery = await Cemetery.get(id=inspection.cemetery_id)
    now = engine.clock.now()
    with pytest.raises(SalesStatusError, match="须整改验收合格后方可恢复销售"):
        await change_status(cemetery, "open", reason="经营单位申请恢复", actor="dp_county", now=now)
    # Closing and reopening does not wash the freeze away.
    await change_status(cemetery, "closed", reason="暂停经营", actor="dp_county", now=now)
    with pytest.raises(SalesStatusError):
        await change_status(cemetery, "open", reason="重新开放", actor="dp_county", now=now)
    # A failed acceptance does not unlock it either.
    await change_status(cemetery, "sales_frozen", reason="恢复整改状态", actor="dp_county", now=now,
                        freezing_inspection=inspection)
    rect = await open_task(inspection, "Task_rectify")
    await insp.complete(engine, rect.id, {"actions_taken": "部分整改。", "completed_on": "2026-03-10"},
                        actor="th_clerk")
    await checklist(engine, inspection, "Task_acceptance", areas=OVER)
    cemetery = await Cemetery.get(id=inspection.cemetery_id)
    with pytest.raises(SalesStatusError):
        await change_status(cemetery, "open", reason="经营单位申请恢复", actor="dp_county", now=now)
    assert (await Cemetery.get(id=inspection.cemetery_id)).status == "sales_frozen"


async def test_freezing_needs_an_inspection_and_changes_are_audited(engine: Any) -> None:
    await install_cemetery(engine)
    c = await make_cemetery()
    with pytest.raises(SalesStatusError, match="年检限期整改"):
        await change_status(c, "sales_frozen", reason="手工暂停", actor="dp_county", now=engine.clock.now())
    with pytest.raises(SalesStatusError, match="原因"):
        await change_status(c, "closed", reason=" ", actor="dp_county", now=engine.clock.now())
    assert await change_status(c, "closed", reason="土地收回", actor="dp_county", now=engine.clock.now())
    assert await change_status(c, "open", reason="重新批准", actor="dp_county", now=engine.clock.now())
    events = await AuditEvent.filter(action="cemetery.status_changed").order_by("seq")
    assert [e.payload["after"]["status"] for e in events] == ["closed", "open"]


async def test_kpis_per_county_and_scoped_by_org_path(engine: Any) -> None:
    await install_cemetery(engine)
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    a = await make_cemetery("A", plots_single=100, plots_double=0, plots_eco=10)
    b = await make_cemetery("B", township="511402002", plots_single=100, plots_double=100, plots_eco=30)
    c = await make_cemetery("C", county="511421", township="511421001", plots_single=50, plots_double=50,
                            plots_eco=0)
    await make_cemetery("D", cemetery_type="commercial", plots_single=1000, plots_double=0, plots_eco=900)
    await make_cemetery("E", status="closed")
    passed = await insp.start_inspection(engine, a, campaign, actor="city_mgr")
    await to_city_review(engine, passed)
    await review(engine, passed, "pass")
    rectify = await insp.start_inspection(engine, b, campaign, actor="city_mgr")
    await to_city_review(engine, rectify, areas=OVER)
    await review(engine, rectify, "rectify", rectification_days=10)
    await insp.start_inspection(engine, c, campaign, actor="city_mgr")

    city = await _actor("kpi_city", "511400", ["city_manager"])
    rows = {r.county_name: r for r in await kpi.campaign_progress(city, 2026)}
    assert (rows["东坡区"].due, rows["东坡区"].started, rows["东坡区"].published) == (3, 2, 2)
    assert rows["东坡区"].outcomes == {"pass": 1, "rectify": 1, "defer": 0}
    assert rows["东坡区"].progress == Decimal("0.6667")
    assert (rows["仁寿县"].due, rows["仁寿县"].started, rows["仁寿县"].published) == (1, 1, 0)
    assert await kpi.pass_share(city, 2026) == Decimal("0.5")
    assert await kpi.eco_burial_share(city) == Decimal("0.1000")  # (10+30+0) / (100+200+100), commercial excluded
    today = insp.local_day(engine.clock.now())
    assert await kpi.overdue_rectifications(city, today) == []
    overdue = await kpi.overdue_rectifications(city, today + timedelta(days=11))
    assert [r.inspection.cemetery.code for r in overdue] == ["B"]

    renshou = await _actor("kpi_rs", "511421", ["county_reviewer"])
    assert [r.county_name for r in await kpi.campaign_progress(renshou, 2026)] == ["仁寿县"]
    assert await kpi.pass_share(renshou, 2026) is None
    assert await kpi.overdue_rectifications(renshou, today + timedelta(days=11)) == []
    township = await _actor("kpi_th", "511402001", ["township_clerk"])
    rows = await kpi.campaign_progress(township, 2026)
    assert [(r.county_name, r.due, r.published) for r in rows] == [("东坡区", 2, 1)]
    assert date(2026, 1, 1) < today

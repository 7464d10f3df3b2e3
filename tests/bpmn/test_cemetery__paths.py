"""The 公墓年检 diagram through the Engine: every outcome path, with the register following the workflow."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from engine.forms import FormValidationError
from engine.models import HumanTask, ProcessInstance
from tests.cemetery_helpers import (
    checklist,
    install_cemetery,
    make_cemetery,
    open_ids,
    open_task,
    review,
    to_city_review,
)
from tests.support import assert_consistent
from workflows.cemetery import inspection as insp
from workflows.cemetery.models import Cemetery, CemeteryInspection, Rectification

OVER = [("single", "0.62"), ("double", "0.75"), ("single", "0.45")]


async def _start(engine: Any, **cemetery: Any) -> CemeteryInspection:
    await install_cemetery(engine)
    c = await make_cemetery(**cemetery)
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    return await insp.start_inspection(engine, c, campaign, actor="city_mgr")


async def _reload(inspection: CemeteryInspection) -> tuple[CemeteryInspection, Cemetery]:
    fresh = await CemeteryInspection.get(id=inspection.id)
    return fresh, await Cemetery.get(id=fresh.cemetery_id)  # type: ignore[attr-defined]


async def test_pass_path_publishes_合格_and_keeps_sales_open(engine: Any) -> None:
    inspection = await _start(engine)
    task = await open_task(inspection, "Task_self_report")
    assert (task.candidate_role, task.org_unit) == ("township_clerk", "511402001")
    await insp.complete(engine, task.id, {"submitted_on": "2026-03-05", "burials_this_year": 3,
                                          "plots_sold_this_year": 2, "report_summary": "自查未发现问题,材料齐全。"},
                        actor="th_clerk")
    onsite = await open_task(inspection, "Task_onsite")
    assert (onsite.candidate_role, onsite.org_unit) == ("inspector", "511402")
    record = await checklist(engine, inspection, "Task_onsite")
    assert record.passed and record.findings == []
    city = await open_task(inspection, "Task_city_review")
    assert (city.candidate_role, city.org_unit) == ("city_manager", "511400")
    await review(engine, inspection, "pass")
    fresh, cemetery = await _reload(inspection)
    assert (fresh.outcome, fresh.stage, fresh.checklist_record_id) == ("pass", "done", record.id)
    assert fresh.published_at is not None and cemetery.status == "open"
    assert (await ProcessInstance.get(id=inspection.instance_id)).status == "completed"
    await assert_consistent(engine, inspection.instance_id)


async def test_合格_is_refused_when_the_checklist_found_problems(engine: Any) -> None:
    inspection = await _start(engine)
    await to_city_review(engine, inspection, areas=OVER)
    from engine.runtime import ProcessScriptError

    with pytest.raises(ProcessScriptError, match="不能评定为合格"):
        await review(engine, inspection, "pass")
    assert await open_ids(inspection) == ["Task_city_review"]


async def test_rectify_freezes_at_once_then_acceptance_reopens(engine: Any) -> None:
    inspection = await _start(engine)
    record = await to_city_review(engine, inspection, areas=OVER, failed={"prices_posted": "未公示收费标准"})
    assert not record.passed and len(record.findings) == 2
    # Completed with the plain engine call (as the generic task page does): the router applies the freeze.
    city = await open_task(inspection, "Task_city_review")
    await engine.complete_task(city.id, {"outcome": "rectify", "rectification_days": 30,
                                         "review_opinion": "墓位超标,限期整改。"}, actor="city_mgr")
    fresh, cemetery = await _reload(inspection)
    assert (cemetery.status, cemetery.frozen_inspection_id) == ("sales_frozen", inspection.id)
    assert "限期整改" in cemetery.status_reason
    assert (fresh.outcome, fresh.stage) == ("rectify", "rectifying")
    assert fresh.rectification_due is not None
    due = insp.local_day(fresh.rectification_due)
    assert due == insp.local_day(engine.clock.now()) + timedelta(days=30)
    items = await Rectification.filter(inspection_id=inspection.id).order_by("id")
    assert [(i.item, i.status, i.due_on) for i in items] == [("plot_area_pw_single", "open", due),
                                                             ("prices_posted", "open", due)]
    rect = await open_task(inspection, "Task_rectify")
    await insp.complete(engine, rect.id, {"actions_taken": "拆除超标墓基,张贴收费标准。", "completed_on": "2026-03-20"},
                        actor="th_clerk")
    accepted = await checklist(engine, inspection, "Task_acceptance")
    assert accepted.passed
    fresh, cemetery = await _reload(inspection)
    assert (cemetery.status, cemetery.frozen_inspection_id, fresh.stage) == ("open", None, "done")
    assert {i.status for i in await Rectification.filter(inspection_id=inspection.id)} == {"verified"}
    await assert_consistent(engine, inspection.instance_id)


async def test_failed_acceptance_escalates_to_the_city_when_the_deadline_passes(engine: Any) -> None:
    inspection = await _start(engine)
    await to_city_review(engine, inspection, areas=OVER)
    await review(engine, inspection, "rectify", rectification_days=20)
    rect = await open_task(inspection, "Task_rectify")
    await insp.complete(engine, rect.id, {"actions_taken": "部分整改。", "completed_on": "2026-03-10"},
                        actor="th_clerk")
    failed = await checklist(engine, inspection, "Task_acceptance", areas=OVER)
    assert not failed.passed
    fresh, cemetery = await _reload(inspection)
    assert cemetery.status == "sales_frozen" and fresh.stage == "rectifying"
    assert await open_ids(inspection) == ["Task_rectify"]
    assert await engine.wake_due_timers() == 0  # the deadline has not come
    engine.clock.advance(timedelta(days=21))
    assert await engine.wake_due_timers() == 1
    assert await open_ids(inspection) == ["Task_city_escalation"]
    escalation = await open_task(inspection, "Task_city_escalation")
    assert (escalation.candidate_role, escalation.org_unit) == ("city_manager", "511400")
    fresh, cemetery = await _reload(inspection)
    assert fresh.stage == "escalated" and fresh.escalated_at is not None and cemetery.status == "sales_frozen"
    # The city extends the deadline: back to rectification, the timer re-armed on the new date.
    await insp.complete(engine, escalation.id, {"escalation_decision": "extend", "extension_days": 15,
                                                "escalation_opinion": "挂牌督办,延期 15 天。"}, actor="city_mgr")
    assert await open_ids(inspection) == ["Task_rectify"]
    row = await ProcessInstance.get(id=inspection.instance_id)
    assert row.next_timer_at is not None and row.next_timer_at > engine.clock.now() + timedelta(days=14)
    await assert_consistent(engine, inspection.instance_id)


async def test_escalation_can_close_the_cemetery(engine: Any) -> None:
    inspection = await _start(engine)
    await to_city_review(engine, inspection, areas=OVER)
    await review(engine, inspection, "rectify", rectification_days=7)
    engine.clock.advance(timedelta(days=8))
    assert await engine.wake_due_timers() == 1
    escalation = await open_task(inspection, "Task_city_escalation")
    await insp.complete(engine, escalation.id, {"escalation_decision": "close", "escalation_opinion": "责令停止经营。"},
                        actor="city_mgr")
    _, cemetery = await _reload(inspection)
    assert cemetery.status == "closed" and cemetery.frozen_inspection_id == inspection.id


async def test_延期年检_schedules_a_reinspection(engine: Any) -> None:
    inspection = await _start(engine)
    await to_city_review(engine, inspection)
    await review(engine, inspection, "defer", reinspection_days=60)
    assert await open_ids(inspection) == []
    fresh, cemetery = await _reload(inspection)
    assert (fresh.outcome, fresh.stage, cemetery.status) == ("defer", "reinspection", "open")
    assert fresh.reinspection_due is not None
    assert insp.local_day(fresh.reinspection_due) == date(2026, 3, 2) + timedelta(days=60)
    engine.clock.advance(timedelta(days=59))
    assert await engine.wake_due_timers() == 0
    engine.clock.advance(timedelta(days=2))
    assert await engine.wake_due_timers() == 1
    assert await open_ids(inspection) == ["Task_onsite"]
    second = await checklist(engine, inspection, "Task_onsite")
    await review(engine, inspection, "pass")
    fresh, _ = await _reload(inspection)
    assert (fresh.outcome, fresh.stage, fresh.checklist_record_id) == ("pass", "done", second.id)
    await assert_consistent(engine, inspection.instance_id)


async def test_checklist_ids_cannot_be_typed_into_the_generic_form(engine: Any) -> None:
    inspection = await _start(engine)
    task = await open_task(inspection, "Task_self_report")
    await insp.complete(engine, task.id, {"submitted_on": "2026-03-05", "burials_this_year": 3,
                                          "plots_sold_this_year": 2, "report_summary": "自查未发现问题,材料齐全。"},
                        actor="th_clerk")
    onsite = await open_task(inspection, "Task_onsite")
    with pytest.raises(FormValidationError):
        await engine.complete_task(onsite.id, {"checklist_record_id": 999, "checklist_passed": True,
                                               "finding_count": 0, "inspector_opinion": "无问题"},
                                   actor="dp_inspector")
    assert (await HumanTask.get(id=onsite.id)).state == "READY"  # nothing was saved


async def test_an_inspection_cannot_be_started_twice_or_for_a_closed_cemetery(engine: Any) -> None:
    inspection = await _start(engine)
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    cemetery = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    with pytest.raises(insp.InspectionError, match="已启动"):
        await insp.start_inspection(engine, cemetery, campaign, actor="city_mgr")
    closed = await make_cemetery("GM002", status="closed")
    with pytest.raises(insp.InspectionError, match="已关闭"):
        await insp.start_inspection(engine, closed, campaign, actor="city_mgr")
    assert await ProcessInstance.all().count() == 1

"""The fund-project lifecycle driven through the Engine, from 申报 to 结项, with every detour."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.models import HumanTask, ProcessInstance
from projects_registry import lifecycle
from projects_registry.models import Evaluation, Milestone, Project, ProjectEvent
from tests.integration.projects_helpers import (
    ALL_MET,
    CITY,
    CITY2,
    COUNTY,
    PM,
    RS_PM,
    deploy,
    scores,
    submission,
    to_mature,
    to_reserve,
)

D = Decimal


async def stage(p: Project) -> str:
    return (await Project.get(id=p.id)).stage


async def test_full_path_with_revision_and_rectification(engine: Any) -> None:
    await deploy(engine)
    p = await lifecycle.submit(engine, PM, submission())
    assert p.stage == "county_review" and p.code.startswith("XM-")
    task = await HumanTask.get(instance_id=p.instance_id, state="READY")
    assert (task.bpmn_id, task.candidate_role, task.org_unit) == ("Task_county_review", "county_reviewer", "511402")

    await lifecycle.county_review(engine, COUNTY, p, "return", "请补充绩效指标测算依据")
    assert await stage(p) == "revision"
    with pytest.raises(lifecycle.NotAllowed):  # a county reviewer cannot do the applicant's revision
        await lifecycle.revise(engine, COUNTY, p, "x")
    await lifecycle.revise(engine, PM, p, "已补充测算依据")
    assert await stage(p) == "county_review"
    await lifecycle.county_review(engine, COUNTY, p, "pass", "同意推荐")
    assert await stage(p) == "city_review"

    await lifecycle.record_scores(engine, CITY, p, scores(90))
    await lifecycle.record_scores(engine, CITY2, p, scores(80))
    result = await lifecycle.decide_entry(engine, CITY, p, "同意入库")
    assert result.mean == D("85.00") and result.admitted
    p = await Project.get(id=p.id)
    assert p.stage == "reserve" and p.review_score == D("85.00") and p.reserve_entered_on is not None

    not_yet = await lifecycle.assess(engine, CITY, p, {"plan_ready": True}, "场地未落实")
    assert not not_yet.mature and await stage(p) == "reserve"  # re-assessable: a new assessment task is open
    await lifecycle.assess(engine, CITY, p, ALL_MET, "已就绪")
    assert await stage(p) == "mature"

    batch = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("500000"))
    assert await lifecycle.confirm_batch(engine, CITY, batch) == 1
    p = await Project.get(id=p.id)
    assert p.stage == "released" and p.plan_year == 2026

    await lifecycle.fund(engine, CITY, p, "眉民协〔2026〕3号", date(2026, 3, 1), D("300000"))
    assert await stage(p) == "implementing"
    await lifecycle.add_milestone(engine, PM, p, "设备采购完成", date(2026, 5, 1), date(2026, 4, 28))
    warn = await lifecycle.report_execution(engine, PM, p, date(2026, 7, 1), D("40000"), D("45"), "年中报告")
    assert warn.warnings and "预算执行滞后" in warn.warnings[0]
    await lifecycle.monitor_review(engine, CITY, p, "督促加快支出")
    assert await stage(p) == "implementing"  # the implementation branch is still open
    await lifecycle.report_execution(engine, PM, p, date(2026, 12, 20), D("392000"), D("100"))
    await lifecycle.finish_implementation(engine, PM, p, "全部完成")
    assert await stage(p) == "acceptance"
    await lifecycle.accept(engine, COUNTY, p, False, "台账不全")
    assert await stage(p) == "acceptance"
    await lifecycle.rectify_implementation(engine, PM, p, "台账已补齐")
    await lifecycle.accept(engine, COUNTY, p, True, "验收合格")
    assert await stage(p) == "self_evaluation"

    inds = await p.indicators.all().order_by("id")
    actuals = dict(zip([i.id for i in inds], [D(19000), D(8), D(85), D(93)], strict=True))
    self_result = await lifecycle.self_evaluate(engine, PM, p, actuals, "自评报告")
    assert self_result.grade == "优"
    final = await lifecycle.evaluate_performance(engine, CITY, p, "评价合格")
    p = await Project.get(id=p.id)
    assert p.stage == "closed" and p.grade == final.grade == "优" and p.evaluation_score == final.total
    instance = await ProcessInstance.get(id=p.instance_id)
    assert instance.status == "completed"
    assert await Evaluation.filter(project_id=p.id).count() == 2
    assert await Milestone.filter(project_id=p.id).count() == 1
    actions = await ProjectEvent.filter(project_id=p.id).order_by("id").values_list("action", flat=True)
    assert actions[0] == "申报" and actions[-1] == "绩效评价" and "县级初审:退回修改" in actions


async def test_rejected_at_entry_when_mean_is_below_threshold(engine: Any) -> None:
    await deploy(engine)
    p = await lifecycle.submit(engine, PM, submission())
    await lifecycle.county_review(engine, COUNTY, p, "pass", "推荐")
    with pytest.raises(lifecycle.ProjectError, match="尚无专家评分"):
        await lifecycle.decide_entry(engine, CITY, p, "x")
    await lifecycle.record_scores(engine, CITY, p, scores(75))
    await lifecycle.record_scores(engine, CITY2, p, scores(64))  # mean 69.5 < 70
    result = await lifecycle.decide_entry(engine, CITY, p, "未达分数线")
    assert not result.admitted
    p = await Project.get(id=p.id)
    assert p.stage == "rejected" and p.reserve_entered_on is None
    assert (await ProcessInstance.get(id=p.instance_id)).status == "completed"


async def test_county_rejects_and_stale_reserve_removal(engine: Any) -> None:
    await deploy(engine)
    p = await lifecycle.submit(engine, PM, submission())
    await lifecycle.county_review(engine, COUNTY, p, "reject", "不属于专项资金支持范围")
    assert await stage(p) == "rejected"
    q = await to_mature(engine, submission("彭山区残疾人康复站"))
    await lifecycle.remove_from_reserve(engine, CITY, q, "入库超过 3 年未出库,动态调整移出")
    assert await stage(q) == "removed"
    r = await to_reserve(engine, submission("儿童之家"))
    await lifecycle.assess(engine, CITY, r, {}, "长期不具备实施条件", remove=True)
    assert await stage(r) == "removed"


async def test_failing_evaluation_goes_through_rectification(engine: Any) -> None:
    await deploy(engine)
    p = await to_mature(engine)
    batch = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("300000"))
    await lifecycle.confirm_batch(engine, CITY, batch)
    p = await Project.get(id=p.id)
    await lifecycle.fund(engine, CITY, p, "协议1", date(2026, 3, 1), D("300000"))
    await lifecycle.monitor_review(engine, CITY, p, "未填报执行情况")
    await lifecycle.report_execution(engine, PM, p, date(2026, 12, 1), D("100000"), D("30"))
    await lifecycle.finish_implementation(engine, PM, p, "部分完成")
    await lifecycle.accept(engine, COUNTY, p, True, "勉强通过")
    inds = await p.indicators.all().order_by("id")
    await lifecycle.self_evaluate(engine, PM, p, {inds[0].id: D(5000), inds[3].id: D(60)}, "完成不理想")
    result = await lifecycle.evaluate_performance(engine, CITY, p, "未达目标")
    assert result.grade == "差" and result.total < 60
    assert await stage(p) == "evaluation"
    task = await HumanTask.get(instance_id=p.instance_id, state="READY")
    assert task.bpmn_id == "Task_rectify" and task.candidate_role == "project_manager"
    await lifecycle.rectify(engine, PM, p, "调整实施团队,下年度不再申报同类项目")
    assert await stage(p) == "closed"


async def test_banned_use_refuses_submission_with_explanation(engine: Any) -> None:
    await deploy(engine)
    from projects_registry.rules import BudgetItem

    s = submission(budget_lines=[BudgetItem("厨房设备", "equipment", "lottery", D(200000)),
                                 BudgetItem("助餐点工作人员工资", "salaries", "lottery", D(100000)),
                                 BudgetItem("助餐服务购买", "services", "county", D(100000))])
    errors = lifecycle.check_submission(s)
    assert "第 2 行「助餐点工作人员工资」" in errors["banned"] and "不得用于人员工资" in errors["banned"]
    with pytest.raises(lifecycle.ProjectError, match="不得用于人员工资"):
        await lifecycle.submit(engine, PM, s)
    assert await Project.all().count() == 0


async def test_submission_is_scoped_to_the_actor(engine: Any) -> None:
    await deploy(engine)
    with pytest.raises(lifecycle.NotAllowed):
        await lifecycle.submit(engine, RS_PM, submission(org="511402"))

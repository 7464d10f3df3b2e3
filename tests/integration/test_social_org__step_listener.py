"""Domain rows follow the workflow through the engine's StepListener, inside the step's transaction: no sweep
(Projector) is run in these tests. Timers that expire list the organization at once; a step the listener refuses
rolls back everything, the domain rows included."""

from __future__ import annotations

from datetime import date, timedelta

from engine.clock import FakeClock
from engine.forms import FormValidationError
from engine.models import HumanTask, OrgUnit, ProcessInstance
from engine.runtime import Engine
from tests.social_org_helpers import REPORT, complete, deploy_social_org, make_inspectors, make_org, open_ids
from workflows.social_org import campaign as campaigns
from workflows.social_org import listeners
from workflows.social_org.models import AnnualInspection, CreditListEntry, SocialOrganization, SpotCheckTarget
from workflows.social_org.spot_check import create_plan


async def _launch(engine: Engine) -> None:
    unit = await OrgUnit.get(code="511402")
    campaign = await campaigns.open_campaign(2025, unit, "admin")
    await campaigns.launch(engine, campaign.id, actor="admin")


async def test_annual_rows_and_credit_list_follow_each_step_without_a_sweep(engine: Engine) -> None:
    assert isinstance(engine.clock, FakeClock)
    await deploy_social_org(engine)
    listeners.register(engine)
    filer = await make_org("511402", name="按时报送协会")
    silent = await make_org("511402", name="未报送协会")
    foundation = await make_org("511402", org_type="foundation", name="未附审计报告基金会")
    await _launch(engine)
    rows = {r.organization_id: r for r in await AnnualInspection.all()}
    assert {r.status for r in rows.values()} == {"launched"}

    await complete(engine, rows[filer.id].instance_id, "Task_submit_report", REPORT)
    filed = await AnnualInspection.get(id=rows[filer.id].id)
    assert (filed.status, filed.submitted_on) == ("submitted", date(2026, 3, 2))  # no Projector().run

    # the audit-report listener refuses: the instance, the task and the domain row are all unchanged
    before = await ProcessInstance.get(id=rows[foundation.id].instance_id)
    task = await HumanTask.get(instance_id=before.id, bpmn_id="Task_submit_report")
    try:
        await engine.complete_task(task.id, {**REPORT, "audit_report_attached": True}, actor="rep")
    except FormValidationError:
        pass
    else:
        raise AssertionError("a 基金会 report without its audit report must be refused")
    after = await ProcessInstance.get(id=before.id)
    assert (after.version, after.data) == (before.version, before.data)
    assert (await AnnualInspection.get(id=rows[foundation.id].id)).status == "launched"
    assert await open_ids(before.id) == ["Task_submit_report"]

    # the clock: reminder at the deadline, 活动异常名录 when the grace period ends, each in the timer's transaction
    engine.clock.set(campaigns.end_of_day(date(2026, 5, 31)) + timedelta(minutes=1))
    assert await engine.wake_due_timers() >= 1
    assert (await AnnualInspection.get(id=rows[silent.id].id)).status == "reminded"
    engine.clock.advance(timedelta(days=31))
    assert await engine.wake_due_timers() >= 1
    assert (await AnnualInspection.get(id=rows[silent.id].id)).status == "absent"
    org = await SocialOrganization.get(id=silent.id)
    assert (org.credit_status, org.abnormal_since) == ("abnormal", date(2026, 7, 2))
    assert await CreditListEntry.filter(organization_id=silent.id, cause_key="annual_report:2025").count() == 1
    assert (await SocialOrganization.get(id=filer.id)).credit_status == "normal"


async def test_spot_check_target_follows_notice_outcome_and_publication(engine: Engine) -> None:
    await deploy_social_org(engine)
    listeners.register(engine)
    for _ in range(5):
        await make_org("511402")
    await make_inspectors("511402", 2)
    unit = await OrgUnit.get(code="511402")
    plan = await create_plan(engine, year=2026, authority=unit, plan_type="random", ratio=0.2, actor="so_dp")
    target = plan.targets[0]
    await complete(engine, target.instance_id, "Task_notice", {"notice_no": "眉东民社检〔2026〕2号",
                                                               "notice_date": "2026-03-01"})
    assert (await SpotCheckTarget.get(id=target.id)).notice_no == "眉东民社检〔2026〕2号"
    checklist = await HumanTask.get(instance_id=target.instance_id, bpmn_id="Task_checklist")
    await engine.complete_task(checklist.id, {"checklist_record_id": 1, "findings_count": 0,
                                              "checklist_passed": True}, actor="insp")
    await complete(engine, target.instance_id, "Task_outcome", {"outcome": "no_problem", "check_date": "2026-03-02",
                                                                "outcome_note": "未发现问题"})
    row = await SpotCheckTarget.get(id=target.id)
    assert (row.outcome, row.result_date, row.published) == ("no_problem", date(2026, 3, 2), True)

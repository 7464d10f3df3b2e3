"""The real 社会组织年检 diagram driven through the Engine: campaign launch, every path, timers, projections."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from engine.clock import FakeClock
from engine.models import HumanTask, OrgUnit, ProcessInstance
from engine.runtime import Engine
from tests.social_org_helpers import REPORT, complete, deploy_social_org, make_org, open_ids
from workflows.social_org import campaign as campaigns
from workflows.social_org import kpi
from workflows.social_org.models import (
    AnnualCampaign,
    AnnualInspection,
    CreditListEntry,
    RevocationCase,
    SocialOrganization,
)
from workflows.social_org.projection import Projector

YEAR = 2025


async def launch(engine: Engine, authority: str = "511402", year: int = YEAR) -> AnnualCampaign:
    unit = await OrgUnit.get(code=authority)
    c = await campaigns.open_campaign(year, unit, "admin")
    return await campaigns.launch(engine, c.id, actor="admin", batch_size=2)


async def inspection(org: SocialOrganization, year: int = YEAR) -> AnnualInspection:
    return await AnnualInspection.get(organization_id=org.id, year=year)


async def project(engine: Engine) -> None:
    await Projector().run(engine.clock.now())


async def test_campaign_launch_counts_exemptions_and_deadlines(engine: Engine) -> None:
    await deploy_social_org(engine)
    direct = await make_org("511402")
    supervised = await make_org("511402", supervisor="东坡区教育局")
    foundation = await make_org("511402", org_type="foundation", supervisor=None)
    await make_org("511402", registered=date(2025, 7, 1))  # last six months of the year: exempt
    on_cutoff_eve = await make_org("511402", registered=date(2025, 6, 30))
    await make_org("511402", registered=date(2026, 1, 10))  # registered after the year: not counted at all
    await make_org("511402", status="revoked")
    other_county = await make_org("511421")

    c = await launch(engine)
    assert (c.status, c.total, c.launched, c.exempt) == ("done", 4, 4, 1)
    assert c.seconds is not None
    rows = {r.organization_id: r for r in await AnnualInspection.filter(year=YEAR)}
    assert set(rows) == {direct.id, supervised.id, foundation.id, on_cutoff_eve.id}
    assert rows[direct.id].report_deadline == date(2026, 5, 31)
    assert rows[supervised.id].report_deadline == date(2026, 3, 31)
    assert rows[foundation.id].report_deadline == date(2026, 3, 31)
    task = await HumanTask.get(instance_id=rows[direct.id].instance_id)
    assert (task.bpmn_id, task.candidate_role, task.org_unit) == ("Task_submit_report", "so_reporter", "511402")
    instance = await ProcessInstance.get(id=rows[direct.id].instance_id)
    assert instance.next_timer_at is not None and instance.next_timer_at.date() == date(2026, 5, 31)

    city = await launch(engine, "511400")  # the city campaign covers the counties: only the rest is launched
    assert (city.total, city.launched) == (1, 1)
    assert await AnnualInspection.filter(year=YEAR, organization_id=other_county.id).exists()
    again = await campaigns.launch(engine, city.id, actor="admin")  # re-running launches nothing twice
    assert again.launched == 1 and await ProcessInstance.filter(process_key=campaigns.PROCESS_KEY).count() == 5


async def test_direct_registration_qualified(engine: Engine) -> None:
    await deploy_social_org(engine)
    org = await make_org("511402")
    await launch(engine)
    row = await inspection(org)
    await complete(engine, row.instance_id, "Task_submit_report", REPORT)
    assert await open_ids(row.instance_id) == ["Task_review"]  # no 业务主管单位: straight to the authority
    await project(engine)
    assert (await inspection(org)).status == "submitted"
    assert (await kpi.inspection_rate(YEAR, "/511400/")).value == 0
    await complete(engine, row.instance_id, "Task_review", {"review_action": "conclude", "review_note": "材料齐全"})
    await complete(engine, row.instance_id, "Task_conclude", {"conclusion": "qualified", "conclusion_opinion": "合格"})
    assert (await ProcessInstance.get(id=row.instance_id)).status == "completed"
    await project(engine)
    row = await inspection(org)
    assert (row.status, row.conclusion, row.published, row.concluded_on) == ("closed", "qualified", True,
                                                                             date(2026, 3, 2))
    rate = await kpi.inspection_rate(YEAR, "/511400/")
    assert (rate.numerator, rate.denominator, rate.met) == (1, 1, True)


async def test_supervisor_review_documents_site_check_then_rectification(engine: Engine) -> None:
    await deploy_social_org(engine)
    org = await make_org("511402", supervisor="东坡区体育局")
    await launch(engine)
    iid = (await inspection(org)).instance_id
    await complete(engine, iid, "Task_submit_report", REPORT)
    assert await open_ids(iid) == ["Task_supervisor_review"]
    sup = await HumanTask.get(instance_id=iid, bpmn_id="Task_supervisor_review")
    assert (sup.candidate_role, sup.org_unit, sup.due_at is not None) == ("so_supervisor", "511402", True)
    await complete(engine, iid, "Task_supervisor_review", {"supervisor_agrees": True, "supervisor_opinion": "同意"})
    await complete(engine, iid, "Task_review", {"review_action": "request_documents", "review_note": "请补充审计报告"})
    await complete(engine, iid, "Task_supply_documents", {"documents_note": "已补充审计报告"})
    await complete(engine, iid, "Task_review", {"review_action": "site_check", "review_note": "需实地核查"})
    site = await HumanTask.get(instance_id=iid, bpmn_id="Task_site_check")
    assert site.candidate_role == "inspector"
    await complete(engine, iid, "Task_site_check", {"site_check_date": "2026-04-02", "site_inspectors": "甲、乙",
                                                    "site_findings": "账目不规范"})
    await complete(engine, iid, "Task_review", {"review_action": "conclude", "review_note": "核查完毕"})
    await complete(engine, iid, "Task_conclude", {"conclusion": "basic", "conclusion_opinion": "财务管理不规范"})
    assert await open_ids(iid) == ["Task_rectify"]
    await project(engine)
    row = await inspection(org)
    assert (row.status, row.conclusion, row.published) == ("rectifying", "basic", True)
    await complete(engine, iid, "Task_rectify", {"rectification_report": "已建立财务制度并重新记账,附整改材料。"})
    await complete(engine, iid, "Task_reassess", {"final_conclusion": "qualified", "reassess_opinion": "整改到位"})
    await project(engine)
    row = await inspection(org)
    assert (row.status, row.conclusion, row.final_conclusion) == ("closed", "basic", "qualified")
    assert (await ProcessInstance.get(id=iid)).status == "completed"


async def test_not_submitted_reminder_then_activity_abnormal_list(engine: Engine) -> None:
    assert isinstance(engine.clock, FakeClock)
    await deploy_social_org(engine)
    org = await make_org("511402")
    await launch(engine)
    iid = (await inspection(org)).instance_id
    engine.clock.set(campaigns.end_of_day(date(2026, 5, 31)) - timedelta(minutes=1))
    assert await engine.wake_due_timers() == 0  # the deadline is enforced by the clock: not yet
    engine.clock.advance(timedelta(minutes=2))
    assert await engine.wake_due_timers() == 1
    assert await open_ids(iid) == ["Task_submit_late"]
    await project(engine)
    assert (await inspection(org)).status == "reminded"
    engine.clock.advance(timedelta(days=29))
    assert await engine.wake_due_timers() == 0
    engine.clock.advance(timedelta(days=2))
    assert await engine.wake_due_timers() == 1
    assert (await ProcessInstance.get(id=iid)).status == "completed"
    await project(engine)
    assert (await inspection(org)).status == "absent"
    org = await SocialOrganization.get(id=org.id)
    assert (org.credit_status, org.abnormal_since) == ("abnormal", date(2026, 7, 2))
    entry = await CreditListEntry.get(organization_id=org.id)
    assert (entry.cause_key, entry.cause) == ("annual_report:2025", "未按规定报送 2025 年度工作报告")
    await project(engine)  # idempotent
    assert await CreditListEntry.filter(organization_id=org.id).count() == 1
    assert not await RevocationCase.exists()
    assert (await kpi.inspection_rate(YEAR, "/")).value == 0


async def test_late_report_within_grace_continues(engine: Engine) -> None:
    await deploy_social_org(engine)
    org = await make_org("511402", org_type="foundation")
    await launch(engine)
    iid = (await inspection(org)).instance_id
    assert isinstance(engine.clock, FakeClock)
    engine.clock.set(campaigns.end_of_day(date(2026, 4, 1)))  # 基金会: deadline 3-31
    assert await engine.wake_due_timers() == 1
    await complete(engine, iid, "Task_submit_late", {**REPORT, "audit_report_attached": True,
                                                     "audit_report_ref": "眉会审〔2026〕12号"})
    assert await open_ids(iid) == ["Task_review"]
    instance = await ProcessInstance.get(id=iid)
    assert instance.data["audit_missing"] is False and instance.next_timer_at is None


async def test_two_bad_years_open_a_revocation_case(engine: Engine) -> None:
    await deploy_social_org(engine)
    org = await make_org("511402")
    unit = await OrgUnit.get(code="511402")
    await AnnualInspection.create(organization_id=org.id, year=YEAR - 1, authority_path=unit.path, status="absent")
    await launch(engine)
    iid = (await inspection(org)).instance_id
    await complete(engine, iid, "Task_submit_report", REPORT)
    await complete(engine, iid, "Task_review", {"review_action": "conclude", "review_note": "审查"})
    await complete(engine, iid, "Task_conclude", {"conclusion": "unqualified", "conclusion_opinion": "严重违规",
                                                  "order_stop_activities": True})
    await project(engine)
    case = await RevocationCase.get(organization_id=org.id)
    assert case.year == YEAR and "2024 年度未参加年检" in case.reason and "2025 年度年检不合格" in case.reason
    # the rectification period (P3M) runs out without a report: 活动异常名录 for the rectification
    assert isinstance(engine.clock, FakeClock)
    engine.clock.advance(timedelta(days=93))
    assert await engine.wake_due_timers() == 1
    await project(engine)
    row = await inspection(org)
    assert row.status == "rectify_overdue"
    assert await CreditListEntry.exists(organization_id=org.id, cause_key="rectification:2025")
    assert await RevocationCase.filter(organization_id=org.id).count() == 1


async def test_projector_watermark_only_reads_changed_instances(engine: Engine) -> None:
    await deploy_social_org(engine)
    org = await make_org("511402")
    await launch(engine)
    projector = Projector()
    assert await projector.run(engine.clock.now()) == 1
    assert isinstance(engine.clock, FakeClock)
    engine.clock.advance(timedelta(seconds=5))
    iid: Any = (await inspection(org)).instance_id
    await complete(engine, iid, "Task_submit_report", REPORT)
    assert await projector.run(engine.clock.now()) == 1
    assert (await inspection(org)).status == "submitted"

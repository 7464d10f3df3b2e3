"""Findings tracked to closure (workflows.common.findings): a failed checklist item, including a failed limit item,
becomes a finding with a corrective action, an owner and a due date; its closure (who, when, what, evidence) is
recorded; overdue open findings are listed; all of it scoped by org unit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from engine.clock import FakeClock
from engine.models import Attachment, HumanTask, OrgUnit
from engine.runtime import Engine
from tests.conftest import browser_login
from tests.social_org_helpers import (
    PHOTO,
    complete,
    deploy_social_org,
    make_inspectors,
    make_org,
    seed_so_users,
)
from workflows.common import findings as rules
from workflows.common.checklist import evaluate
from workflows.common.models import ChecklistRecord, ChecklistTemplate, FindingRecord
from workflows.social_org.models import SpotCheckTarget
from workflows.social_org.projection import Projector
from workflows.social_org.spot_check import create_plan

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Meishan
LIMIT_TEMPLATE: dict[str, Any] = {
    "code": "test_limits", "version": 1, "title": "限值检查", "parameters": {"ph_max": 0.5, "rectify_days": 15},
    "items": [
        {"code": "records", "kind": "check", "label": "台账完整"},
        {"code": "ph", "kind": "measure", "label": "渗滤液指标", "limit_param": "ph_max", "comparison": "<=",
         "legal_basis": "示例标准 3.2", "corrective_action": "查明超标原因,整改后复测"},
    ],
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_failed_limit_item_creates_a_finding_with_a_due_date_and_its_closure_is_recorded(engine: Engine) -> None:
    template = await ChecklistTemplate.create(code="test_limits", version=1, title="限值检查", body=LIMIT_TEMPLATE)
    answers = {"records": {"ok": True}, "ph": [{"label": "1 号井", "value": 0.4}, {"label": "2 号井", "value": 0.7}]}
    found = evaluate(LIMIT_TEMPLATE, answers)
    assert [(f.item, f.value) for f in found] == [("ph", "0.7")]  # 0.4 passes, 0.7 is over the 0.5 limit
    record = await ChecklistRecord.create(template_id=template.id, subject_type="test_site", subject_id="7",
                                          inspector="insp", answers=answers, findings=[f.as_dict() for f in found],
                                          passed=False)
    async with in_transaction() as conn:
        rows = await rules.open_findings(conn, record, found, LIMIT_TEMPLATE, scope_path="/511400/511402/",
                                         owner="某公墓", check_day=date(2026, 3, 10), now=NOW, subject_name="某公墓")
    assert len(rows) == 1
    row = await FindingRecord.get(id=rows[0].id)
    assert row.due_date == date(2026, 3, 25)  # the template's rectify_days = 15
    assert row.status == "open" and row.owner == "某公墓" and "2 号井" in row.message
    assert row.corrective_action == "查明超标原因,整改后复测(依据:示例标准 3.2)"
    scope = rules.in_scope("/511400/511402/")
    assert await rules.overdue(scope, date(2026, 3, 25)).count() == 0  # due today: not yet overdue
    assert await rules.overdue(scope, date(2026, 3, 26)).count() == 1
    assert await rules.overdue(rules.in_scope("/511400/511421/"), date(2026, 3, 26)).count() == 0  # other county

    try:
        await rules.close_finding(row.id, actor="so_dp", note=" ", now=NOW)
    except rules.FindingError as exc:
        assert "整改情况" in str(exc)
    else:
        raise AssertionError("a closure without a note must be refused")
    closed_at = NOW + timedelta(days=12)
    closed = await rules.close_finding(row.id, actor="so_dp", note="已更换防渗膜,复测 0.3", now=closed_at)
    assert (closed.status, closed.closed_by, closed.closure_note) == ("closed", "so_dp", "已更换防渗膜,复测 0.3")
    assert closed.closed_at == closed_at
    assert await rules.overdue(scope, date(2026, 4, 30)).count() == 0  # closed findings are never overdue
    try:
        await rules.close_finding(row.id, actor="other", note="再次关闭", now=NOW)
    except rules.FindingError:
        pass
    else:
        raise AssertionError("closing twice must be refused")
    assert (await FindingRecord.get(id=row.id)).closed_by == "so_dp"  # the first closure stands


async def test_spot_check_findings_follow_the_deadline_and_close_with_evidence(client: Any, engine: Engine,
                                                                               password_hash: str) -> None:
    assert isinstance(engine.clock, FakeClock)
    engine.clock.set(NOW)
    await deploy_social_org(engine)
    await seed_so_users(password_hash)
    org = await make_org("511402", org_type="foundation", name="眉山市测试慈善基金会")
    await make_inspectors("511402", 2)
    unit = await OrgUnit.get(code="511402")
    plan = await create_plan(engine, year=2026, authority=unit, plan_type="random", ratio=1.0, actor="so_dp")
    target = plan.targets[0]
    assert target.organization_id == org.id
    await complete(engine, target.instance_id, "Task_notice", {"notice_no": "眉东民社检〔2026〕3号",
                                                               "notice_date": "2026-03-09"})
    csrf = await browser_login(client, "insp_dp")
    answers = {f"{c}__ok": "yes" for c in ("annual_report", "disclosure", "governance", "finance", "activities")}
    r = await client.post(f"/social-org/spot-checks/targets/{target.id}/checklist",
                          data={"csrf_token": csrf, **answers, "admin_cost_ratio": "12.5"},  # the limit is 10
                          files=PHOTO)
    assert r.status_code == 303, r.text
    finding = await FindingRecord.get()
    assert (finding.item, finding.value, finding.status) == ("admin_cost_ratio", "12.5", "open")
    assert finding.due_date == date(2026, 4, 9)  # 30 days after the check by default
    assert finding.owner == org.name and finding.scope_path == unit.path
    assert "基金会管理条例 29" in finding.corrective_action
    page = await client.get(f"/social-org/spot-checks/targets/{target.id}/checklist")
    assert "整改措施" in page.text and "2026-04-09" in page.text and "待整改" in page.text

    # 责令改正 with a deadline: the findings take that deadline
    task = await HumanTask.get(instance_id=target.instance_id, bpmn_id="Task_outcome")
    await engine.complete_task(task.id, {"outcome": "rectify", "check_date": "2026-03-10",
                                         "rectify_deadline": "2026-04-20", "outcome_note": "责令限期改正"},
                               actor="so_dp")
    await Projector().run(engine.clock.now())
    assert (await FindingRecord.get(id=finding.id)).due_date == date(2026, 4, 20)

    # overdue open findings are visible
    engine.clock.set(datetime(2026, 4, 22, 2, 0, tzinfo=UTC))
    overdue = await client.get("/social-org/findings?status=overdue")
    assert overdue.status_code == 200 and org.name in overdue.text and "逾期 2 天" in overdue.text
    plans = await client.get("/social-org/spot-checks")
    assert 'href="/social-org/findings?status=overdue"><span class="tag tag-danger">逾期 1 项' in plans.text

    # another county sees nothing of it
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await browser_login(client, "so_rs")
    other = await client.get("/social-org/findings?status=all")
    assert org.name not in other.text
    r = await client.post(f"/social-org/findings/{finding.id}/close", data={"csrf_token": csrf, "note": "越权关闭"})
    assert r.status_code == 404 and (await FindingRecord.get(id=finding.id)).status == "open"

    # the authority closes it: a note is required, a bad evidence file is refused and nothing is closed
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await browser_login(client, "so_dp")
    url = f"/social-org/findings/{finding.id}/close"
    no_csrf = await client.post(url, data={"note": "已整改"})
    assert no_csrf.status_code == 403
    r = await client.post(url, data={"csrf_token": csrf, "note": ""}, follow_redirects=True)
    assert "请填写整改情况说明" in r.text and (await FindingRecord.get(id=finding.id)).status == "open"
    r = await client.post(url, data={"csrf_token": csrf, "note": "已调整"},
                          files={"evidence": ("fake.pdf", b"not a pdf", "application/pdf")}, follow_redirects=True)
    assert "佐证材料未保存" in r.text and (await FindingRecord.get(id=finding.id)).status == "open"
    r = await client.post(url, data={"csrf_token": csrf, "note": "已调整支出结构,复查比例 9.6%"},
                          files={"evidence": ("复查报告.pdf", PDF, "application/pdf")})
    assert r.status_code == 303
    closed = await FindingRecord.get(id=finding.id)
    assert (closed.status, closed.closed_by, closed.closure_note) == ("closed", "so_dp", "已调整支出结构,复查比例 9.6%")
    assert closed.closed_at == engine.clock.now()
    evidence = await Attachment.get(id=closed.evidence_attachment_id)
    assert evidence.instance_id is not None and str(evidence.instance_id) == target.instance_id
    download = await client.get(f"/attachments/{evidence.id}")
    assert download.status_code == 200 and download.content == PDF
    listing = await client.get("/social-org/findings?status=closed")
    assert "关闭:东坡区登记机关 于" in listing.text and "已调整支出结构" in listing.text  # display name
    assert org.name not in (await client.get("/social-org/findings?status=overdue")).text
    assert (await SpotCheckTarget.get(id=target.id)).findings_count == 1

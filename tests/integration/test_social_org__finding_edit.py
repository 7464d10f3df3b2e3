"""The authority edits an open finding: owner (the organization, its 业务主管单位, or an org unit of its scope such
as a township), corrective action and due date. The change is recorded on the row (who, when) and as an audit event
with before/after values; bad input is refused in Chinese with the input kept; closed findings, other counties'
findings and inspectors cannot change it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from engine.audit import verify_chain
from engine.clock import FakeClock
from engine.models import AuditEvent, OrgUnit
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
from workflows.common.models import FindingRecord
from workflows.social_org.spot_check import create_plan

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Meishan


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.clock = FakeClock(NOW)
    return engine


async def _finding(client: Any, engine: Engine, password_hash: str) -> FindingRecord:
    """A foundation with a 业务主管单位 fails the admin-cost limit on its spot check: one open finding."""
    await deploy_social_org(engine)
    await seed_so_users(password_hash)
    await make_org("511402", org_type="foundation", name="眉山市测试慈善基金会", supervisor="眉山市东坡区教育局")
    await make_inspectors("511402", 2)
    unit = await OrgUnit.get(code="511402")
    plan = await create_plan(engine, year=2026, authority=unit, plan_type="random", ratio=1.0, actor="so_dp")
    target = plan.targets[0]
    await complete(engine, target.instance_id, "Task_notice", {"notice_no": "眉东民社检〔2026〕3号",
                                                               "notice_date": "2026-03-09"})
    csrf = await browser_login(client, "insp_dp")
    answers = {f"{c}__ok": "yes" for c in ("annual_report", "disclosure", "governance", "finance", "activities")}
    r = await client.post(f"/social-org/spot-checks/targets/{target.id}/checklist",
                          data={"csrf_token": csrf, **answers, "admin_cost_ratio": "12.5"}, files=PHOTO)
    assert r.status_code == 303, r.text
    # the inspector may close findings but not change what was required
    page = await client.get("/social-org/findings")
    assert "修改责任方、整改措施或期限" not in page.text
    finding = await FindingRecord.get()
    denied = await client.post(f"/social-org/findings/{finding.id}/edit", data={
        "csrf_token": csrf, "owner_choice": "organization", "corrective_action": "改", "due_date": "2026-05-01"})
    assert denied.status_code == 403
    await client.post("/logout", data={"csrf_token": csrf})
    return finding


async def test_the_authority_hands_the_finding_to_a_township_with_a_new_action_and_date(
        client: Any, engine: Engine, password_hash: str) -> None:
    finding = await _finding(client, engine, password_hash)
    assert (finding.owner, finding.owner_unit_code) == ("眉山市测试慈善基金会", None)
    assert finding.due_date == date(2026, 4, 9)
    csrf = await browser_login(client, "so_dp")
    page = await client.get("/social-org/findings")
    assert '<option value="organization" selected>被检查社会组织:眉山市测试慈善基金会</option>' in page.text
    assert '<option value="supervisor">业务主管单位:眉山市东坡区教育局</option>' in page.text
    assert 'value="unit:511402001"' in page.text and "unit:511421" not in page.text  # only units in scope

    url = f"/social-org/findings/{finding.id}/edit"
    r = await client.post(url, data={"csrf_token": csrf, "owner_choice": "unit:511402001",
                                     "corrective_action": "通惠街道督促基金会压减行政支出,报送整改报告",
                                     "due_date": "2026-05-15", "back": "/social-org/findings?status=open"})
    assert r.status_code == 303 and r.headers["location"] == "/social-org/findings?status=open"
    row = await FindingRecord.get(id=finding.id)
    assert (row.owner, row.owner_unit_code, row.due_date) == ("通惠街道", "511402001", date(2026, 5, 15))
    assert row.corrective_action == "通惠街道督促基金会压减行政支出,报送整改报告"
    assert (row.updated_by, row.updated_at, row.status) == ("so_dp", NOW, "open")
    event = await AuditEvent.get(action="finding.updated")
    assert event.actor == "so_dp" and event.instance_id is not None
    assert event.payload["finding_id"] == finding.id
    assert event.payload["changes"]["owner"] == ["眉山市测试慈善基金会", "通惠街道"]
    assert event.payload["changes"]["owner_unit_code"] == [None, "511402001"]
    assert event.payload["changes"]["due_date"] == ["2026-04-09", "2026-05-15"]
    assert (await verify_chain()).broken_at is None
    page = await client.get("/social-org/findings")
    assert "责任方 通惠街道" in page.text and "2026-05-15" in page.text and "整改要求最后由 so_dp" in page.text
    assert '<option value="unit:511402001" selected>' in page.text

    # back to the 业务主管单位, then nothing changed is refused
    r = await client.post(url, data={"csrf_token": csrf, "owner_choice": "supervisor",
                                     "corrective_action": row.corrective_action, "due_date": "2026-05-15"})
    assert r.status_code == 303
    assert (await FindingRecord.get(id=finding.id)).owner_unit_code is None
    assert (await FindingRecord.get(id=finding.id)).owner == "眉山市东坡区教育局"
    same = await client.post(url, data={"csrf_token": csrf, "owner_choice": "supervisor",
                                        "corrective_action": row.corrective_action, "due_date": "2026-05-15"})
    assert same.status_code == 422 and "未作任何修改" in same.text
    assert await AuditEvent.filter(action="finding.updated").count() == 2


@pytest.mark.parametrize("change, message", [
    ({"due_date": "2026-03-01"}, "整改期限不能早于今天"),
    ({"due_date": "2026-13-01"}, "请填写有效的整改期限"),
    ({"due_date": "2028-01-01"}, "整改期限不能晚于检查后 366 天"),
    ({"owner_choice": "unit:511421001"}, "请选择整改责任方"),  # another county's township
    ({"owner_choice": "unit:nonsense"}, "请选择整改责任方"),
    ({"corrective_action": " "}, "请填写整改措施"),
])
async def test_bad_changes_are_refused_with_the_input_kept(client: Any, engine: Engine, password_hash: str,
                                                          change: dict[str, str], message: str) -> None:
    finding = await _finding(client, engine, password_hash)
    csrf = await browser_login(client, "so_dp")
    typed = "新的整改措施:补充说明支出构成并报送审计报告"
    r = await client.post(f"/social-org/findings/{finding.id}/edit", data={
        "csrf_token": csrf, "owner_choice": "organization", "corrective_action": typed, "due_date": "2026-05-01",
        **change})
    assert r.status_code == 422 and message in r.text
    card = re.search(rf'id="finding-{finding.id}".*?</section>', r.text, re.S)
    assert card is not None and "<details class=\"edit-finding\" open>" in card.group(0)
    if "corrective_action" not in change:
        assert typed in card.group(0)  # nothing lost
    assert (await FindingRecord.get(id=finding.id)).updated_at is None
    assert not await AuditEvent.filter(action="finding.updated").exists()


async def test_closed_and_out_of_scope_findings_cannot_be_changed(client: Any, engine: Engine,
                                                                 password_hash: str) -> None:
    finding = await _finding(client, engine, password_hash)
    data = {"owner_choice": "organization", "corrective_action": "新的整改措施", "due_date": "2026-05-01"}
    csrf = await browser_login(client, "so_rs")  # 仁寿县: another county
    r = await client.post(f"/social-org/findings/{finding.id}/edit", data={"csrf_token": csrf, **data})
    assert r.status_code == 404
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await browser_login(client, "so_dp")
    assert (await client.post(f"/social-org/findings/{finding.id}/edit", data=data)).status_code == 403  # no CSRF
    await rules.close_finding(finding.id, actor="so_dp", note="已整改", now=NOW)
    with pytest.raises(rules.FindingError, match="已关闭"):
        await rules.update_finding(finding.id, actor="so_dp", owner="x", owner_unit_code=None,
                                   corrective_action="新的整改措施", due_date=date(2026, 5, 1), today=date(2026, 3, 10),
                                   now=NOW)
    r = await client.post(f"/social-org/findings/{finding.id}/edit", data={"csrf_token": csrf, **data})
    assert r.status_code == 303
    assert "该问题已关闭,不能再修改整改要求" in (await client.get(r.headers["location"])).text
    assert (await FindingRecord.get(id=finding.id)).corrective_action != "新的整改措施"

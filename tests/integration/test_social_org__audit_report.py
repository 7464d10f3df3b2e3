"""基金会 annual report: the CPA audit report is a real attachment (engine.collab: a file outside the workflow state,
type and size checked, sha256 recorded, download scoped to the case's org unit), and the report cannot be submitted
without it. Other organization types are not asked for one."""

from __future__ import annotations

import hashlib
from typing import Any

from engine.forms import FormValidationError
from engine.models import Attachment, HumanTask, OrgUnit, ProcessInstance, User
from engine.runtime import Engine
from tests.conftest import browser_login
from tests.social_org_helpers import REPORT, deploy_social_org, make_org, open_ids, seed_so_users
from workflows.social_org import campaign as campaigns
from workflows.social_org import listeners
from workflows.social_org.models import AnnualInspection

PDF = b"%PDF-1.4\n% audit report 2025\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FOUNDATION_REPORT = {"total_assets": "2000000", "total_income": "900000", "total_expenditure": "850000",
                     "activities_summary": "全年资助困难学生 120 名,开展助老项目 3 个。", "meetings_held": "2",
                     "audit_report_attached": "true", "audit_report_ref": "眉会审〔2026〕8号"}


async def _setup(engine: Engine, password_hash: str) -> tuple[Any, Any]:
    await deploy_social_org(engine)
    listeners.register(engine)
    await seed_so_users(password_hash)
    await User.create(username="rep_dp", display_name="东坡区年检报送", org_unit_id="511402", roles=["so_reporter"],
                      password_hash=password_hash)
    foundation = await make_org("511402", org_type="foundation", name="眉山市东坡区助学基金会")
    group = await make_org("511402", org_type="social_group", supervisor="区文旅局")
    unit = await OrgUnit.get(code="511402")
    campaign = await campaigns.open_campaign(2025, unit, "admin")
    await campaigns.launch(engine, campaign.id, actor="admin")
    return foundation, group


async def test_foundation_report_needs_the_audit_report_as_an_attachment(client: Any, engine: Engine,
                                                                        password_hash: str, web_app: Any) -> None:
    foundation, group = await _setup(engine, password_hash)
    row = await AnnualInspection.get(organization_id=foundation.id)
    task = await HumanTask.get(instance_id=row.instance_id, bpmn_id="Task_submit_report")

    # the engine refuses the step itself, whoever calls it, and nothing moves
    try:
        await engine.complete_task(task.id, {**REPORT, "audit_report_attached": True}, actor="rep_dp")
    except FormValidationError as exc:
        assert [(e.field, e.code) for e in exc.errors] == [("audit_report_attached", "domain")]
        assert "审计报告" in exc.errors[0].message
    else:
        raise AssertionError("a 基金会 report without an audit report must be refused")
    assert await open_ids(row.instance_id) == ["Task_submit_report"]

    csrf = await browser_login(client, "rep_dp")
    page = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, **FOUNDATION_REPORT})
    assert page.status_code == 422 and "须先在本事项的“附件”中上传注册会计师出具的审计报告" in page.text
    # a file that is not what it claims to be is refused by the attachment check
    fake = await client.post(f"/tasks/{task.id}/attachments", data={"csrf_token": csrf},
                             files={"file": ("审计报告.pdf", b"<html>not a pdf</html>", "application/pdf")})
    assert fake.status_code == 422 and not await Attachment.exists()
    up = await client.post(f"/tasks/{task.id}/attachments", data={"csrf_token": csrf},
                           files={"file": ("2025年度审计报告.pdf", PDF, "application/pdf")})
    assert up.status_code == 303
    # uploaded but the box left unticked: refused with its own message
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf,
                                                     **{**FOUNDATION_REPORT, "audit_report_attached": "false"}})
    assert r.status_code == 422 and "请勾选“已附审计报告”" in r.text
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, **FOUNDATION_REPORT})
    assert r.status_code == 303, r.text
    assert await open_ids(row.instance_id) == ["Task_review"]

    attachment = await Attachment.get()
    row = await AnnualInspection.get(id=row.id)
    assert row.audit_attachment_id == attachment.id
    assert row.audit_sha256 == attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    instance = await ProcessInstance.get(id=row.instance_id)
    assert PDF.decode() not in str(instance.data) and PDF.decode() not in (instance.state or "")  # outside the state
    assert web_app.state.ctx.attachments.path(attachment.sha256).read_bytes() == PDF  # stored by its hash

    # the registrar of the authority downloads it from the organization page; another county cannot
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await browser_login(client, "so_dp")
    org_page = await client.get(f"/social-org/orgs/{foundation.id}")
    assert f'href="/attachments/{attachment.id}"' in org_page.text and attachment.sha256[:12] in org_page.text
    download = await client.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200 and download.content == PDF
    await client.post("/logout", data={"csrf_token": csrf})
    await browser_login(client, "so_rs")
    assert (await client.get(f"/attachments/{attachment.id}")).status_code == 403

    # a 社会团体 is not asked for an audit report
    other = await AnnualInspection.get(organization_id=group.id)
    other_task = await HumanTask.get(instance_id=other.instance_id, bpmn_id="Task_submit_report")
    await engine.complete_task(other_task.id, REPORT, actor="rep_dp")
    assert await open_ids(other.instance_id) == ["Task_supervisor_review"]
    assert (await AnnualInspection.get(id=other.id)).audit_attachment_id is None

"""Attachments on projects: with the declaration, on the project page at 申报 / 验收 / 绩效评价 stages; checked
type and content, stored by hash outside the workflow state, on the timeline, downloadable only in scope."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from engine.models import Attachment, HumanTask, ProcessInstance
from projects_registry import lifecycle
from projects_registry.models import Project, ProjectEvent
from tests.conftest import api_token, browser_login
from tests.integration.projects_helpers import CITY, PM, D, deploy, submission, to_mature, to_reserve
from tests.integration.test_projects__pages import VALID_FORM, add_project_managers

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_declaration_with_a_file_and_refused_files(client: Any, engine: Any, password_hash: str) -> None:
    await deploy(engine)
    await add_project_managers(password_hash)
    csrf = await browser_login(client, "dp_pm")
    r = await client.post("/projects/new", data={**VALID_FORM, "csrf_token": csrf},
                          files={"file": ("setup.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert r.status_code == 422 and "不支持该文件类型" in r.text and 'value="仁寿县残疾人康复站"' in r.text
    r = await client.post("/projects/new", data={**VALID_FORM, "csrf_token": csrf},
                          files={"file": ("方案.pdf", b"not a pdf", "application/pdf")})
    assert r.status_code == 422 and "文件内容与扩展名不符" in r.text
    assert await Project.all().count() == 0 and await Attachment.all().count() == 0

    r = await client.post("/projects/new", data={**VALID_FORM, "csrf_token": csrf},
                          files={"file": ("实施方案.pdf", PDF, "application/pdf")})
    assert r.status_code == 303, r.text
    project = await Project.get()
    row = await Attachment.get(instance_id=project.instance_id)
    assert row.sha256 == hashlib.sha256(PDF).hexdigest() and row.size == len(PDF) and row.filename == "实施方案.pdf"
    task = await HumanTask.get(id=row.task_id)
    assert task.bpmn_id == "Task_county_review"  # linked to the step it was submitted for
    instance = await ProcessInstance.get(id=project.instance_id)
    assert "实施方案" not in str(instance.data)  # outside the workflow state
    event = await ProjectEvent.filter(project_id=project.id).order_by("-id").first()
    assert event is not None and event.action == "上传附件(申报材料)" and event.detail == "实施方案.pdf"
    page = await client.get(f"/projects/{project.id}")
    assert "申报材料" in page.text and f'href="/attachments/{row.id}"' in page.text
    download = await client.get(f"/attachments/{row.id}")
    assert download.status_code == 200 and download.content == PDF

    await browser_login(client, "rs_county")  # another county: cannot download 东坡区's file
    assert (await client.get(f"/attachments/{row.id}")).status_code == 403


async def test_project_page_uploads_by_stage_and_scope(client: Any, engine: Any, password_hash: str) -> None:
    await deploy(engine)
    await add_project_managers(password_hash)
    reserve = await to_reserve(engine, submission("储备中项目"))
    running = await to_mature(engine, submission("实施中项目"))
    batch = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("300000"))
    await lifecycle.confirm_batch(engine, CITY, batch)
    running = await Project.get(id=running.id)
    await lifecycle.fund(engine, CITY, running, "协议1", date(2026, 3, 1), D("300000"))
    await lifecycle.report_execution(engine, PM, running, date(2026, 12, 1), D("290000"), D("95"))
    csrf = await browser_login(client, "dp_pm")

    r = await client.post(f"/projects/{reserve.id}/attachments", data={"csrf_token": csrf},
                          files={"file": ("a.pdf", PDF, "application/pdf")})
    assert r.status_code == 303
    assert "不接收附件" in (await client.get(r.headers["location"])).text
    assert await Attachment.all().count() == 0

    r = await client.post(f"/projects/{running.id}/attachments", data={"csrf_token": csrf},
                          files={"file": ("empty.pdf", b"", "application/pdf")})
    assert "文件为空" in (await client.get(r.headers["location"])).text
    r = await client.post(f"/projects/{running.id}/attachments", data={},  # no CSRF token
                          files={"file": ("验收报告.pdf", PDF, "application/pdf")})
    assert r.status_code == 403
    assert await Attachment.all().count() == 0

    r = await client.post(f"/projects/{running.id}/attachments", data={"csrf_token": csrf},
                          files={"file": ("验收报告.pdf", PDF, "application/pdf")})
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{running.id}#attachments"
    page = await client.get(f"/projects/{running.id}")
    assert "已上传附件:验收报告.pdf(验收材料)" in page.text and "上传附件(验收材料)" in page.text
    again = await client.post(f"/projects/{running.id}/attachments", data={"csrf_token": csrf},
                              files={"file": ("验收报告.pdf", PDF, "application/pdf")})
    assert again.status_code == 303
    assert await Attachment.filter(instance_id=running.instance_id).count() == 1  # same bytes: stored once
    assert await ProjectEvent.filter(project_id=running.id, action="上传附件(验收材料)").count() == 1

    token = await api_token(client, "dp_pm")
    body = (await client.get(f"/api/v1/projects/{running.id}", headers=token)).json()
    assert [a["filename"] for a in body["attachments"]] == ["验收报告.pdf"]
    rs = await api_token(client, "rs_county")
    row = await Attachment.get(instance_id=running.instance_id)
    assert (await client.get(f"/api/v1/attachments/{row.id}", headers=rs)).status_code == 403
    rs_csrf = await browser_login(client, "rs_pm")
    r = await client.post(f"/projects/{running.id}/attachments", data={"csrf_token": rs_csrf},
                          files={"file": ("x.pdf", PDF, "application/pdf")})
    assert r.status_code == 404  # another county's project does not exist for them

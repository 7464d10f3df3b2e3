"""Editing a project after 退回 from the UI: the applicant corrects fields, budget and indicators, the change goes on
the timeline, bad input loses nothing, and only the applicant's project manager may edit, only at 修改完善."""

from __future__ import annotations

from typing import Any

from projects_registry import lifecycle
from projects_registry.models import BudgetLine, PerformanceIndicator, Project, ProjectEvent
from tests.conftest import browser_login
from tests.integration.projects_helpers import COUNTY, PM, D, deploy, submission
from tests.integration.test_projects__pages import VALID_FORM, add_project_managers


async def returned_project(engine: Any, password_hash: str) -> Project:
    await deploy(engine)
    await add_project_managers(password_hash)
    p = await lifecycle.submit(engine, PM, submission())
    await lifecycle.county_review(engine, COUNTY, p, "return", "请调整资金结构")
    return await Project.get(id=p.id)


async def test_applicant_edits_after_return_and_resubmits(client: Any, engine: Any, password_hash: str) -> None:
    p = await returned_project(engine, password_hash)
    csrf = await browser_login(client, "dp_pm")
    detail = await client.get(f"/projects/{p.id}")
    assert f'href="/projects/{p.id}/edit"' in detail.text
    form = await client.get(f"/projects/{p.id}/edit")
    assert form.status_code == 200 and "修改申报内容" in form.text
    assert 'value="通惠街道老年助餐点建设"' in form.text and 'value="300000.00"' in form.text  # prefilled

    banned = dict(VALID_FORM, line1_item="社工工资", line1_category="salaries", line1_source="lottery",
                  fund_lottery="250000", fund_county="")
    r = await client.post(f"/projects/{p.id}/edit", data={**banned, "csrf_token": csrf})
    assert r.status_code == 422 and "不得用于人员工资" in r.text and "修改未保存" in r.text
    assert 'value="社工工资"' in r.text  # what was typed is kept
    assert (await Project.get(id=p.id)).version == p.version
    assert await BudgetLine.filter(project_id=p.id).count() == 2

    edited = dict(VALID_FORM, name="通惠街道老年助餐点建设(调整)", applicant_org="511421")  # org: ignored
    r = await client.post(f"/projects/{p.id}/edit", data={**edited, "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{p.id}#revise"
    fresh = await Project.get(id=p.id)
    assert fresh.name == "通惠街道老年助餐点建设(调整)" and fresh.total_budget == D("250000")
    assert fresh.applicant_org == "511402" and fresh.stage == "revision"
    assert sorted(await PerformanceIndicator.filter(project_id=p.id).values_list("name", flat=True)) == \
        sorted(["康复训练人次", "功能改善率", "满意度"])
    event = await ProjectEvent.filter(project_id=p.id).order_by("-id").first()
    assert event is not None and event.action == "退回后修改申报内容"
    assert "项目名称" in event.detail and "预算明细" in event.detail and "绩效指标" in event.detail
    page = await client.get(f"/projects/{p.id}")
    assert "已保存修改" in page.text and "退回后修改申报内容" in page.text

    r = await client.post(f"/projects/{p.id}/action", data={"csrf_token": csrf, "action": "revise",
                                                            "opinion": "已按意见调整"})
    assert r.status_code == 303
    assert (await Project.get(id=p.id)).stage == "county_review"
    r = await client.get(f"/projects/{p.id}/edit")  # no longer at 修改完善: back to the project, nothing to edit
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{p.id}"


async def test_only_the_applicant_may_edit_and_csrf_is_required(client: Any, engine: Any,
                                                                password_hash: str) -> None:
    p = await returned_project(engine, password_hash)
    csrf = await browser_login(client, "dp_county")
    assert (await client.get(f"/projects/{p.id}/edit")).status_code == 403
    r = await client.post(f"/projects/{p.id}/edit", data={**VALID_FORM, "csrf_token": csrf})
    assert r.status_code == 403
    await client.post("/logout", data={"csrf_token": csrf})
    await browser_login(client, "rs_pm")  # another county: the project does not exist for them
    assert (await client.get(f"/projects/{p.id}/edit")).status_code == 404
    await browser_login(client, "dp_pm")
    r = await client.post(f"/projects/{p.id}/edit", data=VALID_FORM)  # no CSRF token
    assert r.status_code == 403
    assert (await Project.get(id=p.id)).version == p.version

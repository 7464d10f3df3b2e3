"""项目库 pages: rendering, Chinese validation, scoping by org path, batch confirmation, XLSX, public summary."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import load_workbook

from engine.models import User
from projects_registry import lifecycle
from projects_registry.models import Project, ReleaseBatch
from tests.conftest import browser_login
from tests.integration.projects_helpers import CITY, PM, D, deploy, submission, to_mature

VALID_FORM = {
    "name": "仁寿县残疾人康复站", "applicant_org": "511402", "applicant_unit": "东坡区残联", "contact": "王主任",
    "category": "disability", "scope": "建设康复训练室,购置康复器材", "beneficiaries": "持证残疾人",
    "beneficiary_count": "300",
    "period_start": "2026-03-01", "period_end": "2026-12-31", "location": "东坡区",
    "fund_lottery": "200000", "fund_county": "50000",
    "line0_item": "康复器材", "line0_category": "equipment", "line0_source": "lottery", "line0_amount": "200000",
    "line1_item": "康复服务购买", "line1_category": "services", "line1_source": "county", "line1_amount": "50000",
    "ind0_kind": "output_quantity", "ind0_name": "康复训练人次", "ind0_target": "3000", "ind0_unit": "人次",
    "ind1_kind": "outcome", "ind1_name": "功能改善率", "ind1_target": "60", "ind1_unit": "%",
    "ind2_kind": "satisfaction", "ind2_name": "满意度", "ind2_target": "90", "ind2_unit": "%",
}


async def add_project_managers(password_hash: str) -> None:
    await User.create(username="dp_pm", display_name="东坡区项目管理", org_unit_id="511402", roles=["project_manager"],
                      password_hash=password_hash)
    await User.create(username="rs_pm", display_name="仁寿县项目管理", org_unit_id="511421", roles=["project_manager"],
                      password_hash=password_hash)


async def test_submission_form_shows_chinese_errors_then_submits(client: Any, engine: Any, password_hash: str) -> None:
    await deploy(engine)
    await add_project_managers(password_hash)
    csrf = await browser_login(client, "dp_pm")
    page = await client.get("/projects/new")
    assert page.status_code == 200 and "申报专项资金项目" in page.text
    bad = dict(VALID_FORM, name="", line1_item="社工工资", line1_category="salaries", line1_source="lottery",
               fund_lottery="250000", fund_county="", period_end="2026-01-01")
    r = await client.post("/projects/new", data={**bad, "csrf_token": csrf})
    assert r.status_code == 422
    for message in ("请填写项目名称", "实施结束日期须晚于开始日期", "不得用于人员工资"):
        assert message in r.text
    assert await Project.all().count() == 0
    r = await client.post("/projects/new", data={**VALID_FORM, "csrf_token": csrf})
    assert r.status_code == 303, r.text
    project = await Project.get()
    assert r.headers["location"] == f"/projects/{project.id}"
    detail = await client.get(f"/projects/{project.id}")
    assert detail.status_code == 200 and "仁寿县残疾人康复站" in detail.text and "县级初审" in detail.text
    assert "<svg" in detail.text  # the lifecycle diagram and the execution chart


async def test_county_user_cannot_see_another_countys_projects(client: Any, engine: Any, password_hash: str) -> None:
    await deploy(engine)
    await add_project_managers(password_hash)
    p = await lifecycle.submit(engine, PM, submission("东坡区养老服务中心"))
    await browser_login(client, "rs_county")
    assert (await client.get(f"/projects/{p.id}")).status_code == 404
    assert (await client.get(f"/projects/{p.id}/evaluation")).status_code == 404
    board = await client.get("/projects")
    assert board.status_code == 200 and "民政专项资金项目库" in board.text and "东坡区养老服务中心" not in board.text
    export = await client.get("/projects/export.xlsx")
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1  # the header only
    assert (await client.get("/projects/batches")).status_code == 403  # not a city manager

    client.cookies.clear()
    csrf = await browser_login(client, "dp_county")
    board = await client.get("/projects")
    assert "东坡区养老服务中心" in board.text
    r = await client.post(f"/projects/{p.id}/action", data={"csrf_token": csrf, "action": "county_review",
                                                            "decision": "pass", "opinion": ""})
    assert r.status_code == 303
    page = await client.get(f"/projects/{p.id}")
    assert "请填写初审意见(至少 2 个字)" in page.text
    r = await client.post(f"/projects/{p.id}/action", data={"csrf_token": csrf, "action": "county_review",
                                                            "decision": "pass", "opinion": "同意推荐"})
    assert (await Project.get(id=p.id)).stage == "city_review"
    r = await client.post(f"/projects/{p.id}/action", data={"action": "county_review", "decision": "pass",
                                                            "opinion": "无令牌"})
    assert r.status_code == 403  # CSRF


async def test_manager_builds_confirms_and_exports_a_batch(client: Any, engine: Any) -> None:
    await deploy(engine)
    a = await to_mature(engine, submission("甲项目", lottery="300000"), score=90)
    b = await to_mature(engine, submission("乙项目", lottery="300000"), score=80)
    csrf = await browser_login(client, "city_mgr")
    r = await client.post("/projects/batches", data={"csrf_token": csrf, "year": "2026", "source": "lottery",
                                                     "budget": "abc"})
    assert r.status_code == 422 and "请填写大于 0 的年度可用额度" in r.text
    r = await client.post("/projects/batches", data={"csrf_token": csrf, "year": "2026", "source": "lottery",
                                                     "budget": "500000"})
    assert r.status_code == 303
    batch = await ReleaseBatch.get()
    page = await client.get(f"/projects/batches/{batch.id}")
    assert page.status_code == 200 and "系统建议及计算过程" in page.text
    assert "500,000.00 − 300,000.00 = 200,000.00,纳入" in page.text
    assert "需 300,000.00 元 &gt; 剩余 200,000.00 元" in page.text
    r = await client.post(f"/projects/batches/{batch.id}/adjust", data={"csrf_token": csrf, "add": str(b.id)})
    assert "超过可安排额度" in (await client.get(f"/projects/batches/{batch.id}")).text
    xlsx = await client.get(f"/projects/batches/{batch.id}/export.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[1][1] == a.code and rows[-1][0] == "合计" and rows[-1][-1] == 300000
    r = await client.post(f"/projects/batches/{batch.id}/confirm", data={"csrf_token": csrf})
    assert r.status_code == 303
    page = await client.get(f"/projects/batches/{batch.id}")
    assert "已确认:1 个项目出库" in page.text
    assert (await Project.get(id=a.id)).stage == "released" and (await Project.get(id=b.id)).stage == "mature"
    library = await client.get("/projects/export.xlsx")
    rows = list(load_workbook(io.BytesIO(library.content)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == sorted([a.code, b.code]) and rows[0][0] == "项目代码"

    client.cookies.clear()
    public = await client.get("/projects/public?year=2026")  # no login
    assert public.status_code == 200 and "2026 年度福彩公益金使用情况公开" in public.text
    assert "甲项目" in public.text and "乙项目" not in public.text and "张科长" not in public.text
    assert "300,000.00" in public.text


async def test_project_page_lists_actions_only_for_the_task_holder(client: Any, engine: Any) -> None:
    await deploy(engine)
    p = await to_mature(engine)
    batch = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("1000000"))
    await lifecycle.confirm_batch(engine, CITY, batch)
    await browser_login(client, "city_mgr")
    page = await client.get(f"/projects/{p.id}")
    assert "资金下达" in page.text and 'name="agreement_no"' in page.text
    assert re.search(r"<h2>项目时间线</h2>", page.text) and "出库" in page.text
    client.cookies.clear()
    await browser_login(client, "dp_county")
    page = await client.get(f"/projects/{p.id}")
    assert page.status_code == 200 and 'name="agreement_no"' not in page.text
    assert (await client.get(f"/projects/{p.id}/evaluation")).status_code == 200


async def test_parameters_page_validates_in_chinese(client: Any, engine: Any) -> None:
    csrf = await browser_login(client, "admin")
    page = await client.get("/projects/parameters")
    assert page.status_code == 200 and "入库分数线" in page.text
    r = await client.post("/projects/parameters", data={"csrf_token": csrf, "key": "entry_threshold", "value": "120"})
    assert r.status_code == 422 and "须为 0 到 100 之间的数" in r.text
    r = await client.post("/projects/parameters", data={"csrf_token": csrf, "key": "entry_threshold", "value": "75"})
    assert r.status_code == 303
    from projects_registry.params import load_parameters

    assert (await load_parameters()).entry_threshold == D(75)

"""项目库 in the browser (issue 7): three mature projects are prepared through the JSON API; the city manager builds a
release batch for the year's 福彩公益金 budget, sees the proposal and its arithmetic (the third project does not fit),
confirms it, and opens a released project's timeline."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from tortoise.context import TortoiseContext

from engine.config import PROJECT_ROOT
from tests.browser.conftest import _run_in_own_loop, login, screenshot
from tests.conftest import TEST_PASSWORD, deploy_dir

pytestmark = pytest.mark.browser

CHECKLIST = {k: True for k in ("plan_ready", "co_funding_ready", "site_ready", "team_ready", "procurement_ready")}


async def _deploy_lifecycle(db_file: str) -> None:
    """The live server only has the showcase deployed: deploy the project lifecycle into its database file."""
    from engine.db import close_database, init_database
    from engine.runtime import Engine
    from web.composition import db_config

    async with TortoiseContext():
        await init_database(db_config(f"sqlite://{db_file}"))
        try:
            await deploy_dir(Engine(), PROJECT_ROOT / "bpmn", "fund_project_lifecycle.bpmn")
        finally:
            await close_database()


def _declaration(name: str) -> dict[str, Any]:
    return {"name": name, "applicant_org": "511402", "applicant_unit": "东坡区民政局", "category": "elderly",
            "scope": "社区居家养老服务", "beneficiaries": "辖区老年人", "beneficiary_count": 500,
            "period_start": "2027-01-01", "period_end": "2027-12-31", "location": "东坡区",
            "funding": {"lottery": 300000},
            "budget_lines": [{"item": "助老服务购买", "category": "services", "source": "lottery", "amount": 300000}],
            "indicators": [{"kind": "output_quantity", "name": "服务人次", "target": 6000, "unit": "人次"},
                           {"kind": "outcome", "name": "照护覆盖率", "target": 70, "unit": "%"},
                           {"kind": "satisfaction", "name": "满意度", "target": 90, "unit": "%"}]}


@pytest.fixture(scope="module")
def projects_ready(live_server: str) -> str:
    """The project lifecycle deployed in the live database and a 东坡区 project manager `br_pm`."""
    _run_in_own_loop(_deploy_lifecycle(os.environ["CIVICFLOW_LIVE_DB"]))
    with httpx.Client(base_url=live_server) as api:
        r = api.post("/api/v1/auth/token", json={"username": "admin", "password": TEST_PASSWORD})
        r = api.post("/api/v1/users", headers={"Authorization": f"Bearer {r.json()['token']}"}, json={
            "username": "br_pm", "display_name": "东坡区项目管理", "password": TEST_PASSWORD, "org_unit": "511402",
            "roles": ["project_manager"]})
        assert r.status_code == 201, r.text
    return live_server


def _mature_projects(base: str, names_and_scores: list[tuple[str, int]]) -> list[int]:
    with httpx.Client(base_url=base) as api:
        def token(user: str) -> dict[str, str]:
            r = api.post("/api/v1/auth/token", json={"username": user, "password": TEST_PASSWORD})
            assert r.status_code == 201, r.text
            return {"Authorization": f"Bearer {r.json()['token']}"}

        pm, county, city = token("br_pm"), token("dp_county"), token("city_mgr")
        ids = []
        for name, score in names_and_scores:
            r = api.post("/api/v1/projects", headers=pm, json=_declaration(name))
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            steps = [(county, {"action": "county_review", "decision": "pass", "opinion": "推荐"}),
                     (city, {"action": "score", "scores": {c: score for c in (
                         "policy_fit", "compliance", "feasibility", "readiness", "cost", "targets")}}),
                     (city, {"action": "decide_entry", "opinion": "同意入库"}),
                     (city, {"action": "assess", "checklist": CHECKLIST, "opinion": "准备就绪"})]
            for headers, body in steps:
                r = api.post(f"/api/v1/projects/{pid}/actions", headers=headers, json=body)
                assert r.status_code == 200, r.text
            assert r.json()["project"]["stage"] == "mature"
            ids.append(pid)
        return ids


def test_manager_builds_and_confirms_a_batch_then_reads_a_timeline(page: Any, projects_ready: str) -> None:
    ids = _mature_projects(projects_ready, [("浏览器测试·甲社区养老", 95), ("浏览器测试·乙社区养老", 90),
                                         ("浏览器测试·丙社区养老", 85)])

    login(page, "city_mgr")
    page.goto("/projects/batches")
    page.get_by_label("资金年度").fill("2027")
    page.get_by_label("资金来源").select_option(label="福彩公益金")
    page.get_by_label("年度可用额度(元)").fill("700000")
    page.get_by_role("button", name="生成建议名单").click()
    page.wait_for_url("**/projects/batches/*")
    items = page.locator("section.card", has_text="本批次项目").locator("tbody tr")
    expect(items).to_have_count(3)  # two projects and the total row
    expect(items.nth(0)).to_contain_text("浏览器测试·甲社区养老")
    expect(items.nth(1)).to_contain_text("浏览器测试·乙社区养老")
    expect(items.nth(2)).to_contain_text("600,000.00")
    arithmetic = page.locator("ol.arith")
    expect(arithmetic).to_contain_text("可安排 700,000.00 元")
    expect(arithmetic).to_contain_text("需 300,000.00 元 > 剩余 100,000.00 元,本批不纳入")
    expect(page.locator("section.card", has_text="可加入的成熟项目")).to_contain_text("浏览器测试·丙社区养老")
    screenshot(page, "projects-batch-proposal")

    page.get_by_role("button", name="确认出库(2 个项目)").click()
    expect(page.locator(".flash").first).to_contain_text("2 个项目出库")
    expect(page.locator("h1")).to_contain_text("已确认出库")
    expect(items.nth(0)).to_contain_text("已出库")
    screenshot(page, "projects-batch-confirmed")

    page.get_by_role("link", name=page.locator("tbody tr").nth(0).locator("a").inner_text()).click()
    page.wait_for_url(f"**/projects/{ids[0]}")
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li")).to_have_count(6)
    for action in ("申报", "县级初审:推荐市级评审", "专家评分", "评审入库:入库", "成熟度评估:已成熟,待出库", "出库"):
        expect(timeline).to_contain_text(action)
    expect(timeline.locator("li").last).to_contain_text("纳入 CK-2027-lottery")
    timeline.scroll_into_view_if_needed()
    screenshot(page, "projects-timeline")
    # no script error, no CSP violation, no failed request (the favicon included)
    assert page.failed == [] and page.errors == [], (page.errors, page.failed)


def test_applicant_edits_a_returned_project_and_attaches_a_file(page: Any, projects_ready: str,
                                                                 tmp_path: Any) -> None:
    with httpx.Client(base_url=projects_ready) as api:
        def token(user: str) -> dict[str, str]:
            r = api.post("/api/v1/auth/token", json={"username": user, "password": TEST_PASSWORD})
            return {"Authorization": f"Bearer {r.json()['token']}"}

        r = api.post("/api/v1/projects", headers=token("br_pm"), json=_declaration("浏览器测试·退回修改项目"))
        pid = r.json()["id"]
        r = api.post(f"/api/v1/projects/{pid}/actions", headers=token("dp_county"),
                     json={"action": "county_review", "decision": "return", "opinion": "请补充助餐服务指标"})
        assert r.status_code == 200 and r.json()["project"]["stage"] == "revision", r.text

    login(page, "br_pm")
    page.goto(f"/projects/{pid}")
    page.get_by_role("link", name="修改申报内容(项目信息、预算明细、绩效指标)").click()
    page.wait_for_url(f"**/projects/{pid}/edit")
    expect(page.get_by_label("项目名称")).to_have_value("浏览器测试·退回修改项目")
    page.get_by_label("项目名称").fill("浏览器测试·退回修改项目(已调整)")
    page.get_by_label("第 4 个指标名称").fill("助餐服务人次")
    page.get_by_label("第 4 个指标类型").select_option(label="产出·数量")
    page.get_by_label("第 4 个指标目标值").fill("3000")
    screenshot(page, "projects-edit-after-return")
    page.get_by_role("button", name="保存修改").click()
    page.wait_for_url(f"**/projects/{pid}#revise")
    expect(page.locator(".flash").first).to_contain_text("已保存修改:项目名称、绩效指标")
    expect(page.locator("ol.timeline")).to_contain_text("退回后修改申报内容")

    pdf = tmp_path / "补充材料.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.locator("#attachments").get_by_label("上传附件").set_input_files(str(pdf))
    page.locator("#attachments").get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".flash").first).to_contain_text("已上传附件:补充材料.pdf(申报材料)")
    expect(page.locator("#attachments table")).to_contain_text("补充材料.pdf")
    page.get_by_label("修改说明").fill("已补充服务指标和材料")
    page.get_by_role("button", name="重新提交").click()
    expect(page.locator("h1 .status")).to_have_text("县级初审")
    page.locator("#attachments").scroll_into_view_if_needed()
    screenshot(page, "projects-after-resubmit")

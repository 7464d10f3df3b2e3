"""An inspector on site with a phone (390×844): opens the 公墓年检 checklist, answers every item, enters the measured
plots (one over the limit is flagged), photographs a plot, submits, and sees the findings; the report shows it."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, _run_in_own_loop, login, screenshot
from tests.cemetery_helpers import BPMN_DIR, png
from tests.conftest import TEST_PASSWORD, deploy_dir

pytestmark = pytest.mark.browser


async def _seed_cemetery(db_file: str) -> None:
    """The cemetery diagram and one cemetery in the live server's database (its own connection, own loop)."""
    from tortoise.context import TortoiseContext

    from engine.db import close_database, init_database
    from engine.runtime import Engine
    from web.composition import db_config
    from workflows.cemetery.models import Cemetery

    async with TortoiseContext():
        await init_database(db_config(f"sqlite://{db_file}"))
        try:
            await deploy_dir(Engine(), BPMN_DIR, "cemetery_annual_inspection.bpmn")
            await Cemetery.create(code="BR-GM1", name="通惠农村公益性公墓", cemetery_type="public_welfare",
                                  area_kind="rural", county_code="511402", township_code="511402001",
                                  org_path="/511400/511402/511402001/", operator="通惠街道办事处",
                                  area_m2=Decimal("5000"), plots_single=500, plots_double=100, plots_ashes=600,
                                  plots_eco=90)
        finally:
            await close_database()


def _api(base: str, client: httpx.Client, username: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", json={"username": username, "password": TEST_PASSWORD}).json()
    return {"Authorization": f"Bearer {token['token']}"}


def phone_screens(page: Any, name: str) -> None:
    """The full page, and the page in phone-screen slices (a tall full-page shot is unreadable when viewed)."""
    path = screenshot(page, name)
    height = page.evaluate("document.documentElement.scrollHeight")
    for n, top in enumerate(range(0, height, PHONE["height"])):
        page.screenshot(path=str(path.with_name(f"{name}-{n + 1}.png")), full_page=True,
                        clip={"x": 0, "y": top, "width": PHONE["width"], "height": min(PHONE["height"], height - top)})


def test_inspector_completes_the_checklist_with_a_photo_on_a_phone(phone: Any, live_server: str,
                                                                    tmp_path: Path) -> None:
    _run_in_own_loop(_seed_cemetery(os.environ["CIVICFLOW_LIVE_DB"]))
    with httpx.Client(base_url=live_server) as api:
        admin = _api(live_server, api, "admin")
        r = api.post("/api/v1/users", json={"username": "br_inspector", "display_name": "东坡检查员",
                                            "password": TEST_PASSWORD, "org_unit": "511402",
                                            "roles": ["inspector"]}, headers=admin)
        assert r.status_code == 201, r.text
        r = api.post("/api/v1/cemetery/campaigns", json={"year": 2026}, headers=_api(live_server, api, "city_mgr"))
        assert r.status_code == 201 and len(r.json()["started"]) == 1, r.text
        clerk = _api(live_server, api, "th_clerk")
        tasks = api.get("/api/v1/tasks?mine=true&process_key=cemetery_annual_inspection", headers=clerk).json()
        r = api.post(f"/api/v1/tasks/{tasks['items'][0]['id']}/complete", headers=clerk, json={"data": {
            "submitted_on": "2026-03-05", "burials_this_year": 4, "plots_sold_this_year": 3,
            "report_summary": "对照年检内容逐项自查,未发现问题。"}})
        assert r.status_code == 200, r.text
    photo = tmp_path / "plot-a1.png"
    photo.write_bytes(png(64, 48, (90, 120, 160)))

    login(phone, "br_inspector")
    phone.goto("/cemetery")
    phone.get_by_role("link", name="填写检查表").first.click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("县级实地检查")
    phone_screens(phone, "cemetery-phone-checklist-empty")
    # Nothing may be wider than the phone: no horizontal scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1

    for item in phone.locator("fieldset.check-item").all():
        item.get_by_label("符合", exact=True).check()
    plots = [("一区1排1号", "0.72"), ("一区1排2号", "0.48"), ("一区1排3号", "0.50")]
    for n, (label, area) in enumerate(plots, start=1):
        phone.get_by_label(f"第 {n} 行墓位编号").fill(label)
        phone.get_by_label(f"第 {n} 行实测面积").fill(area)
    phone.get_by_label("第 1 行墓位照片").set_input_files(str(photo))
    phone.get_by_role("button", name="核对超标").click()  # htmx: flags without saving, keeps the chosen photo
    expect(phone.locator("#plot-rows")).to_contain_text("超标:0.72 ㎡ > 限值 0.5 ㎡")
    assert phone.get_by_label("第 1 行墓位照片").evaluate("el => el.files.length") == 1
    phone.get_by_label("检查意见").fill("一区1排1号墓位超标,其余符合要求。")
    phone_screens(phone, "cemetery-phone-checklist-filled")
    phone.get_by_role("button", name="提交检查表").click()

    phone.wait_for_url("**/cemetery/*")
    expect(phone.locator("body")).to_contain_text("发现 1 个问题,已生成整改清单")
    expect(phone.locator("body")).to_contain_text("第十九条")
    phone_screens(phone, "cemetery-phone-after-submit")
    phone.get_by_role("link", name="年检报告").click()
    expect(phone.locator("article.report")).to_contain_text("墓位照片")
    image = phone.locator("article.report .thumbs img").first
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 64  # the stored photo itself, served in scope
    phone_screens(phone, "cemetery-phone-report")
    assert phone.failed == []
    assert [e for e in phone.errors if "Failed to load resource" not in e] == []  # no script error, no CSP refusal


def _rectifying_cemetery(base: str) -> None:
    """BR-GM2 through self-report, an on-site checklist with an oversized plot and 限期整改, by API calls."""
    with httpx.Client(base_url=base) as api:
        r = api.post("/api/v1/cemetery/campaigns", json={"year": 2026}, headers=_api(base, api, "city_mgr"))
        assert r.status_code == 201 and len(r.json()["started"]) == 1, r.text

        def complete(user: str, bpmn_id: str, data: dict[str, Any]) -> None:
            headers = _api(base, api, user)
            tasks = api.get("/api/v1/tasks?mine=true&process_key=cemetery_annual_inspection", headers=headers)
            task = next(t for t in tasks.json()["items"] if t["bpmn_id"] == bpmn_id and "BR-GM2" in t["title"])
            r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=headers)
            assert r.status_code == 200, r.text

        complete("dsq_clerk", "Task_self_report", {"submitted_on": "2026-03-05", "burials_this_year": 2,
                                                  "plots_sold_this_year": 2, "report_summary": "自查完毕,未发现问题。"})
        headers = _api(base, api, "br_inspector")
        tasks = api.get("/api/v1/tasks?mine=true&process_key=cemetery_annual_inspection", headers=headers).json()
        task = next(t for t in tasks["items"] if t["bpmn_id"] == "Task_onsite" and "BR-GM2" in t["title"])
        checks = api.get(f"/api/v1/cemetery/tasks/{task['id']}/checklist", headers=headers).json()["check_items"]
        r = api.post(f"/api/v1/cemetery/tasks/{task['id']}/checklist", headers=headers, json={
            "checks": {i["code"]: {"ok": True} for i in checks}, "eco_plots": 90, "total_plots": 600,
            "plots": [{"label": "二区1排1号", "kind": "double", "area": "1.2"},
                      {"label": "二区1排2号", "kind": "single", "area": "0.5"},
                      {"label": "二区1排3号", "kind": "single", "area": "0.45"}], "opinion": "双穴墓位超标。"})
        assert r.status_code == 201, r.text
        complete("city_mgr", "Task_city_review", {"outcome": "rectify", "rectification_days": 30,
                                                  "review_opinion": "限期整改。"})


def test_county_keeps_the_register_and_the_township_reports_rectification(page: Any, live_server: str,
                                                                          tmp_path: Path) -> None:
    login(page, "dp_county")
    page.goto("/cemetery")
    page.get_by_role("link", name="登记公墓").click()
    page.get_by_label("编号").fill("BR-GM2")
    page.get_by_label("所在乡镇(街道)").select_option("511402002")
    page.get_by_label("公墓名称").fill("大石桥农村公益性公墓")
    page.get_by_label("经营(管理)单位").fill("大石桥街道办事处")
    page.get_by_label("占地面积(㎡)").fill("0")
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator(".field-error")).to_contain_text("占地面积须为大于 0 的数字")
    expect(page.get_by_label("公墓名称")).to_have_value("大石桥农村公益性公墓")  # nothing typed is lost
    page.get_by_label("占地面积(㎡)").fill("4800")
    page.get_by_label("单穴墓位数").fill("500")
    page.get_by_label("生态安葬墓位数").fill("90")
    page.get_by_label("收费标准(六公示)").fill("骨灰单穴(本村村民),1200,元/穴\n生态葬,0,元/位")
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator("#flashes")).to_contain_text("已登记公墓")
    page.get_by_label("文件类别").select_option("construction_approval")
    page.get_by_label("文号").fill("眉民殡批〔2020〕8号")
    page.get_by_label("发证(批准)机关").fill("东坡区民政局")
    page.get_by_label("发证日期").fill("2020-05-01")
    page.get_by_role("button", name="登记文件").click()
    expect(page.locator("#documents")).to_contain_text("眉民殡批〔2020〕8号")
    screenshot(page, "cemetery-desktop-edit")

    _rectifying_cemetery(live_server)
    evidence = tmp_path / "after.png"
    evidence.write_bytes(png(40, 30, (120, 160, 90)))
    page.context.clear_cookies()
    login(page, "dsq_clerk")
    page.goto("/cemetery")
    page.get_by_role("link", name="大石桥农村公益性公墓").click()
    expect(page.locator(".badge").first).to_contain_text("暂停销售")
    page.get_by_text("更新整改进展").click()
    page.get_by_label("整改进展").fill("已按标准改小双穴墓基。")
    page.get_by_label("佐证材料(照片或文件)").set_input_files(str(evidence))
    page.get_by_label("已整改完成,申请验收").check()
    page.get_by_role("button", name="保存进展").click()
    expect(page.locator("#rectifications")).to_contain_text("已整改,待验收")
    expect(page.locator("#rectifications")).to_contain_text("after.png")
    screenshot(page, "cemetery-desktop-rectification")
    assert [e for e in page.errors if "Failed to load resource" not in e] == []

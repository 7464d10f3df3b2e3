"""An inspector on site with a phone (390×844, touch): opens the assigned spot check from the inbox, gets the
Chinese errors for an incomplete checklist, completes it with one 不符合 item and a value over its limit, and sees
the findings with corrective actions and due dates. The page must fit the phone: no horizontal scrolling.

Screenshots: /tmp/civicflow-shots/so_mobile_*.png. Each test seeds its own data (tests.social_org_helpers.seed_live)
by a subprocess on the live server's SQLite file (one Tortoise per process), so any test runs alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, screenshot
from tests.conftest import TEST_PASSWORD
from tests.social_org_helpers import JPEG

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def _seed(password_hash: str, what: str) -> dict[str, Any]:
    db = os.environ["CIVICFLOW_LIVE_DB"]
    code = ("import asyncio, json, sys\nfrom tests.social_org_helpers import seed_live\n"
            "print(json.dumps(asyncio.run(seed_live(sys.argv[1], sys.argv[2], sys.argv[3]))))")
    done = subprocess.run([sys.executable, "-c", code, f"sqlite://{db}", password_hash, what], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"


def test_inspector_completes_the_checklist_on_a_phone(phone: Any, password_hash: str) -> None:
    target_id = _seed(password_hash, "checklist")["target_id"]
    page = phone
    page.goto("/login")
    page.get_by_label("用户名").fill("insp_dp")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/inbox")
    screenshot(page, "so_mobile_inbox")
    _fits(page)  # wide tables scroll inside themselves

    link = page.get_by_role("link", name=re.compile("填写检查表 · CC2026-"))
    expect(link).to_have_count(1)
    page.goto(link.get_attribute("href"))  # the inbox re-renders itself (htmx), a click may hit a stale row
    page.get_by_role("link", name="前往办理页面").click()
    page.wait_for_url(f"**/social-org/spot-checks/targets/{target_id}/checklist")
    expect(page.get_by_role("heading", name="社会组织抽查检查表")).to_be_visible()
    expect(page.locator(".checklist")).to_contain_text("眉东民社检〔2026〕7号")
    screenshot(page, "so_mobile_checklist")
    _fits(page)

    # incomplete: the 财务 item is 不符合 without saying what is wrong, the others are left open; a photo of the
    # books is attached (a phone offers the camera or the gallery for this input)
    page.locator("#item-annual_report").get_by_label("符合", exact=True).check()
    page.locator("#item-finance").get_by_label("不符合").check()
    page.locator("#item-evidence input[type=file]").set_input_files(
        [{"name": "账簿.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    page.get_by_role("button", name="提交检查表").click()
    page.wait_for_load_state()
    expect(page.locator(".error-summary")).to_contain_text("请修正标出的 4 处问题")
    expect(page.locator("#item-finance .field-error")).to_have_text("不符合时请填写具体问题")
    expect(page.locator("#item-disclosure .field-error")).to_have_text("请选择 符合 或 不符合")
    expect(page.locator("#item-annual_report").get_by_label("符合", exact=True)).to_be_checked()  # nothing lost
    kept = page.locator("#item-evidence").get_by_label("已上传:账簿.jpg")  # the photo is kept, not re-uploaded
    expect(kept).to_be_checked()
    screenshot(page, "so_mobile_checklist_errors")
    _fits(page)

    for code in ("disclosure", "governance", "activities"):
        page.locator(f"#item-{code}").get_by_label("符合", exact=True).tap()
    page.locator("#item-finance textarea").fill("现金收入 3 笔未入账")
    page.locator("#item-admin_cost_ratio input").fill("12.5")  # over the 10% limit
    page.locator("#item-remarks textarea").fill("实地查看了账簿和会议记录")
    page.get_by_role("button", name="提交检查表").tap()
    page.wait_for_url(f"**/social-org/spot-checks/targets/{target_id}/checklist")
    expect(page.locator(".flash-success")).to_contain_text("检查表已提交,发现问题 2 项")
    result = page.locator("#checklist-result")
    expect(result).to_contain_text("现金收入 3 笔未入账")
    expect(result).to_contain_text("不在规定范围内")
    expect(result.locator(".finding-items li")).to_have_count(2)
    expect(result).to_contain_text("整改措施")
    expect(result).to_contain_text("待整改")
    expect(result.get_by_role("link", name="账簿.jpg")).to_have_attribute("href", re.compile(r"^/attachments/\d+$"))
    screenshot(page, "so_mobile_checklist_done")
    _fits(page)
    # only the deliberate 422 of the incomplete submission may be logged: no script or CSP error
    assert not [e for e in page.errors if not e.startswith("Failed to load resource")], page.errors


def test_registrar_closes_findings_and_works_a_revocation_case(page: Any, password_hash: str) -> None:
    """The two findings of a recorded checklist are closed by the authority; a revocation case is worked."""
    seeded = _seed(password_hash, "findings")
    page.goto("/login")
    page.get_by_label("用户名").fill("so_dp")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/inbox")
    page.goto("/social-org/findings")
    own = page.locator(f'a[href="/social-org/spot-checks/targets/{seeded["target_id"]}/checklist"]')
    cards = page.locator("section.finding", has=own)  # other tests' findings may share the live database
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("整改期限")
    # the authority hands the second finding to the district bureau itself, with a later due date
    due = (datetime.now(UTC) + timedelta(hours=8, days=45)).date().isoformat()  # Meishan's date + 45 days
    second = cards.nth(1)
    second.get_by_text("修改责任方、整改措施或期限").click()
    second.get_by_label("整改责任方").select_option("unit:511402")
    second.get_by_label("整改期限").fill(due)
    screenshot(page, "so_findings_edit")
    second.get_by_role("button", name="保存修改").click()
    expect(page.locator(".flash-success")).to_contain_text("已修改整改要求")
    expect(cards.nth(1)).to_contain_text(f"整改期限 {due} · 责任方 东坡区")
    expect(cards.nth(1)).to_contain_text("整改要求最后由 so_dp")
    screenshot(page, "so_findings_open")
    first = cards.first
    first.get_by_role("button", name="复查通过,关闭问题").click()  # the browser asks for the note first
    expect(cards).to_have_count(2)
    first.get_by_label("整改情况(关闭时必填)").fill("已补记 3 笔收入,复查账簿无误")
    first.get_by_role("button", name="复查通过,关闭问题").click()
    expect(page.locator(".flash-success")).to_contain_text("已关闭问题")
    expect(cards).to_have_count(1)
    page.goto("/social-org/findings?status=closed")
    expect(page.locator("section.finding", has=own).locator(".closure")).to_contain_text("东坡区登记机关")
    screenshot(page, "so_findings_closed")

    page.goto("/social-org/revocations")
    page.get_by_role("link", name=seeded["revocation_org"], exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("撤销登记案件:"))).to_be_visible()
    page.get_by_label("文号(告知书 / 决定书 / 公告)").fill("眉东民告〔2026〕9号")
    page.get_by_label("说明").fill("告知拟撤销登记,告知陈述申辩和听证权利")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash-success")).to_contain_text("已办理:送达撤销登记告知书")
    expect(page.locator("ol.stages li.current")).to_have_text("已告知")
    screenshot(page, "so_revocation_case")
    assert not [e for e in page.errors if not e.startswith("Failed to load resource")], page.errors


def test_organization_files_an_objection_on_a_phone(phone: Any, password_hash: str) -> None:
    name = _seed(password_hash, "objection")["listed_org"]
    page = phone
    page.goto("/public/social-org/credit")
    row = page.locator("tr", has=page.get_by_text(name, exact=True))
    row.get_by_role("link", name="提出异议").click()
    expect(page.get_by_role("heading", name="对列入活动异常名录提出异议")).to_be_visible()
    uscc = page.locator("code").first.inner_text()
    page.get_by_label("统一社会信用代码").fill(uscc)
    page.get_by_label("法定代表人姓名").fill("张三")
    page.get_by_label("提出人").fill("李秘书")
    page.get_by_label("联系电话").fill("13800002222")
    page.get_by_label("异议理由").fill("我会已于 5 月 20 日邮寄报送年度报告,附邮局收寄证明。")
    page.get_by_role("button", name="提交异议").click()
    expect(page.locator(".error")).to_contain_text("与登记信息不一致")
    expect(page.get_by_label("异议理由")).to_have_value("我会已于 5 月 20 日邮寄报送年度报告,附邮局收寄证明。")
    page.get_by_label("法定代表人姓名").fill("王建国")
    page.get_by_role("button", name="提交异议").click()
    expect(page.locator(".flash-success")).to_contain_text("异议已提交")
    expect(page.locator("table.list").first).to_contain_text("待处理")
    expect(page.get_by_role("button", name="提交异议")).to_have_count(0)  # one pending objection at a time
    screenshot(page, "so_mobile_objection")
    _fits(page)

"""An approver's day (issue 8): filter the inbox, bulk-claim three tasks, delegate one, the delegate resolves it,
the approver completes it with an opinion and sees the overdue KPI on the dashboard go down."""

from __future__ import annotations

import os
import re
import sqlite3
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_inbox__collaboration import logout
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

STEPS = {
    "Task_accept": {"applicant_name": "赵大成", "members": [{"name": "赵大成", "monthly_income": 100}],
                    "delegated": False},
    "Task_member_check": {"member_check": {"verified_income": 100}},
    "Task_home_visit": {"home_visit": {"investigators": ["张敏", "刘洋"]}},
    "Task_township_prelim": {"prelim_opinion": "同意上报"},
}


def _cases_at_county_confirm(base: str, keys: list[str]) -> None:
    """Drive showcase cases to the county confirmation through the JSON API (as the township clerk)."""
    with httpx.Client(base_url=base) as api:
        token = api.post("/api/v1/auth/token", json={"username": "th_clerk", "password": TEST_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        for key in keys:
            inst = api.post("/api/v1/instances", json={"process_key": "showcase", "business_key": key},
                            headers=headers).json()
            while ready := [t for t in inst["ready_tasks"] if t["bpmn_id"] in STEPS]:
                r = api.post(f"/api/v1/tasks/{ready[0]['id']}/complete", json={"data": STEPS[ready[0]["bpmn_id"]]},
                             headers=headers)
                assert r.status_code == 200, r.text
                inst = r.json()
            assert [t["bpmn_id"] for t in inst["ready_tasks"]] == ["Task_county_confirm"]


def test_filter_bulk_claim_delegate_resolve_complete_and_kpi(page: Any, live_server: str) -> None:
    keys = ["BR-DAY-1", "BR-DAY-2", "BR-DAY-3"]
    _cases_at_county_confirm(live_server, keys)
    with sqlite3.connect(os.environ["CIVICFLOW_LIVE_DB"]) as db:  # the three confirmations are long overdue
        db.execute("UPDATE human_task SET due_at = '2026-01-05 09:59:59+00:00' WHERE title LIKE 'BR-DAY-%' "
                   "OR title LIKE '%· BR-DAY-%'")

    login(page, "dp_county")
    page.goto("/dashboard")
    expect(page.locator("svg.chart").first).to_contain_text("3件")

    page.goto("/inbox")
    page.get_by_label("事项/编号").fill("BR-DAY")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#task-list tbody tr")).to_have_count(3)
    for box in page.locator("#task-list input[name=task_ids]").all():
        box.check()
    page.locator("#bulk-form").get_by_role("button", name="签收", exact=True).click()
    expect(page.locator("h1")).to_contain_text("成功 3 项")
    screenshot(page, "approver-bulk-claimed")

    page.get_by_role("link", name=re.compile("BR-DAY-1")).click()
    page.wait_for_url(re.compile(r"/tasks/[0-9a-f-]{36}$"))
    task_url = page.url
    page.get_by_label("委托同事处理").select_option("th_reviewer")
    page.get_by_role("button", name="委托", exact=True).click()
    expect(page.locator(".delegation")).to_contain_text("已委托")
    logout(page)

    login(page, "th_reviewer")
    page.goto(task_url)
    page.get_by_label("处理意见").fill("已复核家庭收入,建议同意。")
    page.get_by_role("button", name="提交处理意见并交回").click()
    page.wait_for_url("**/inbox")
    page.goto("/notifications")  # leave the shared live server's notification centre as it was
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.locator("#notif-badge .badge")).to_have_count(0)
    logout(page)

    login(page, "dp_county")
    page.goto(task_url)
    expect(page.locator("#comments")).to_contain_text("已复核家庭收入,建议同意。")
    page.get_by_label("同意").check()
    page.get_by_label("审核意见").fill("符合条件,同意纳入。")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/inbox")
    expect(page.locator(".flash-success")).to_contain_text("已办理")
    page.goto("/dashboard")
    expect(page.locator("svg.chart").first).to_contain_text("2件")
    screenshot(page, "approver-dashboard")

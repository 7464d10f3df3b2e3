"""A large bulk selection in a real browser: "all N matching the filter" runs as a background job whose page polls
its progress (htmx, under the CSP) and ends with every item's result, the failed ones first.

Screenshots go to /tmp/civicflow-shots/ (inbox-select-all.png, inbox-bulk-job.png).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser
N = 40  # more than two inbox pages


def test_bulk_claim_all_matching_shows_progress_and_results(page: Any) -> None:
    # 文林街道's clerk (no other browser test uses that township) gets N new cases through the JSON API.
    api = page.request
    token = api.post("/api/v1/auth/token", data={"username": "wl_clerk", "password": TEST_PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    task_ids = []
    for n in range(N):
        r = api.post("/api/v1/instances", data={"process_key": "showcase", "business_key": f"BJ-{n:02}"},
                     headers=headers)
        assert r.status == 201, r.text()
        task_ids.append(r.json()["ready_tasks"][0]["id"])
    for task_id in task_ids[:3]:  # already claimed: these three fail in the bulk claim, the rest go on
        assert api.post(f"/api/v1/tasks/{task_id}/claim", headers=headers).status == 200

    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    login(page, "wl_clerk")
    page.get_by_label("事项/编号").fill("BJ-")
    page.get_by_role("button", name="筛选").click()
    select_all = page.get_by_label(re.compile(f"全部符合筛选的 {N} 项"))
    expect(select_all).to_be_visible()
    select_all.check()
    screenshot(page, "inbox-select-all")
    page.locator("#bulk-form").get_by_role("button", name="签收", exact=True).click()
    page.wait_for_url(re.compile(r"/inbox/bulk/\d+$"))
    expect(page.locator("#progress h2")).to_have_text("已完成", timeout=30_000)
    expect(page.locator("#progress")).to_contain_text(f"已处理 {N} / {N} 项:成功 {N - 3} 项,失败 3 项")
    expect(page.locator("#progress tr.row-failed")).to_have_count(3)
    expect(page.locator("#progress tr.row-failed").first).to_contain_text("角色、单位不符或已被签收")
    screenshot(page, "inbox-bulk-job")
    page.get_by_role("link", name="返回我的待办").click()
    page.wait_for_url("**/inbox")
    expect(page.locator(".tabs a", has_text="我已签收").locator(".badge")).to_have_text(str(N))
    assert not [e for e in page.errors if "Failed to load resource" not in e], page.errors
    assert failed == [], failed

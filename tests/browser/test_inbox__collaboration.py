"""Working a task together in a real browser under the CSP: attach a file, comment, delegate (委托); the delegate
finds it through the notification badge, resolves it with an opinion, and it returns to the owner.

Screenshots of the task page and the notification centre go to /tmp/civicflow-shots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_browser__inbox_flow import start_showcase

pytestmark = pytest.mark.browser


def logout(page: Any) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")


def test_attach_comment_delegate_resolve_return(page: Any, tmp_path: Path) -> None:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    login(page, "th_clerk")
    start_showcase(page, "BR-COLLAB-1")
    page.locator(".card", has_text="当前待办").get_by_role("link", name="受理").first.click()
    page.wait_for_url(re.compile(r"/tasks/[0-9a-f-]{36}$"))
    task_url = page.url

    pdf = tmp_path / "申请书.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("上传附件").set_input_files(str(pdf))
    page.locator("#attachments").get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("已上传附件:申请书.pdf")
    expect(page.locator("#attachments table")).to_contain_text("申请书.pdf")

    bad = tmp_path / "脚本.exe"
    bad.write_bytes(b"MZ")
    page.get_by_label("上传附件").set_input_files(str(bad))
    page.locator("#attachments").get_by_role("button", name="上传", exact=True).click()
    expect(page.locator("#f-file-error")).to_contain_text("不支持该文件类型")

    page.get_by_label("发表意见").fill("材料基本齐全,请核实收入证明。")
    page.locator("#comments").get_by_role("button", name="发表").click()
    expect(page.locator("#comments .comment")).to_contain_text("请核实收入证明")

    page.get_by_label("委托同事处理").select_option("th_reviewer")
    page.get_by_role("button", name="委托", exact=True).click()
    expect(page.locator(".delegation")).to_contain_text("已委托 通惠审核")
    screenshot(page, "collab-task-delegated")
    logout(page)

    login(page, "th_reviewer")
    expect(page.locator("#notif-badge .badge")).to_have_text("1")
    page.locator("#notif-badge").click()
    page.wait_for_url("**/notifications")
    expect(page.locator(".notification.unread")).to_contain_text("委托您办理:受理 · BR-COLLAB-1")
    screenshot(page, "collab-notifications")
    page.get_by_role("button", name="查看").first.click()
    page.wait_for_url(task_url)
    page.get_by_label("处理意见").fill("收入证明已核实,建议受理。")
    page.get_by_role("button", name="提交处理意见并交回").click()
    page.wait_for_url("**/inbox")
    expect(page.locator(".flash-success")).to_contain_text("已提交处理意见并交回委托人")
    logout(page)

    login(page, "th_clerk")
    expect(page.locator("#notif-badge .badge")).to_have_text("1")
    page.goto(task_url)
    expect(page.locator("#comments")).to_contain_text("收入证明已核实,建议受理。")
    expect(page.locator("form.task-form")).to_be_visible()  # back with the owner, who can complete it
    screenshot(page, "collab-task-returned")
    page.get_by_role("link", name="查看流程图与办理记录 ›").click()
    timeline = page.locator("ol.timeline")
    for label in ("上传附件", "委托", "委托处理完毕并交回", "收入证明已核实,建议受理。"):
        expect(timeline).to_contain_text(label)
    expect(page.locator("#attachments")).to_contain_text("申请书.pdf")
    screenshot(page, "collab-instance")
    # No CSP violations or script errors; the only failed request is the refused .exe upload (the browser logs
    # it as "Failed to load resource").
    assert not [e for e in page.errors if "Failed to load resource" not in e], page.errors
    assert failed == [f"422 {task_url}/attachments"], failed  # no CSP violations, no script errors

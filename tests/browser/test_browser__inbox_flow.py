"""A township clerk's day in a real browser: log in, start a case, work the 受理 form (errors, rows added by app.js
under the CSP), see the diagram move on; claim/unclaim; filter the inbox through htmx.

Screenshots of the inbox, the task page with errors and the instance page go to /tmp/civicflow-shots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

ACTIVE = re.compile(r"\bstate-active\b")
COMPLETED = re.compile(r"\bstate-completed\b")


def start_showcase(page: Any, business_key: str) -> None:
    """新建申请 → 引擎演示流程 → 发起, ending on the new instance's page."""
    page.get_by_role("navigation").get_by_role("link", name="新建申请").click()
    page.wait_for_url("**/start")
    card = page.locator("li.card", has_text="引擎演示流程")
    card.get_by_role("link", name="发起").click()
    page.wait_for_url("**/start/showcase")
    page.get_by_label("业务编号").fill(business_key)
    page.get_by_role("button", name="发起").click()
    page.wait_for_url(re.compile(r"/instances/[0-9a-f-]{36}$"))
    expect(page.locator(".flash-success")).to_contain_text(f"已发起:{business_key}")


def inbox_row(page: Any, business_key: str) -> Any:
    return page.locator("#task-list tbody tr", has_text=f"受理 · {business_key}")


def diagram_node(page: Any, element_id: str) -> Any:
    return page.locator(f'svg.bpmn-diagram [data-element-id="{element_id}"]')


def test_start_work_and_complete_accept(page: Any) -> None:
    page.goto("/inbox")
    page.wait_for_url("**/login**")  # not logged in: sent to the login page, which is Chinese
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    login(page, "th_clerk")
    expect(page.locator(".who")).to_contain_text("通惠经办 · 通惠街道")

    start_showcase(page, "BR-FLOW-001")
    expect(page.locator("svg.bpmn-diagram")).to_be_visible()
    expect(diagram_node(page, "Task_accept")).to_have_class(ACTIVE)
    expect(diagram_node(page, "Task_home_visit")).not_to_have_class(ACTIVE)

    page.get_by_role("navigation").get_by_role("link", name="我的待办").click()
    page.wait_for_url("**/inbox")
    row = inbox_row(page, "BR-FLOW-001")
    expect(row).to_be_visible()
    expect(row).to_contain_text("引擎演示流程")
    expect(row).to_contain_text("通惠街道")
    screenshot(page, "inbox")

    row.get_by_role("link", name="受理 · BR-FLOW-001").click()
    page.wait_for_url(re.compile(r"/tasks/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="受理")).to_be_visible()

    # Invalid: no applicant name; one member whose income is "abc". Chromium will not let anyone type letters into
    # <input type=number>, so the field is turned into a text box first, as an old browser without number inputs
    # would show it: this tests the server's validation and the re-rendered form, not the browser's.
    income0 = page.locator("#f-members-0-monthly_income")
    income0.evaluate("el => { el.type = 'text'; }")
    page.locator("#f-members-0-name").fill("张三")
    income0.fill("abc")
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()

    name_field = page.locator("#f-applicant_name")
    expect(page.locator("#f-applicant_name-error")).to_have_text(re.compile("请填写.*申请人姓名"))
    expect(page.locator("#f-members-0-monthly_income-error")).to_contain_text("必须是数字")
    expect(page.locator(".field.has-error, .has-error").first).to_be_visible()
    expect(name_field).to_have_attribute("aria-invalid", "true")
    # what was typed is still there
    expect(page.locator("#f-members-0-name")).to_have_value("张三")
    expect(page.locator("#f-members-0-monthly_income")).to_have_value("abc")
    screenshot(page, "task_errors")

    # app.js (a 'self' script under the CSP) adds a member row from the <template>; the re-rendered table already
    # has the submitted row plus one spare blank row, which stays blank and is dropped on submit
    rows = page.locator('tbody[data-rows="members"] > tr')
    expect(rows).to_have_count(2)
    add_row = page.get_by_role("button", name="添加一行")
    new_index = add_row.get_attribute("data-next-index")
    add_row.click()
    expect(rows).to_have_count(3)
    expect(add_row).not_to_have_attribute("data-next-index", new_index or "")
    expect(rows.last).to_have_attribute("data-row-index", new_index or "")

    name_field.fill("张三")
    page.locator("#f-members-0-monthly_income").fill("1200")
    page.locator(f"#f-members-{new_index}-name").fill("李四")
    page.locator(f"#f-members-{new_index}-monthly_income").fill("800")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/inbox")
    expect(page.locator(".flash-success")).to_contain_text("已办理")
    expect(page.locator(".flash-success")).to_contain_text("BR-FLOW-001")
    expect(inbox_row(page, "BR-FLOW-001")).to_have_count(0)

    page.get_by_role("navigation").get_by_role("link", name="办件查询").click()
    page.get_by_role("link", name="BR-FLOW-001").click()
    page.wait_for_url(re.compile(r"/instances/[0-9a-f-]{36}$"))
    expect(diagram_node(page, "Task_accept")).to_have_class(COMPLETED)
    expect(diagram_node(page, "Task_home_visit")).to_have_class(ACTIVE)
    expect(diagram_node(page, "Task_member_check")).to_have_class(ACTIVE)
    open_tasks = page.locator("section.card", has=page.get_by_role("heading", name="当前待办")).locator("ul.plain li")
    expect(open_tasks.filter(has_text="入户调查")).to_have_count(1)
    expect(open_tasks.filter(has_text="家庭成员核对")).to_have_count(2)  # one per member (multi-instance)
    screenshot(page, "instance")
    assert not [e for e in page.errors if "script-src" in e], page.errors  # app.js and htmx are allowed to run


def test_claim_and_unclaim_from_inbox(page: Any) -> None:
    login(page, "th_clerk")
    start_showcase(page, "BR-CLAIM-001")
    page.goto("/inbox")
    row = inbox_row(page, "BR-CLAIM-001")
    expect(row).to_contain_text("待办理")

    row.get_by_role("button", name="签收").click()
    page.wait_for_url("**/inbox")
    expect(page.locator(".flash-success")).to_contain_text("已签收")
    row = inbox_row(page, "BR-CLAIM-001")
    expect(row).to_contain_text("th_clerk")
    expect(row.get_by_role("button", name="签收", exact=True)).to_have_count(0)

    page.get_by_role("link", name="我已签收").click()
    expect(inbox_row(page, "BR-CLAIM-001")).to_be_visible()

    inbox_row(page, "BR-CLAIM-001").get_by_role("button", name="退回签收").click()
    page.wait_for_url("**/inbox")
    expect(page.locator(".flash-success")).to_contain_text("已取消签收")
    row = inbox_row(page, "BR-CLAIM-001")
    expect(row.get_by_role("button", name="签收", exact=True)).to_be_visible()
    expect(row).not_to_contain_text("th_clerk")


def test_inbox_filter_is_an_htmx_swap_with_pushed_url(page: Any) -> None:
    login(page, "th_clerk")
    start_showcase(page, "BR-FILTER-001")
    page.goto("/inbox")
    expect(inbox_row(page, "BR-FILTER-001")).to_be_visible()
    page.evaluate("window.__noReload = 'still here'")  # a full page load would lose this

    with page.expect_response(lambda r: "due=overdue" in r.url and r.request.headers.get("hx-request") == "true") \
            as response:
        page.locator("form.filters select[name=due]").select_option(label="已超期")
    assert response.value.status == 200
    page.wait_for_url(re.compile(r"/inbox\?.*due=overdue"))
    expect(inbox_row(page, "BR-FILTER-001")).to_have_count(0)  # a new case is not overdue
    expect(page.locator("#task-list")).to_contain_text("共 0 项")
    assert page.evaluate("window.__noReload") == "still here"
    expect(page.locator("h1")).to_have_count(1)  # the fragment was swapped in, not a whole page nested in the list

    page.locator("form.filters select[name=due]").select_option(label="全部")
    expect(inbox_row(page, "BR-FILTER-001")).to_be_visible()
    assert "due=overdue" not in page.url
    assert page.evaluate("window.__noReload") == "still here"


def test_pages_raise_no_console_errors(page: Any) -> None:
    login(page, "th_clerk")
    for path in ("/inbox", "/start", "/instances"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert page.errors == []

"""One delegated 低保 case from intake to approval through the real pages, worked by the people who hold each step:
the administrator registers 东坡区's delegation to 通惠街道 → the township window clerk (受理 with ID numbers, 入户调查,
初审) → the county 核对 centre → the village clerk (张贴公示) → 7 days later a scheduler worker ends the 公示 →
the township reviewer confirms (delegated) → the case ledger masks the ID number; the household file shows it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _run_in_own_loop, login, screenshot
from tests.browser.test_inbox__collaboration import logout

pytestmark = pytest.mark.browser

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
KEY = "BR-DB-001"
CONFIRM_TASK = "Task_confirm"
APPLICANT_ID = "511402196503120024"
MEMBER_ID = "51140219900606001X"


async def _prepare(db_file: str, password_hash: str) -> None:
    """What an installation has before the case: the diagram deployed, the plan's standards, a village clerk."""
    from tortoise.context import TortoiseContext

    from engine.db import close_database, init_database
    from engine.models import User
    from engine.runtime import Engine
    from tests.conftest import deploy_dir
    from web.composition import db_config
    from workflows.dibao.registry import seed_plan_standards

    async with TortoiseContext():
        await init_database(db_config(f"sqlite://{db_file}"))
        try:
            await seed_plan_standards()
            await deploy_dir(Engine(), BPMN_DIR, "dibao_approval.bpmn")
            if not await User.exists(username="th_village"):
                await User.create(username="th_village", display_name="通惠公示员", org_unit_id="511402001",
                                  roles=["village_clerk"], password_hash=password_hash)
        finally:
            await close_database()


async def _worker_sweep(db_file: str, days: int) -> int:
    """A `civicflow worker` on the same database, `days` later: wakes the timers that are due by then, and
    returns how many 审核确认 tasks of this case are open afterwards."""
    from tortoise.context import TortoiseContext

    from engine.clock import Clock, FakeClock
    from engine.db import close_database, init_database
    from engine.runtime import Engine
    from web.composition import db_config
    from workflows.dibao.services import install

    async with TortoiseContext():
        await init_database(db_config(f"sqlite://{db_file}"))
        try:
            engine = Engine(clock=FakeClock(Clock().now() + timedelta(days=days)))
            await install(engine)
            await engine.wake_due_timers()  # other browser tests' timers on the shared server may fire too
            from engine.models import HumanTask
            return await HumanTask.filter(instance__business_key=KEY, bpmn_id=CONFIRM_TASK,
                                          state__in=["READY", "CLAIMED"]).count()
        finally:
            await close_database()


def open_task(page: Any, title: str) -> None:
    page.goto("/inbox")
    page.get_by_role("link", name=f"{title} · {KEY}").click()
    page.wait_for_url(re.compile(r"/tasks/[0-9a-f-]{36}$"))


def submit(page: Any) -> None:
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/inbox")


def test_delegated_case_intake_to_township_approval(page: Any, live_server: str, password_hash: str) -> None:
    import os

    db_file = os.environ["CIVICFLOW_LIVE_DB"]
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    _run_in_own_loop(_prepare(db_file, password_hash))

    # The administrator: 东坡区 delegates 低保 confirmation to 通惠街道; the county's amount method (reloads the
    # standards table of the running server).
    login(page, "admin")
    page.goto("/dibao/delegations")
    page.get_by_label("县(区)").select_option("511402")
    page.get_by_label("乡镇(街道)").select_option("511402001")
    page.get_by_label("批准文号").fill("眉东民发〔2025〕12号")
    page.get_by_label("生效日期").fill("2026-01-01")
    page.get_by_role("button", name="登记").click()
    expect(page.locator(".flash-success")).to_contain_text("已登记委托")
    page.goto("/dibao/methods")
    page.get_by_label("县(区)").select_option("511402")
    page.get_by_label("计算方法").select_option("gap")
    page.get_by_label("生效日期").fill("2020-01-01")
    page.get_by_role("button", name="登记").click()
    expect(page.locator(".flash-success")).to_contain_text("已登记计算方法")
    expect(page.locator("table.list").first).to_contain_text("差额法")  # the methods (the band tables follow)
    screenshot(page, "dibao-methods")
    logout(page)

    # The township window clerk: start the case and accept it; a wrong check digit is refused in Chinese.
    login(page, "th_clerk")
    page.goto("/start")
    page.locator("li.card", has_text="低保审核确认").get_by_role("link", name="发起").click()
    page.get_by_label("业务编号").fill(KEY)
    page.get_by_role("button", name="发起").click()
    page.wait_for_url(re.compile(r"/instances/[0-9a-f-]{36}$"))
    open_task(page, "受理")
    page.locator("#f-applicant_name").fill("张秀英")
    page.locator("#f-applicant_id_number").fill(APPLICANT_ID[:-1] + "5")
    page.locator("#f-application_channel").select_option("window")
    page.locator("#f-hukou_type").select_option("urban")
    page.locator("#f-household_size").fill("2")
    page.locator("#f-members-0-name").fill("张秀英")
    page.locator("#f-members-0-id_number").fill(APPLICANT_ID)
    page.locator("#f-members-0-relation").select_option("applicant")
    add_row = page.get_by_role("button", name="添加一行")
    index = add_row.get_attribute("data-next-index")
    add_row.click()
    page.locator(f"#f-members-{index}-name").fill("李建国")
    page.locator(f"#f-members-{index}-id_number").fill(MEMBER_ID)
    page.locator(f"#f-members-{index}-relation").select_option("spouse")
    page.locator(f"#f-members-{index}-special").select_option("severe_disability")
    page.locator("#f-declared_monthly_income").fill("600")
    page.locator("#f-materials_complete").check()
    page.locator("#f-opinion").fill("材料齐全，予以受理")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#f-applicant_id_number-error")).to_contain_text("「申请人公民身份号码」校验位不正确")
    screenshot(page, "dibao-accept-id-error")
    page.locator("#f-applicant_id_number").fill(APPLICANT_ID)
    submit(page)

    open_task(page, "入户调查")
    page.locator("#f-investigators-0").fill("王敏")
    page.locator("#f-investigators-1").fill("刘强")
    page.locator("#f-visit_date").fill("2026-03-03")
    page.locator("#f-cooperated").check()
    page.locator("#f-form_signed").check()
    page.locator("#f-findings").fill("二人户，配偶重度残疾，无机动车")
    page.locator("#f-opinion").fill("情况属实")
    submit(page)
    logout(page)

    # The county 核对 centre.
    login(page, "dp_county")
    open_task(page, "信息核对")
    page.locator("#f-check_result").select_option("pass")
    page.locator("#f-verified_monthly_income").fill("600")
    page.locator("#f-sources_checked-0").check()
    page.locator("#f-sources_checked-1").check()
    page.locator("#f-opinion").fill("核对无异常")
    submit(page)
    logout(page)

    login(page, "th_clerk")
    open_task(page, "初审意见")
    page.locator("#f-prelim_recommend").check()
    page.locator("#f-opinion").fill("符合条件，拟同意纳入")
    submit(page)
    logout(page)

    # The village clerk posts the 公示; nobody objects; a worker sweep 7 days later ends it.
    login(page, "th_village")
    open_task(page, "张贴公示")
    page.locator("#f-posted_on").fill("2026-03-04")
    page.locator("#f-posting_location").fill("社区公示栏")
    page.locator("#f-content_checked").check()
    submit(page)
    logout(page)
    assert _run_in_own_loop(_worker_sweep(db_file, 6)) == 0  # not yet
    assert _run_in_own_loop(_worker_sweep(db_file, 8)) == 1

    # The township reviewer confirms under the delegation.
    login(page, "th_reviewer")
    open_task(page, "审核确认")
    page.locator("#f-decision").select_option("approve")
    page.locator("#f-opinion").fill("符合条件，予以确认")
    expect(page.locator("dl.summary")).to_contain_text("511402********0024")  # the task page masks it
    assert APPLICANT_ID not in page.content() and MEMBER_ID not in page.content()
    screenshot(page, "dibao-confirm-form")
    submit(page)

    page.goto("/dibao/cases?view=closed")
    row = page.locator("table.list tbody tr", has_text=KEY)
    expect(row).to_contain_text("511402********0024")
    expect(row).to_contain_text("乡镇(委托)")
    expect(row).to_contain_text("予以确认")
    assert APPLICANT_ID not in page.content()
    screenshot(page, "dibao-ledger")
    row.get_by_role("link", name=KEY).click()
    page.wait_for_url(re.compile(r"/dibao/cases/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_contain_text(KEY)
    expect(page.locator("body")).to_contain_text(MEMBER_ID)
    # urban S 630: (630 − 600 / 2) × 2 = 660, + 0.10 × 630 for the severely disabled spouse = 723
    expect(page.locator("body")).to_contain_text("723.00")
    expect(page.locator(".steps")).to_contain_text("差额法")
    screenshot(page, "dibao-case-file")
    page.get_by_role("link", name="办理流程").click()  # the generic instance page: masked
    page.wait_for_url(re.compile(r"/instances/[0-9a-f-]{36}$"))
    assert APPLICANT_ID not in page.content() and MEMBER_ID not in page.content()
    logout(page)

    # The county post-audit draws the month's delegated decisions and corrects this one's amount.
    login(page, "dp_county")
    page.goto("/dibao/post-audit")
    page.get_by_label("县(区)").select_option("511402")
    page.get_by_role("button", name="随机抽取").click()
    expect(page.locator(".flash-success")).to_contain_text("已抽取 1 件")
    row = page.locator("table.list tbody tr", has_text=KEY)
    row.get_by_label("结论").select_option("corrected")
    row.get_by_label("审计意见").fill("配偶残疾等级复核为二级,取消增发")
    row.get_by_label("保障金变更").select_option("adjust")
    row.get_by_label("新月金额").fill("660")
    row.get_by_label("变更生效日期").fill("2027-01-01")
    screenshot(page, "dibao-post-audit-correct")
    row.get_by_role("button", name="记录").click()
    expect(page.locator(".flash-success")).to_contain_text("已记录纠正结论及保障金变更")
    expect(page.locator("table.list tbody tr", has_text=KEY)).to_contain_text("纠正")
    page.locator("table.list tbody tr", has_text=KEY).get_by_role("link", name=KEY).click()
    page.wait_for_url(re.compile(r"/dibao/cases/[0-9a-f-]{36}$"))
    expect(page.locator("section", has_text="保障金变更记录")).to_contain_text("调整金额")
    expect(page.locator("section", has_text="保障金变更记录")).to_contain_text("660.00")
    expect(page.locator("section", has_text="档案查看记录")).to_contain_text("th_reviewer")  # the earlier view
    screenshot(page, "dibao-case-file-corrected")
    # The change has its printable 变更通知书 (amounts, date, reason, appeal rights).
    page.locator("section", has_text="保障金变更记录").get_by_role("link", name="变更通知书").click()
    page.wait_for_url(re.compile(r"/changes/[0-9]+/notice$"))
    expect(page.locator("article")).to_contain_text("调整为每月 660.00 元")
    expect(page.locator("article")).to_contain_text("2027 年 1 月 1 日")
    expect(page.locator("article")).to_contain_text("申请行政复议")
    screenshot(page, "dibao-change-notice")
    # The county's view log across its cases: the township reviewer's view of this file is listed.
    page.goto("/dibao/cases")
    page.get_by_role("link", name="档案查阅记录").click()
    page.get_by_label("查阅人").select_option("th_reviewer")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("table.list tbody tr", has_text=KEY).first).to_contain_text("本案经办")
    screenshot(page, "dibao-view-log")
    assert missing == []
    assert not [e for e in page.errors if "Failed to load resource" not in e], page.errors  # the 422 is wanted

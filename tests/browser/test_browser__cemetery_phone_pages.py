"""The 公墓年检 pages and the spot-check list on a phone (390×844): the shared top bar wraps by whole links (app.css's
phone block), no page is wider than the phone, and the city publishes new checklist limits from the phone."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, _run_in_own_loop, login
from tests.browser.test_browser__cemetery_inspector import phone_screens
from tests.cemetery_helpers import BPMN_DIR
from tests.conftest import deploy_dir

pytestmark = pytest.mark.browser


async def _seed(db_file: str) -> int:
    """One closed cemetery (closed: the other browser tests open campaigns and count what they start)."""
    from tortoise.context import TortoiseContext

    from engine.db import close_database, init_database
    from engine.runtime import Engine
    from web.composition import db_config
    from workflows.cemetery.models import Cemetery

    async with TortoiseContext():
        await init_database(db_config(f"sqlite://{db_file}"))
        try:
            await deploy_dir(Engine(), BPMN_DIR, "cemetery_annual_inspection.bpmn")
            row = await Cemetery.create(code="BR-PH1", name="大石桥老坟山公益性公墓", cemetery_type="public_welfare",
                                        status="closed", area_kind="rural", county_code="511402",
                                        township_code="511402002",
                                        org_path="/511400/511402/511402002/", operator="大石桥街道办事处",
                                        area_m2=Decimal("4200"), plots_single=300, plots_double=80,
                                        plots_ashes=380, plots_eco=40)
            return int(row.id)
        finally:
            await close_database()


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 5)
        .map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 30))""")  # named in the failure
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone: {wide}"
    # The top bar's links wrap whole: none is taller than one line of text.
    heights = page.locator(".topbar nav a").evaluate_all("links => links.map(a => a.getBoundingClientRect().height)")
    assert heights and max(heights) < 30, f"a top-bar link wraps inside itself: {heights}"


def test_cemetery_and_spot_check_pages_fit_a_phone(phone: Any) -> None:
    cemetery_id = _run_in_own_loop(_seed(os.environ["CIVICFLOW_LIVE_DB"]))
    login(phone, "city_mgr")
    for url, name in (("/cemetery", "cemetery-phone-list"), ("/cemetery/progress", "cemetery-phone-progress"),
                      (f"/cemetery/{cemetery_id}", "cemetery-phone-detail"),
                      ("/social-org/spot-checks", "spotcheck-phone-plans")):
        phone.goto(url)
        _fits(phone)
        phone_screens(phone, name)

    phone.goto("/cemetery/limits")
    _fits(phone)
    phone.get_by_label("默认整改期限(天)").fill("二十")
    phone.get_by_role("button", name="发布").click()
    expect(phone.locator(".form-errors")).to_be_visible()
    expect(phone.locator("body")).to_contain_text("默认整改期限须为数字")
    expect(phone.locator("body")).to_contain_text("请填写调整依据的文号")
    _fits(phone)
    phone_screens(phone, "cemetery-phone-limits-errors")
    phone.get_by_label("默认整改期限(天)").fill("20")
    phone.get_by_label("调整依据(文号)").fill("眉市民发〔2026〕30号")
    phone.get_by_role("button", name="发布").click()
    expect(phone.locator("body")).to_contain_text("已发布检查表第 2 版")
    expect(phone.locator("table.list").last).to_contain_text("默认整改期限:30 天 → 20 天")
    _fits(phone)
    phone_screens(phone, "cemetery-phone-limits-published")
    assert [f for f in phone.failed if not f.startswith("422 ")] == []  # the refused form is a 422
    assert [e for e in phone.errors if "Failed to load resource" not in e] == []

"""The administrator edits a county's band table next to the amount method: a gap between bands is refused in
Chinese with what was typed kept, the corrected table is saved and listed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_admin_saves_a_band_table_after_a_refused_one(page: Any, live_server: str) -> None:
    login(page, "admin")
    page.goto("/dibao/methods")
    form = page.locator("form[action='/dibao/methods/bands']")
    form.get_by_label("适用县区").select_option("511421")
    form.get_by_label("执行日期").fill("2026-07-01")
    form.get_by_label("分档表文件依据").fill("仁民发〔2026〕3号")
    expect(form.get_by_label("第 1 档上限")).to_have_value("0.25")  # starts from the default table
    for i, (lower, upper, pay) in enumerate([("0", "0.3", "0.9"), ("0.35", "0.7", "0.5"), ("0.7", "1", "0.2"),
                                             ("", "", "")]):
        form.get_by_label(f"第 {i + 1} 档下限").fill(lower)
        form.get_by_label(f"第 {i + 1} 档上限").fill(upper)
        form.get_by_label(f"第 {i + 1} 档发放比例").fill(pay)
    form.get_by_role("button", name="保存分档表").click()
    expect(page.locator(".error-summary")).to_contain_text("第 2 档的下限 0.35 应等于上一档的上限 0.3")
    form = page.locator("form[action='/dibao/methods/bands']")
    expect(form.get_by_label("第 2 档下限")).to_have_value("0.35")  # nothing typed is lost
    screenshot(page, "dibao-bands-error")
    form.get_by_label("第 2 档下限").fill("0.3")
    form.get_by_role("button", name="保存分档表").click()
    expect(page.locator(".flash-success")).to_contain_text("已登记分档表")
    history = page.locator("table.bands-history tbody tr", has_text="仁民发〔2026〕3号")
    expect(history).to_contain_text("[0.3S, 0.7S) 发 0.5S")
    expect(history).to_contain_text("2026-07-01")
    screenshot(page, "dibao-bands")

"""A township named as the owner of a corrective action, on a phone (390×844): its reviewer reaches the findings
from the 社会组织 menu, sees only what the township must carry out, reports progress with a photo, and has no
closing or editing form (the authority closes). Screenshots: /tmp/civicflow-shots/so_owner_*.png."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_social_org__mobile_checklist import _fits, _seed
from tests.conftest import TEST_PASSWORD
from tests.social_org_helpers import JPEG

pytestmark = pytest.mark.browser


def test_township_reports_progress_on_its_finding_from_a_phone(phone: Any, password_hash: str) -> None:
    seeded = _seed(password_hash, "owned")
    page = phone
    page.goto("/login")
    page.get_by_label("用户名").fill("th_reviewer")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/inbox")
    page.goto("/social-org")  # the menu entry: township staff land on the findings their unit owns
    page.wait_for_url("**/social-org/findings")
    card = page.locator(f"#finding-{seeded['finding_id']}")
    expect(card).to_contain_text("责任方 通惠街道")
    expect(page.locator("section.finding")).not_to_have_count(0)
    for other in page.locator("section.finding").all():  # only findings 通惠街道 owns (other runs may add theirs)
        expect(other).to_contain_text("责任方 通惠街道")
    expect(card.get_by_role("button", name="复查通过,关闭问题")).to_have_count(0)
    expect(card.get_by_text("修改责任方、整改措施或期限")).to_have_count(0)
    _fits(page)
    screenshot(page, "so_owner_findings")

    card.get_by_label("整改进展(责任单位报送)").fill("已督促协会补记 3 笔现金收入,新版财务制度已印发")
    card.get_by_label("佐证材料(可选,PDF/图片/Word/Excel)").set_input_files(
        files=[{"name": "补记凭证.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    card.get_by_role("button", name="报送整改进展").click()
    expect(page.locator(".flash-success")).to_contain_text("已报送整改进展")
    card = page.locator(f"#finding-{seeded['finding_id']}")
    expect(card.locator(".progress-list")).to_contain_text("已督促协会补记 3 笔现金收入")
    expect(card.locator(".progress-list a")).to_have_text("佐证材料")
    expect(card).to_contain_text("待整改")  # still open: the authority reviews and closes
    _fits(page)
    screenshot(page, "so_owner_progress")
    assert not [e for e in page.errors if not e.startswith("Failed to load resource")], page.errors

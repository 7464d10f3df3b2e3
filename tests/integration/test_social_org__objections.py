"""Credit lists: an organization contests an entry on a public page (异议), the registration authority records its
decision; an upheld objection removes the entry, and the removal history is public."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from engine.clock import FakeClock
from engine.runtime import Engine
from tests.conftest import browser_login, csrf_from
from tests.social_org_helpers import make_org, seed_so_users
from workflows.social_org import credit
from workflows.social_org.models import CreditListEntry, CreditObjection, SocialOrganization

REP = "王建国"


async def test_objection_is_filed_publicly_decided_by_the_authority_and_removal_is_shown(
        client: Any, engine: Engine, password_hash: str) -> None:
    assert isinstance(engine.clock, FakeClock)
    engine.clock.set(datetime(2026, 6, 10, 2, 0, tzinfo=UTC))
    await seed_so_users(password_hash)
    org = await make_org("511402", name="眉山市东坡区书法家协会", legal_representative=REP, contact_phone="13900001111")
    assert await credit.list_abnormal(org.id, "未按规定报送 2025 年度工作报告", "annual_report:2025", date(2026, 6, 1))
    entry = await CreditListEntry.get()

    # public lookup: the entry, a link to contest it, no personal data
    lookup = await client.get("/public/social-org/credit", params={"q": org.uscc})
    assert f'href="/public/social-org/credit/{entry.id}/objection"' in lookup.text and "提出异议" in lookup.text
    url = f"/public/social-org/credit/{entry.id}/objection"
    form_page = await client.get(url)
    assert form_page.status_code == 200 and "未按规定报送 2025 年度工作报告" in form_page.text
    assert REP not in form_page.text and "13900001111" not in form_page.text
    csrf = csrf_from(form_page.text)
    good = {"uscc": org.uscc.lower(), "representative": REP, "applicant": "李秘书", "contact": "13800002222",
            "reason": "我会已于 2026 年 5 月 20 日通过邮寄报送年度报告,附邮件回执,请核查。"}
    assert (await client.post(url, data=good)).status_code == 403  # no CSRF token
    wrong = await client.post(url, data={**good, "csrf_token": csrf, "representative": "张三"})
    assert wrong.status_code == 422 and "与登记信息不一致" in wrong.text and REP not in wrong.text
    short = await client.post(url, data={**good, "csrf_token": csrf, "reason": "有误"})
    assert short.status_code == 422 and "请写明异议理由" in short.text
    assert not await CreditObjection.exists()
    filed = await client.post(url, data={**good, "csrf_token": csrf})
    assert filed.status_code == 303
    again = await client.post(url, data={**good, "csrf_token": csrf})
    assert again.status_code == 422 and "已有待处理的异议" in again.text
    assert await CreditObjection.filter(status="pending").count() == 1

    # another county's registrar neither sees nor decides it
    csrf = await browser_login(client, "so_rs")
    assert org.name not in (await client.get("/social-org/objections")).text
    first = await CreditObjection.get()
    r = await client.post(f"/social-org/objections/{first.id}/decide",
                          data={"csrf_token": csrf, "decision": "upheld", "note": "越权处理"})
    assert r.status_code == 404 and (await CreditObjection.get(id=first.id)).status == "pending"
    await client.post("/logout", data={"csrf_token": csrf})

    # the authority rejects it with a recorded reason: the listing stays
    csrf = await browser_login(client, "so_dp")
    listing = await client.get("/social-org/objections")
    assert org.name in listing.text and "李秘书" in listing.text
    decide = f"/social-org/objections/{first.id}/decide"
    no_csrf = await client.post(decide, data={"decision": "upheld", "note": "未带令牌"})
    assert no_csrf.status_code == 403 and (await CreditObjection.get(id=first.id)).status == "pending"
    r = await client.post(decide, data={"csrf_token": csrf, "decision": "rejected", "note": ""},
                          follow_redirects=True)
    assert "请填写处理意见" in r.text and (await CreditObjection.get(id=first.id)).status == "pending"
    await client.post(decide, data={"csrf_token": csrf, "decision": "rejected",
                                    "note": "经核查,邮寄回执日期为 6 月 5 日,已过报送期限"})
    first = await CreditObjection.get(id=first.id)
    assert (first.status, first.decided_by, first.decision_note) == (
        "rejected", "so_dp", "经核查,邮寄回执日期为 6 月 5 日,已过报送期限")
    assert first.decided_on == date(2026, 6, 10)
    assert (await SocialOrganization.get(id=org.id)).credit_status == "abnormal"
    r = await client.post(decide, data={"csrf_token": csrf, "decision": "upheld", "note": "再次处理"},
                          follow_redirects=True)
    assert "该异议不存在或已处理" in r.text  # a decision is final

    # a second objection, upheld: the entry is removed and the organization is normal again
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = csrf_from((await client.get(url)).text)
    refiled = await client.post(url, data={**good, "csrf_token": csrf,
                                           "reason": "补充材料:邮局出具的收寄证明显示 5 月 20 日已收寄。"})
    assert refiled.status_code == 303
    second = await CreditObjection.get(status="pending")
    csrf = await browser_login(client, "so_dp")
    await client.post(f"/social-org/objections/{second.id}/decide",
                      data={"csrf_token": csrf, "decision": "upheld", "note": "邮局收寄证明属实,按期报送"})
    entry = await CreditListEntry.get(id=entry.id)
    assert entry.removed_on is not None and entry.removal_reason == "异议成立:邮局收寄证明属实,按期报送"
    org = await SocialOrganization.get(id=org.id)
    assert (org.credit_status, org.abnormal_since, org.abnormal_reason) == ("normal", None, None)

    # the public history shows the removal and both decisions
    await client.post("/logout", data={"csrf_token": csrf})
    history = await client.get("/public/social-org/credit", params={"q": org.name})
    assert "异议成立:邮局收寄证明属实" in history.text and "正常" in history.text
    detail = await client.get(url)
    assert "异议不成立,维持列入" in detail.text and "异议成立,已移出" in detail.text
    assert "提交异议" not in detail.text  # removed: nothing left to contest
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', detail.text)
    assert token is not None
    late = await client.post(url, data={**good, "csrf_token": token.group(1)})
    assert late.status_code == 422 and "已移出" in late.text


async def test_upheld_objection_against_the_serious_list_falls_back_to_an_open_abnormal_entry(engine: Engine) -> None:
    org = await make_org("511402", legal_representative=REP)
    await credit.list_abnormal(org.id, "通过登记的住所无法联系", "unreachable:2026", date(2024, 1, 10))
    await credit.sweep(date(2026, 1, 11))  # two years on the abnormal list: serious
    serious = await CreditListEntry.get(list_type="serious")
    await credit.list_abnormal(org.id, "未按规定报送 2025 年度工作报告", "annual_report:2025", date(2026, 6, 1))
    objection = await credit.file_objection(serious.id, uscc=org.uscc, representative=REP, applicant="李秘书",
                                            contact="13800002222", reason="住所变更已于 2023 年备案,并非无法联系。",
                                            day=date(2026, 6, 2))
    await credit.decide_objection(objection.id, upheld=True, note="变更备案属实", actor="so_dp", day=date(2026, 6, 9))
    org = await SocialOrganization.get(id=org.id)
    assert (org.credit_status, org.abnormal_reason, org.serious_since) == (
        "abnormal", "未按规定报送 2025 年度工作报告", None)


async def test_identity_guessing_on_the_public_form_is_throttled(client: Any, engine: Engine) -> None:
    """Five wrong code/representative pairs for one listing from one address: the form then refuses even the right
    pair for a while (429), so the registered legal representative cannot be found by trying names."""
    org = await make_org("511402", name="眉山市东坡区摄影家协会", legal_representative=REP)
    assert await credit.list_abnormal(org.id, "未按规定报送 2025 年度工作报告", "annual_report:2025", date(2026, 6, 1))
    entry = await CreditListEntry.get()
    url = f"/public/social-org/credit/{entry.id}/objection"
    csrf = csrf_from((await client.get(url)).text)
    good = {"uscc": org.uscc, "representative": REP, "applicant": "李秘书", "contact": "13800002222",
            "reason": "我会已于 2026 年 5 月 20 日通过邮寄报送年度报告,附邮件回执,请核查。", "csrf_token": csrf}
    for guess in ("张三", "李四", "王五", "赵六", "钱七"):
        r = await client.post(url, data={**good, "representative": guess})
        assert r.status_code == 422 and "与登记信息不一致" in r.text
    blocked = await client.post(url, data=good)
    assert blocked.status_code == 429 and "次数过多" in blocked.text
    assert not await CreditObjection.exists()

"""撤销登记: the case opened after two bad years is tracked 立案 → 告知 → (听证) → 决定 → 公告, every step recorded;
steps out of order, without their documents or dated in the future are refused; 公告 revokes the registration."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from engine.clock import FakeClock
from engine.models import OrgUnit
from engine.runtime import Engine
from tests.conftest import browser_login
from tests.social_org_helpers import make_org, seed_so_users
from workflows.social_org import revocation
from workflows.social_org.models import AnnualInspection, RevocationCase, RevocationEvent, SocialOrganization
from workflows.social_org.projection import open_revocation_if_due


async def _two_bad_years(name: str) -> tuple[SocialOrganization, RevocationCase]:
    org = await make_org("511402", name=name)
    unit = await OrgUnit.get(code="511402")
    await AnnualInspection.create(organization_id=org.id, year=2024, authority_path=unit.path, status="absent")
    await AnnualInspection.create(organization_id=org.id, year=2025, authority_path=unit.path, status="closed",
                                  conclusion="unqualified", final_conclusion="unqualified")
    case = await open_revocation_if_due(org.id, 2025, date(2026, 6, 1))
    assert case is not None and case.stage == "filed" and case.status == "open"
    return org, case


async def test_revocation_case_goes_through_notice_hearing_decision_and_announcement(
        client: Any, engine: Engine, password_hash: str) -> None:
    assert isinstance(engine.clock, FakeClock)
    engine.clock.set(datetime(2026, 8, 1, 2, 0, tzinfo=UTC))
    await seed_so_users(password_hash)
    org, case = await _two_bad_years("眉山市东坡区某某研究会")
    url = f"/social-org/revocations/{case.id}"

    csrf = await browser_login(client, "so_rs")  # another county
    assert org.name not in (await client.get("/social-org/revocations")).text
    assert (await client.get(url)).status_code == 404
    await client.post("/logout", data={"csrf_token": csrf})

    csrf = await browser_login(client, "so_dp")
    assert org.name in (await client.get("/social-org/revocations")).text
    org_page = await client.get(f"/social-org/orgs/{org.id}")
    assert f'href="{url}"' in org_page.text and "立案" in org_page.text

    async def step(**form: str) -> Any:
        return await client.post(url, data={"csrf_token": csrf, **form})

    no_csrf = await client.post(url, data={"action": "notify", "on": "2026-06-10", "number": "眉东民告〔2026〕3号"})
    assert no_csrf.status_code == 403 and (await RevocationCase.get(id=case.id)).stage == "filed"
    r = await step(action="decide", on="2026-06-10", decision="revoke", number="眉东民撤字〔2026〕1号", note="连续两年")
    assert r.status_code == 422 and "不能作出决定" in r.text
    r = await step(action="notify", on="2026-06-10", number="")
    assert r.status_code == 422 and "请填写告知书文号" in r.text
    r = await step(action="notify", on="2026-05-01", number="眉东民告〔2026〕3号")
    assert r.status_code == 422 and "不能早于上一步骤" in r.text
    r = await step(action="notify", on="2026-08-02", number="眉东民告〔2026〕3号")
    assert r.status_code == 422 and "不能晚于今天" in r.text
    r = await step(action="notify", on="2026-06-10", number="眉东民告〔2026〕3号", note="告知陈述申辩和听证权利")
    assert r.status_code == 303
    r = await step(action="request_hearing", on="2026-06-12", note="该会书面申请听证")
    assert r.status_code == 303
    r = await step(action="decide", on="2026-07-10", decision="revoke", number="眉东民撤字〔2026〕1号",
                   note="听证后维持")
    assert r.status_code == 422 and "请填写听证举行日期" in r.text
    r = await step(action="decide", on="2026-07-10", decision="revoke", number="眉东民撤字〔2026〕1号",
                   hearing_on="2026-07-01", note="听证后事实清楚,连续两年未年检、年检不合格")
    assert r.status_code == 303
    assert (await SocialOrganization.get(id=org.id)).status == "active"  # not before the announcement
    r = await step(action="announce", on="2026-07-20", number="眉东民公告〔2026〕5号")
    assert r.status_code == 303

    case = await RevocationCase.get(id=case.id)
    assert (case.stage, case.status, case.notice_no, case.hearing_requested) == (
        "announced", "revoked", "眉东民告〔2026〕3号", True)
    assert (case.hearing_on, case.decision, case.decided_on, case.announced_on) == (
        date(2026, 7, 1), "revoke", date(2026, 7, 10), date(2026, 7, 20))
    assert (await SocialOrganization.get(id=org.id)).status == "revoked"
    events = await RevocationEvent.filter(case_id=case.id).order_by("id")
    assert [(e.action, e.stage, e.actor, e.on) for e in events] == [
        ("notify", "notified", "so_dp", date(2026, 6, 10)), ("request_hearing", "hearing", "so_dp", date(2026, 6, 12)),
        ("decide", "decided", "so_dp", date(2026, 7, 10)), ("announce", "announced", "so_dp", date(2026, 7, 20))]
    page = await client.get(url)
    assert "眉东民公告〔2026〕5号" in page.text and "听证后事实清楚" in page.text and "办理下一步" not in page.text
    await client.post("/logout", data={"csrf_token": csrf})
    public = await client.get("/public/social-org/results")  # no login: the 公告 is public
    assert org.name in public.text and "眉东民公告〔2026〕5号" in public.text and "眉东民撤字〔2026〕1号" in public.text
    csrf = await browser_login(client, "so_dp")
    r = await step(action="announce", on="2026-07-21", number="再次公告")
    assert r.status_code == 422 and "不能公告" in r.text
    assert await RevocationEvent.filter(case_id=case.id).count() == 4


async def test_a_case_can_be_dropped_and_the_registration_stays(engine: Engine) -> None:
    org, case = await _two_bad_years("眉山市东坡区某某联合会")
    today = date(2026, 7, 1)
    await revocation.advance(case.id, revocation.Step("notify", date(2026, 6, 5), number="眉东民告〔2026〕4号"),
                             actor="so_dp", today=today)
    try:
        await revocation.advance(case.id, revocation.Step("decide", date(2026, 6, 20), decision="drop", note=""),
                                 actor="so_dp", today=today)
    except revocation.RevocationError as exc:
        assert "决定理由" in str(exc)
    else:
        raise AssertionError("a decision without reasons must be refused")
    done = await revocation.advance(case.id, revocation.Step("decide", date(2026, 6, 20), decision="drop",
                                                             note="已补报并整改到位,陈述申辩理由成立"),
                                    actor="so_dp", today=today)
    assert (done.stage, done.status, done.decision) == ("dropped", "dropped", "drop")
    assert (await SocialOrganization.get(id=org.id)).status == "active"
    try:
        await revocation.advance(case.id, revocation.Step("announce", today, number="公告"), actor="so_dp",
                                 today=today)
    except revocation.RevocationError:
        pass
    else:
        raise AssertionError("a dropped case is closed")

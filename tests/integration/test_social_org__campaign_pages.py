"""Campaign page (launch in the background, htmx progress), demo register, pages render for a city user."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from engine.models import OrgUnit, ProcessInstance
from engine.runtime import Engine
from tests.conftest import browser_login
from tests.social_org_helpers import deploy_social_org, make_org, seed_so_users
from workflows.social_org import demo
from workflows.social_org.models import (
    AnnualCampaign,
    CreditObjection,
    Inspector,
    RevocationCase,
    SocialOrganization,
)
from workflows.social_org.uscc import is_valid_uscc


async def test_campaign_launch_page_shows_progress(client: Any, engine: Engine, password_hash: str) -> None:
    await deploy_social_org(engine)
    await seed_so_users(password_hash)
    for _ in range(5):
        await make_org("511402")
    await make_org("511421")
    csrf = await browser_login(client, "so_dp")
    bad = await client.post("/social-org/campaigns", data={"csrf_token": csrf, "year": "2099",
                                                          "authority_code": "511421"})
    assert bad.status_code == 422 and "不晚于今年" in bad.text and "管理范围内" in bad.text
    r = await client.post("/social-org/campaigns", data={"csrf_token": csrf, "year": "2025",
                                                        "authority_code": "511402"})
    assert r.status_code == 303
    for _ in range(100):
        campaign = await AnnualCampaign.get()
        if campaign.status == "done":
            break
        await asyncio.sleep(0.05)
    assert (campaign.status, campaign.total, campaign.launched) == ("done", 5, 5)
    fragment = await client.get(r.headers["location"], headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="progress"' in fragment.text
    assert "已启动 <strong>5</strong>" in fragment.text and "every 1s" not in fragment.text  # polling stops
    assert "HX-Request" in fragment.headers["vary"]
    full = await client.get(r.headers["location"])
    assert "<html" in full.text and "年检率" in full.text
    again = await client.post("/social-org/campaigns", data={"csrf_token": csrf, "year": "2025",
                                                            "authority_code": "511402"})
    assert again.status_code == 422 and "已经发起" in again.text
    assert await ProcessInstance.filter(process_key="social_org_annual_inspection").count() == 5


async def test_demo_register_is_generated_fast_and_valid(engine: Engine) -> None:
    for code, name in (("511403", "彭山区"), ("511423", "洪雅县")):
        await OrgUnit.create(code=code, name=name, level="county", parent_id="511400", path=f"/511400/{code}/")
    began = time.perf_counter()
    report = await demo.seed(engine)
    elapsed = time.perf_counter() - began
    assert "1650 demo organizations" in report and elapsed < 20
    orgs = await SocialOrganization.all()
    assert len(orgs) == 1650 and all(o.is_demo and is_valid_uscc(o.uscc) for o in orgs)
    by_authority: dict[str, int] = {}
    for o in orgs:
        by_authority[o.authority_code] = by_authority.get(o.authority_code, 0) + 1
    assert by_authority["511400"] == 660 and set(by_authority) == {"511400", "511402", "511421", "511403", "511423"}
    assert {o.org_type for o in orgs} == {"social_group", "private_non_enterprise", "foundation"}
    assert await Inspector.filter(authority_code="511402").count() == 15
    assert await SocialOrganization.filter(credit_status="abnormal").count() == 12
    assert await CreditObjection.filter(status="pending").count() == 1
    assert await RevocationCase.filter(stage="filed", organization__credit_status="normal").count() == 2
    assert "already present" in await demo.seed(engine)


async def test_pages_render_for_a_city_user(client: Any, engine: Engine, password_hash: str) -> None:
    await deploy_social_org(engine)
    await seed_so_users(password_hash)
    await demo.seed(engine)
    await browser_login(client, "so_city")
    for url in ("/social-org/orgs", "/social-org/orgs?credit=abnormal", "/social-org/orgs/new",
                "/social-org/orgs/import", "/social-org/campaigns", "/social-org/spot-checks",
                "/social-org/inspectors", "/public/social-org/results", "/public/social-org/credit?q=协会"):
        r = await client.get(url)
        assert r.status_code == 200, url
    fragment = await client.get("/social-org/orgs?page=2", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "第 2 /" in fragment.text

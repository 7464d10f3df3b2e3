"""The demo's 年检 campaign is worked like a real spring: reports in, conclusions out, the rest late."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.models import OrgUnit, ProcessInstance
from engine.runtime import Engine
from tests.social_org_helpers import deploy_social_org, make_org
from workflows.social_org import campaign, kpi, listeners
from workflows.social_org.demo import work_campaign
from workflows.social_org.models import AnnualInspection

YEAR = 2025


async def test_work_campaign_concludes_most_and_leaves_foundations_unreported(engine: Engine) -> None:
    listeners.register(engine)  # as the app does: the domain rows follow each step
    await deploy_social_org(engine)
    plain = [await make_org("511402") for _ in range(6)]
    supervised = [await make_org("511402", supervisor="东坡区教育局") for _ in range(3)]
    foundation = await make_org("511402", org_type="foundation", supervisor=None)
    engine.clock.set(datetime(YEAR + 1, 1, 12, 1, tzinfo=UTC))  # type: ignore[attr-defined]
    opened = await campaign.open_campaign(YEAR, await OrgUnit.get(code="511402"), "admin")
    await campaign.launch(engine, opened.id, actor="admin")
    engine.clock.set(datetime(YEAR + 1, 3, 20, 1, tzinfo=UTC))  # type: ignore[attr-defined]

    counts = await work_campaign(engine, opened.id, share=1.0)

    assert counts == {"concluded": 9, "basic": counts["basic"], "not_reported": 1}
    rows = {r.organization_id: r for r in await AnnualInspection.filter(campaign_id=opened.id)}
    assert rows[foundation.id].conclusion is None and rows[foundation.id].submitted_on is None
    for org in plain + supervised:  # supervised ones went through the 业务主管单位 初审 too
        assert rows[org.id].conclusion in {"qualified", "basic"}
        instance = await ProcessInstance.get(id=rows[org.id].instance_id)
        assert instance.status == ("completed" if rows[org.id].conclusion == "qualified" else "running")
    rate = await kpi.inspection_rate(YEAR, "/511400/511402/")
    assert (rate.numerator, rate.denominator) == (9, 10)


async def test_work_campaign_share_leaves_the_rest_for_the_deadline(engine: Engine) -> None:
    listeners.register(engine)
    await deploy_social_org(engine)
    for _ in range(8):
        await make_org("511402")
    opened = await campaign.open_campaign(YEAR, await OrgUnit.get(code="511402"), "admin")
    await campaign.launch(engine, opened.id, actor="admin")
    counts = await work_campaign(engine, opened.id, share=0.0)
    assert counts == {"concluded": 0, "basic": 0, "not_reported": 8}
    assert not await AnnualInspection.filter(campaign_id=opened.id, conclusion__not_isnull=True).exists()

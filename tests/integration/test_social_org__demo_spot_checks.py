"""The demo's 双随机 year: random and joint plans drawn, the city's first targets worked (notices, checklists with
photos, findings, one handed to a township, one 责令改正 with a deadline, results published), so the public results
page and the dashboard's 抽查 / 联合检查 figures show real entries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.collab import AttachmentStore
from engine.models import Attachment, HumanTask, OrgUnit
from engine.runtime import Engine
from tests.social_org_helpers import deploy_social_org, make_inspectors
from workflows.common import findings as rules
from workflows.common.models import FindingRecord
from workflows.social_org import kpi, listeners
from workflows.social_org.demo import work_spot_checks
from workflows.social_org.models import SocialOrganization, SpotCheckPlan, SpotCheckTarget
from workflows.social_org.uscc import CATEGORY_OF_TYPE, make_uscc

TODAY = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CITY_ORGS = 350  # 4% → 14 targets: 11 checked, 3 with the notice served only


async def _register() -> None:
    city = await OrgUnit.get(code="511400")
    await SocialOrganization.bulk_create([SocialOrganization(
        uscc=make_uscc(CATEGORY_OF_TYPE["social_group"], "511400", 800000 + n), name=f"眉山市演示协会{n:03d}",
        org_type="social_group", authority_level="city", authority_code=city.code, authority_path=city.path,
        registration_date=date(2015, 1, 1)) for n in range(CITY_ORGS)])
    await make_inspectors("511400", 6)


async def test_demo_spot_checks_publish_results_and_feed_the_joint_figure(engine: Engine, client: Any,
                                                                         tmp_path: Path) -> None:
    listeners.register(engine)  # as the app does: the domain rows follow each step
    await deploy_social_org(engine)
    await _register()
    engine.clock.set(TODAY)  # type: ignore[attr-defined]
    store = AttachmentStore(tmp_path / "attachments")

    counts = await work_spot_checks(engine, engine.clock, 2026, store)

    assert counts == {"random_targets": 14, "joint_targets": 21, "checked": 11, "findings": 4, "published": 9}
    assert engine.clock.now() == TODAY  # the clock is given back
    plans = {p.plan_type: p for p in await SpotCheckPlan.filter(year=2026)}  # counties have no registrations here
    assert (plans["random"].ratio, plans["joint"].ratio) == (0.04, 0.06)
    joint = await kpi.joint_check_ratio(2026)
    assert (joint.numerator, joint.denominator) == (21, CITY_ORGS) and joint.met
    targets = await SpotCheckTarget.filter(plan_id=plans["random"].id).order_by("rank")
    assert [t.notice_no is not None for t in targets] == [True] * 14
    assert sum(t.checklist_record_id is not None for t in targets) == 11
    assert sum(t.published for t in targets) == 9
    assert await HumanTask.filter(bpmn_id="Task_checklist", state="READY",
                                  instance_id__in=[t.instance_id for t in targets]).count() == 3
    # every checklist has its photo, stored where the app reads attachments
    photos = await Attachment.filter(filename="现场检查照片.png")
    assert len(photos) == 11 and all(store.path(a.sha256).is_file() for a in photos)

    rectify = [t for t in targets if t.outcome == "rectify"]
    assert len(rectify) == 1 and rectify[0].rectify_deadline == TODAY.date() + timedelta(days=30)
    due = await FindingRecord.filter(subject_id=str(rectify[0].id)).values_list("due_date", flat=True)
    assert due == [rectify[0].rectify_deadline]  # the decision's deadline is the finding's due date
    owned = await FindingRecord.get(owner_unit_code="511402001")
    township = await OrgUnit.get(code="511402001")
    visible = rules.visible(township.path, await rules.owner_codes(township.path))
    assert [f.id for f in await visible] == [owned.id]  # 通惠街道 sees the finding it must carry out
    assert await rules.overdue(rules.in_scope("/511400/"), TODAY.date()).count() >= 1  # due 30 days after check

    page = await client.get("/public/social-org/results")
    assert page.status_code == 200
    published = [t for t in targets if t.published]
    for t in published:
        assert (await SocialOrganization.get(id=t.organization_id)).name in page.text
    assert "责令改正" in page.text and "未发现问题" in page.text

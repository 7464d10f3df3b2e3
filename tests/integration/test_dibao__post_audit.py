from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from workflows.common.draw import TargetDraw, verify_targets
from workflows.common.models import DrawRecord
from workflows.dibao.models import DibaoCase, PostAudit
from workflows.dibao.post_audit import draw_month, record_outcome

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def _cases(township: str, n: int, *, special: int = 0, delegated: bool = True) -> None:
    for i in range(n):
        await DibaoCase.create(instance_id=f"{township}-{i:03d}", org_unit=township,
                               org_path=f"/511400/511402/{township}/", township_code=township,
                               county_code="511402", delegated=delegated,
                               decision="approve", decided_at=datetime(2026, 11, 10 + i % 10, 3, tzinfo=UTC),
                               separately_registered=i < special)


async def test_monthly_sample_is_30_percent_per_township_plus_mandatory_and_verifiable(engine: Any) -> None:
    await _cases("511402001", 10, special=2)
    await _cases("511402002", 4)
    await _cases("511402003", 5, delegated=False)  # county-decided: not in the population
    audits = await draw_month("511402", "2026-11", "dp_county", NOW, seed="fixed-seed")
    by_town: dict[str, list[PostAudit]] = {}
    for a in audits:
        by_town.setdefault(a.township_code, []).append(a)
    sampled_1 = {a.case_id for a in by_town["511402001"] if a.reason == "sampled"}
    mandatory_1 = {a.case_id for a in by_town["511402001"] if a.reason == "mandatory"}
    assert mandatory_1 == {"511402001-000", "511402001-001"}
    record = await DrawRecord.get(scope="511402001:2026-11")
    assert record.k == 3 and set(record.selected) - mandatory_1 == sampled_1  # ceil(0.3 × 10)
    assert len([a for a in by_town["511402002"]]) == 2  # ceil(0.3 × 4)
    assert "511402003" not in by_town
    replay = TargetDraw(record.seed, record.population_hash, len(record.population), record.ratio, record.k,
                        record.selected)
    assert verify_targets(replay, record.population)
    with pytest.raises(ValueError, match="不能重复抽取"):
        await draw_month("511402", "2026-11", "dp_county", NOW)


async def test_outcome_is_recorded_once_with_an_opinion(engine: Any) -> None:
    await _cases("511402001", 3)
    audit = (await draw_month("511402", "2026-11", "dp_county", NOW))[0]
    with pytest.raises(ValueError, match="审计意见"):
        await record_outcome(audit, "upheld", "", "dp_county", NOW)
    await record_outcome(audit, "rectify", "收入核算有误,责令重新核算", "dp_county", NOW)
    assert (await PostAudit.get(id=audit.id)).outcome == "rectify"
    with pytest.raises(ValueError, match="已有审计结论"):
        await record_outcome(audit, "upheld", "再次", "dp_county", NOW)
    with pytest.raises(ValueError, match="没有乡镇委托"):
        await draw_month("511402", "2026-10", "dp_county", NOW)


async def test_pages_list_cases_extend_and_publish_only_permitted_fields(engine: Any, client: Any) -> None:
    from tests.conftest import browser_login

    await _cases("511402001", 3)
    case = await DibaoCase.get(instance_id="511402001-000")
    case.applicant_name, case.household_size, case.accepted_at = "陈桂兰", 2, datetime(2026, 11, 2, tzinfo=UTC)
    case.closed_at, case.monthly_amount = None, None
    await case.save()
    done = await DibaoCase.get(instance_id="511402001-001")
    done.applicant_name, done.household_size, done.closed_at = "张德明", 3, NOW
    done.monthly_amount = 750
    await done.save()
    public = await client.get("/dibao/publication")  # no login
    assert public.status_code == 200 and "张德明" in public.text and "750" in public.text
    assert "511402001-001" not in public.text  # no case ids or other data
    csrf = await browser_login(client, "th_clerk")
    listing = await client.get("/dibao/cases")
    assert "陈桂兰" in listing.text and "延期" not in listing.text.split("<table")[1]  # clerks cannot extend
    r = await client.post("/dibao/cases/511402001-000/extend", data={"csrf_token": csrf, "reason": "需补充材料"})
    assert r.status_code == 403
    other = await browser_login(client, "rs_county")  # another county: cannot see or extend
    assert "陈桂兰" not in (await client.get("/dibao/cases")).text
    r = await client.post("/dibao/cases/511402001-000/extend", data={"csrf_token": other, "reason": "需补充材料"})
    assert r.status_code == 404
    csrf = await browser_login(client, "dp_county")
    r = await client.post("/dibao/cases/511402001-000/extend", data={"csrf_token": csrf, "reason": "需补充异地核对"})
    assert r.status_code == 303
    assert (await DibaoCase.get(instance_id="511402001-000")).extended_deadline_at is not None
    r = await client.post("/dibao/post-audit", data={"csrf_token": csrf, "action": "draw", "county_code": "511402",
                                                     "period": "2026-11"})
    assert r.status_code == 303 and await PostAudit.filter(county_code="511402").count() == 1

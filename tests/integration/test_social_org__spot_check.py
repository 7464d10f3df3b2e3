"""双随机、一公开 through the database and the pages: draw records, recusal, checklist, public results and verify."""

from __future__ import annotations

import re
from typing import Any

from engine.forms import FormValidationError
from engine.models import HumanTask, OrgUnit
from engine.runtime import Engine
from tests.conftest import browser_login
from tests.social_org_helpers import (
    PHOTO,
    complete,
    deploy_social_org,
    make_inspectors,
    make_org,
    seed_so_users,
)
from workflows.common.draw import draw_targets, population_hash
from workflows.common.models import ChecklistRecord, DrawRecord
from workflows.social_org import kpi
from workflows.social_org.models import InspectorConflict, SocialOrganization, SpotCheckTarget
from workflows.social_org.projection import Projector
from workflows.social_org.spot_check import create_plan, verify_target_record

SEED = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


async def _register(n: int = 60, authority: str = "511402") -> list[SocialOrganization]:
    return [await make_org(authority, legal_representative=f"法人{i}", contact_phone=f"139000000{i:02d}")
            for i in range(n)]


async def test_target_draw_is_reproducible_from_the_db_record(engine: Engine) -> None:
    await deploy_social_org(engine)
    orgs = await _register(60)
    await make_org("511421")  # another authority's registration is not in the population
    await make_inspectors("511402", 4)
    unit = await OrgUnit.get(code="511402")
    result = await create_plan(engine, year=2026, authority=unit, plan_type="random", ratio=0.03, actor="so_dp",
                               seed=SEED)
    assert result.plan.k == 2 and len(result.targets) == 2  # ceil(0.03 × 60) = 1.8 → 2
    record = await DrawRecord.get(id=result.plan.target_draw_id)
    assert sorted(record.population) == sorted(o.uscc for o in orgs)
    assert record.population_hash == population_hash([o.uscc for o in orgs])
    again = draw_targets(SEED, [o.uscc for o in reversed(orgs)], 0.03)  # order of the snapshot does not matter
    assert again.selected == record.selected
    assert verify_target_record(record).ok
    tampered = [*record.population[:-1], "51511402MJ99999999"]
    assert not verify_target_record(record, tampered).ok
    # one instance per target, the notice at the authority
    for target in result.targets:
        task = await HumanTask.get(instance_id=target.instance_id)
        assert (task.bpmn_id, task.candidate_role, task.org_unit) == ("Task_notice", "so_registrar", "511402")
    spot = await kpi.spot_check_ratio(2026, unit.path)
    assert (spot.numerator, spot.denominator, spot.met) == (2, 61 - 1, False)  # 2/60 < 4%


async def test_recusal_redraws_and_is_verifiable(engine: Engine) -> None:
    await deploy_social_org(engine)
    await _register(20)
    inspectors = await make_inspectors("511402", 5)
    unit = await OrgUnit.get(code="511402")
    first = await create_plan(engine, year=2026, authority=unit, plan_type="joint", ratio=0.06, actor="a", seed=SEED)
    target = first.targets[0]
    blocked = target.inspectors[0]
    org = await SocialOrganization.get(id=target.organization_id)
    await InspectorConflict.create(inspector_id=blocked, organization_id=org.id, reason="配偶任该组织理事")
    second = await create_plan(engine, year=2026, authority=unit, plan_type="joint", ratio=0.06, actor="a", seed=SEED)
    redrawn = next(t for t in second.targets if t.organization_id == org.id)
    assert blocked not in redrawn.inspectors and redrawn.recused == [blocked]
    assert len(redrawn.inspectors) == 2 and redrawn.inspectors[0] == target.inspectors[1]
    assert len({i.id for i in inspectors}) == 5


async def test_too_few_inspectors_is_refused_in_chinese(engine: Engine) -> None:
    await deploy_social_org(engine)
    await _register(5)
    await make_inspectors("511402", 1)
    unit = await OrgUnit.get(code="511402")
    try:
        await create_plan(engine, year=2026, authority=unit, plan_type="random", ratio=0.5, actor="a")
    except ValueError as exc:
        assert "检查人员不足" in str(exc)
    else:
        raise AssertionError("a draw with one inspector must be refused")
    assert not await DrawRecord.exists()


async def test_spot_check_pages_checklist_and_public_results(client: Any, engine: Engine, password_hash: str) -> None:
    await deploy_social_org(engine)
    await seed_so_users(password_hash)
    orgs = await _register(30)
    await make_inspectors("511402", 3)
    csrf = await browser_login(client, "so_dp")
    bad = await client.post("/social-org/spot-checks", data={"csrf_token": csrf, "year": "2026",
                                                            "authority_code": "511402", "plan_type": "random",
                                                            "ratio": "1", "check_mode": "site"})
    assert bad.status_code == 422 and "抽查比例不得低于 3%" in bad.text
    r = await client.post("/social-org/spot-checks", data={"csrf_token": csrf, "year": "2026",
                                                          "authority_code": "511402", "plan_type": "random",
                                                          "ratio": "", "check_mode": "site", "departments": ""})
    assert r.status_code == 303, r.text
    plan_page = await client.get(r.headers["location"])
    assert plan_page.status_code == 200 and "抽取 k" in plan_page.text
    target = await SpotCheckTarget.get()
    await complete(engine, target.instance_id, "Task_notice", {"notice_no": "眉东民社检〔2026〕1号",
                                                               "notice_date": "2026-03-05"})
    # the registrar cannot fill the checklist; the inspector can
    page = await client.get(f"/social-org/spot-checks/targets/{target.id}/checklist")
    assert "该检查表由检查人员填写" in page.text
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await browser_login(client, "insp_dp")
    url = f"/social-org/spot-checks/targets/{target.id}/checklist"
    answers = {f"{c}__ok": "yes" for c in ("annual_report", "disclosure", "governance", "finance", "activities")}
    incomplete = await client.post(url, data={"csrf_token": csrf, **answers, "finance__ok": "no"})
    assert incomplete.status_code == 422 and "不符合时请填写具体问题" in incomplete.text
    no_csrf = await client.post(url, data={**answers})
    assert no_csrf.status_code == 403
    done = await client.post(url, data={"csrf_token": csrf, **answers, "finance__ok": "no",
                                        "finance__note": "现金收支未入账", "admin_cost_ratio": "12.5"},
                             files=PHOTO)
    assert done.status_code == 303, done.text
    record = await ChecklistRecord.get()
    assert record.passed is False and {f["item"] for f in record.findings} == {"finance", "admin_cost_ratio"}
    assert (await SpotCheckTarget.get(id=target.id)).findings_count == 2
    # 责令改正 without a deadline is refused by the form schema
    task = await HumanTask.get(instance_id=target.instance_id, bpmn_id="Task_outcome")
    try:
        await engine.complete_task(task.id, {"outcome": "rectify", "check_date": "2026-03-10",
                                             "outcome_note": "责令限期改正"}, actor="so_dp")
    except FormValidationError as exc:
        assert [e.field for e in exc.errors] == ["rectify_deadline"]
    else:
        raise AssertionError("rectify without a deadline must be refused")
    await engine.complete_task(task.id, {"outcome": "rectify", "check_date": "2026-03-10",
                                         "rectify_deadline": "2026-04-10", "outcome_note": "责令限期改正"},
                               actor="so_dp")
    await complete(engine, target.instance_id, "Task_verify", {"corrected": False, "verify_note": "逾期未改正"})
    await Projector().run(engine.clock.now())
    target = await SpotCheckTarget.get(id=target.id)
    assert (target.outcome, str(target.rectify_deadline), target.published) == ("rectify", "2026-04-10", True)
    org = await SocialOrganization.get(id=target.organization_id)
    assert org.credit_status == "abnormal"

    # public pages: no login, published fields only
    await client.post("/logout", data={"csrf_token": csrf})
    public = await client.get("/public/social-org/results")
    assert public.status_code == 200 and org.name in public.text and "责令改正" in public.text
    assert "2026-03-10" in public.text
    for o in orgs:
        assert o.legal_representative not in public.text and o.contact_phone not in public.text
    link = re.search(r'href="(/public/social-org/draws/\d+)"', public.text)
    assert link is not None
    verify = await client.get(link.group(1))
    assert verify.status_code == 200 and "验证通过" in verify.text and org.uscc in verify.text
    population = await client.get(link.group(1) + "/population.txt")
    assert sorted(population.text.split()) == sorted(o.uscc for o in orgs)
    credit = await client.get("/public/social-org/credit", params={"q": org.uscc})
    assert credit.status_code == 200 and "活动异常名录" in credit.text and org.legal_representative not in credit.text
    # the public verify page refuses draws that are not over a public register
    other = await DrawRecord.create(purpose="dibao_post_audit", scope="x", seed="s", population_hash="h",
                                    population=["户1"], ratio=0.3, k=1, selected=["户1"], drawn_at=engine.clock.now(),
                                    drawn_by="x")
    assert (await client.get(f"/public/social-org/draws/{other.id}")).status_code == 404
    # the checklist page needs a login
    assert (await client.get(url)).status_code == 303


async def test_tampered_draw_record_fails_on_the_public_page(client: Any, engine: Engine) -> None:
    await deploy_social_org(engine)
    await _register(10)
    await make_inspectors("511402", 2)
    unit = await OrgUnit.get(code="511402")
    result = await create_plan(engine, year=2026, authority=unit, plan_type="random", ratio=0.2, actor="a", seed=SEED)
    record = await DrawRecord.get(id=result.plan.target_draw_id)
    ok = await client.get(f"/public/social-org/draws/{record.id}")
    assert "验证通过" in ok.text
    await DrawRecord.filter(id=record.id).update(population=[*record.population[:-1], "51511402MJ00000000"])
    bad = await client.get(f"/public/social-org/draws/{record.id}")
    assert "验证失败" in bad.text and "名单可能被改动" in bad.text
    inspectors_page = await client.get(f"/public/social-org/draws/{result.plan.inspector_draw_id}")
    assert "验证通过" in inspectors_page.text

"""Realistic 低保 demo cases (DEMO data: invented names), pushed to different points of the procedure."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from engine.clock import FakeClock
from engine.models import HumanTask
from engine.runtime import Engine
from workflows.dibao.amount import band_ranges
from workflows.dibao.models import CountyBands, CountyMethod, Delegation
from workflows.dibao.routing import PROCESS_KEY

OPINION = "经审查,情况属实,同意。"
RELATIVE_NOTE = "申请人之女为本村村委会委员,单独登记备案。"
# The demo user who works each role at 通惠街道 / 东坡区 (delegated) and 文林街道 / 仁寿县 (not delegated): web/demo.py.
ACTORS = {"township_clerk": "th_clerk", "township_reviewer": "th_reviewer", "county_reviewer": "dp_county",
          "village_clerk": "th_village"}
RS_ACTORS = {"township_clerk": "wl_clerk", "township_reviewer": "wl_reviewer", "county_reviewer": "rs_county",
             "village_clerk": "wl_village"}


def _answers(household: dict[str, Any]) -> dict[str, dict[str, Any]]:
    income = household["income"]
    return {
        "Task_accept": {
            "applicant_name": household["applicant"], "applicant_id_number": household["id_number"],
            "application_channel": "window",
            "hukou_type": household["hukou"], "household_size": len(household["members"]),
            "members": [{**m, "id_number": household["id_number"]} if m["relation"] == "applicant" else m
                        for m in household["members"]], "declared_monthly_income": income,
            "single_person_application": False, "materials_complete": True,
            "close_relative_of_staff": household.get("relative", False), "opinion": "材料齐全,予以受理。",
            **({"close_relative_note": RELATIVE_NOTE} if household.get("relative") else {}),
        },
        "Task_home_investigation": {
            "investigators": ["王建国", "李秀英"], "visit_date": "2026-11-03", "cooperated": True,
            "form_signed": True, "findings": "家中无大额财产,主要劳动力患病。", "opinion": OPINION,
        },
        "Task_info_check": {
            "check_result": "pass", "verified_monthly_income": income,
            "sources_checked": ["hukou", "tax", "social_insurance"], "opinion": "核对未发现不符。",
        },
        "Task_prelim": {"prelim_recommend": True, "complaint_received": False, "opinion": "拟同意纳入低保。"},
        "Task_post_publicity": {"posted_on": "2026-11-10", "posting_location": "村务公开栏",
                                "content_checked": True},
        "Task_county_visit": {"investigators": ["赵志刚", "孙丽"], "visit_date": "2026-11-20", "consistent": True,
                              "findings": "与乡镇调查一致。", "opinion": OPINION},
        "Task_confirm": {"decision": "approve", "opinion": "符合低保条件,同意纳入。"},
    }


HOUSEHOLDS: list[dict[str, Any]] = [
    {"key": "DB-DEMO-001", "applicant": "陈桂兰", "id_number": "511402196503120024", "hukou": "rural", "income": 300.0,
     "members": [{"name": "陈桂兰", "relation": "applicant"}, {"name": "刘小军", "relation": "child"}], "stop": 0},
    {"key": "DB-DEMO-002", "applicant": "张德明", "id_number": "511402195511200062", "hukou": "rural", "income": 420.0,
     "members": [{"name": "张德明", "relation": "applicant"}, {"name": "王淑芬", "relation": "spouse"},
                 {"name": "张磊", "relation": "child"}], "stop": 2},
    {"key": "DB-DEMO-003", "applicant": "李春华", "id_number": "511402198001010035", "hukou": "urban", "income": 500.0,
     "members": [{"name": "李春华", "relation": "applicant"}, {"name": "李想", "relation": "child"}], "stop": 5},
    {"key": "DB-DEMO-004", "applicant": "周玉珍", "id_number": "511402197208150049", "hukou": "rural", "income": 200.0,
     "relative": True,
     "members": [{"name": "周玉珍", "relation": "applicant"}], "stop": 5},
]


# 仁寿县 (文林街道, 511421001): the county confirms. `after`: steps taken once the 7-day 公示 has ended.
RS_HOUSEHOLDS: list[dict[str, Any]] = [
    {"key": "DB-DEMO-101", "applicant": "罗永福", "id_number": "511421196003050022", "hukou": "rural", "income": 120.0,
     "members": [{"name": "罗永福", "relation": "applicant"}, {"name": "何翠英", "relation": "spouse"}],
     "stop": 5, "after": 1},
    {"key": "DB-DEMO-102", "applicant": "曾庆华", "id_number": "511421197811110032", "hukou": "urban", "income": 380.0,
     "members": [{"name": "曾庆华", "relation": "applicant"}, {"name": "曾小雨", "relation": "child"}],
     "stop": 5, "after": 0},
    {"key": "DB-DEMO-103", "applicant": "谢玉兰", "id_number": "511421198907200045", "hukou": "rural", "income": 260.0,
     "members": [{"name": "谢玉兰", "relation": "applicant"}], "stop": 1, "after": 0},
]


async def _advance(engine: Engine, instance_id: Any, answers: dict[str, dict[str, Any]], steps: int,
                   actor: str, actors: dict[str, str] = ACTORS) -> None:
    for _ in range(steps):
        task = await HumanTask.filter(instance_id=instance_id, state="READY",
                                      bpmn_id__in=list(answers)).order_by("created_at").first()
        if task is None:
            return
        await engine.complete_task(task.id, answers[task.bpmn_id], actor=actors.get(task.candidate_role, actor))


async def seed(engine: Engine, clock: FakeClock, org_unit: str = "511402001", actor: str = "th_clerk", *,
               non_delegated: bool = False) -> int:
    """Start the demo households ten days back; then return to today, so the 7-day 公示 of DB-DEMO-004 has
    ended and it goes on through the county home visit (单独登记备案) to a delegated township confirmation.
    With `non_delegated`, 文林街道 (仁寿县) households too: one confirmed by the county, one waiting for the
    county's confirmation, one in investigation."""
    today = clock.now()
    clock.set(today - timedelta(days=10))
    if not await Delegation.exists(county_code="511402"):
        await Delegation.create(county_code="511402", township_code="511402001", benefit_type="dibao",
                                effective_from=date(2026, 1, 1), document_no="眉东民发〔2026〕3号(演示)",
                                created_by="demo")
    if not await CountyMethod.exists(county_code="511421"):  # 仁寿县 pays by bands; 东坡区 keeps the gap method
        await CountyMethod.create(county_code="511421", method="banded", effective_from=date(2026, 1, 1),
                                  document_no="仁民发〔2026〕1号(演示)", created_by="demo")
    if not await CountyBands.exists(county_code="511421"):  # 仁寿县's own band table
        bands = [(Decimal(upper), Decimal(pay)) for upper, pay in (("0.30", "0.85"), ("0.60", "0.55"), ("1", "0.25"))]
        await CountyBands.create(county_code="511421", effective_from=date(2026, 1, 1), bands=band_ranges(bands),
                                 document_no="仁民发〔2026〕2号(演示)", created_by="demo")
    started = []
    for household in HOUSEHOLDS:
        instance = await engine.start(PROCESS_KEY, org_unit=org_unit, actor=actor, business_key=household["key"])
        await _advance(engine, instance.id, _answers(household), int(household["stop"]), actor)
        started.append((instance.id, household))
    rs_started = []
    for household in RS_HOUSEHOLDS if non_delegated else []:
        instance = await engine.start(PROCESS_KEY, org_unit="511421001", actor="wl_clerk",
                                      business_key=household["key"])
        await _advance(engine, instance.id, _answers(household), int(household["stop"]), "wl_clerk", RS_ACTORS)
        rs_started.append((instance.id, household))
    clock.set(today)
    await engine.wake_due_timers()
    instance_id, household = started[-1]
    await _advance(engine, instance_id, _answers(household), 5, actor)
    for instance_id, household in rs_started:
        await _advance(engine, instance_id, _answers(household), int(household["after"]), "wl_clerk", RS_ACTORS)
    return len(started) + len(rs_started)

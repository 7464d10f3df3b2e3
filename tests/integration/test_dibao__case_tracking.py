from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from engine.clock import FakeClock
from engine.models import HumanTask
from engine.runtime import Engine
from tests.conftest import Database, deploy_dir, seed_orgs
from workflows.dibao import demo
from workflows.dibao.cases import extend_deadline
from workflows.dibao.models import DibaoCase
from workflows.dibao.registry import seed_plan_standards
from workflows.dibao.services import install


@pytest.fixture
async def dibao_engine(db: Database) -> tuple[Engine, FakeClock]:
    await seed_orgs()
    await seed_plan_standards()
    clock = FakeClock()
    engine = Engine(clock=clock)
    await install(engine)
    await deploy_dir(engine, Path("bpmn"), "dibao_approval.bpmn")
    return engine, clock


async def test_delegated_case_record_follows_the_workflow(dibao_engine: tuple[Engine, FakeClock]) -> None:
    engine, clock = dibao_engine
    assert await demo.seed(engine, clock) == 4  # registers 通惠街道's delegation, runs DB-DEMO-004 to the end
    case = await DibaoCase.get(business_key="DB-DEMO-004")
    assert case.township_code == "511402001" and case.county_code == "511402"
    assert case.separately_registered and case.delegated is True
    assert case.accepted_at is not None and case.deadline_at == engine.calendar.add_working_days(case.accepted_at, 20)
    assert (case.decision, case.decided_by) == ("approve", "th_reviewer")
    assert case.monthly_amount == Decimal("250.00")  # (450 − 200) × 1, rural standard 2020
    assert case.closed_at is not None and "差额法" in (case.amount_explanation or "")
    waiting = await DibaoCase.get(business_key="DB-DEMO-001")
    assert waiting.accepted_at is None and waiting.deadline_at is None and waiting.closed_at is None


async def test_non_delegated_case_gets_30_working_days(dibao_engine: tuple[Engine, FakeClock]) -> None:
    engine, clock = dibao_engine
    household = {**demo.HOUSEHOLDS[2], "key": "DB-WL-1"}
    instance = await engine.start("dibao_approval", org_unit="511421001", actor="wl_clerk", business_key="DB-WL-1")
    await demo._advance(engine, instance.id, demo._answers(household), 5, "wl_clerk")
    clock.advance(timedelta(days=8))
    assert await engine.wake_due_timers() == 1
    confirm = await HumanTask.get(instance_id=instance.id, bpmn_id="Task_confirm")
    assert (confirm.candidate_role, confirm.org_unit) == ("county_reviewer", "511421")
    case = await DibaoCase.get(instance_id=str(instance.id))
    assert case.delegated is False
    assert case.deadline_at == engine.calendar.add_working_days(case.accepted_at, 30)  # type: ignore[arg-type]


async def test_extension_needs_a_reason_and_happens_once(dibao_engine: tuple[Engine, FakeClock]) -> None:
    engine, clock = dibao_engine
    await demo.seed(engine, clock)
    case = await DibaoCase.get(business_key="DB-DEMO-002")
    with pytest.raises(ValueError, match="理由"):
        extend_deadline(case, " ", engine.calendar, clock.now())
    extend_deadline(case, "需补充异地核对材料", engine.calendar, clock.now())
    assert case.extended_deadline_at == engine.calendar.add_working_days(case.accepted_at, 45)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="不能再次延期"):
        extend_deadline(case, "再次延期理由", engine.calendar, clock.now())


async def test_demo_seeds_a_non_delegated_county_in_several_states(dibao_engine: tuple[Engine, FakeClock]) -> None:
    engine, clock = dibao_engine
    assert await demo.seed(engine, clock, non_delegated=True) == 4 + len(demo.RS_HOUSEHOLDS)
    confirmed = await DibaoCase.get(business_key="DB-DEMO-101")
    assert (confirmed.county_code, confirmed.delegated) == ("511421", False)
    assert (confirmed.decision, confirmed.decided_by) == ("approve", "rs_county")  # the county, not the township
    assert confirmed.closed_at is not None and confirmed.deadline_at == engine.calendar.add_working_days(
        confirmed.accepted_at, 30)  # type: ignore[arg-type]
    waiting = await DibaoCase.get(business_key="DB-DEMO-102")
    task = await HumanTask.get(instance_id=waiting.instance_id, bpmn_id="Task_confirm")
    assert (task.state, task.candidate_role, task.org_unit) == ("READY", "county_reviewer", "511421")
    investigating = await DibaoCase.get(business_key="DB-DEMO-103")
    assert investigating.closed_at is None and investigating.decision is None

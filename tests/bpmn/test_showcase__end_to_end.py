"""The showcase diagram driven through the persistence layer to its end, on SQLite and PostgreSQL.

Every Engine call restores the workflow from the database and saves it again; after each step the
stored state must round-trip losslessly and the task index must equal the workflow's ready manual
tasks (tests/support.py: assert_consistent).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.audit import verify_chain
from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.runtime import Engine
from tests.support import (
    MEMBERS,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    accept_form,
    assert_consistent,
    complete,
    complete_member_checks,
    completed_bpmn_ids,
    drive_to_publicity,
    open_bpmn_ids,
    open_task,
    open_tasks,
    task_data,
)

HOME_VISIT = {"home_visit": {"has_large_assets": False, "investigators": ["张敏", "刘洋"]}}


async def timer_events(instance_id: object) -> int:
    return await AuditEvent.filter(instance_id=str(instance_id), action="timer.fired").count()


async def test_delegated_case_runs_parallel_checks_and_dmn_then_publicity_timer_approves(engine: Engine) -> None:
    # Friday 10:00 in Shanghai: the 3-working-day deadline of the home visit has to skip the weekend.
    engine.clock.set(datetime(2026, 3, 6, 2, 0, tzinfo=UTC))
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk", business_key="DB-2026-001")
    assert (inst.status, inst.version, inst.process_version) == ("running", 1, 1)
    assert await open_bpmn_ids(inst.id) == ["Task_accept"]
    await assert_consistent(engine, inst.id)

    # Parallel split: the home visit and one member check per household member are ready together.
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True))
    wf = await assert_consistent(engine, inst.id)
    assert await open_bpmn_ids(inst.id) == ["Task_home_visit", "Task_member_check", "Task_member_check"]
    checks = await open_tasks(inst.id, "Task_member_check")
    assert sorted(wf.get_task_from_id(c.id).data["member"]["name"] for c in checks) == sorted(
        m["name"] for m in MEMBERS)
    assert all(c.due_at is None for c in checks)

    home_visit = await open_task(inst.id, "Task_home_visit")
    accepted_at = engine.clock.now()
    assert home_visit.due_at == engine.calendar.add_working_days(accepted_at, 3)
    assert home_visit.due_at == datetime(2026, 3, 11, 15, 59, 59, tzinfo=UTC)  # Wednesday 23:59:59 +08:00
    assert (home_visit.candidate_role, home_visit.org_unit, home_visit.title) == (
        "township_clerk", TOWNSHIP, "入户调查 · DB-2026-001")

    # One branch done, the other still open: the join waits.
    engine.clock.advance(timedelta(hours=1))
    await complete(engine, inst.id, "Task_home_visit", HOME_VISIT)
    await assert_consistent(engine, inst.id)
    assert await open_bpmn_ids(inst.id) == ["Task_member_check", "Task_member_check"]

    # Multi-instance: the output list holds one keyed item per member (in completion order, see SPIFF_NOTES).
    completion_order = await complete_member_checks(engine, inst.id, bonus=10)
    assert completion_order == [m["name"] for m in reversed(MEMBERS)]
    wf = await assert_consistent(engine, inst.id)
    member_checks = task_data(wf, "Task_calc")["member_checks"]
    assert {c["name"]: c["verified_income"] for c in member_checks} == {"王秀英": 130, "李强": 210}
    assert [c["name"] for c in member_checks] == completion_order

    # Script task + DMN business-rule task: per capita (130 + 210) / 2 = 170 < 450 → eligible.
    row = await ProcessInstance.get(id=inst.id)
    assert {k: row.data[k] for k in ("per_capita_income", "monthly_allowance", "eligible", "eligibility_reason")} \
        == {"per_capita_income": 170.0, "monthly_allowance": 560, "eligible": True,
            "eligibility_reason": "人均收入低于当地低保标准"}
    assert {"Task_calc", "Task_eligibility", "Gateway_join"} <= completed_bpmn_ids(wf)

    # delegated=True: the township confirms itself.
    confirm = await open_task(inst.id, "Task_township_confirm")
    assert (confirm.org_unit, confirm.candidate_role) == (TOWNSHIP, "township_clerk")
    assert await open_bpmn_ids(inst.id) == ["Task_township_confirm"]

    await complete(engine, inst.id, "Task_township_confirm", {"approved": True, "opinion": "符合条件"})
    await assert_consistent(engine, inst.id)
    assert await open_bpmn_ids(inst.id) == ["Task_publicity"]
    row = await ProcessInstance.get(id=inst.id)
    opened_at = engine.clock.now()
    assert row.next_timer_at == opened_at + timedelta(days=7)

    # Boundary timer "P7D": not due a minute early ...
    engine.clock.advance(timedelta(days=7) - timedelta(minutes=1))
    assert await engine.wake_due_timers() == 0
    await assert_consistent(engine, inst.id)
    assert await timer_events(inst.id) == 0
    assert (await ProcessInstance.get(id=inst.id)).version == row.version
    assert await open_bpmn_ids(inst.id) == ["Task_publicity"]

    # ... fired once it is due: 公示期满 ends the case approved and closes the 公示 task.
    engine.clock.advance(timedelta(minutes=2))
    assert await engine.wake_due_timers() == 1
    wf = await assert_consistent(engine, inst.id)
    row = await ProcessInstance.get(id=inst.id)
    assert (row.status, row.next_timer_at, row.completed_at) == ("completed", None, engine.clock.now())
    assert {"Event_publicity_timer", "EndEvent_approved"} <= completed_bpmn_ids(wf)
    assert "EndEvent_rejected" not in completed_bpmn_ids(wf)
    publicity = await HumanTask.get(instance_id=inst.id, bpmn_id="Task_publicity")
    assert publicity.state == "CANCELED"
    assert await timer_events(inst.id) == 1
    assert await engine.wake_due_timers() == 0  # nothing left to fire
    assert await timer_events(inst.id) == 1
    report = await verify_chain()
    assert report.ok and report.checked == await AuditEvent.all().count()


async def test_non_delegated_case_goes_through_prelim_and_county_confirm_routed_by_org_level(engine: Engine) -> None:
    inst = await engine.start("showcase", org_unit=OTHER_TOWNSHIP, actor="clerk")
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=False))
    await complete_member_checks(engine, inst.id)
    await complete(engine, inst.id, "Task_home_visit", HOME_VISIT)
    await assert_consistent(engine, inst.id)

    prelim = await open_task(inst.id, "Task_township_prelim")
    assert (prelim.org_unit, prelim.candidate_role) == (OTHER_TOWNSHIP, "township_clerk")
    assert await open_bpmn_ids(inst.id) == ["Task_township_prelim"]

    await complete(engine, inst.id, "Task_township_prelim", {"prelim_opinion": "材料齐全，建议批准"})
    await assert_consistent(engine, inst.id)
    county = await open_task(inst.id, "Task_county_confirm")
    # orgLevel=county: routed to the county above the instance's township, in the county reviewer's lane.
    assert (county.org_unit, county.org_path, county.candidate_role) == (
        "511421", "/511400/511421/", "county_reviewer")
    assert county.due_at == engine.calendar.add_working_days(engine.clock.now(), 10)

    await engine.complete_task(county.id, {"approved": True, "opinion": "同意"}, actor="reviewer")
    await assert_consistent(engine, inst.id)
    assert await open_bpmn_ids(inst.id) == ["Task_publicity"]

    await complete(engine, inst.id, "Task_publicity", {"objection": False})
    wf = await assert_consistent(engine, inst.id)
    row = await ProcessInstance.get(id=inst.id)
    assert (row.status, row.next_timer_at) == ("completed", None)
    done = completed_bpmn_ids(wf)
    assert {"Task_township_prelim", "Task_county_confirm", "Task_publicity", "EndEvent_approved"} <= done
    assert not {"Task_township_confirm", "EndEvent_rejected", "Event_publicity_timer"} & done
    assert (await HumanTask.get(id=county.id)).completed_by == "reviewer"


async def test_not_approved_ends_rejected_without_publicity(engine: Engine) -> None:
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True))
    await complete_member_checks(engine, inst.id)
    await complete(engine, inst.id, "Task_home_visit",
                   {"home_visit": {"has_large_assets": True, "investigators": ["张敏", "刘洋"]}})
    row = await ProcessInstance.get(id=inst.id)
    # DMN first rule: large assets make the household ineligible whatever the income.
    assert (row.data["eligible"], row.data["eligibility_reason"]) == (False, "家庭财产超过规定")

    await complete(engine, inst.id, "Task_township_confirm", {"approved": False, "opinion": "财产超标"})
    wf = await assert_consistent(engine, inst.id)
    row = await ProcessInstance.get(id=inst.id)
    assert (row.status, row.next_timer_at) == ("completed", None)
    assert "EndEvent_rejected" in completed_bpmn_ids(wf)
    assert "EndEvent_approved" not in completed_bpmn_ids(wf)
    assert not await HumanTask.filter(instance_id=inst.id, bpmn_id="Task_publicity").exists()
    actions = [e.action for e in await AuditEvent.filter(instance_id=str(inst.id)).order_by("seq")]
    assert actions[-1] == "instance.completed"


async def test_objection_during_publicity_ends_rejected_and_the_timer_never_fires(engine: Engine) -> None:
    inst = await drive_to_publicity(engine)
    assert (await ProcessInstance.get(id=inst.id)).next_timer_at is not None

    engine.clock.advance(timedelta(days=2))
    await complete(engine, inst.id, "Task_publicity", {"objection": True})
    wf = await assert_consistent(engine, inst.id)
    row = await ProcessInstance.get(id=inst.id)
    assert (row.status, row.next_timer_at) == ("completed", None)
    assert {"Task_publicity", "Gateway_objection", "EndEvent_rejected"} <= completed_bpmn_ids(wf)
    assert not {"EndEvent_approved", "Event_publicity_timer"} & completed_bpmn_ids(wf)

    engine.clock.advance(timedelta(days=8))
    assert await engine.wake_due_timers() == 0
    assert await timer_events(inst.id) == 0
    assert (await ProcessInstance.get(id=inst.id)).version == row.version


async def test_case_continues_on_a_restarted_engine_in_the_middle_of_the_multi_instance_checks(engine: Engine) -> None:
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True))
    first = (await open_tasks(inst.id, "Task_member_check"))[0]
    wf = await assert_consistent(engine, inst.id)
    member = wf.get_task_from_id(first.id).data["member"]
    await engine.complete_task(first.id, {"member_check": {"name": member["name"], "verified_income": 0}},
                               actor="clerk")

    # A new process (a restart, or another worker): nothing cached, the spec is parsed again from its row.
    restarted = Engine(clock=engine.clock)
    await complete_member_checks(restarted, inst.id)
    await complete(restarted, inst.id, "Task_home_visit", HOME_VISIT)
    wf = await assert_consistent(restarted, inst.id)
    assert await open_bpmn_ids(inst.id) == ["Task_township_confirm"]
    assert {"Task_member_check", "Gateway_join", "Task_calc"} <= completed_bpmn_ids(wf)
    assert len(task_data(wf, "Task_calc")["member_checks"]) == len(MEMBERS)

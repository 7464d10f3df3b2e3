"""Escalation (超期督办): an overdue open task is flagged and its supervisor role one level up is notified — once,
however many sweeps or scheduler processes run; deadlines are working days (holidays skipped)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.calendar import WorkingCalendar
from engine.clock import FakeClock
from engine.models import AuditEvent, HumanTask, Notification
from engine.runtime import Engine
from tests.collab_helpers import add_user, fresh, start_review
from tests.conftest import browser_login
from web.app import scheduler_loop

# The fake clock starts Monday 2026-03-02 09:00 in Shanghai; 乡镇审查 is due in 2 working days.
MONDAY = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def clock_of(engine: Engine) -> FakeClock:
    assert isinstance(engine.clock, FakeClock)
    return engine.clock


async def escalations() -> list[tuple[str, str]]:
    return [(n.recipient, n.kind) for n in await Notification.filter(kind="task.escalated").order_by("recipient")]


async def test_overdue_task_is_escalated_once_to_the_county_reviewers(engine: Engine, client: Any) -> None:
    # Only active county reviewers of the parent county: not another county's, not the city's, not an inactive one.
    await add_user("dp_county2", "东坡区审核二", "511402", ["county_reviewer", "township_clerk"])
    await add_user("dp_gone", "已停用审核", "511402", ["county_reviewer"], active=False)
    _, task = await start_review(engine)
    assert task.due_at == datetime(2026, 3, 4, 15, 59, 59, tzinfo=UTC)  # Wednesday 23:59:59 Shanghai
    clock_of(engine).set(task.due_at - timedelta(minutes=1))
    assert await engine.escalate_overdue() == 0
    clock_of(engine).set(task.due_at + timedelta(seconds=1))
    assert await engine.escalate_overdue() == 1
    assert (await fresh(task)).escalated_at == task.due_at + timedelta(seconds=1)
    assert await escalations() == [("dp_county", "task.escalated"), ("dp_county2", "task.escalated")]
    clock_of(engine).advance(timedelta(days=3))
    assert await engine.escalate_overdue() == 0  # the second sweep does nothing
    assert await engine.escalate_overdue() == 0
    assert len(await escalations()) == 2
    events = await AuditEvent.filter(action="task.escalated")
    assert len(events) == 1 and events[0].payload["to"] == ["dp_county", "dp_county2"]
    note = await Notification.get(recipient="dp_county", kind="task.escalated")
    assert note.title == "超期督办:乡镇审查 · CR-1" and note.link == f"/tasks/{task.id}"
    assert "通惠街道" in note.body and "2026-03-04 23:59" in note.body


async def test_deadline_skips_a_holiday_and_escalation_waits_for_it(engine: Engine, client: Any) -> None:
    engine.calendar = WorkingCalendar(holidays=[date(2026, 3, 3)])  # Tuesday off: due Thursday instead
    _, task = await start_review(engine)
    assert task.due_at == datetime(2026, 3, 5, 15, 59, 59, tzinfo=UTC)
    clock_of(engine).set(datetime(2026, 3, 5, 4, 0, tzinfo=UTC))  # Thursday noon: across the holiday, not yet due
    assert await engine.escalate_overdue() == 0
    clock_of(engine).set(datetime(2026, 3, 5, 16, 30, tzinfo=UTC))  # Friday 00:30 Shanghai
    assert await engine.escalate_overdue() == 1
    assert await engine.escalate_overdue() == 0
    assert await escalations() == [("dp_county", "task.escalated")]


async def test_county_task_escalates_to_the_city_and_closed_tasks_never(engine: Engine, client: Any) -> None:
    instance, review = await start_review(engine)
    _, other = await start_review(engine, business_key="CR-2")
    await engine.complete_task(review.id, {"approved": True}, actor="th_clerk", opinion="同意")
    signoff = await HumanTask.get(instance_id=instance.id, bpmn_id="Task_signoff")
    assert signoff.org_unit == "511402"
    await engine.complete_task(other.id, {"approved": True}, actor="th_clerk", opinion="同意")  # closed in time
    clock_of(engine).advance(timedelta(days=14))
    assert await engine.escalate_overdue() == 2  # the two open county sign-offs, not the completed reviews
    rows = await Notification.filter(kind="task.escalated").order_by("id")
    assert {n.recipient for n in rows} == {"city_mgr"}
    assert {n.link for n in rows} == {f"/tasks/{t.id}" for t in await HumanTask.filter(bpmn_id="Task_signoff")}
    assert (await fresh(review)).escalated_at is None


async def test_concurrent_sweeps_escalate_each_task_once(engine: Engine, client: Any) -> None:
    for n in range(3):
        await start_review(engine, business_key=f"CR-{n}")
    clock_of(engine).advance(timedelta(days=7))
    counts = await asyncio.gather(engine.escalate_overdue(), engine.escalate_overdue(), engine.escalate_overdue())
    assert sum(counts) == 3
    assert len(await escalations()) == 3
    assert await AuditEvent.filter(action="task.escalated").count() == 3


async def test_the_scheduler_sweep_escalates_and_the_inbox_shows_it(engine: Engine, client: Any) -> None:
    _, task = await start_review(engine)
    clock_of(engine).advance(timedelta(days=7))
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler_loop(engine, 0.01, stop=stop))
    try:
        for _ in range(200):
            if await Notification.filter(kind="task.escalated").exists():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # a few more sweeps
    finally:
        stop.set()  # not cancel(): cancelling inside a transaction can leave SQLite's connection lock held
        await asyncio.wait_for(loop, 30)
    assert await escalations() == [("dp_county", "task.escalated")]
    await browser_login(client, "th_clerk")
    inbox = (await client.get("/inbox")).text
    assert "超期" in inbox and "已督办" in inbox
    assert "已督办" in (await client.get(f"/tasks/{task.id}")).text
    await browser_login(client, "dp_county")
    centre = (await client.get("/notifications")).text
    assert "超期督办:乡镇审查 · CR-1" in centre


async def test_city_level_task_escalates_to_the_city_supervisors_of_the_city_itself(engine: Engine,
                                                                                     client: Any) -> None:
    # The city has no level above: its overdue task goes to the city's own city_manager users (active only),
    # not to county reviewers and not to a city_manager of a county.
    await add_user("city_mgr2", "市级管理二", "511400", ["city_manager", "township_clerk"])
    await add_user("city_gone", "已停用市级", "511400", ["city_manager"], active=False)
    await add_user("dp_citymgr", "区里的市级角色", "511402", ["city_manager"])
    _, task = await start_review(engine, org_unit="511400", actor="city_mgr2")
    assert task.org_unit == "511400"
    clock_of(engine).set(task.due_at + timedelta(seconds=1))
    assert await engine.escalate_overdue() == 1
    assert await escalations() == [("city_mgr", "task.escalated"), ("city_mgr2", "task.escalated")]
    event = await AuditEvent.get(action="task.escalated")
    assert event.payload["role"] == "city_manager" and event.payload["org_unit"] == "511400"
    clock_of(engine).advance(timedelta(days=5))
    assert await engine.escalate_overdue() == 0
    assert len(await escalations()) == 2

"""Cancelling a running instance closes its open tasks and its timer; a closed instance cannot be cancelled again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import InvalidTaskState
from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.runtime import Engine
from tests.support import TOWNSHIP, accept_form, assert_consistent, complete, drive_to_publicity, open_task, snapshot


async def test_cancel_closes_every_open_task_and_marks_the_instance_cancelled(engine: Engine) -> None:
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True))
    home = await open_task(inst.id, "Task_home_visit")
    await engine.claim(home.id, actor="clerk")
    open_ids = {str(t.id) for t in await HumanTask.filter(instance_id=inst.id, state__in=("READY", "CLAIMED"))}
    assert len(open_ids) == 3

    engine.clock.advance(timedelta(hours=2))
    row = await engine.cancel(inst.id, actor="admin", reason="申请人撤回")
    assert row.status == "cancelled"
    stored = await ProcessInstance.get(id=inst.id)
    assert (stored.status, stored.completed_at, stored.next_timer_at) == ("cancelled", engine.clock.now(), None)
    tasks = {str(t.id): t for t in await HumanTask.filter(instance_id=inst.id)}
    assert {tid: tasks[tid].state for tid in open_ids} == dict.fromkeys(open_ids, "CANCELED")
    assert all(tasks[tid].completed_at == engine.clock.now() and tasks[tid].completed_by is None for tid in open_ids)
    assert [t.state for t in tasks.values() if t.bpmn_id == "Task_accept"] == ["DONE"]
    await assert_consistent(engine, inst.id)
    [event] = await AuditEvent.filter(instance_id=str(inst.id), action="instance.cancelled")
    assert (event.actor, event.payload) == ("admin", {"reason": "申请人撤回"})

    # Cancelling again, or working on a task of the cancelled case, is refused and changes nothing.
    before = await snapshot(inst.id)
    with pytest.raises(InvalidTaskState):
        await engine.cancel(inst.id, actor="admin", reason="again")
    with pytest.raises(InvalidTaskState):
        await engine.complete_task(home.id, {"home_visit": {"investigators": ["张敏", "刘洋"]}}, actor="clerk")
    assert await snapshot(inst.id) == before


async def test_cancel_during_publicity_drops_the_pending_timer(engine: Engine) -> None:
    inst = await drive_to_publicity(engine)
    await engine.cancel(inst.id, actor="admin", reason="迁出本市")
    assert (await ProcessInstance.get(id=inst.id)).next_timer_at is None
    engine.clock.advance(timedelta(days=8))
    assert await engine.wake_due_timers() == 0
    assert not await AuditEvent.filter(instance_id=str(inst.id), action="timer.fired").exists()
    assert (await HumanTask.get(instance_id=inst.id, bpmn_id="Task_publicity")).state == "CANCELED"
    await assert_consistent(engine, inst.id)

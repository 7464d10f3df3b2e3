from __future__ import annotations

from datetime import timedelta

from engine.audit import verify_chain
from engine.clock import FakeClock
from engine.models import AuditEvent, ProcessInstance
from engine.runtime import Engine
from tests.support import drive_to_publicity


async def test_a_broken_case_does_not_block_the_other_timers(engine: Engine) -> None:
    assert isinstance(engine.clock, FakeClock)
    ids = [(await drive_to_publicity(engine, business_key=f"T-{i}")).id for i in range(3)]
    await ProcessInstance.filter(id=ids[0]).update(state="{not json")  # a corrupted row, first in the batch
    engine.clock.advance(timedelta(days=8))
    assert await engine.wake_due_timers() == 2
    statuses = {str(r.id): r.status for r in await ProcessInstance.filter(id__in=ids)}
    assert statuses == {str(ids[0]): "error", str(ids[1]): "completed", str(ids[2]): "completed"}
    broken = await ProcessInstance.get(id=ids[0])
    assert broken.next_timer_at is None and "timer failed" in (broken.error or "")
    assert await AuditEvent.filter(instance_id=str(ids[0]), action="instance.error").count() == 1
    assert await engine.wake_due_timers() == 0  # not picked again
    assert (await verify_chain()).ok


async def test_multi_instance_tasks_are_titled_by_their_item(engine: Engine) -> None:
    from engine.models import HumanTask
    from tests.support import accept_form, complete

    inst = await engine.start("showcase", org_unit="511402001", actor="clerk", business_key="MI-1")
    members = [{"name": "王秀英", "monthly_income": 120}, {"name": "李强", "monthly_income": 200}]
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True, members=members))
    titles = sorted(t.title for t in await HumanTask.filter(instance_id=inst.id, bpmn_id="Task_member_check"))
    assert titles == ["家庭成员核对 · MI-1 · 李强", "家庭成员核对 · MI-1 · 王秀英"]

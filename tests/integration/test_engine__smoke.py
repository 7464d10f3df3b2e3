from __future__ import annotations

from engine.models import HumanTask
from engine.runtime import Engine


async def test_start_creates_first_task_in_index(engine: Engine) -> None:
    inst = await engine.start("showcase", org_unit="511402001", actor="clerk", business_key="DB-1")
    tasks = await HumanTask.filter(instance_id=inst.id)
    assert [(t.bpmn_id, t.candidate_role, t.org_unit, t.state) for t in tasks] == [
        ("Task_accept", "township_clerk", "511402001", "READY")]

"""Helpers shared by the engine acceptance tests (tests/bpmn, tests/integration).

Everything here reads the real database through the ORM: no mocks. `assert_consistent` is the
invariant every persisted step must keep:

* the stored Spiff state round-trips losslessly (`load_state` then `dump_state` gives the same text);
* the task index (HumanTask rows READY/CLAIMED) is exactly the set of ready manual tasks of the
  restored workflow.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any

import asyncpg
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState

from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.runtime import Engine
from engine.serializer import dump_state, load_state

FIXTURES = Path(__file__).parent / "fixtures"
SHOWCASE_DIR = FIXTURES / "bpmn" / "showcase"
OPEN_STATES = ("READY", "CLAIMED")

TOWNSHIP = "511402001"  # 通惠街道, under 东坡区 (511402)
OTHER_TOWNSHIP = "511421001"  # 文林街道, under 仁寿县 (511421)


async def open_tasks(instance_id: Any, bpmn_id: str | None = None) -> list[HumanTask]:
    query = HumanTask.filter(instance_id=instance_id, state__in=OPEN_STATES)
    if bpmn_id is not None:
        query = query.filter(bpmn_id=bpmn_id)
    return list(await query.order_by("created_at", "id"))


async def open_task(instance_id: Any, bpmn_id: str) -> HumanTask:
    rows = await open_tasks(instance_id, bpmn_id)
    assert len(rows) == 1, f"expected exactly one open {bpmn_id}, found {[(r.bpmn_id, r.state) for r in rows]}"
    return rows[0]


async def open_bpmn_ids(instance_id: Any) -> list[str]:
    return sorted(r.bpmn_id for r in await open_tasks(instance_id))


def ready_manual(wf: BpmnWorkflow) -> list[Task]:
    return list(wf.get_tasks(state=TaskState.READY, manual=True))


async def assert_consistent(engine: Engine, instance_id: Any) -> BpmnWorkflow:
    """Stored state round-trips losslessly and the task index equals the workflow's ready manual tasks."""
    row = await ProcessInstance.get(id=instance_id)
    assert row.state is not None
    deployed = await engine.specs.get(row.definition_id)
    wf = load_state(row.state, deployed.spec, deployed.subprocess_specs)
    assert dump_state(wf) == row.state, "stored state does not round-trip through load_state/dump_state"
    in_workflow = {str(t.id) for t in ready_manual(wf)}
    in_index = {str(t.id) for t in await open_tasks(instance_id)}
    assert in_index == in_workflow, f"task index {sorted(in_index)} != ready manual tasks {sorted(in_workflow)}"
    if row.status != "running":
        assert in_index == set(), "a finished instance must not leave open tasks in the index"
    return wf


async def snapshot(instance_id: Any) -> tuple[int, str | None, str, list[tuple[str, str, str | None]], int]:
    """What 'nothing changed' compares: row version, state, status, the whole task index and the audit length."""
    row = await ProcessInstance.get(id=instance_id)
    tasks = await HumanTask.filter(instance_id=instance_id).order_by("id")
    return (row.version, row.state, row.status, [(str(t.id), t.state, t.assignee) for t in tasks],
            await AuditEvent.all().count())


def completed_bpmn_ids(wf: BpmnWorkflow) -> set[str]:
    return {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None)}


def task_data(wf: BpmnWorkflow, bpmn_id: str) -> dict[str, Any]:
    """Data of the (single) completed task with this bpmn id."""
    found = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == bpmn_id]
    assert len(found) == 1, f"{bpmn_id}: {len(found)} completed tasks"
    return dict(found[0].data)


async def restored(engine: Engine, instance_id: Any) -> BpmnWorkflow:
    wf, _ = await engine.restore(await ProcessInstance.get(id=instance_id))
    return wf


async def behind_gate(kind: str, url: str, gate_sql: str, gate_args: tuple[Any, ...],
                      calls: list[Awaitable[Any]], meanwhile: Awaitable[Any] | None = None) -> list[Any]:
    """Run `calls` concurrently (results or exceptions, in order; `meanwhile`'s result appended last).

    On PostgreSQL a third connection first runs `gate_sql` in an open transaction (a row or table lock, or
    an uncommitted row the calls will collide with), waits until every call is blocked on a lock (seen in
    pg_stat_activity), runs `meanwhile` to its end (it must not need the gate), then rolls back: the calls
    race exactly at that statement, every time. On SQLite (one connection, FIFO)
    asyncio.gather(meanwhile, *calls) interleaves them deterministically: each reads before any writes.
    Every wait is bounded, so a deadlock fails the test instead of hanging it.
    """
    if kind != "pg":
        first = [meanwhile] if meanwhile is not None else []
        gathered = asyncio.gather(*first, *calls, return_exceptions=True)
        results = list(await asyncio.wait_for(gathered, timeout=30))
        return results[len(first):] + results[:len(first)]
    gate = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    tasks: list[asyncio.Future[Any]] = []
    extra: list[Any] = []
    try:
        async with gate.transaction():
            await gate.execute(gate_sql, *gate_args)
            tasks = [asyncio.ensure_future(c) for c in calls]
            deadline = time.monotonic() + 10
            while True:
                await gate.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is cached per transaction
                waiting = await gate.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
                if waiting >= len(tasks):
                    break
                assert not any(t.done() for t in tasks), [t.exception() or t.result() for t in tasks if t.done()]
                assert time.monotonic() < deadline, f"only {waiting} of {len(tasks)} calls reached the gate"
                await asyncio.sleep(0.002)
            if meanwhile is not None:
                try:
                    extra.append(await asyncio.wait_for(meanwhile, timeout=10))
                except Exception as exc:  # reported like gather(return_exceptions=True) does
                    extra.append(exc)
            raise _OpenGate  # roll back: nothing the gate did is kept
    except _OpenGate:
        pass
    finally:
        await gate.close()
        if tasks:  # released (or failed): let the calls finish, but never wait forever
            await asyncio.wait(tasks, timeout=30)
    assert all(t.done() for t in tasks), "a call is still blocked after the gate opened"
    return [t.exception() or t.result() for t in tasks] + extra


class _OpenGate(Exception):
    pass


# -- driving the showcase diagram ------------------------------------------------------------------------------

MEMBERS = [{"name": "王秀英", "monthly_income": 120}, {"name": "李强", "monthly_income": 200}]


def accept_form(*, delegated: bool, members: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"applicant_name": "王秀英", "members": list(members or MEMBERS), "delegated": delegated}


async def complete(engine: Engine, instance_id: Any, bpmn_id: str, data: Mapping[str, Any], *,
                   actor: str = "clerk", check: bool = True) -> ProcessInstance:
    """Complete the one open task `bpmn_id`; then (check=True) assert the stored state is consistent."""
    task = await open_task(instance_id, bpmn_id)
    row = await engine.complete_task(task.id, data, actor=actor)
    if check:
        await assert_consistent(engine, instance_id)
    return row


async def complete_member_checks(engine: Engine, instance_id: Any, *, bonus: int = 0, check: bool = True) -> list[str]:
    """Verify every open member check (income + bonus) in reverse input order; returns the names in that order."""
    order = []
    wf = await restored(engine, instance_id)
    rows = await open_tasks(instance_id, "Task_member_check")
    members = {str(r.id): wf.get_task_from_id(uuid.UUID(str(r.id))).data["member"] for r in rows}
    names = [m["name"] for m in members.values()]
    position = {m["name"]: i for i, m in enumerate(wf.get_task_from_id(uuid.UUID(str(rows[0].id))).data["members"])}
    assert set(names) <= set(position)
    for row in sorted(rows, key=lambda r: -position[members[str(r.id)]["name"]]):
        member = members[str(row.id)]
        await engine.complete_task(row.id, {"member_check": {"name": member["name"],
                                                             "verified_income": member["monthly_income"] + bonus}},
                                   actor="clerk")
        if check:
            await assert_consistent(engine, instance_id)
        order.append(member["name"])
    return order


async def drive_to_publicity(engine: Engine, *, business_key: str | None = None, org_unit: str = TOWNSHIP,
                             members: list[dict[str, Any]] | None = None, check: bool = True) -> ProcessInstance:
    """start → accept (delegated) → checks → home visit → township confirm (approved): 公示 is open."""
    inst = await engine.start("showcase", org_unit=org_unit, actor="clerk", business_key=business_key)
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True, members=members), check=check)
    await complete_member_checks(engine, inst.id, check=check)
    await complete(engine, inst.id, "Task_home_visit", {"home_visit": {"investigators": ["张敏", "刘洋"]}}, check=check)
    return await complete(engine, inst.id, "Task_township_confirm", {"approved": True, "opinion": "符合条件"},
                          check=check)

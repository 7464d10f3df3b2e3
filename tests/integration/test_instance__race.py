"""Two operations on one instance at the same time: exactly one wins, the loser changes nothing.

The instance row carries an optimistic-lock `version`. On PostgreSQL the two `complete_task` calls
run truly concurrently, each transaction on its own pooled connection. Left alone, the scheduling
is up to chance (a fresh pool opening its second connection lets one call finish before the other
even reads), so the test holds a row lock on the instance from a third connection until BOTH calls
are blocked in their version-checked UPDATE (seen in pg_stat_activity), then releases it: one UPDATE
wins, the other re-checks `version` after the winner commits and matches no row (for the same task
twice, the loser is already stopped by the task row's own conditional update). On SQLite every
query goes through one connection behind a FIFO lock, and asyncio.gather interleaves the two calls
so that both read before either writes. Each call goes through its own Engine object, as two app
processes would.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

import pytest

from engine.errors import ConflictError, InvalidTaskState
from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.runtime import Engine
from tests.conftest import Database
from tests.support import (
    accept_form,
    assert_consistent,
    behind_gate,
    complete,
    open_bpmn_ids,
    open_task,
    snapshot,
)

HOME_VISIT = {"home_visit": {"investigators": ["张敏", "刘洋"]}}


def second_engine(engine: Engine) -> Engine:
    """Another engine on the same database (own spec cache), as a second app process would have."""
    return Engine(clock=engine.clock)


async def parallel_split(engine: Engine) -> Any:
    inst = await engine.start("showcase", org_unit="511402001", actor="clerk")
    await complete(engine, inst.id, "Task_accept",
                   accept_form(delegated=True, members=[{"name": "王秀英", "monthly_income": 120}]))
    assert await open_bpmn_ids(inst.id) == ["Task_home_visit", "Task_member_check"]
    return inst


async def race(db: Database, instance_id: Any, *calls: Awaitable[Any]) -> list[Any]:
    """Run the calls concurrently; on PostgreSQL make sure all of them have read before any writes."""
    return await behind_gate(db.kind, db.url, "SELECT 1 FROM process_instance WHERE id = $1 FOR UPDATE",
                             (uuid.UUID(str(instance_id)),), list(calls))


def split_outcomes(results: list[Any]) -> tuple[list[ProcessInstance], list[BaseException]]:
    wins = [r for r in results if isinstance(r, ProcessInstance)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) + len(losses) == len(results)
    return wins, losses


async def test_concurrent_completion_of_the_two_parallel_tasks_lets_exactly_one_win(engine: Engine,
                                                                                     db: Database) -> None:
    inst = await parallel_split(engine)
    version = (await ProcessInstance.get(id=inst.id)).version
    home = await open_task(inst.id, "Task_home_visit")
    check = await open_task(inst.id, "Task_member_check")
    other = second_engine(engine)

    results = await race(
        db, inst.id,
        engine.complete_task(home.id, HOME_VISIT, actor="clerk"),
        other.complete_task(check.id, {"member_check": {"verified_income": 120}}, actor="clerk2"),
    )
    wins, losses = split_outcomes(results)
    assert len(wins) == 1 and len(losses) == 1, results
    assert isinstance(losses[0], ConflictError), repr(losses[0])

    row = await ProcessInstance.get(id=inst.id)
    assert row.version == version + 1
    await assert_consistent(engine, inst.id)
    # Exactly one of the two tasks was closed; the loser's task is still open and nothing else was created.
    states = {t.bpmn_id: t.state for t in await HumanTask.filter(id__in=[home.id, check.id])}
    assert sorted(states.values()) == ["DONE", "READY"]
    assert await AuditEvent.filter(instance_id=str(inst.id), action="task.completed").count() == 2  # accept + 1
    loser_bpmn = next(b for b, s in states.items() if s == "READY")
    assert await open_bpmn_ids(inst.id) == [loser_bpmn]

    # The loser simply retries on the new version and the case moves on.
    loser = home if loser_bpmn == "Task_home_visit" else check
    data = HOME_VISIT if loser is home else {"member_check": {"verified_income": 120}}
    await engine.complete_task(loser.id, data, actor="clerk", expected_version=row.version)
    await assert_consistent(engine, inst.id)
    assert await open_bpmn_ids(inst.id) == ["Task_township_confirm"]


async def test_concurrent_completion_of_the_same_task_twice_lets_exactly_one_win(engine: Engine, db: Database) -> None:
    inst = await parallel_split(engine)
    home = await open_task(inst.id, "Task_home_visit")
    version = (await ProcessInstance.get(id=inst.id)).version

    results = await race(
        db, inst.id,
        engine.complete_task(home.id, HOME_VISIT, actor="clerk"),
        second_engine(engine).complete_task(home.id, {"home_visit": {"investigators": ["甲", "乙"]}}, actor="clerk2"),
    )
    wins, losses = split_outcomes(results)
    assert len(wins) == 1 and len(losses) == 1, results
    # Both read the task as READY before either wrote, so the loser is caught by the version check.
    assert isinstance(losses[0], ConflictError), repr(losses[0])

    assert (await ProcessInstance.get(id=inst.id)).version == version + 1
    wf = await assert_consistent(engine, inst.id)
    done = await HumanTask.get(id=home.id)
    assert done.state == "DONE"
    winner = "clerk" if wins[0] is results[0] else "clerk2"
    assert done.completed_by == winner
    assert await AuditEvent.filter(task_id=str(home.id), action="task.completed").count() == 1
    # The stored data is the winner's, not a mix.
    stored = wf.get_task_from_id(home.id).data["home_visit"]["investigators"]
    assert stored == (["张敏", "刘洋"] if winner == "clerk" else ["甲", "乙"])

    # Completing it once more, now that it is closed, is refused.
    with pytest.raises(InvalidTaskState):
        await engine.complete_task(home.id, HOME_VISIT, actor="clerk")


async def test_stale_expected_version_is_a_conflict_and_changes_nothing(engine: Engine) -> None:
    inst = await parallel_split(engine)
    stale = (await ProcessInstance.get(id=inst.id)).version
    home = await open_task(inst.id, "Task_home_visit")
    check = await open_task(inst.id, "Task_member_check")

    # First user loaded version `stale` and completes; a second user who loaded the same version loses.
    await engine.complete_task(home.id, HOME_VISIT, actor="clerk", expected_version=stale)
    before = await snapshot(inst.id)
    with pytest.raises(ConflictError, match=f"version {stale + 1}, expected {stale}"):
        await second_engine(engine).complete_task(check.id, {"member_check": {"verified_income": 1}},
                                                  actor="clerk2", expected_version=stale)
    assert await snapshot(inst.id) == before
    assert (await HumanTask.get(id=check.id)).state == "READY"
    await assert_consistent(engine, inst.id)

    # A version from the future is just as wrong.
    with pytest.raises(ConflictError):
        await engine.complete_task(check.id, {"member_check": {"verified_income": 1}}, actor="clerk",
                                   expected_version=stale + 5)
    assert await snapshot(inst.id) == before

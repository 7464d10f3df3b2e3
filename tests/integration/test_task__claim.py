"""Claiming a task reserves it for one user; others can neither claim, complete nor unclaim it."""

from __future__ import annotations

import pytest

from engine.errors import ConflictError, InvalidTaskState
from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.runtime import Engine
from tests.conftest import Database
from tests.support import TOWNSHIP, accept_form, assert_consistent, behind_gate, open_task, snapshot


async def accept_task(engine: Engine) -> tuple[object, HumanTask]:
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    return inst.id, await open_task(inst.id, "Task_accept")


async def test_claim_reserves_the_task_for_its_assignee(engine: Engine) -> None:
    instance_id, task = await accept_task(engine)
    claimed = await engine.claim(task.id, actor="alice")
    assert (claimed.state, claimed.assignee, claimed.claimed_at) == ("CLAIMED", "alice", engine.clock.now())
    assert (await HumanTask.get(id=task.id)).state == "CLAIMED"
    await assert_consistent(engine, instance_id)  # a claimed task is still an open task of the index

    before = await snapshot(instance_id)
    for actor in ("bob", "alice"):  # nobody can claim it again, not even the assignee
        with pytest.raises(ConflictError):
            await engine.claim(task.id, actor=actor)
    with pytest.raises(InvalidTaskState, match="claimed by another user"):
        await engine.complete_task(task.id, accept_form(delegated=True), actor="bob")
    with pytest.raises(ConflictError):
        await engine.unclaim(task.id, actor="bob")
    assert await snapshot(instance_id) == before

    # The assignee completes it.
    await engine.complete_task(task.id, accept_form(delegated=True), actor="alice")
    done = await HumanTask.get(id=task.id)
    assert (done.state, done.completed_by, done.assignee) == ("DONE", "alice", "alice")
    await assert_consistent(engine, instance_id)
    with pytest.raises(ConflictError):  # a closed task cannot be claimed
        await engine.claim(task.id, actor="bob")


async def test_unclaim_by_the_assignee_releases_the_task_to_others(engine: Engine) -> None:
    instance_id, task = await accept_task(engine)
    await engine.claim(task.id, actor="alice")
    with pytest.raises(ConflictError):
        await engine.unclaim(task.id, actor="bob")
    released = await engine.unclaim(task.id, actor="alice")
    assert (released.state, released.assignee, released.claimed_at) == ("READY", None, None)
    with pytest.raises(ConflictError):  # not claimed any more
        await engine.unclaim(task.id, actor="alice")

    await engine.claim(task.id, actor="bob")
    await engine.complete_task(task.id, accept_form(delegated=True), actor="bob")
    assert (await HumanTask.get(id=task.id)).completed_by == "bob"
    actions = [(e.action, e.actor) for e in await AuditEvent.filter(task_id=str(task.id)).order_by("seq")]
    assert actions == [("task.created", "engine"), ("task.claimed", "alice"), ("task.unclaimed", "alice"),
                       ("task.claimed", "bob"), ("task.completed", "bob")]
    # Claims do not touch the instance row: no version bump, so they never conflict with completions.
    assert (await ProcessInstance.get(id=instance_id)).version == 2


async def test_concurrent_claims_let_exactly_one_user_win(engine: Engine, db: Database) -> None:
    instance_id, task = await accept_task(engine)
    users = ["alice", "bob", "carol"]
    results = await behind_gate(db.kind, db.url, "SELECT 1 FROM human_task WHERE id = $1 FOR UPDATE", (task.id,),
                                [engine.claim(task.id, actor=u) for u in users])
    winners = [u for u, r in zip(users, results, strict=True) if isinstance(r, HumanTask)]
    assert len(winners) == 1, results
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, HumanTask)), results
    stored = await HumanTask.get(id=task.id)
    assert (stored.state, stored.assignee) == ("CLAIMED", winners[0])
    assert await AuditEvent.filter(task_id=str(task.id), action="task.claimed").count() == 1


# Fixed in engine/runtime.py: complete_task re-checks the task row (state, assignee, owner) with a conditional update
# inside its transaction, so a claim (or delegation, reassignment) committed in between makes the completion a 409.
async def test_completion_racing_a_claim_by_someone_else_does_not_override_the_claim(engine: Engine,
                                                                                    db: Database) -> None:
    instance_id, task = await accept_task(engine)
    # bob has read the unclaimed task and is about to save when alice's claim commits. On PostgreSQL bob is held
    # back between the two by a lock on process_definition (his fresh engine still has to load the diagram);
    # the gate must not sit on a row bob locks in his transaction, or alice's claim would wait for bob.
    bob = Engine(clock=engine.clock)
    [completed, claimed] = await behind_gate(
        db.kind, db.url, "LOCK TABLE process_definition IN ACCESS EXCLUSIVE MODE", (),
        [bob.complete_task(task.id, accept_form(delegated=True), actor="bob")],
        meanwhile=engine.claim(task.id, actor="alice"))
    assert isinstance(claimed, HumanTask) and claimed.assignee == "alice", claimed
    stored = await HumanTask.get(id=task.id)
    assert isinstance(completed, ConflictError), (
        f"alice's claim succeeded, yet bob's completion returned {completed!r}; stored: {stored.state} "
        f"assignee={stored.assignee} completed_by={stored.completed_by}")
    assert (stored.state, stored.assignee, stored.completed_by) == ("CLAIMED", "alice", None)
    assert (await ProcessInstance.get(id=instance_id)).version == 1
    await assert_consistent(engine, instance_id)

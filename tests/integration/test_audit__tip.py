"""The audit append starts from the chain tip this process last wrote (one conditional UPDATE of the head instead of
a locked read and a write). A wrong guess must never fork or break the chain: it is detected and the head is read.

A second process is simulated by putting back the tip this process had before another append, which is exactly what
a process that did not see that append holds.
"""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from engine import audit
from engine.audit import PendingEvent, append_events, verify_chain
from engine.models import AuditEvent, AuditHead, ProcessInstance
from engine.runtime import Engine
from tests.conftest import Database
from tests.support import TOWNSHIP, behind_gate


class _Rollback(Exception):
    pass


async def _append(engine: Engine, action: str) -> None:
    async with in_transaction() as conn:
        await append_events([PendingEvent("tester", action)], engine.clock.now(), conn)


def _name() -> str:
    return AuditEvent._meta.db.connection_name


def _tip() -> tuple[int, str]:
    return audit._tips[_name()]


async def test_the_tip_this_process_wrote_is_reused_and_the_chain_verifies(engine: Engine) -> None:
    await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")  # started + task.created
    head = await AuditHead.get(id=1)
    assert _tip() == (head.seq, head.hash) == (2, (await AuditEvent.get(seq=2)).hash)
    await _append(engine, "x.one")
    head = await AuditHead.get(id=1)
    assert _tip() == (head.seq, head.hash) == (3, (await AuditEvent.get(seq=3)).hash)
    assert (await AuditEvent.get(seq=3)).prev_hash == (await AuditEvent.get(seq=2)).hash
    assert (await verify_chain()).ok


async def test_a_tip_behind_the_head_falls_back_to_the_head(engine: Engine) -> None:
    await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    stale = _tip()
    await _append(engine, "other.process")  # what another process appended meanwhile
    audit._tips[_name()] = stale  # this process never saw it
    await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk2")
    events = await AuditEvent.all().order_by("seq")
    assert [e.action for e in events] == ["instance.started", "task.created", "other.process",
                                          "instance.started", "task.created"]
    assert events[3].prev_hash == events[2].hash
    report = await verify_chain()
    assert (report.ok, report.checked) == (True, 5)
    assert _tip() == (5, events[4].hash)


async def test_a_rolled_back_append_leaves_no_gap(engine: Engine) -> None:
    await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    with pytest.raises(_Rollback):
        async with in_transaction() as conn:
            await append_events([PendingEvent("tester", "never.committed")], engine.clock.now(), conn)
            raise _Rollback
    assert _tip()[0] == 3  # the guess now names an event that does not exist
    await _append(engine, "after.rollback")
    events = await AuditEvent.all().order_by("seq")
    assert [(e.seq, e.action) for e in events][-1] == (3, "after.rollback")
    assert events[-1].prev_hash == events[-2].hash
    assert (await verify_chain()).ok


async def test_a_tip_with_the_right_seq_but_another_hash_is_not_trusted(engine: Engine) -> None:
    await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    with pytest.raises(_Rollback):  # this process's append of seq 3 is rolled back ...
        async with in_transaction() as conn:
            await append_events([PendingEvent("tester", "never.committed")], engine.clock.now(), conn)
            raise _Rollback
    mine = _tip()
    await _append(engine, "other.process")  # ... and another process commits its own seq 3
    audit._tips[_name()] = mine
    assert _tip()[0] == (await AuditHead.get(id=1)).seq == 3
    await _append(engine, "next")
    events = await AuditEvent.all().order_by("seq")
    assert [e.action for e in events][-2:] == ["other.process", "next"]
    assert events[-1].prev_hash == events[-2].hash
    assert (await verify_chain()).ok


async def test_concurrent_appends_from_one_tip_make_one_chain(engine: Engine, db: Database) -> None:
    await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")  # the head exists, the tip is known
    # On PostgreSQL all five wait on the head row with the same tip; one moves it, the others find it moved
    # (0 rows after the re-check) and read it locked.
    results = await behind_gate(db.kind, db.url, "UPDATE audit_head SET seq = seq WHERE id = $1", (1,),
                                [engine.start("showcase", org_unit=TOWNSHIP, actor=f"clerk{n}") for n in range(5)])
    assert all(isinstance(r, ProcessInstance) for r in results), results
    report = await verify_chain()
    assert (report.ok, report.checked) == (True, 12)
    assert [e.seq for e in await AuditEvent.all().order_by("id")] == list(range(1, 13))

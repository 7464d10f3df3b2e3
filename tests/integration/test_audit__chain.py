"""The audit trail is one hash chain over the whole database; tampering with stored rows is detected.

The tampering is done with raw SQL, as someone with database access would, not through the engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engine.audit import GENESIS, _digest, verify_chain
from engine.models import AuditEvent, AuditHead, ProcessInstance
from engine.runtime import Engine
from tests.conftest import Database
from tests.support import TOWNSHIP, accept_form, behind_gate, complete, open_task


async def raw(sql: str) -> None:
    await AuditEvent._meta.db.execute_query(sql)


async def some_history(engine: Engine) -> int:
    """A few operations of different kinds; returns the number of events written."""
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk", business_key="AUD-1")
    task = await open_task(inst.id, "Task_accept")
    await engine.claim(task.id, actor="clerk")
    await engine.unclaim(task.id, actor="clerk")
    engine.clock.advance(timedelta(minutes=5, microseconds=250))
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True))
    other = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk2")
    await engine.cancel(other.id, actor="admin", reason="重复申请")
    return await AuditEvent.all().count()


async def test_chain_verifies_after_operations_and_counts_every_event(engine: Engine) -> None:
    count = await some_history(engine)
    events = await AuditEvent.all().order_by("seq")
    # started, created, claimed, unclaimed, completed, 3× created | started, created, cancelled
    assert count == 11
    assert [e.seq for e in events] == list(range(1, count + 1))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    head = await AuditHead.get(id=1)
    assert (head.seq, head.hash) == (count, events[-1].hash)
    report = await verify_chain()
    assert (report.ok, report.checked, report.broken_at, report.reason) == (True, count, None, None)
    # Batching does not change the result.
    assert (await verify_chain(batch=5)).checked == count


async def test_edited_payload_is_reported_at_its_seq(engine: Engine) -> None:
    await some_history(engine)
    await raw("UPDATE audit_event SET payload = '{\"task\": \"Task_accept\", \"data\": {\"standard\": 99999}}' "
              "WHERE seq = 5")
    report = await verify_chain()
    assert (report.ok, report.broken_at, report.checked) == (False, 5, 4)
    assert report.reason == "content does not match its hash (edited)"


async def test_edited_actor_is_reported_even_if_its_own_hash_is_recomputed(engine: Engine) -> None:
    await some_history(engine)
    await raw("UPDATE audit_event SET actor = 'someone_else' WHERE seq = 3")
    assert (await verify_chain()).broken_at == 3
    # Re-hashing the edited event itself moves the break to the next link, which still names the old hash.
    await raw("UPDATE audit_event SET hash = 'f' || substr(hash, 2) WHERE seq = 3")
    report = await verify_chain()
    assert report.broken_at == 3  # its content no longer matches the forged hash either
    ev = await AuditEvent.get(seq=3)  # a forger who knows the algorithm re-hashes the edited event
    forged = _digest(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.instance_id, ev.task_id, ev.payload)
    await raw(f"UPDATE audit_event SET hash = '{forged}' WHERE seq = 3")
    report = await verify_chain()
    assert (report.broken_at, report.reason) == (4, "prev_hash does not match the previous event")


async def test_deleted_middle_event_is_reported(engine: Engine) -> None:
    count = await some_history(engine)
    await raw("DELETE FROM audit_event WHERE seq = 6")
    report = await verify_chain()
    assert (report.ok, report.broken_at, report.checked) == (False, 6, 5)
    assert report.reason == "event 6 is missing (found 7)"
    assert count == 11


async def test_deleted_tail_is_reported(engine: Engine) -> None:
    count = await some_history(engine)
    await raw(f"DELETE FROM audit_event WHERE seq = {count}")
    report = await verify_chain()
    assert (report.ok, report.broken_at, report.checked) == (False, count, count - 1)
    assert report.reason == f"chain ends at {count - 1} but head says {count} (tail deleted)"


async def test_chain_verifies_when_the_clock_is_not_in_utc(engine: Engine) -> None:
    # Timestamps come back from the database in UTC; the hash must not depend on the writer's zone.
    engine.clock.set(datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai")))
    count = await some_history(engine)
    report = await verify_chain()
    assert (report.ok, report.checked) == (True, count)


async def test_concurrent_first_operations_on_an_empty_database_share_one_chain(engine: Engine, db: Database) -> None:
    assert await AuditHead.all().count() == 0  # no event yet: the first appends also create the head
    # On PostgreSQL an uncommitted head row makes all five find no head and collide when creating it.
    results = await behind_gate(db.kind, db.url, "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, $1)",
                                (GENESIS,),
                                [engine.start("showcase", org_unit=TOWNSHIP, actor=f"clerk{n}") for n in range(5)])
    assert all(isinstance(r, ProcessInstance) for r in results), results
    assert len({r.id for r in results}) == 5
    report = await verify_chain()
    assert (report.ok, report.checked) == (True, 10)  # instance.started + task.created each
    assert await AuditHead.all().count() == 1

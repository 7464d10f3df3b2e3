"""Several timer workers at once fire every due timer exactly once (PostgreSQL: FOR UPDATE SKIP LOCKED).

Each worker is its own Engine (own spec cache, as a separate process would have) sharing the fake
clock. They run as concurrent asyncio tasks: on asyncpg, Tortoise gives every `in_transaction()`
its own pooled connection (checked first, via pg_backend_pid), so the workers' transactions really
overlap and SKIP LOCKED is what keeps them apart. SQLite has a single writer and silently drops
SKIP LOCKED, so these tests only run on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from engine.audit import verify_chain
from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.runtime import Engine
from tests.conftest import Database
from tests.support import assert_consistent, drive_to_publicity

INSTANCES = 40
WORKERS = 3


@pytest.fixture
def pg_only(db: Database) -> None:
    if db.kind != "pg":
        pytest.skip("SKIP LOCKED needs PostgreSQL (SQLite drops it and has a single writer)")


async def test_concurrent_transactions_use_separate_connections(pg_only: None) -> None:
    entered = asyncio.Barrier(2)

    async def backend_pid() -> int:
        async with in_transaction() as conn:
            await entered.wait()  # both transactions are open at the same time
            _, rows = await conn.execute_query("SELECT pg_backend_pid() AS pid")
            return int(rows[0]["pid"])

    first, second = await asyncio.wait_for(asyncio.gather(backend_pid(), backend_pid()), timeout=10)
    assert first != second


async def test_concurrent_workers_fire_each_due_timer_exactly_once(pg_only: None, engine: Engine) -> None:
    ids: list[str] = []
    for chunk in range(0, INSTANCES, 10):  # different instances may advance concurrently
        started = await asyncio.gather(*(
            drive_to_publicity(engine, business_key=f"DB-{n:03d}", members=[{"name": f"成员{n}", "monthly_income": 1}],
                               check=False)
            for n in range(chunk, chunk + 10)))
        ids.extend(str(inst.id) for inst in started)
    assert await ProcessInstance.filter(status="running", next_timer_at__isnull=False).count() == INSTANCES

    # Not due yet: workers find nothing.
    assert await engine.wake_due_timers() == 0

    engine.clock.advance(timedelta(days=7, minutes=1))
    workers = [Engine(clock=engine.clock) for _ in range(WORKERS)]

    async def work(worker: Engine) -> list[int]:
        batches = []
        while (fired := await worker.wake_due_timers(limit=4)) > 0:
            batches.append(fired)
        return batches

    batches = await asyncio.wait_for(asyncio.gather(*(work(w) for w in workers)), timeout=60)
    per_worker = [sum(b) for b in batches]
    assert sum(per_worker) == INSTANCES, batches
    # The workers really overlapped: more than one of them got a share of the due rows.
    assert sum(1 for n in per_worker if n > 0) >= 2, batches

    fired = {}
    for ev in await AuditEvent.filter(action="timer.fired"):
        fired[ev.instance_id] = fired.get(ev.instance_id, 0) + 1
    assert fired == {i: 1 for i in ids}
    assert await ProcessInstance.filter(id__in=ids, status="completed", next_timer_at=None).count() == INSTANCES
    assert await HumanTask.filter(instance_id__in=ids, state__in=("READY", "CLAIMED")).count() == 0
    assert await HumanTask.filter(instance_id__in=ids, bpmn_id="Task_publicity", state="CANCELED").count() \
        == INSTANCES
    for i in ids[:: INSTANCES // 4]:
        await assert_consistent(engine, i)
    report = await verify_chain()
    assert report.ok and report.checked == await AuditEvent.all().count()

    # Nothing left: another round by every worker fires nothing.
    assert [await w.wake_due_timers() for w in workers] == [0] * WORKERS

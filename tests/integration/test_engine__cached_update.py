"""The hot-path UPDATEs written once (engine.db.CachedUpdate) store exactly what Tortoise's own
`filter(...).update(...)` stores, byte for byte as the database holds it, and match the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from engine.models import HumanTask, ProcessInstance
from engine.runtime import _CLOSE_TASK, _SAVE_INSTANCE, Engine
from tests.support import TOWNSHIP


async def _stored(table: str, row_id: Any) -> dict[str, Any]:
    """The row as the database holds it (no ORM conversion): SQLite keeps datetimes and JSON as text."""
    conn = ProcessInstance._meta.db
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    rows = await conn.execute_query_dict(f'SELECT * FROM "{table}" WHERE "id" = {mark}', [str(row_id)])
    assert len(rows) == 1
    row = dict(rows[0])
    row.pop("id")
    return row


async def test_saving_an_instance_stores_what_tortoise_stores(engine: Engine) -> None:
    a = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    b = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    shanghai = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    for fields in ({"version": 7, "state": '{"x":"申请人 张三"}', "status": "running",
                    "next_timer_at": shanghai + timedelta(days=3), "data": {"applicant_name": "张三", "n": 2.5},
                    "updated_at": shanghai, "completed_at": None, "error": None},
                   {"version": 8, "state": None, "status": "error", "next_timer_at": None, "data": {},
                    "updated_at": datetime(2026, 3, 2, 1, 0, tzinfo=UTC), "completed_at": shanghai,
                    "error": "timer failed: 错误"}):
        async with in_transaction() as conn:
            n_orm = await ProcessInstance.filter(id=a.id, version=a.version).using_db(conn).update(**fields)
            n_cached = await _SAVE_INSTANCE.run(conn, fields, id=b.id, version=b.version)
        assert n_orm == n_cached == 1
        a.version = b.version = fields["version"]
        stored_a, stored_b = await _stored("process_instance", a.id), await _stored("process_instance", b.id)
        for key in ("created_at", "business_key"):  # set at start, not by the update
            stored_a.pop(key), stored_b.pop(key)
        assert stored_a == stored_b
    # A stale version matches no row and changes nothing.
    async with in_transaction() as conn:
        assert await _SAVE_INSTANCE.run(conn, {**fields, "status": "running"}, id=b.id, version=3) == 0
    assert (await ProcessInstance.get(id=b.id)).status == "error"


async def test_closing_a_task_stores_what_tortoise_stores_and_keeps_the_guard(engine: Engine) -> None:
    a = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    b = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    ta = await HumanTask.get(instance_id=a.id, state="READY")
    tb = await HumanTask.get(instance_id=b.id, state="READY")
    now = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    values = {"state": "DONE", "completed_by": "clerk", "completed_at": now}
    # Claimed by someone else or delegated: neither way closes it.
    await HumanTask.filter(id=tb.id).update(assignee="other", state="CLAIMED")
    async with in_transaction() as conn:
        assert await _CLOSE_TASK.run(conn, values, id=tb.id, assignee="clerk") == 0
    await HumanTask.filter(id=tb.id).update(assignee="clerk", owner="boss")
    async with in_transaction() as conn:
        assert await _CLOSE_TASK.run(conn, values, id=tb.id, assignee="clerk") == 0
    await HumanTask.filter(id=tb.id).update(owner=None)
    await HumanTask.filter(id=ta.id).update(assignee="clerk", state="CLAIMED")
    async with in_transaction() as conn:
        n_orm = await HumanTask.filter(Q(assignee=None) | Q(assignee="clerk"), id=ta.id,
                                       state__in=("READY", "CLAIMED"), owner=None).using_db(conn).update(**values)
        n_cached = await _CLOSE_TASK.run(conn, values, id=tb.id, assignee="clerk")
    assert n_orm == n_cached == 1
    stored_a, stored_b = await _stored("human_task", ta.id), await _stored("human_task", tb.id)
    assert stored_a["completed_at"] == stored_b["completed_at"] and stored_b["state"] == "DONE"
    # Closed: a second close matches nothing.
    async with in_transaction() as conn:
        assert await _CLOSE_TASK.run(conn, values, id=tb.id, assignee="clerk") == 0

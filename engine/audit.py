"""Append-only audit events, hash-chained across the whole database.

Each event's hash is sha256(prev_hash ‖ canonical JSON of its fields); the chain's tip lives in
`AuditHead`, locked by the appending transaction (a conditional UPDATE from the tip this process last
wrote, or SELECT … FOR UPDATE when that guess is stale), so two processes can never fork the chain.
Appends happen at the end of the operation's transaction to keep that lock short. `verify_chain`
recomputes every link and reports the first broken one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from engine.db import CachedUpdate
from engine.models import AuditEvent, AuditHead

GENESIS = "0" * 64


@dataclass(frozen=True)
class PendingEvent:
    actor: str
    action: str
    instance_id: str | None = None
    task_id: str | None = None
    payload: dict[str, Any] | None = None


def _digest(prev_hash: str, seq: int, at: datetime, actor: str, action: str, instance_id: str | None,
            task_id: str | None, payload: dict[str, Any]) -> str:
    # The database hands timestamps back in UTC: hash the instant in UTC, whatever zone the writer's clock used.
    at = at.astimezone(UTC) if at.tzinfo is not None else at
    body = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor, action, instance_id, task_id, payload],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(prev_hash.encode() + body.encode()).hexdigest()


# The chain tip this process last wrote, per connection name: appends try it first with one conditional UPDATE of
# the head (seq and hash both checked, under the row lock) instead of reading the head, locked, and then writing it.
# A stale guess (another process appended, our transaction rolled back, another database under the same name)
# matches no row, changes nothing, and the append falls back to reading the locked head. Never trusted blindly.
_tips: dict[str, tuple[int, str]] = {}
_MOVE_HEAD = CachedUpdate(AuditHead, ("seq", "hash"), '"id"={id} AND "seq"={seq} AND "hash"={hash}',
                          ("id", "seq", "hash"))


def _chain(events: list[PendingEvent], at: datetime, seq: int, prev: str) -> list[AuditEvent]:
    rows = []
    for ev in events:
        seq += 1
        payload = json.loads(json.dumps(ev.payload or {}, ensure_ascii=False, default=str))
        digest = _digest(prev, seq, at, ev.actor, ev.action, ev.instance_id, ev.task_id, payload)
        rows.append(AuditEvent(seq=seq, at=at, actor=ev.actor, action=ev.action, instance_id=ev.instance_id,
                               task_id=ev.task_id, payload=payload, prev_hash=prev, hash=digest))
        prev = digest
    return rows


async def append_events(events: list[PendingEvent], at: datetime, connection: BaseDBAsyncClient) -> None:
    """Append inside the caller's transaction (`connection`).

    Usually two statements: the head moves from the tip this process last wrote to the new tip (a conditional
    UPDATE: on PostgreSQL it waits for a concurrent appender's commit and then re-checks), then the events are
    inserted. If the head is not where this process left it, the head is read locked (SELECT ... FOR UPDATE) and
    the events are chained from there: the chain can never fork."""
    if not events:
        return
    name = connection.connection_name
    tip = _tips.get(name)
    if tip is not None:
        rows = _chain(events, at, *tip)
        moved = await _MOVE_HEAD.run(connection, {"seq": rows[-1].seq, "hash": rows[-1].hash}, id=1, seq=tip[0],
                                     hash=tip[1])
        if moved == 1:
            await AuditEvent.bulk_create(rows, using_db=connection)
            _tips[name] = (rows[-1].seq, rows[-1].hash)
            return
    head = await AuditHead.filter(id=1).using_db(connection).select_for_update().first()
    if head is None:
        # First append ever. A concurrent first append may be creating the head too (FOR UPDATE locked
        # nothing): insert idempotently — on PostgreSQL this waits for the other insert — then lock it.
        await connection.execute_query(
            f"INSERT INTO {AuditHead._meta.db_table} (id, seq, hash) VALUES (1, 0, '{GENESIS}') "
            "ON CONFLICT (id) DO NOTHING")
        head = await AuditHead.filter(id=1).using_db(connection).select_for_update().get()
    rows = _chain(events, at, head.seq, head.hash)
    await AuditEvent.bulk_create(rows, using_db=connection)
    await AuditHead.filter(id=1).using_db(connection).update(seq=rows[-1].seq, hash=rows[-1].hash)
    _tips[name] = (rows[-1].seq, rows[-1].hash)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None  # seq of the first bad event
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


async def verify_chain(batch: int = 2000) -> ChainReport:
    prev, expected_seq, checked = GENESIS, 1, 0
    last_id = 0
    while True:
        rows = await AuditEvent.filter(id__gt=last_id).order_by("id").limit(batch)
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return ChainReport(checked, expected_seq, f"event {expected_seq} is missing (found {ev.seq})")
            if ev.prev_hash != prev:
                return ChainReport(checked, ev.seq, "prev_hash does not match the previous event")
            if _digest(prev, ev.seq, ev.at, ev.actor, ev.action, ev.instance_id, ev.task_id, ev.payload) != ev.hash:
                return ChainReport(checked, ev.seq, "content does not match its hash (edited)")
            prev, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
            last_id = ev.id
    head = await AuditHead.get_or_none(id=1)
    if head is not None and (head.seq != checked or head.hash != prev):
        return ChainReport(checked, checked + 1, f"chain ends at {checked} but head says {head.seq} (tail deleted)")
    return ChainReport(checked, None, None)

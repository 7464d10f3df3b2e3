"""Scheduler sweeps that tell people about tasks: near-due reminders and queue-arrival notices.

    remind_near_due     an open task whose due date is at most `lead` working days away (default 1,
                        CIVICFLOW_REMINDER_WORKING_DAYS; 0: on the due day only) and not yet overdue: one
                        notification (task.due_soon) to its assignee (and the owner while delegated) or, unclaimed,
                        to every active user who could act on it; flagged `reminded_at`, so sent once
    announce_arrivals   tasks that reached a queue (READY, unassigned) since the last sweep: ONE notification
                        (task.arrived) per user who could act on any of them, listing them, so a campaign that
                        opens hundreds of tasks does not flood inboxes; flagged `announced_at`, so announced once

Both run inside one transaction each, take rows FOR UPDATE SKIP LOCKED on PostgreSQL and flag them with a
conditional update (several scheduler processes never send twice), and hand the notifications to the engine's
sinks (e-mail) after commit. Overdue tasks are `Engine.escalate_overdue`'s business, not these.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from engine.audit import PendingEvent, append_events
from engine.collab import notify
from engine.models import HumanTask, Notification, User
from engine.runtime import OPEN_STATES, Engine

log = logging.getLogger("civicflow.reminders")
DEFAULT_LEAD_WORKING_DAYS = 1
ARRIVAL_LIST = 10  # titles listed in one arrival notice; the rest are counted


def lead_working_days(env: Mapping[str, str] | None = None) -> int | None:
    """CIVICFLOW_REMINDER_WORKING_DAYS: working days before the due date (default 1); `off` disables reminders."""
    raw = (os.environ if env is None else env).get("CIVICFLOW_REMINDER_WORKING_DAYS", "").strip().lower()
    if raw in ("off", "none", "no"):
        return None
    if not raw:
        return DEFAULT_LEAD_WORKING_DAYS
    try:
        value = int(raw)
    except ValueError:
        log.warning("CIVICFLOW_REMINDER_WORKING_DAYS=%r is not a number; using %d", raw, DEFAULT_LEAD_WORKING_DAYS)
        return DEFAULT_LEAD_WORKING_DAYS
    return max(0, value)


async def eligible_users(tasks: Iterable[HumanTask], conn: BaseDBAsyncClient) -> dict[str, list[str]]:
    """Task id -> usernames of the active users who could act on it (its candidate role in its org unit)."""
    tasks = list(tasks)
    users = await User.filter(org_unit_id__in={t.org_unit for t in tasks}, is_active=True).order_by(
        "username").using_db(conn)
    return {str(t.id): [u.username for u in users if u.org_unit_id == t.org_unit and t.candidate_role in u.roles]
            for t in tasks}


async def remind_near_due(engine: Engine, *, lead: int | None = DEFAULT_LEAD_WORKING_DAYS,
                          limit: int = 500) -> int:
    """Send the near-due reminders now due; returns how many tasks were reminded (0 when `lead` is None)."""
    if lead is None:
        return 0
    now = engine.clock.now()
    horizon = engine.calendar.add_working_days(now, lead)  # end of the lead-th working day after today
    notes: list[Notification] = []
    events: list[PendingEvent] = []
    async with in_transaction() as conn:
        rows = await HumanTask.filter(state__in=OPEN_STATES, reminded_at=None, due_at__gte=now,
                                      due_at__lte=horizon).order_by("due_at").limit(limit).select_for_update(
            skip_locked=True).using_db(conn)
        if not rows:
            return 0
        groups = await eligible_users([r for r in rows if not r.assignee], conn)
        for row in rows:
            if await HumanTask.filter(id=row.id, reminded_at=None).using_db(conn).update(reminded_at=now) != 1:
                continue
            recipients = [u for u in (row.assignee, row.owner) if u] or groups.get(str(row.id), [])
            due_local = row.due_at.astimezone(engine.calendar.tz) if row.due_at else None
            who = f"由 {row.assignee} 办理" if row.assignee else "尚无人签收"
            notes += await notify(conn, now, recipients, "task.due_soon", f"即将到期:{row.title}",
                                  f"事项「{row.name}」将于 {due_local:%Y-%m-%d %H:%M} 到期({who}),请及时办理。",
                                  f"/tasks/{row.id}")
            events.append(PendingEvent("scheduler", "task.reminded", str(row.instance_id), str(row.id),
                                       {"name": row.name, "due_at": row.due_at, "to": recipients}))
        await append_events(events, now, conn)
    await engine._deliver(notes)  # noqa: SLF001 - the engine's after-commit delivery, shared on purpose
    return len(events)


def arrival_text(titles: list[str]) -> tuple[str, str]:
    """(title, body) of one user's arrival notice for these task titles (at least one)."""
    if len(titles) == 1:
        return f"新到待办:{titles[0]}", "有 1 件新事项进入您可办理的待办队列。"
    listed = "、".join(titles[:ARRIVAL_LIST])
    more = f"等共 {len(titles)} 件" if len(titles) > ARRIVAL_LIST else ""
    return f"新到待办 {len(titles)} 件", f"新进入您可办理的待办队列:{listed}{more}。"


async def announce_arrivals(engine: Engine, *, limit: int = 2000) -> int:
    """Announce the tasks that reached a queue since the last sweep: one notice per user. Returns how many tasks
    were announced. Tasks claimed, reassigned or closed before the sweep are flagged without a notice (whoever
    received them was told by that operation)."""
    now = engine.clock.now()
    notes: list[Notification] = []
    async with in_transaction() as conn:
        rows = await HumanTask.filter(announced_at=None).order_by("created_at", "title").limit(limit).select_for_update(
            skip_locked=True).using_db(conn)
        if not rows:
            return 0
        taken: list[HumanTask] = []
        for row in rows:
            if await HumanTask.filter(id=row.id, announced_at=None).using_db(conn).update(announced_at=now) == 1:
                taken.append(row)
        queued = [r for r in taken if r.state == "READY" and not r.assignee]
        groups = await eligible_users(queued, conn)
        per_user: dict[str, list[HumanTask]] = defaultdict(list)
        for row in queued:
            for username in groups.get(str(row.id), []):
                per_user[username].append(row)
        for username, tasks in sorted(per_user.items()):
            title, body = arrival_text([t.title for t in tasks])
            link = f"/tasks/{tasks[0].id}" if len(tasks) == 1 else "/inbox?sort=-created"
            notes += await notify(conn, now, [username], "task.arrived", title, body, link)
    await engine._deliver(notes)  # noqa: SLF001 - the engine's after-commit delivery, shared on purpose
    return len(taken)


async def sweep(engine: Engine) -> tuple[int, int]:
    """One scheduler sweep of both: (reminded, announced), with the configured lead."""
    lead = lead_working_days()
    reminded = 0
    while (n := await remind_near_due(engine, lead=lead)) > 0:
        reminded += n
    return reminded, await announce_arrivals(engine)

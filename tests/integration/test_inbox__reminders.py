"""Near-due reminders (sent once, working days, across a holiday) and queue-arrival notices (one per user per
sweep, whatever the number of tasks), with the e-mail opt-out for arrivals, through the real engine and SMTP."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.calendar import WorkingCalendar
from engine.clock import FakeClock
from engine.models import AuditEvent, HumanTask, Notification, User
from engine.reminders import announce_arrivals, lead_working_days, remind_near_due, sweep
from engine.runtime import Engine
from tests.collab_helpers import TOWNSHIP, add_user, fresh, inbox_of, start_review
from tests.conftest import browser_login
from tests.integration.test_inbox__notifications import (  # noqa: F401 - fixtures used by name
    Collector,
    mailing,
    smtp_server,
    subject,
)
from web.app import scheduler_loop


def clock_of(engine: Engine) -> FakeClock:
    assert isinstance(engine.clock, FakeClock)
    return engine.clock


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-03-<day> hour:minute in Shanghai (UTC+8), as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


async def reminders() -> list[tuple[str, str]]:
    return sorted((n.recipient, n.title) for n in await Notification.filter(kind="task.due_soon"))


def test_lead_is_configurable() -> None:
    assert lead_working_days({}) == 1
    assert lead_working_days({"CIVICFLOW_REMINDER_WORKING_DAYS": "2"}) == 2
    assert lead_working_days({"CIVICFLOW_REMINDER_WORKING_DAYS": "0"}) == 0
    assert lead_working_days({"CIVICFLOW_REMINDER_WORKING_DAYS": "off"}) is None
    assert lead_working_days({"CIVICFLOW_REMINDER_WORKING_DAYS": "soon"}) == 1  # logged, default used


async def test_reminder_one_working_day_before_due_across_a_holiday_sent_once(engine: Engine, client: Any) -> None:
    await add_user("th_clerk2", "通惠经办二", TOWNSHIP, ["township_clerk"])
    await add_user("th_gone", "已停用", TOWNSHIP, ["township_clerk"], active=False)
    engine.calendar = WorkingCalendar(holidays=[date(2026, 3, 3)])  # Tuesday off
    clock_of(engine).set(shanghai(2, 9))  # Monday 09:00
    _, open_task = await start_review(engine)  # 2 working days: due Thursday 23:59:59 (Tuesday skipped)
    _, claimed = await start_review(engine, business_key="CR-2")
    await engine.claim(claimed.id, actor="th_clerk2")
    assert open_task.due_at == shanghai(5, 23, 59) + timedelta(seconds=59)

    for moment in (shanghai(2, 18), shanghai(3, 12), shanghai(3, 23, 59)):  # Monday; the holiday, noon and late
        clock_of(engine).set(moment)
        assert await remind_near_due(engine, lead=1) == 0, moment
    clock_of(engine).set(shanghai(4, 0, 5))  # Wednesday: the working day before the due day
    assert await remind_near_due(engine, lead=1) == 2
    # Unclaimed: the active users who could act on it; claimed: the assignee only.
    assert await reminders() == [("th_clerk", "即将到期:乡镇审查 · CR-1"), ("th_clerk2", "即将到期:乡镇审查 · CR-1"),
                                 ("th_clerk2", "即将到期:乡镇审查 · CR-2")]
    note = await Notification.filter(kind="task.due_soon", recipient="th_clerk").first()
    assert note is not None and "2026-03-05 23:59" in note.body and note.link == f"/tasks/{open_task.id}"
    assert (await fresh(open_task)).reminded_at == shanghai(4, 0, 5)

    for moment in (shanghai(4, 10), shanghai(5, 9), shanghai(5, 23)):  # later sweeps: nothing again
        clock_of(engine).set(moment)
        assert await remind_near_due(engine, lead=1) == 0
    assert len(await reminders()) == 3
    assert await AuditEvent.filter(action="task.reminded").count() == 2
    # Past due: escalation's business, not a reminder.
    clock_of(engine).set(shanghai(6, 9))
    _, late = await start_review(engine, business_key="CR-3")
    await HumanTask.filter(id=late.id).update(due_at=shanghai(6, 8))
    assert await remind_near_due(engine, lead=1) == 0


async def test_lead_of_two_and_none(engine: Engine, client: Any) -> None:
    clock_of(engine).set(shanghai(2, 9))  # Monday; due Wednesday
    await start_review(engine)
    assert await remind_near_due(engine, lead=None) == 0
    assert await remind_near_due(engine, lead=1) == 0  # Monday + 1 WD = Tuesday < Wednesday
    assert await remind_near_due(engine, lead=2) == 1
    assert await reminders() == [("th_clerk", "即将到期:乡镇审查 · CR-1")]


async def test_concurrent_reminder_sweeps_send_once(engine: Engine, client: Any) -> None:
    clock_of(engine).set(shanghai(2, 9))
    for n in range(4):
        await start_review(engine, business_key=f"CR-{n}")
    clock_of(engine).set(shanghai(3, 8))
    counts = await asyncio.gather(*(remind_near_due(engine, lead=1) for _ in range(3)))
    assert sum(counts) == 4
    assert len(await reminders()) == 4


async def test_arrivals_are_batched_one_notice_per_user_per_sweep(engine: Engine, client: Any) -> None:
    await add_user("th_clerk2", "通惠经办二", TOWNSHIP, ["township_clerk"])
    for n in range(12):
        await start_review(engine, business_key=f"CR-{n:02}")
    _, other_township = await start_review(engine, business_key="DS-1", org_unit="511402002", actor="dsq_clerk")
    _, taken = await start_review(engine, business_key="CR-taken")
    await engine.claim(taken.id, actor="th_clerk")  # claimed before the sweep: no arrival notice for it

    assert await announce_arrivals(engine) == 14
    arrived = await Notification.filter(kind="task.arrived").order_by("recipient")
    assert [(n.recipient, n.title) for n in arrived] == [
        ("dsq_clerk", "新到待办:乡镇审查 · DS-1"), ("th_clerk", "新到待办 12 件"), ("th_clerk2", "新到待办 12 件")]
    assert arrived[1].link == "/inbox?sort=-created" and arrived[0].link == f"/tasks/{other_township.id}"
    assert "乡镇审查 · CR-00" in arrived[1].body and "等共 12 件" in arrived[1].body
    assert "CR-10" not in arrived[1].body and "CR-taken" not in arrived[1].body  # ten listed, the rest counted
    assert not await Notification.filter(recipient="th_reviewer").exists()  # other role: not their queue

    assert await announce_arrivals(engine) == 0  # announced once
    await start_review(engine, business_key="CR-new")
    assert await announce_arrivals(engine) == 1
    assert [t for _, t in await inbox_of("th_clerk2")] == ["新到待办 12 件", "新到待办:乡镇审查 · CR-new"]
    # The notice shows in the centre with its label.
    await browser_login(client, "th_clerk")
    centre = (await client.get("/notifications")).text
    assert "新到待办 12 件" in centre and "新到待办:乡镇审查 · CR-new" in centre


async def test_scheduler_loop_sends_reminders_and_arrivals(engine: Engine, client: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("CIVICFLOW_REMINDER_WORKING_DAYS", "2")
    clock_of(engine).set(shanghai(2, 9))
    await start_review(engine)
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler_loop(engine, 0.01, stop=stop))
    try:
        for _ in range(300):
            if await Notification.filter(kind="task.due_soon").exists() and \
                    await Notification.filter(kind="task.arrived").exists():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # more sweeps: still once
    finally:
        stop.set()
        await asyncio.wait_for(loop, 30)
    assert sorted(await inbox_of("th_clerk")) == [("task.arrived", "新到待办:乡镇审查 · CR-1"),
                                                  ("task.due_soon", "即将到期:乡镇审查 · CR-1")]
    assert await sweep(engine) == (0, 0)


async def test_arrival_email_can_be_turned_off_in_the_notification_centre(
        mailing: tuple[Any, Any, Collector], engine: Engine) -> None:  # noqa: F811 - the imported fixture
    client, app, collector = mailing
    await User.filter(username="dsq_clerk").update(email="dsq@example.gov.cn")
    csrf = await browser_login(client, "th_clerk")
    page = (await client.get("/notifications")).text
    assert 'name="email_arrivals" value="on" checked' in page
    r = await client.post("/notifications/email", data={"csrf_token": csrf, "email": "clerk@example.gov.cn"})
    assert r.status_code == 303  # box left unticked: arrivals stay in-app only
    me = await User.get(username="th_clerk")
    assert (me.email, me.email_arrivals) == ("clerk@example.gov.cn", False)
    assert 'name="email_arrivals" value="on">' in (await client.get("/notifications")).text

    clock_of(engine).set(shanghai(2, 9))
    for n in range(3):
        await start_review(engine, business_key=f"CR-{n}")
    await start_review(engine, business_key="DS-1", org_unit="511402002", actor="dsq_clerk")
    assert await announce_arrivals(engine) == 4
    assert await remind_near_due(engine, lead=2) == 4
    await app.state.ctx.mailer.flush()
    mails = sorted((e.rcpt_tos[0], subject(e)) for e in collector.envelopes)
    # th_clerk: the reminders (not arrivals); dsq_clerk, who kept the default: both kinds. One arrival mail each.
    assert mails == sorted([
        ("clerk@example.gov.cn", "[民政业务流程平台] 即将到期:乡镇审查 · CR-0"),
        ("clerk@example.gov.cn", "[民政业务流程平台] 即将到期:乡镇审查 · CR-1"),
        ("clerk@example.gov.cn", "[民政业务流程平台] 即将到期:乡镇审查 · CR-2"),
        ("dsq@example.gov.cn", "[民政业务流程平台] 新到待办:乡镇审查 · DS-1"),
        ("dsq@example.gov.cn", "[民政业务流程平台] 即将到期:乡镇审查 · DS-1")])
    assert await Notification.filter(recipient="th_clerk", kind="task.arrived").count() == 1  # still in-app
    r = await client.post("/notifications/email", data={"csrf_token": csrf, "email": "clerk@example.gov.cn",
                                                        "email_arrivals": "on"})
    assert (await User.get(username="th_clerk")).email_arrivals is True


async def test_inbox_marks_near_due_and_overdue_rows(engine: Engine, client: Any) -> None:
    clock_of(engine).set(shanghai(2, 9))  # Monday
    _, soon = await start_review(engine, business_key="CR-soon")  # due Wednesday: within 3 days
    _, later = await start_review(engine, business_key="CR-later")
    _, late = await start_review(engine, business_key="CR-late")
    await HumanTask.filter(id=later.id).update(due_at=shanghai(20, 9))
    await HumanTask.filter(id=late.id).update(due_at=shanghai(2, 8))
    await browser_login(client, "th_clerk")
    html = (await client.get("/inbox")).text
    row = re.compile(r'<tr class="([^"]*)">\s*<td><input[^>]*>\s*</td>\s*<td><a [^>]*>([^<]+)</a>')
    rows = {m[1]: m[0] for m in row.findall(html)}
    assert rows["乡镇审查 · CR-soon"].strip() == "due-soon" and rows["乡镇审查 · CR-later"] == ""
    assert rows["乡镇审查 · CR-late"] == "overdue"
    assert html.count('<span class="tag tag-warn">即将到期</span>') == 1 and html.count(">超期</span>") == 1

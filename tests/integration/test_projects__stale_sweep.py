"""动态调整 by the scheduler sweep: reserve projects stale beyond N years leave the library (timeline, notification),
with the clock advanced; a project already in a draft release batch, and younger ones, stay."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.models import Notification, ProcessInstance
from projects_registry import lifecycle
from projects_registry.models import Project, ProjectEvent, ReleaseBatchItem
from projects_registry.params import save_parameter
from tests.integration.projects_helpers import CITY, deploy, submission, to_mature, to_reserve
from web.composition import install_workflows


async def sweep(engine: Any) -> None:
    """What one scheduler pass runs before timers and escalation: every package's refresh hook."""
    for refresh in await install_workflows(engine):
        await refresh()


async def stage(p: Project) -> str:
    return (await Project.get(id=p.id)).stage


async def test_sweep_removes_reserve_projects_after_n_years(engine: Any) -> None:
    await deploy(engine)
    engine.clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    waiting = await to_reserve(engine, submission("储备未成熟项目"))  # at 储备, never mature
    mature = await to_mature(engine, submission("已成熟未出库项目", lottery="900000"))
    batched = await to_mature(engine, submission("已列入批次项目"))
    batch = await lifecycle.create_batch(engine, CITY, 2029, "lottery", Decimal("300000"))
    assert await ReleaseBatchItem.filter(batch_id=batch.id).values_list("project_id", flat=True) == [batched.id]
    engine.clock.set(datetime(2027, 6, 1, 1, 0, tzinfo=UTC))
    young = await to_mature(engine, submission("较新项目"))

    engine.clock.set(datetime(2029, 3, 1, 15, 59, tzinfo=UTC))  # 2029-03-01 23:59 in Shanghai: not yet 3 years
    await sweep(engine)
    assert [await stage(p) for p in (waiting, mature, batched, young)] == ["reserve", "mature", "mature", "mature"]

    engine.clock.set(datetime(2029, 3, 1, 16, 0, tzinfo=UTC))  # 2029-03-02 00:00 in Shanghai: 3 whole years
    await sweep(engine)
    assert [await stage(p) for p in (waiting, mature, batched, young)] == ["removed", "removed", "mature", "mature"]
    for p in (waiting, mature):
        assert (await ProcessInstance.get(id=p.instance_id)).status == "completed"
        event = await ProjectEvent.filter(project_id=p.id).order_by("-id").first()
        assert event is not None and event.action == "动态调整:超期移出项目库" and event.actor == "scheduler"
        assert "入库日期 2026-03-02" in event.detail and "3 年" in event.detail
    notes = await Notification.filter(recipient="dp_pm", kind="project.removed").order_by("id")
    assert [n.link for n in notes] == [f"/projects/{waiting.id}", f"/projects/{mature.id}"]

    await sweep(engine)  # idempotent: nothing more to remove, nothing recorded twice
    assert await ProjectEvent.filter(action="动态调整:超期移出项目库").count() == 2
    assert await lifecycle.confirm_batch(engine, CITY, batch) == 1  # the batched project was left releasable
    assert await stage(batched) == "released"


async def test_the_limit_is_the_parameter(engine: Any) -> None:
    await deploy(engine)
    p = await to_mature(engine)
    await save_parameter("stale_years", 5, actor="admin", now=engine.clock.now())
    engine.clock.set(datetime(2030, 3, 2, 1, 0, tzinfo=UTC))  # 4 years later
    await sweep(engine)
    assert await stage(p) == "mature"
    engine.clock.set(datetime(2031, 3, 2, 1, 0, tzinfo=UTC))
    await sweep(engine)
    assert await stage(p) == "removed"

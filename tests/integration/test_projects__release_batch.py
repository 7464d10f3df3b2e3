"""成熟一批、出库一批: the proposal never exceeds the budget; confirming moves every project or none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.models import AuditEvent, HumanTask, ProcessInstance
from projects_registry import lifecycle
from projects_registry.models import Project, ReleaseBatch, ReleaseBatchItem
from tests.integration.projects_helpers import CITY, deploy, submission, to_mature

D = Decimal


async def snapshot(ids: list[int]) -> list[tuple[Any, ...]]:
    rows = []
    for p in await Project.filter(id__in=ids).order_by("id"):
        inst = await ProcessInstance.get(id=p.instance_id)
        tasks = await HumanTask.filter(instance_id=p.instance_id, state="READY").values_list("bpmn_id", flat=True)
        rows.append((p.stage, p.version, p.plan_year, inst.version, sorted(tasks)))
    return rows


async def test_proposal_ranks_by_score_and_fits_the_remaining_budget(engine: Any) -> None:
    await deploy(engine)
    a = await to_mature(engine, submission("A", lottery="300000"), score=90)
    b = await to_mature(engine, submission("B", lottery="250000"), score=80)
    c = await to_mature(engine, submission("C", lottery="150000"), score=75)
    first = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("500000"))
    items = await ReleaseBatchItem.filter(batch_id=first.id).order_by("rank").values_list("project_id", flat=True)
    assert list(items) == [a.id, c.id]  # B (250k) does not fit after A; C (150k) does
    await lifecycle.confirm_batch(engine, CITY, first)
    proposal = await lifecycle.propose(CITY, 2026, "lottery", D("500000"))
    assert proposal.committed == D("450000") and proposal.remaining_before == D("50000")
    assert proposal.chosen == [] and [x.project_id for x in proposal.skipped] == [b.id]
    second = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("500000"))
    with pytest.raises(lifecycle.ProjectError, match="超过可安排额度"):
        await lifecycle.adjust_batch(CITY, second, add=b.id)


async def test_confirm_moves_all_projects_in_one_transaction(engine: Any) -> None:
    await deploy(engine)
    ps = [await to_mature(engine, submission(f"项目{i}", lottery="100000"), score=80 + i) for i in range(3)]
    batch = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("1000000"))
    assert await lifecycle.confirm_batch(engine, CITY, batch) == 3
    assert {s[0] for s in await snapshot([p.id for p in ps])} == {"released"}
    assert (await ReleaseBatch.get(id=batch.id)).status == "confirmed"
    with pytest.raises(lifecycle.BatchConflict, match="已被确认"):
        await lifecycle.confirm_batch(engine, CITY, batch)


async def test_a_project_changed_after_batching_refuses_the_whole_batch(engine: Any) -> None:
    await deploy(engine)
    ps = [await to_mature(engine, submission(f"项目{i}", lottery="100000"), score=90 - i) for i in range(3)]
    ids = [p.id for p in ps]
    batch = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("1000000"))
    before = await snapshot(ids)
    # Meanwhile the LAST project of the batch is removed from the reserve: the first two would already have been
    # moved inside the transaction when the third is found changed.
    await lifecycle.remove_from_reserve(engine, CITY, ps[2], "动态调整")
    before[2] = (await snapshot([ps[2].id]))[0]
    events_before = await AuditEvent.all().count()
    with pytest.raises(lifecycle.BatchConflict, match=f"项目 {ps[2].code}「项目2」在编制批次后已发生变化"):
        await lifecycle.confirm_batch(engine, CITY, batch)
    assert await snapshot(ids) == before  # nothing moved: not the projects, not the workflow instances
    assert before[0][0] == "mature" and before[0][4] == ["Task_release"]
    assert await AuditEvent.all().count() == events_before
    assert (await ReleaseBatch.get(id=batch.id)).status == "draft"


async def test_a_reassessed_project_has_a_new_version_and_blocks_confirmation(engine: Any) -> None:
    await deploy(engine)
    p = await to_mature(engine, submission("甲"))
    q = await to_mature(engine, submission("乙"))
    batch = await lifecycle.create_batch(engine, CITY, 2026, "lottery", D("1000000"))
    await Project.filter(id=q.id).update(version=q.version + 1)  # any concurrent write bumps the version
    with pytest.raises(lifecycle.BatchConflict):
        await lifecycle.confirm_batch(engine, CITY, batch)
    assert {x.stage for x in await Project.filter(id__in=[p.id, q.id])} == {"mature"}
    await lifecycle.adjust_batch(CITY, batch, remove=q.id)
    assert await lifecycle.confirm_batch(engine, CITY, batch) == 1
    assert (await Project.get(id=p.id)).stage == "released"

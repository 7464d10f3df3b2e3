from __future__ import annotations

from typing import Any

from projects_registry.demo import seed_demo
from projects_registry.models import Project
from tests.integration.projects_helpers import deploy


async def test_demo_projects_cover_the_pipeline(engine: Any) -> None:
    await deploy(engine)
    assert await seed_demo(engine) == 32
    stages = set(await Project.all().values_list("stage", flat=True))
    assert {"county_review", "revision", "city_review", "rejected", "reserve", "mature", "implementing",
            "acceptance", "self_evaluation", "closed", "removed"} <= stages
    assert set(await Project.filter(stage="closed").values_list("grade", flat=True)) >= {"差"}
    assert await seed_demo(engine) == 0  # idempotent

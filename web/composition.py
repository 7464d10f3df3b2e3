"""The composition root: which packages own tables, and the database config built from them."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from engine.db import ENGINE_APP, tortoise_config
from engine.runtime import Engine

APPS: list[tuple[str, str, str]] = [
    ENGINE_APP,
    ("common", "workflows.common.models", "workflows.common.migrations"),
    ("dibao", "workflows.dibao.models", "workflows.dibao.migrations"),
    ("webui", "web.models", "web.migrations"),
    ("social_org", "workflows.social_org.models", "workflows.social_org.migrations"),
    ("projects", "projects_registry.models", "projects_registry.migrations"),
    ("cemetery", "workflows.cemetery.models", "workflows.cemetery.migrations"),
]


def db_config(url: str, connection: str = "default") -> dict[str, Any]:
    return tortoise_config(url, APPS, connection)


# For the `tortoise` command line (makemigrations).
TORTOISE_ORM = db_config(os.environ.get("CIVICFLOW_DATABASE_URL", "sqlite://data/civicflow.db"))


async def install_workflows(engine: Engine) -> list[Callable[[], Awaitable[None]]]:
    """Let each procedure package register its routers and services; returns their refresh hooks."""
    from projects_registry import services as projects
    from workflows.cemetery import services as cemetery
    from workflows.dibao import services as dibao
    from workflows.social_org import services as social_org

    return [await dibao.install(engine), await cemetery.install(engine), await social_org.install(engine),
            await projects.install(engine)]

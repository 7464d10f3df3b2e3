"""Hooks of the project library into the running system: the scheduler sweep's 动态调整 (stale reserve removal)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from engine.runtime import Engine
from projects_registry import lifecycle

log = logging.getLogger("civicflow.projects")


async def install(engine: Engine) -> Callable[[], Awaitable[None]]:
    """Returns the scheduler-sweep hook (cheap when nothing is stale: one indexed query)."""

    async def refresh() -> None:
        removed = await lifecycle.remove_stale(engine)
        if removed:
            log.info("动态调整: removed stale reserve projects %s", ", ".join(removed))

    return refresh

"""What the application installs into the engine for 公墓年检: the services the diagram calls and the router.

Service tasks run synchronously inside the engine step: they decide and return plain data, never write. The
router (see `inspection.py`) carries those decisions into the cemetery tables inside the engine's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from engine.runtime import Engine, StepContext
from workflows.cemetery.checklist import ensure_template
from workflows.cemetery.inspection import (
    PROCESS_KEY,
    end_of_day,
    local_day,
    make_router,
    sync,
    sync_open_inspections,
)
from workflows.cemetery.models import SALES_STATUSES


def make_services(engine: Engine) -> dict[str, Callable[..., str]]:
    def cemetery_due(days: int) -> str:
        """The end (Asia/Shanghai) of the calendar day `days` days from today, as an ISO datetime for timers."""
        if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 366:
            raise ValueError(f"days must be 1..366, not {days!r}")
        return end_of_day(local_day(engine.clock.now()) + timedelta(days=days)).isoformat()

    def cemetery_sales_status(status: str) -> str:
        """The sales status the register must take (applied by the router, through the freeze rule)."""
        if status not in SALES_STATUSES:
            raise ValueError(f"unknown sales status {status!r}")
        return status

    return {"cemetery_due": cemetery_due, "cemetery_sales_status": cemetery_sales_status}


async def install(engine: Engine) -> Callable[[], Awaitable[None]]:
    """Register services and the router; seed the checklist template; returns the scheduler-sweep hook."""
    await ensure_template()
    engine.register_services(make_services(engine))
    engine.register_router(PROCESS_KEY, make_router(engine))

    async def follow(ctx: StepContext) -> None:
        # After every step, inside the engine's transaction: a step that ends the instance (合格, 延期年检 with
        # no open task, a closing escalation) takes effect at once, from whichever caller (page, API, timer).
        await sync(ctx.instance, now=ctx.now, actor=ctx.actor or "engine", data=ctx.data)

    engine.register_listener(PROCESS_KEY, follow)

    async def refresh() -> None:
        await sync_open_inspections(engine.clock.now())

    return refresh

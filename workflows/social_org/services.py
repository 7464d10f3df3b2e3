"""What the application installs into the engine for social organizations.

Both diagrams route by their instance's org unit (the registration authority) and the lane roles, so no
router is needed and no service task is called. The step listeners (workflows.social_org.listeners) check the
基金会 audit report and project the domain rows inside the engine transaction. What runs here besides is the
sweep: the same projection as a catch-up, then the credit-list time rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from engine.calendar import local_date
from engine.runtime import Engine
from workflows.social_org import credit, listeners
from workflows.social_org.projection import Projector
from workflows.social_org.spot_check import checklist_template


async def install(engine: Engine) -> Callable[[], Awaitable[None]]:
    """Seed the checklist template; return the refresh coroutine for the scheduler sweep."""
    await checklist_template()
    listeners.register(engine)
    projector = Projector()

    async def refresh() -> None:
        now = engine.clock.now()
        await projector.run(now)
        await credit.sweep(local_date(now))

    return refresh

"""Who decides 审核确认: the county, or the case's township where the county has delegated confirmation.

The diagram has ONE confirmation task (``Task_confirm``, candidate role ``county_reviewer`` at the county). Whether a
township confirms instead is not drawn as a lane: it depends on the delegation registry and the date, so it is
computed here when the task is created (低保办法 20; 2022 通知 on delegating 审核确认 to townships).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from engine.orgs import ancestors_by_level
from engine.runtime import RouteContext, TaskRoute, TaskRouter

PROCESS_KEY = "dibao_approval"
CONFIRM_TASK = "Task_confirm"
TOWNSHIP_ROLE = "township_reviewer"
COUNTY_ROLE = "county_reviewer"

# (township code, decision date) -> has the county delegated 低保 confirmation to this township on that date?
DelegationCheck = Callable[[str, datetime], Awaitable[bool]]


async def case_township_and_county(org_path: str) -> tuple[str | None, str | None]:
    """The township and county on a case's org path ("/511400/511402/511402001/[village/]"), by OrgUnit.level.

    A case filed at a village resolves to its township ancestor; a case filed at the township is its own township.
    """
    by_level = await ancestors_by_level(org_path, ("township", "county"))
    return by_level.get("township"), by_level.get("county")


def make_confirm_router(is_delegated: DelegationCheck) -> TaskRouter:
    """A TaskRouter for ``dibao_approval``: routes ``Task_confirm``; every other task keeps the default routing."""

    async def route(ctx: RouteContext) -> TaskRoute | None:
        if ctx.meta.bpmn_id != CONFIRM_TASK:
            return None
        township, county = await case_township_and_county(ctx.instance.org_path)
        if township is not None and await is_delegated(township, ctx.now):
            return TaskRoute(TOWNSHIP_ROLE, township)
        if county is not None:
            return TaskRoute(COUNTY_ROLE, county)
        return None  # a case outside any county: the diagram's default (county_reviewer, orgLevel county)

    return route

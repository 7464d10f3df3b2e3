"""What the application installs into the engine for 低保: the confirm router and the standard service.

Service tasks run synchronously inside the engine step, so the standards (a few dozen rows) and the
county of each org unit are held in memory and refreshed by the scheduler sweep and after edits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal

from engine.models import OrgUnit
from engine.runtime import Engine
from workflows.dibao.cases import make_tracker
from workflows.dibao.models import AssistanceStandard
from workflows.dibao.registry import is_delegated, local_date
from workflows.dibao.routing import PROCESS_KEY, make_confirm_router


class StandardTable:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: list[tuple[str | None, str, str, date, Decimal]] = []
        self.county_of: dict[str, str] = {}

    async def refresh(self) -> None:
        rows = await AssistanceStandard.all().values_list("county_code", "area_type", "benefit_type",
                                                          "effective_from", "monthly_amount")
        self.rows = sorted(((r[0], r[1], r[2], r[3], Decimal(str(r[4]))) for r in rows), key=lambda r: r[3],
                           reverse=True)
        counties = {c: p for c, p in await OrgUnit.filter(level="county").values_list("code", "path")}
        self.county_of = {}
        for code, path in await OrgUnit.all().values_list("code", "path"):
            self.county_of[code] = next((c for c in counties if f"/{c}/" in path), "")

    def lookup(self, area_type: str, org_unit: str, day: date, benefit: str = "dibao") -> Decimal:
        county = self.county_of.get(org_unit, "")
        candidates = [r for r in self.rows if r[1] == area_type and r[2] == benefit and r[3] <= day]
        own = next((r for r in candidates if county and r[0] == county), None)
        found = own or next((r for r in candidates if r[0] is None), None)
        if found is None:
            raise ValueError(f"no {benefit} standard for {area_type} in {org_unit or 'the city'} on {day}")
        return found[4]

    def service(self, area_type: str, org_unit: str = "") -> float:
        """`dibao_standard(area_type, org_unit)` for the diagram: the standard in force today."""
        if area_type not in ("urban", "rural"):
            raise ValueError(f"area_type must be urban or rural, not {area_type!r}")
        return float(self.lookup(area_type, org_unit, local_date(self.engine.clock.now())))


async def install(engine: Engine) -> Callable[[], Awaitable[None]]:
    """Register routing and services; returns the refresh coroutine for the scheduler sweep."""
    table = StandardTable(engine)
    await table.refresh()
    engine.register_services({"dibao_standard": table.service})
    engine.register_router(PROCESS_KEY, make_confirm_router(is_delegated))
    engine.register_listener(PROCESS_KEY, make_tracker(engine))
    return table.refresh

"""What the application installs into the engine for 低保: the confirm router and the standard service.

Service tasks run synchronously inside the engine step, so the standards (a few dozen rows) and the
county of each org unit are held in memory and refreshed by the scheduler sweep and after edits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

from engine.models import OrgUnit
from engine.runtime import Engine
from workflows.dibao.amount import DEFAULT_BANDS, SPECIAL_GROUPS, Member, compute_allowance
from workflows.dibao.cases import make_tracker
from workflows.dibao.models import AssistanceStandard, CountyBands, CountyMethod
from workflows.dibao.registry import is_delegated, local_date
from workflows.dibao.routing import PROCESS_KEY, make_confirm_router


class StandardTable:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: list[tuple[str | None, str, str, date, Decimal]] = []
        self.county_of: dict[str, str] = {}
        self.methods: list[tuple[str, date, str]] = []  # county, effective from, method (newest first)
        self.bands: list[tuple[str, date, list[tuple[Decimal, Decimal]], str]] = []  # county, from, bands, label
        self.county_names: dict[str, str] = {}

    async def refresh(self) -> None:
        rows = await AssistanceStandard.all().values_list("county_code", "area_type", "benefit_type",
                                                          "effective_from", "monthly_amount")
        self.rows = sorted(((r[0], r[1], r[2], r[3], Decimal(str(r[4]))) for r in rows), key=lambda r: r[3],
                           reverse=True)
        methods = await CountyMethod.all().order_by("-effective_from", "-id").values_list(
            "county_code", "effective_from", "method")
        self.methods = [(str(c), d, str(m)) for c, d, m in methods]
        rows_b = await CountyBands.all().order_by("-effective_from", "-id")
        counties = {c: p for c, p in await OrgUnit.filter(level="county").values_list("code", "path")}
        self.county_names = dict(await OrgUnit.filter(level="county").values_list("code", "name"))
        self.bands = [(b.county_code, b.effective_from,
                       [(Decimal(r["to"]), Decimal(r["pay"])) for r in b.bands],
                       f"{self.county_names.get(b.county_code, b.county_code)} {b.effective_from} 起"
                       + (f",{b.document_no}" if b.document_no else "")) for b in rows_b]
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

    def method(self, org_unit: str, day: date) -> str:
        """The county's amount method in force on that day: gap (差额法) unless the county set banded (分档法)."""
        county = self.county_of.get(org_unit, "")
        return next((m for c, start, m in self.methods if c == county and start <= day), "gap")

    def bands_for(self, org_unit: str, day: date) -> tuple[list[tuple[Decimal, Decimal]], str]:
        """The county's band table in force on that day and its label; the default table where none is set."""
        county = self.county_of.get(org_unit, "")
        found = next(((b, label) for c, start, b, label in self.bands if county and c == county and start <= day),
                     None)
        return found if found is not None else (list(DEFAULT_BANDS), "默认分档表(本县区未登记分档表)")

    def allowance(self, standard: float, household_size: int, verified_monthly_income: float,
                  members: list[dict[str, Any]] | None, income_items: list[dict[str, Any]] | None,
                  single_person_application: bool = False, method: str = "gap", k: float = 0.10,
                  org_unit: str = "") -> dict[str, Any]:
        """`dibao_allowance(..., org_unit=...)` for the diagram: the banded method uses the band table of the
        case county in force today (the decision day: the amount is fixed right after 审核确认)."""
        bands, label = self.bands_for(org_unit, local_date(self.engine.clock.now()))
        return allowance_service(standard, household_size, verified_monthly_income, members, income_items,
                                 single_person_application, method, k, bands=bands, bands_label=label)

    def method_service(self, org_unit: str = "") -> str:
        """`dibao_method(org_unit)` for the diagram: the case county's method in force today."""
        return self.method(org_unit, local_date(self.engine.clock.now()))

    def service(self, area_type: str, org_unit: str = "") -> float:
        """`dibao_standard(area_type, org_unit)` for the diagram: the standard in force today."""
        if area_type not in ("urban", "rural"):
            raise ValueError(f"area_type must be urban or rural, not {area_type!r}")
        return float(self.lookup(area_type, org_unit, local_date(self.engine.clock.now())))


def allowance_service(standard: float, household_size: int, verified_monthly_income: float,
                      members: list[dict[str, Any]] | None, income_items: list[dict[str, Any]] | None,
                      single_person_application: bool = False, method: str = "gap",
                      k: float = 0.10, org_unit: str = "", bands: list[tuple[Decimal, Decimal]] | None = None,
                      bands_label: str = "") -> dict[str, Any]:
    """`dibao_allowance(...)` for the diagram: the amount with its explanation (workflows.dibao.amount).

    ``org_unit`` is accepted for the diagram's call and ignored here (StandardTable.allowance looks the county's
    band table up); without ``bands`` the banded method uses the default table.
    Income items (category → amount) are used when the 核对 recorded them; otherwise the verified monthly
    total counts as one counted item. With a single-person application only the applicant is covered.
    """
    size = max(int(household_size), 1)
    listed = list(members or [])[:size]
    people = [(str(m.get("name") or f"成员{i + 1}"), str(m.get("relation") or ""), str(m.get("special") or "none"))
              for i, m in enumerate(listed)]
    people += [(f"成员{i + 1}", "", "none") for i in range(len(people), size)]
    incomes: dict[str, Decimal] = {}
    for item in income_items or []:
        category = str(item.get("category"))
        incomes[category] = incomes.get(category, Decimal(0)) + Decimal(str(item.get("amount") or 0))
    if not incomes:
        incomes = {"other": Decimal(str(verified_monthly_income or 0))}
    applicant = next((i for i, p in enumerate(people) if p[1] == "applicant"), 0)
    household = [Member(name, incomes if i == 0 else {}, covered=not single_person_application or i == applicant,
                        special=(special,) if special in SPECIAL_GROUPS else ())
                 for i, (name, _, special) in enumerate(people)]
    result = compute_allowance(household, Decimal(str(standard)), method=method, k=Decimal(str(k)),
                               bands=bands or DEFAULT_BANDS, bands_label=bands_label)
    return {"eligible": result.eligible, "monthly_amount": float(result.monthly_amount),
            "per_capita_income": float(result.per_capita_income), "covered_members": result.covered_members,
            "explanation": ";".join(result.steps)}


async def install(engine: Engine) -> Callable[[], Awaitable[None]]:
    """Register routing and services; returns the refresh coroutine for the scheduler sweep."""
    table = StandardTable(engine)
    await table.refresh()
    engine.register_services({"dibao_standard": table.service, "dibao_allowance": table.allowance,
                              "dibao_method": table.method_service})
    engine.register_router(PROCESS_KEY, make_confirm_router(is_delegated))
    engine.register_listener(PROCESS_KEY, make_tracker(engine))
    return table.refresh

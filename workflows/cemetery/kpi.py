"""公墓年检 figures, always within the asking actor's subtree (org path prefix).

    campaign_progress     per county: due, started, published; 合格 / 限期整改 / 延期年检
    pass_share            合格 ÷ published outcomes
    eco_burial_share      eco-burial places ÷ all places, over public-welfare cemeteries
    overdue_rectifications open rectification items past their due date

Each figure links to the list behind it: the register filtered with `filter_by_result` (and the overdue list).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from engine.authz import Actor
from engine.models import OrgUnit
from workflows.cemetery.models import Cemetery, CemeteryInspection, Rectification


def share(part: int, whole: int) -> Decimal | None:
    """A ratio rounded to 4 places (0.1234 = 12.34%); None when there is nothing to divide by."""
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass
class CountyProgress:
    county_code: str
    county_name: str
    due: int = 0  # cemeteries in the register that are not closed
    started: int = 0
    published: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"pass": 0, "rectify": 0, "defer": 0})

    @property
    def progress(self) -> Decimal | None:
        return share(self.published, self.due)


async def campaign_progress(actor: Actor, year: int) -> list[CountyProgress]:
    counties = await OrgUnit.filter(level="county", path__startswith=actor.org_path).order_by("code")
    if not counties:  # a township user: its own county row, limited to its subtree
        own = [c for c in actor.org_path.strip("/").split("/") if c]
        counties = await OrgUnit.filter(level="county", code__in=own)
    rows = {c.code: CountyProgress(c.code, c.name) for c in counties}
    for county_code in await Cemetery.filter(org_path__startswith=actor.org_path).exclude(
            status="closed").values_list("county_code", flat=True):
        if str(county_code) in rows:
            rows[str(county_code)].due += 1
    inspections = await CemeteryInspection.filter(year=year, org_path__startswith=actor.org_path).values_list(
        "cemetery__county_code", "outcome", "published_at")
    for county_code, outcome, published_at in inspections:
        row = rows.get(str(county_code))
        if row is None:
            continue
        row.started += 1
        if outcome and published_at:
            row.published += 1
            row.outcomes[str(outcome)] = row.outcomes.get(str(outcome), 0) + 1
    return list(rows.values())


def totals(rows: list[CountyProgress], county_name: str = "合计") -> CountyProgress:
    total = CountyProgress("", county_name)
    for r in rows:
        total.due += r.due
        total.started += r.started
        total.published += r.published
        for k, v in r.outcomes.items():
            total.outcomes[k] = total.outcomes.get(k, 0) + v
    return total


async def pass_counts(actor: Actor, year: int) -> tuple[int, int]:
    """(合格, published outcomes) of the year."""
    published = CemeteryInspection.filter(year=year, org_path__startswith=actor.org_path, published_at__isnull=False)
    return await published.filter(outcome="pass").count(), await published.count()


async def pass_share(actor: Actor, year: int) -> Decimal | None:
    return share(*await pass_counts(actor, year))


async def eco_burial_counts(actor: Actor) -> tuple[int, int]:
    """(eco-burial places, single + double places) over the public-welfare cemeteries that are not closed."""
    rows = await Cemetery.filter(org_path__startswith=actor.org_path, cemetery_type="public_welfare").exclude(
        status="closed").values_list("plots_eco", "plots_single", "plots_double")
    return sum(int(r[0]) for r in rows), sum(int(r[1]) + int(r[2]) for r in rows)


async def eco_burial_share(actor: Actor) -> Decimal | None:
    return share(*await eco_burial_counts(actor))


# The register list behind each figure: `/cemetery?year=&result=` (and county=, type=) selects these cemeteries.
RESULT_FILTERS = {"due": "应检(未关闭)", "unstarted": "未启动", "started": "已启动", "published": "已公布结论",
                  "pass": "合格", "rectify": "限期整改", "defer": "延期年检"}


def filter_by_result(qs: QuerySet[Cemetery], result: str, year: int) -> QuerySet[Cemetery]:
    """Cemeteries counted by one cell of `campaign_progress` (the same rules, so the list adds up to the figure)."""
    inspections = CemeteryInspection.filter(year=year)
    if result == "due":
        return qs.exclude(status="closed")
    if result == "unstarted":
        return qs.exclude(status="closed").exclude(id__in=Subquery(inspections.values("cemetery_id")))
    if result == "started":
        return qs.filter(id__in=Subquery(inspections.values("cemetery_id")))
    published = inspections.filter(published_at__isnull=False, outcome__isnull=False)
    if result == "published":
        return qs.filter(id__in=Subquery(published.values("cemetery_id")))
    if result in ("pass", "rectify", "defer"):
        return qs.filter(id__in=Subquery(published.filter(outcome=result).values("cemetery_id")))
    return qs


async def overdue_rectifications(actor: Actor, today: date) -> list[Rectification]:
    return list(await Rectification.filter(status="open", due_on__lt=today,
                                           inspection__org_path__startswith=actor.org_path)
                .select_related("inspection__cemetery").order_by("due_on", "id"))

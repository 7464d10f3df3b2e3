"""Read-side queries of the project library, every one scoped by an org path (ORM code lives with its tables)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from tortoise.queryset import QuerySet

from engine.authz import Actor
from projects_registry.models import (
    CATEGORIES,
    PIPELINE,
    Evaluation,
    FundingLine,
    Project,
    ReleaseBatch,
    ReleaseBatchItem,
)


def visible_projects(actor: Actor) -> QuerySet[Project]:
    return Project.filter(org_path__startswith=actor.org_path)


async def project_for(actor: Actor, project_id: int) -> Project | None:
    return await visible_projects(actor).filter(id=project_id).first()


async def committed_amount(year: int, source: str, *, exclude: int | None = None) -> Decimal:
    """What confirmed batches of that year and source already took."""
    query = ReleaseBatchItem.filter(batch__year=year, batch__source=source, batch__status="confirmed")
    if exclude is not None:
        query = query.exclude(batch_id=exclude)
    amounts = await query.values_list("amount", flat=True)
    return sum((Decimal(str(a)) for a in amounts), Decimal(0))


@dataclass
class StageColumn:
    stage: str
    projects: list[Project] = field(default_factory=list)
    amount: Decimal = Decimal(0)


async def board(actor: Actor, *, county: str = "", category: str = "", source: str = "") -> list[StageColumn]:
    query = visible_projects(actor)
    if county:
        query = query.filter(org_path__contains=f"/{county}/")
    if category:
        query = query.filter(category=category)
    if source:
        ids = await FundingLine.filter(source=source, amount__gt=0).values_list("project_id", flat=True)
        query = query.filter(id__in=list(ids))
    columns = {s: StageColumn(s) for s in PIPELINE}
    for p in await query.order_by("-review_score", "code"):
        col = columns.setdefault(p.stage, StageColumn(p.stage))
        col.projects.append(p)
        col.amount += Decimal(str(p.total_budget))
    return list(columns.values())


@dataclass
class PublicSummary:
    year: int
    project_count: int
    lottery_total: Decimal
    by_category: dict[str, tuple[int, Decimal]]
    grades: dict[str, int]
    rows: list[tuple[str, str, str, Decimal, str]]  # code, name, category label, 公益金 amount, grade


async def public_summary(year: int) -> PublicSummary:
    """公益金 use in `year`: released projects funded from 福彩公益金. Unit names only, no personal data."""
    items = await ReleaseBatchItem.filter(batch__year=year, batch__source="lottery",
                                          batch__status="confirmed").select_related("project")
    by_category: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    grades: dict[str, int] = defaultdict(int)
    rows = []
    for item in sorted(items, key=lambda i: i.project.code):
        p, amount = item.project, Decimal(str(item.amount))
        n, total = by_category[p.category]
        by_category[p.category] = (n + 1, total + amount)
        if p.grade:
            grades[p.grade] += 1
        rows.append((p.code, p.name, CATEGORIES.get(p.category, p.category), amount, p.grade or "未评价"))
    return PublicSummary(year, len(rows), sum((r[3] for r in rows), Decimal(0)), dict(by_category), dict(grades),
                         rows)


async def public_years() -> list[int]:
    years = await ReleaseBatch.filter(status="confirmed", source="lottery").distinct().values_list("year", flat=True)
    return sorted({int(str(y)) for y in years}, reverse=True)


async def evaluations(project: Project) -> list[Evaluation]:
    return await Evaluation.filter(project_id=project.id).order_by("created_at")

"""Queries over the delegation registry and the standards table (ORM code lives with its tables)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from tortoise.expressions import Q

from engine.calendar import local_date
from engine.models import OrgUnit
from engine.orgs import ancestors_by_level
from workflows.dibao.models import AssistanceStandard, Delegation


async def ancestor(code: str, level: str) -> OrgUnit | None:
    """The org unit at `level` on the path of `code` (itself included)."""
    org = await OrgUnit.get_or_none(code=code)
    found = (await ancestors_by_level(org.path, [level])).get(level) if org is not None else None
    return await OrgUnit.get_or_none(code=found) if found is not None else None


async def active_delegation(township_code: str, when: datetime | date, benefit: str = "dibao") -> Delegation | None:
    """The delegation in force for this township on this date, or None (the county decides)."""
    township = await ancestor(township_code, "township")
    county = await ancestor(township_code, "county")
    if township is None or county is None:
        return None
    day = local_date(when)
    return await Delegation.filter(
        Q(township_code=None) | Q(township_code=township.code),
        Q(effective_to=None) | Q(effective_to__gt=day),
        county_code=county.code, benefit_type=benefit, effective_from__lte=day,
    ).order_by("-effective_from").first()


async def is_delegated(township_code: str, when: datetime | date, benefit: str = "dibao") -> bool:
    return await active_delegation(township_code, when, benefit) is not None


async def standard_for(org_code: str, area_type: str, when: datetime | date,
                       benefit: str = "dibao") -> AssistanceStandard | None:
    """The county's own standard in force on that date, else the city-wide one."""
    county = await ancestor(org_code, "county")
    day = local_date(when)
    base = AssistanceStandard.filter(area_type=area_type, benefit_type=benefit, effective_from__lte=day)
    if county is not None:
        own = await base.filter(county_code=county.code).order_by("-effective_from").first()
        if own is not None:
            return own
    return await base.filter(county_code=None).order_by("-effective_from").first()


# The plan's figures (yuan/person/month, city-wide): 2016 urban 420 / rural 260; 2020 urban 630 / rural 450.
PLAN_STANDARDS = [
    ("urban", Decimal("420"), date(2016, 1, 1), "十四五规划 2016 年标准"),
    ("rural", Decimal("260"), date(2016, 1, 1), "十四五规划 2016 年标准"),
    ("urban", Decimal("630"), date(2020, 1, 1), "十四五规划 2020 年标准"),
    ("rural", Decimal("450"), date(2020, 1, 1), "十四五规划 2020 年标准"),
]


async def seed_plan_standards() -> int:
    created = 0
    for area, amount, start, doc in PLAN_STANDARDS:
        _, was_created = await AssistanceStandard.get_or_create(
            county_code=None, area_type=area, benefit_type="dibao", effective_from=start,
            defaults={"monthly_amount": amount, "document_no": doc})
        created += was_created
    return created

"""Plan KPIs for social organizations (眉山市"十四五"民政规划): 年检率 ≥ 90%, 抽查 ≥ 4%, 联合检查 ≥ 6%.

Each function returns a `Rate` (numerator, denominator, target) for one year and one scope (an org path
prefix of the registration authorities), so the dashboard and the campaign / spot-check pages agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.social_org.models import AnnualInspection, SocialOrganization, SpotCheckPlan

INSPECTION_RATE_TARGET = 0.90
SPOT_CHECK_TARGET = 0.04
JOINT_CHECK_TARGET = 0.06


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    target: float

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def met(self) -> bool:
        return self.value is not None and self.value >= self.target

    @property
    def percent(self) -> str:
        return "—" if self.value is None else f"{self.value * 100:.1f}%"


async def inspection_rate(year: int, scope_path: str = "/") -> Rate:
    """年检率 = organizations with a conclusion ÷ organizations due (every inspection launched for the year)."""
    rows = AnnualInspection.filter(year=year, authority_path__startswith=scope_path)
    due = await rows.count()
    inspected = await rows.filter(conclusion__not_isnull=True).count()
    return Rate(inspected, due, INSPECTION_RATE_TARGET)


async def registered(scope_path: str) -> int:
    return await SocialOrganization.filter(authority_path__startswith=scope_path, status="active").count()


async def _drawn(year: int, scope_path: str, plan_type: str) -> int:
    ks = await SpotCheckPlan.filter(year=year, authority_path__startswith=scope_path,
                                    plan_type=plan_type).values_list("k", flat=True)
    return sum(int(str(k)) for k in ks)


async def spot_check_ratio(year: int, scope_path: str = "/") -> Rate:
    """抽查比例 = organizations drawn for random spot checks ÷ active registrations."""
    return Rate(await _drawn(year, scope_path, "random"), await registered(scope_path), SPOT_CHECK_TARGET)


async def joint_check_ratio(year: int, scope_path: str = "/") -> Rate:
    """联合检查比例 = organizations drawn for joint inspections ÷ active registrations."""
    return Rate(await _drawn(year, scope_path, "joint"), await registered(scope_path), JOINT_CHECK_TARGET)

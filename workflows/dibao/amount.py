"""低保 eligibility and monthly amount, with an explanation of every step.

Income per 低保办法 13: counted categories (工资性, 经营净, 财产净, 转移净, other); excluded items (优抚金,
计生奖励扶助, 奖学金, 见义勇为奖励, assistance money, 城乡居民基本养老保险基础养老金 during the 14th FYP);
deductible rigid costs (disability, serious illness, necessary employment costs).

    gap method (差额法):    (S − per-capita income) × covered members
    banded method (分档法): per-capita income falls into a band → band share of S × covered members
    uplift (plan ch.3 §2):  + k × S for each covered elderly / minor / severely disabled / seriously ill member

All money is Decimal, rounded to 0.01 yuan (half up) at the end of each step shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

COUNTED = {"wage": "工资性收入", "business": "经营净收入", "property": "财产净收入", "transfer": "转移净收入",
           "other": "其他收入"}
EXCLUDED = {"youfu": "优抚金", "family_planning": "计划生育奖励扶助金", "scholarship": "奖学金",
            "heroism": "见义勇为奖励", "assistance": "社会救助金",
            "basic_pension": "城乡居民基本养老保险基础养老金"}
DEDUCTIBLE = {"disability_costs": "残疾刚性支出", "illness_costs": "重病刚性支出", "employment_costs": "必要就业成本"}
SPECIAL_GROUPS = {"elderly": "老年人", "minor": "未成年人", "severe_disability": "重度残疾人",
                  "serious_illness": "重病患者"}
# Default bands (a per-county parameter): per-capita income below share × S → payment share × S per member.
DEFAULT_BANDS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("0.25"), Decimal("0.90")), (Decimal("0.50"), Decimal("0.65")),
    (Decimal("0.75"), Decimal("0.40")), (Decimal("1.00"), Decimal("0.15")),
)
CENT = Decimal("0.01")


def money(value: Decimal | int | float | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Member:
    name: str
    incomes: Mapping[str, Decimal] = field(default_factory=dict)  # category → monthly amount
    covered: bool = True  # counted in the household and covered by the allowance
    special: Sequence[str] = ()  # SPECIAL_GROUPS codes


@dataclass(frozen=True)
class AllowanceResult:
    eligible: bool
    standard: Decimal
    household_income: Decimal
    per_capita_income: Decimal
    covered_members: int
    base_amount: Decimal
    uplift: Decimal
    monthly_amount: Decimal
    method: str
    steps: list[str]

    def as_dict(self) -> dict[str, object]:
        return {"eligible": self.eligible, "standard": str(self.standard),
                "household_income": str(self.household_income), "per_capita_income": str(self.per_capita_income),
                "covered_members": self.covered_members, "base_amount": str(self.base_amount),
                "uplift": str(self.uplift), "monthly_amount": str(self.monthly_amount), "method": self.method,
                "steps": list(self.steps)}


def compute_allowance(members: Sequence[Member], standard: Decimal, *, method: str = "gap",
                      bands: Sequence[tuple[Decimal, Decimal]] = DEFAULT_BANDS, k: Decimal = Decimal("0.10"),
                      standard_label: str = "") -> AllowanceResult:
    if not members:
        raise ValueError("a household has at least one member")
    if method not in ("gap", "banded"):
        raise ValueError(f"unknown method {method!r}")
    unknown = {c for m in members for c in m.incomes} - set(COUNTED) - set(EXCLUDED) - set(DEDUCTIBLE)
    if unknown:
        raise ValueError(f"unknown income categories: {', '.join(sorted(unknown))}")
    S = money(standard)
    steps = [f"适用保障标准 S = {S} 元/人·月{('(' + standard_label + ')') if standard_label else ''}"]
    counted = money(sum((Decimal(str(v)) for m in members for c, v in m.incomes.items() if c in COUNTED),
                        Decimal(0)))
    excluded = money(sum((Decimal(str(v)) for m in members for c, v in m.incomes.items() if c in EXCLUDED),
                         Decimal(0)))
    deducted = money(sum((Decimal(str(v)) for m in members for c, v in m.incomes.items() if c in DEDUCTIBLE),
                         Decimal(0)))
    household = max(money(counted - deducted), Decimal("0.00"))
    steps.append(f"计入收入合计 {counted} 元;不计入收入(优抚金等){excluded} 元;扣减刚性支出 {deducted} 元")
    steps.append(f"家庭月收入 = {counted} − {deducted} = {household} 元")
    size = len(members)
    per_capita = money(household / size)
    steps.append(f"家庭人均月收入 = {household} ÷ {size} 人 = {per_capita} 元")
    covered = sum(1 for m in members if m.covered)
    eligible = per_capita < S and covered > 0
    if not eligible:
        steps.append(f"人均收入 {per_capita} 元 ≥ 标准 {S} 元:不符合低保条件(收入条件)")
        return AllowanceResult(False, S, household, per_capita, covered, Decimal("0.00"), Decimal("0.00"),
                               Decimal("0.00"), method, steps)
    steps.append(f"人均收入 {per_capita} 元 < 标准 {S} 元:符合收入条件;保障人数 {covered} 人")
    if method == "gap":
        base = money((S - per_capita) * covered)
        steps.append(f"差额法:({S} − {per_capita}) × {covered} = {base} 元")
    else:
        share = next((pay for upper, pay in bands if per_capita < money(upper * S)), bands[-1][1])
        base = money(share * S * covered)
        steps.append(f"分档法:人均收入落入档位,按 {share} × S 计发:{share} × {S} × {covered} = {base} 元")
    qualifying = [(m.name, g) for m in members if m.covered for g in m.special if g in SPECIAL_GROUPS]
    per_member = {m.name for m in members if m.covered and any(g in SPECIAL_GROUPS for g in m.special)}
    uplift = money(k * S * len(per_member))
    if per_member:
        who = "、".join(f"{n}({SPECIAL_GROUPS[g]})" for n, g in qualifying)
        steps.append(f"特殊群体增发:{k} × {S} × {len(per_member)} 人 = {uplift} 元({who})")
    total = money(base + uplift)
    steps.append(f"月保障金额 = {base} + {uplift} = {total} 元")
    return AllowanceResult(True, S, household, per_capita, covered, base, uplift, total, method, steps)

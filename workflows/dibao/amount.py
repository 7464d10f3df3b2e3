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
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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
MAX_BANDS = 8


def band_ranges(bands: Sequence[tuple[Decimal, Decimal]]) -> list[dict[str, str]]:
    """(upper, pay) bands as the stored rows: each band starts where the previous one ends, the first at 0."""
    rows, lower = [], Decimal("0")
    for upper, pay in bands:
        rows.append({"from": str(lower), "to": str(upper), "pay": str(pay)})
        lower = upper
    return rows


def parse_bands(rows: Sequence[tuple[str, str, str]]) -> tuple[list[tuple[Decimal, Decimal]], list[str]]:
    """Validate a band table entered as (from, to, pay) shares of S; blank rows are skipped.

    Returns the (upper, pay) bands and the Chinese error messages (empty when valid). The bands must start at 0,
    each begin where the previous one ends (contiguous), rise strictly, end at 1 (the standard itself) and pay a
    share between 0 and 1.
    """
    errors: list[str] = []
    parsed: list[tuple[int, Decimal, Decimal, Decimal]] = []
    for n, row in enumerate(rows, start=1):
        if not any(v.strip() for v in row):
            continue
        values: list[Decimal] = []
        for label, raw in zip(("下限", "上限", "发放比例"), row, strict=True):
            try:
                value = Decimal(raw.strip())
                if not value.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                errors.append(f"第 {n} 档的{label}应为 0 到 1 之间的数字(占保障标准 S 的比例)。")
                break
            values.append(value)
        else:
            parsed.append((n, values[0], values[1], values[2]))
    if errors:
        return [], errors
    if not parsed:
        return [], ["请至少填写一个档位。"]
    if len(parsed) > MAX_BANDS:
        errors.append(f"档位不能超过 {MAX_BANDS} 个。")
    previous: Decimal | None = None
    for n, lower, upper, pay in parsed:
        if previous is None and lower != 0:
            errors.append(f"第 {n} 档的下限应为 0(第一档从人均收入 0 元起)。")
        if previous is not None and lower != previous:
            errors.append(f"第 {n} 档的下限 {lower} 应等于上一档的上限 {previous}(档位须首尾相接,不能有空档或重叠)。")
        if upper <= lower:
            errors.append(f"第 {n} 档的上限 {upper} 应大于下限 {lower}(档位须从低到高排列)。")
        if upper > 1:
            errors.append(f"第 {n} 档的上限不能超过 1(人均收入达到保障标准即不符合条件)。")
        if pay < 0 or pay > 1:
            errors.append(f"第 {n} 档的发放比例应在 0 到 1 之间(金额不能为负)。")
        previous = upper
    if previous is not None and previous != 1 and not any("上限不能超过 1" in e for e in errors):
        errors.append(f"最后一档的上限应为 1(覆盖到保障标准 S),现为 {previous}。")
    if errors:
        return [], errors
    return [(upper, pay) for _, _, upper, pay in parsed], []


def describe_bands(bands: Sequence[tuple[Decimal, Decimal]]) -> str:
    return ",".join(f"[{r['from']}S, {r['to']}S) 发 {r['pay']}S" for r in band_ranges(bands))


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
                      standard_label: str = "", bands_label: str = "") -> AllowanceResult:
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
        index = next((i for i, (upper, _) in enumerate(bands) if per_capita < money(upper * S)), len(bands) - 1)
        lower, (upper, share) = (bands[index - 1][0] if index else Decimal("0")), bands[index]
        base = money(share * S * covered)
        table = f"分档表:{bands_label or '默认分档表'}({describe_bands(bands)})"
        steps.append(f"分档法,{table}")
        steps.append(f"分档法:人均收入 {per_capita} 元落入第 {index + 1} 档 [{lower}S, {upper}S),按 {share} × S 计发:"
                     f"{share} × {S} × {covered} = {base} 元")
    qualifying = [(m.name, g) for m in members if m.covered for g in m.special if g in SPECIAL_GROUPS]
    per_member = {m.name for m in members if m.covered and any(g in SPECIAL_GROUPS for g in m.special)}
    uplift = money(k * S * len(per_member))
    if per_member:
        who = "、".join(f"{n}({SPECIAL_GROUPS[g]})" for n, g in qualifying)
        steps.append(f"特殊群体增发:{k} × {S} × {len(per_member)} 人 = {uplift} 元({who})")
    total = money(base + uplift)
    steps.append(f"月保障金额 = {base} + {uplift} = {total} 元")
    return AllowanceResult(True, S, household, per_capita, covered, base, uplift, total, method, steps)

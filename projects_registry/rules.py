"""Pure rules of the project library: no database, no clock. Every result carries its explanation in Chinese.

    check_banned_uses   福彩公益金 must not pay salaries, general operating costs, 三公 or profit-making
    score_review        rubric with configurable weights; the mean across reviewers decides 入库 / 退回
    propose_batch       mature projects by review score, greedy within the remaining budget, arithmetic shown
    evaluate            performance evaluation out of 100 and its grade (优 / 良 / 中 / 差)
    monitor             mid-year 运行监控: execution rate and target progress against time elapsed
    is_stale            in the reserve for N years or more
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from projects_registry.models import BUDGET_CATEGORIES, FUNDING_SOURCES, INDICATOR_KINDS
from projects_registry.params import Parameters

LOTTERY = "lottery"
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
HUNDRED = Decimal(100)

# Banned for 福彩公益金 by declared budget-line category, with the rule each breaks.
BANNED_FOR_LOTTERY: dict[str, str] = {
    "salaries": "福彩公益金不得用于人员工资、津补贴等人员支出",
    "operating": "福彩公益金不得用于机构日常办公、水电、租金等一般性运转支出",
    "official_reception": "福彩公益金不得用于“三公”经费(公务接待)",
    "official_vehicles": "福彩公益金不得用于“三公”经费(公务用车购置及运行)",
    "overseas_travel": "福彩公益金不得用于“三公”经费(因公出国(境))",
    "profit": "福彩公益金不得用于营利性经营活动",
}
# Words in a line's description that suggest a banned use although the declared category is an allowed one.
# They do not block a submission (the category is what the applicant declares and signs); they are shown
# to the reviewers, who score "compliance" with them in view.
SUSPICIOUS_WORDS: dict[str, str] = {
    "工资": "salaries", "薪酬": "salaries", "绩效奖金": "salaries", "津贴": "salaries", "补贴人员": "salaries",
    "办公经费": "operating", "水电": "operating", "房租": "operating", "物业费": "operating",
    "接待": "official_reception", "招待": "official_reception", "公车": "official_vehicles",
    "车辆购置": "official_vehicles", "出国": "overseas_travel", "出境": "overseas_travel",
    "经营性": "profit", "营利": "profit", "收费经营": "profit",
}


def money(value: Decimal) -> str:
    return f"{value.quantize(CENT, ROUND_HALF_UP):,.2f}"


# -- banned uses ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetItem:
    item: str
    category: str
    source: str
    amount: Decimal


@dataclass(frozen=True)
class BannedUse:
    line: int  # 1-based line number of the budget table
    item: str
    category: str
    blocking: bool
    message: str


def check_banned_uses(lines: Sequence[BudgetItem]) -> list[BannedUse]:
    """Lines paid from 福彩公益金 whose declared category is banned (blocking), or whose text looks banned (warning)."""
    hits: list[BannedUse] = []
    for n, line in enumerate(lines, start=1):
        if line.source != LOTTERY:
            continue
        label = BUDGET_CATEGORIES.get(line.category, line.category)
        if line.category in BANNED_FOR_LOTTERY:
            hits.append(BannedUse(n, line.item, line.category, True,
                                  f"第 {n} 行「{line.item}」({label},福彩公益金 {money(line.amount)} 元):"
                                  f"{BANNED_FOR_LOTTERY[line.category]}。请改由其他资金来源列支或删除该行。"))
            continue
        for word, banned in SUSPICIOUS_WORDS.items():
            if word in line.item:
                hits.append(BannedUse(n, line.item, banned, False,
                                      f"第 {n} 行「{line.item}」申报为{label},但名称含“{word}”,疑似"
                                      f"{BUDGET_CATEGORIES[banned]}:{BANNED_FOR_LOTTERY[banned]}。请评审时核实。"))
                break
    return hits


# -- rubric review --------------------------------------------------------------------------------------------

RUBRIC_LABELS: dict[str, str] = {
    "policy_fit": "政策符合性", "compliance": "资金用途合规(非禁止用途)", "feasibility": "可行性",
    "readiness": "前期准备(成熟度)", "cost": "成本合理性", "targets": "绩效目标质量",
}


@dataclass(frozen=True)
class ReviewResult:
    reviewer_totals: dict[str, Decimal]  # reviewer → weighted score (0-100)
    mean: Decimal
    admitted: bool
    explanation: list[str]


def weighted_score(scores: Mapping[str, Decimal], weights: Mapping[str, Decimal]) -> Decimal:
    missing = [RUBRIC_LABELS.get(c, c) for c in weights if c not in scores]
    if missing:
        raise ValueError(f"缺少评分项:{'、'.join(missing)}")
    for c, s in scores.items():
        if not Decimal(0) <= s <= HUNDRED:
            raise ValueError(f"{RUBRIC_LABELS.get(c, c)} 的分数须在 0 到 100 之间")
    total_weight = sum(weights.values(), Decimal(0))
    value = sum((scores[c] * w for c, w in weights.items()), Decimal(0)) / total_weight
    return value.quantize(CENT, ROUND_HALF_UP)


def score_review(scores_by_reviewer: Mapping[str, Mapping[str, Decimal]], params: Parameters) -> ReviewResult:
    """Each reviewer's weighted score, their mean, and whether the mean reaches the entry threshold."""
    if not scores_by_reviewer:
        raise ValueError("尚无评审专家评分")
    weights = params.rubric_weights
    totals = {r: weighted_score(s, weights) for r, s in scores_by_reviewer.items()}
    mean = (sum(totals.values(), Decimal(0)) / len(totals)).quantize(CENT, ROUND_HALF_UP)
    admitted = mean >= params.entry_threshold
    weight_text = "、".join(f"{RUBRIC_LABELS.get(c, c)}×{w}" for c, w in weights.items())
    lines = [f"权重:{weight_text}(合计 {sum(weights.values(), Decimal(0))})"]
    lines += [f"{r}:加权得分 {t}" for r, t in totals.items()]
    lines.append(f"{len(totals)} 位专家平均分 {mean},入库分数线 {params.entry_threshold}:"
                 + ("达到分数线,予以入库。" if admitted else "未达分数线,退回。"))
    return ReviewResult(totals, mean, admitted, lines)


# -- release batch proposal -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    project_id: int
    code: str
    name: str
    review_score: Decimal
    amount: Decimal  # what it asks from this funding source
    reserve_entered_on: date | None = None


@dataclass
class Proposal:
    budget: Decimal
    committed: Decimal
    remaining_before: Decimal
    chosen: list[Candidate] = field(default_factory=list)
    skipped: list[Candidate] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.chosen), Decimal(0))

    @property
    def remaining_after(self) -> Decimal:
        return self.remaining_before - self.total


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Highest review score first; ties: longer in the reserve first, then by code (deterministic)."""
    return sorted(candidates, key=lambda c: (-c.review_score, c.reserve_entered_on or date.max, c.code))


def propose_batch(candidates: Iterable[Candidate], budget: Decimal, committed: Decimal, source: str) -> Proposal:
    """Greedy by rank: take each project whose amount fits what is left; the total never exceeds the budget."""
    remaining = max(Decimal(0), budget - committed)
    label = FUNDING_SOURCES.get(source, source)
    proposal = Proposal(budget, committed, remaining)
    proposal.steps.append(f"{label}年度可用额度 {money(budget)} 元 − 已出库批次占用 {money(committed)} 元 = "
                          f"可安排 {money(remaining)} 元" + (",额度已用完" if budget <= committed else ""))
    for c in rank(candidates):
        if c.amount <= 0:
            continue
        if c.amount <= remaining:
            after = remaining - c.amount
            proposal.steps.append(f"{c.code} {c.name}(评审 {c.review_score} 分):{money(remaining)} − "
                                  f"{money(c.amount)} = {money(after)},纳入")
            remaining = after
            proposal.chosen.append(c)
        else:
            proposal.steps.append(f"{c.code} {c.name}(评审 {c.review_score} 分):需 {money(c.amount)} 元 > "
                                  f"剩余 {money(remaining)} 元,本批不纳入")
            proposal.skipped.append(c)
    proposal.steps.append(f"合计纳入 {len(proposal.chosen)} 个项目,{money(proposal.total)} 元;"
                          f"剩余额度 {money(remaining)} 元")
    return proposal


# -- performance evaluation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    kind: str
    name: str
    target: Decimal
    actual: Decimal | None
    higher_is_better: bool = True


@dataclass(frozen=True)
class EvaluationResult:
    budget_execution: Decimal
    outputs: Decimal
    outcomes: Decimal
    satisfaction: Decimal
    total: Decimal
    grade: str
    details: list[str]


def grade_for(total: Decimal, params: Parameters) -> str:
    for grade, floor in sorted(params.grade_floors.items(), key=lambda kv: -kv[1]):
        if total >= floor:
            return grade
    return "差"


def achievement(ind: Indicator) -> Decimal:
    """0..1: how far the actual value meets the target (capped at 1; cost-type indicators: lower is better)."""
    if ind.actual is None:
        return Decimal(0)
    if ind.higher_is_better:
        ratio = ind.actual / ind.target if ind.target > 0 else Decimal(1)
    else:
        ratio = ind.target / ind.actual if ind.actual > 0 else Decimal(1)
    return max(Decimal(0), min(Decimal(1), ratio))


def evaluate(budget: Decimal, spent: Decimal, indicators: Sequence[Indicator], params: Parameters) -> EvaluationResult:
    """Score out of 100: budget execution, outputs, outcomes and satisfaction, each its weight × achievement."""
    w = params.evaluation_weights
    scale = HUNDRED / sum(w.values(), Decimal(0))  # weights need not sum to exactly 100
    details: list[str] = []

    def part(key: str, label: str, rate: Decimal) -> Decimal:
        got = (w[key] * scale * rate).quantize(CENT, ROUND_HALF_UP)
        details.append(f"{label}:达成率 {(rate * HUNDRED).quantize(TENTH, ROUND_HALF_UP)}% × {w[key]} 分 = {got} 分")
        return got

    exec_rate = min(Decimal(1), spent / budget) if budget > 0 else Decimal(0)
    details.append(f"预算执行:实际支出 {money(spent)} 元 / 预算 {money(budget)} 元")
    scores = {"budget_execution": part("budget_execution", "预算执行", exec_rate)}
    groups = {"outputs": [i for i in indicators if i.kind.startswith("output_")],
              "outcomes": [i for i in indicators if i.kind == "outcome"],
              "satisfaction": [i for i in indicators if i.kind == "satisfaction"]}
    labels = {"outputs": "产出指标", "outcomes": "效益指标", "satisfaction": "满意度指标"}
    for key, inds in groups.items():
        for i in inds:
            details.append(f"  {INDICATOR_KINDS.get(i.kind, i.kind)}「{i.name}」:目标 {i.target},实际 "
                           f"{'未填报' if i.actual is None else i.actual},达成 "
                           f"{(achievement(i) * HUNDRED).quantize(TENTH, ROUND_HALF_UP)}%")
        rate = sum((achievement(i) for i in inds), Decimal(0)) / len(inds) if inds else Decimal(0)
        if not inds:
            details.append(f"{labels[key]}:未设置指标,按 0 分计")
        scores[key] = part(key, labels[key], rate)
    total = sum(scores.values(), Decimal(0)).quantize(TENTH, ROUND_HALF_UP)
    grade = grade_for(total, params)
    details.append(f"总分 {total} 分,等级「{grade}」(优 ≥ {params.grade_floors['优']},良 ≥ "
                   f"{params.grade_floors['良']},中 ≥ {params.grade_floors['中']},其余为差)")
    return EvaluationResult(scores["budget_execution"], scores["outputs"], scores["outcomes"], scores["satisfaction"],
                            total, grade, details)


# -- monitoring and the reserve -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorResult:
    time_elapsed: Decimal  # percent of the period
    execution_rate: Decimal  # percent of the budget spent
    target_progress: Decimal  # percent of targets reached (reported)
    warnings: list[str]


def monitor(start: date, end: date, today: date, budget: Decimal, spent: Decimal, target_progress: Decimal,
            params: Parameters) -> MonitorResult:
    days = max(1, (end - start).days)
    elapsed = (Decimal(min(max((today - start).days, 0), days)) / days * HUNDRED).quantize(TENTH, ROUND_HALF_UP)
    rate = (spent / budget * HUNDRED).quantize(TENTH, ROUND_HALF_UP) if budget > 0 else Decimal(0)
    warnings = []
    if elapsed - rate > params.monitor_tolerance:
        warnings.append(f"预算执行滞后:时间进度 {elapsed}%,执行率 {rate}%,相差超过 {params.monitor_tolerance} 个百分点")
    if elapsed - target_progress > params.monitor_tolerance:
        warnings.append(f"目标进度滞后:时间进度 {elapsed}%,目标完成 {target_progress}%,相差超过 "
                        f"{params.monitor_tolerance} 个百分点")
    if rate > HUNDRED:
        warnings.append(f"支出已超预算:执行率 {rate}%")
    return MonitorResult(elapsed, rate, target_progress, warnings)


def is_stale(reserve_entered_on: date | None, today: date, params: Parameters) -> bool:
    """In the reserve for `stale_years` whole years or more (动态调整: flag for review and removal)."""
    if reserve_entered_on is None:
        return False
    try:
        limit = reserve_entered_on.replace(year=reserve_entered_on.year + params.stale_years)
    except ValueError:  # 29 February
        limit = reserve_entered_on.replace(year=reserve_entered_on.year + params.stale_years, day=28)
    return today >= limit


# -- maturity (储备 readiness checklist) ----------------------------------------------------------------------

MATURITY_ITEMS: dict[str, str] = {
    "plan_ready": "实施方案已编制并经单位审定",
    "co_funding_ready": "配套资金已落实",
    "site_ready": "实施场地(用地)已落实",
    "team_ready": "实施团队和管理制度已落实",
    "procurement_ready": "采购(招标)方案已编制",
    "approvals_ready": "规划、环评等前置审批已办结(建设类)",
}
CONSTRUCTION_ONLY = {"approvals_ready"}
MATURE_SCORE = Decimal(80)


@dataclass(frozen=True)
class MaturityResult:
    score: Decimal
    mature: bool
    missing: list[str]


def assess_maturity(checklist: Mapping[str, bool], is_construction: bool) -> MaturityResult:
    """Share of applicable readiness items met; mature at ≥ 80 with, for construction, the approvals done."""
    items = [k for k in MATURITY_ITEMS if is_construction or k not in CONSTRUCTION_ONLY]
    met = [k for k in items if checklist.get(k)]
    score = (Decimal(len(met)) / len(items) * HUNDRED).quantize(TENTH, ROUND_HALF_UP)
    missing = [MATURITY_ITEMS[k] for k in items if k not in met]
    mature = score >= MATURE_SCORE and not (is_construction and not checklist.get("approvals_ready"))
    return MaturityResult(score, mature, missing)

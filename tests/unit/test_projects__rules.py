from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from projects_registry.params import Parameters, coerce
from projects_registry.rules import (
    BudgetItem,
    Candidate,
    Indicator,
    assess_maturity,
    check_banned_uses,
    evaluate,
    grade_for,
    is_stale,
    monitor,
    propose_batch,
    score_review,
)

D = Decimal
P = Parameters()


def test_banned_category_on_lottery_funds_blocks_with_a_clear_message() -> None:
    hits = check_banned_uses([
        BudgetItem("助餐点厨房设备", "equipment", "lottery", D("80000")),
        BudgetItem("社工人员工资", "salaries", "lottery", D("120000")),
        BudgetItem("社工人员工资", "salaries", "county", D("50000")),  # other sources may pay salaries
        BudgetItem("项目考察接待", "official_reception", "lottery", D("3000")),
    ])
    assert [(h.line, h.blocking) for h in hits] == [(2, True), (4, True)]
    assert hits[0].message == ("第 2 行「社工人员工资」(人员工资福利,福彩公益金 120,000.00 元):"
                               "福彩公益金不得用于人员工资、津补贴等人员支出。请改由其他资金来源列支或删除该行。")
    assert "“三公”经费(公务接待)" in hits[1].message


def test_suspicious_words_warn_without_blocking() -> None:
    hits = check_banned_uses([BudgetItem("活动期间水电费", "activities", "lottery", D("2000"))])
    assert len(hits) == 1 and not hits[0].blocking
    assert "疑似一般性运转支出" in hits[0].message
    assert check_banned_uses([BudgetItem("康复器材", "equipment", "lottery", D("1"))]) == []


def full(score: int) -> dict[str, Decimal]:
    return {c: D(score) for c in P.rubric_weights}


def test_rubric_mean_decides_entry_at_the_threshold() -> None:
    scores = {"a": full(80), "b": full(60)}  # mean exactly 70 → 入库
    result = score_review(scores, P)
    assert result.mean == D("70.00") and result.admitted
    assert "达到分数线" in result.explanation[-1]
    result = score_review({"a": full(80), "b": {**full(60), "targets": D("59")}}, P)
    assert result.mean == D("69.93") and not result.admitted  # 60 − 1×15/100 = 59.85; (80 + 59.85)/2
    assert "未达分数线,退回" in result.explanation[-1]


def test_rubric_weights_are_configurable() -> None:
    only_policy = replace(P, rubric_weights={**{c: D(0) for c in P.rubric_weights}, "policy_fit": D(1)})
    scores = {"a": {**full(10), "policy_fit": D(95)}}
    assert score_review(scores, only_policy).mean == D("95.00")
    assert score_review(scores, P).mean < D(30)
    with pytest.raises(ValueError, match="缺少评分项"):
        score_review({"a": {"policy_fit": D(90)}}, P)
    with pytest.raises(ValueError, match="0 到 100"):
        score_review({"a": {**full(50), "cost": D(101)}}, P)


def cand(pid: int, score: str, amount: str) -> Candidate:
    return Candidate(pid, f"XM-{pid:03d}", f"项目{pid}", D(score), D(amount), date(2025, 1, pid))


def test_batch_proposal_is_greedy_by_score_and_never_exceeds_the_budget() -> None:
    cands = [cand(1, "88", "400000"), cand(2, "92", "300000"), cand(3, "85", "250000"), cand(4, "80", "100000")]
    p = propose_batch(cands, D("1000000"), D("200000"), "lottery")
    assert [c.project_id for c in p.chosen] == [2, 1, 4]  # 3 (250k) does not fit after 700k of 800k
    assert [c.project_id for c in p.skipped] == [3]
    assert p.total == D("800000") and p.remaining_after == D("0")
    assert p.steps[0] == "福彩公益金年度可用额度 1,000,000.00 元 − 已出库批次占用 200,000.00 元 = 可安排 800,000.00 元"
    assert "800,000.00 − 300,000.00 = 500,000.00,纳入" in p.steps[1]
    assert "需 250,000.00 元 > 剩余 100,000.00 元" in p.steps[3]


def test_batch_proposal_property_total_within_budget() -> None:
    import random

    rng = random.Random(7)
    for _ in range(200):
        cands = [cand(i, str(rng.randint(60, 100)), str(rng.randint(1, 50) * 10000)) for i in range(1, 12)]
        budget, committed = D(rng.randint(0, 300) * 10000), D(rng.randint(0, 100) * 10000)
        p = propose_batch(cands, budget, committed, "lottery")
        assert p.total <= max(D(0), budget - committed)
        scores = [c.review_score for c in p.chosen]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(("total", "grade"), [("59.9", "差"), ("60", "中"), ("79.9", "中"), ("80", "良"),
                                              ("89.9", "良"), ("90", "优"), ("100", "优"), ("0", "差")])
def test_grade_boundaries(total: str, grade: str) -> None:
    assert grade_for(D(total), P) == grade


def test_evaluation_parts_and_configurable_weights() -> None:
    inds = [Indicator("output_quantity", "服务老人人次", D(1000), D(900)),
            Indicator("output_cost", "人均成本", D(100), D(125), higher_is_better=False),
            Indicator("outcome", "生活质量改善率", D(80), D(80)),
            Indicator("satisfaction", "服务对象满意度", D(90), D(81))]
    r = evaluate(D(100000), D(95000), inds, P)
    # 10×0.95 + 50×(0.9 + 0.8)/2 + 30×1 + 10×0.9 = 9.5 + 42.5 + 30 + 9 = 91
    assert (r.budget_execution, r.outputs, r.outcomes, r.satisfaction) == (D("9.50"), D("42.50"), D("30.00"),
                                                                           D("9.00"))
    assert r.total == D("91.0") and r.grade == "优"
    assert any("人均成本" in line and "达成 80.0%" in line for line in r.details)
    heavy_budget = replace(P, evaluation_weights={"budget_execution": D(70), "outputs": D(10), "outcomes": D(10),
                                                  "satisfaction": D(10)})
    assert evaluate(D(100000), D(10000), inds, heavy_budget).grade == "差"


def test_failing_evaluation_when_nothing_is_reported() -> None:
    r = evaluate(D(100000), D(50000), [Indicator("output_quantity", "x", D(10), None)], P)
    assert r.total == D("5.0") and r.grade == "差"
    assert "效益指标:未设置指标,按 0 分计" in r.details


def test_monitor_warns_when_behind() -> None:
    r = monitor(date(2026, 1, 1), date(2026, 12, 31), date(2026, 7, 1), D(100000), D(10000), D(50), P)
    assert r.time_elapsed == D("49.7") and r.execution_rate == D("10.0")
    assert len(r.warnings) == 1 and r.warnings[0].startswith("预算执行滞后")
    ok = monitor(date(2026, 1, 1), date(2026, 12, 31), date(2026, 7, 1), D(100000), D(45000), D(50), P)
    assert ok.warnings == []


def test_stale_after_n_years() -> None:
    assert not is_stale(date(2023, 3, 1), date(2026, 2, 28), P)
    assert is_stale(date(2023, 3, 1), date(2026, 3, 1), P)
    assert is_stale(date(2024, 2, 29), date(2027, 2, 28), P)
    assert not is_stale(date(2025, 3, 1), date(2027, 3, 1), replace(P, stale_years=3))
    assert not is_stale(None, date(2030, 1, 1), P)


def test_maturity_checklist() -> None:
    all_but_approvals = {k: True for k in ("plan_ready", "co_funding_ready", "site_ready", "team_ready",
                                           "procurement_ready")}
    assert assess_maturity(all_but_approvals, is_construction=False).mature
    r = assess_maturity(all_but_approvals, is_construction=True)
    assert r.score == D("83.3") and not r.mature and r.missing == ["规划、环评等前置审批已办结(建设类)"]
    assert not assess_maturity({"plan_ready": True}, is_construction=False).mature


def test_parameter_coercion_rejects_bad_values_in_chinese() -> None:
    assert coerce("stale_years", "4") == 4
    with pytest.raises(ValueError, match="须包含且仅包含"):
        coerce("evaluation_weights", {"outputs": 100})
    with pytest.raises(ValueError, match="0 到 100"):
        coerce("entry_threshold", 120)
    with pytest.raises(ValueError, match="未知参数"):
        coerce("nope", 1)


def test_batch_proposal_with_the_budget_used_up() -> None:
    p = propose_batch([cand(1, "90", "100")], D("500"), D("800"), "lottery")
    assert p.remaining_before == D("0") and p.chosen == [] and p.steps[0].endswith("额度已用完")

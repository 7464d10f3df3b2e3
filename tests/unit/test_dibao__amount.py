from __future__ import annotations

from decimal import Decimal

import pytest

from workflows.dibao.amount import Member, compute_allowance

S = Decimal("450")


def test_gap_method_with_excluded_and_deductible_items() -> None:
    members = [
        Member("张三", {"wage": Decimal("500"), "youfu": Decimal("300"), "employment_costs": Decimal("100")}),
        Member("李四", {"transfer": Decimal("100")}),
        Member("张小", {}),
    ]
    r = compute_allowance(members, S)
    # counted 600, deducted 100 -> 500; per capita 166.67; (450 - 166.67) * 3 = 849.99
    assert (r.household_income, r.per_capita_income) == (Decimal("500.00"), Decimal("166.67"))
    assert r.eligible and r.monthly_amount == Decimal("849.99")
    assert any("优抚金" in s or "不计入收入" in s for s in r.steps)
    assert r.steps[-1] == "月保障金额 = 849.99 + 0.00 = 849.99 元"


def test_uplift_counts_each_qualifying_member_once() -> None:
    members = [Member("王老", {"other": Decimal("200")}, special=("elderly", "serious_illness")),
               Member("王小", {}, special=("minor",)), Member("王中", {"wage": Decimal("400")})]
    r = compute_allowance(members, S, k=Decimal("0.10"))
    assert r.uplift == Decimal("90.00")  # 0.10 × 450 × 2 members, not 3 group memberships
    assert r.monthly_amount == r.base_amount + r.uplift


def test_ineligible_when_per_capita_income_not_below_standard() -> None:
    r = compute_allowance([Member("赵", {"wage": Decimal("450")})], S)
    assert not r.eligible and r.monthly_amount == Decimal("0.00")
    assert "不符合低保条件" in r.steps[-1]


def test_uncovered_member_counts_in_income_but_not_in_payment() -> None:
    members = [Member("甲", {"wage": Decimal("300")}), Member("乙", {}, covered=False)]
    r = compute_allowance(members, S)
    assert r.per_capita_income == Decimal("150.00") and r.covered_members == 1
    assert r.base_amount == Decimal("300.00")


def test_banded_method_uses_band_share() -> None:
    r = compute_allowance([Member("甲", {"wage": Decimal("100")})], S, method="banded")
    # 100 < 0.25 × 450 = 112.50 → band share 0.90 → 405.00
    assert r.base_amount == Decimal("405.00") and r.method == "banded"


def test_unknown_income_category_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown income categories: lottery"):
        compute_allowance([Member("甲", {"lottery": Decimal("1")})], S)


def test_plan_worked_example_750_and_795_with_a_severely_disabled_member() -> None:
    household = [Member("甲", {"wage": Decimal("600")}), Member("乙"), Member("丙")]
    assert compute_allowance(household, S).monthly_amount == Decimal("750.00")  # (450 − 200) × 3
    household[2] = Member("丙", special=("severe_disability",))
    r = compute_allowance(household, S, k=Decimal("0.10"))
    assert (r.base_amount, r.uplift, r.monthly_amount) == (Decimal("750.00"), Decimal("45.00"), Decimal("795.00"))


def test_diagram_service_uses_income_items_and_special_groups() -> None:
    from workflows.dibao.services import allowance_service

    members = [{"name": "甲", "relation": "applicant"}, {"name": "乙", "relation": "spouse", "special": "elderly"},
               {"name": "丙", "relation": "child"}]
    items = [{"category": "wage", "amount": 700}, {"category": "youfu", "amount": 500},
             {"category": "illness_costs", "amount": 100}]
    r = allowance_service(450, 3, 9999, members, items, False)
    # counted 700 − deductible 100 = 600 → 200 per capita; the 9,999 total is ignored when items exist
    assert (r["per_capita_income"], r["monthly_amount"], r["covered_members"]) == (200.0, 795.0, 3)
    assert "优抚金" in r["explanation"] and "乙(老年人)" in r["explanation"]
    single = allowance_service(450, 3, 600, members, [], True)  # single-person application: applicant only
    assert (single["covered_members"], single["monthly_amount"]) == (1, 250.0)

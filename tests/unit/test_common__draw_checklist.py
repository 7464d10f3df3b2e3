from __future__ import annotations

import pytest

from workflows.common.checklist import ChecklistError, evaluate
from workflows.common.draw import draw_inspectors, draw_targets, population_hash, sample_size, verify_targets

POPULATION = [f"91511400MA{n:08d}" for n in range(1650)]


def test_target_draw_is_reproducible_and_sized_by_ceiling() -> None:
    first = draw_targets("seed-2026", POPULATION, 0.04)
    assert first.k == 66 == sample_size(0.04, 1650)
    assert len(set(first.selected)) == 66 and set(first.selected) <= set(POPULATION)
    assert draw_targets("seed-2026", list(reversed(POPULATION)), 0.04).selected == first.selected
    assert verify_targets(first, POPULATION)
    assert draw_targets("seed-2027", POPULATION, 0.04).selected != first.selected
    assert sample_size(0.03, 10) == 1 and sample_size(0.06, 100) == 6


def test_tampered_population_or_result_fails_verification() -> None:
    first = draw_targets("s", POPULATION, 0.04)
    assert not verify_targets(first, POPULATION[:-1])
    forged = type(first)(first.seed, first.population_hash, first.population_size, first.ratio, first.k,
                         [*first.selected[:-1], POPULATION[0] if POPULATION[0] not in first.selected else "x"])
    assert not verify_targets(forged, POPULATION)
    assert population_hash(["b", "a"]) == population_hash(["a", "b", "a"])


def test_inspector_draw_recuses_conflicts_and_redraws_next_in_order() -> None:
    inspectors = [f"insp{n}" for n in range(8)]
    plain = draw_inspectors("s", ["T1", "T2"], inspectors, per_target=2)
    assert all(len(a.inspectors) == 2 for a in plain)
    conflicted = plain[0].inspectors[0]
    again = draw_inspectors("s", ["T1", "T2"], inspectors, per_target=2, conflicts={"T1": [conflicted]})
    assert conflicted not in again[0].inspectors and again[0].recused == [conflicted]
    assert again[0].inspectors[0] == plain[0].inspectors[1]  # the next in T1's own order moves up
    assert again[1] == plain[1]  # other targets unaffected
    with pytest.raises(ValueError, match="only 1 inspectors"):
        draw_inspectors("s", ["T1"], ["a", "b"], per_target=2, conflicts={"T1": ["a"]})


TEMPLATE = {
    "code": "cemetery_annual", "version": 1, "title": "公墓年检",
    "parameters": {"max_single_plot_m2": "0.5"},
    "items": [
        {"code": "licence", "kind": "check", "label": "经营许可有效", "legal_basis": "殡葬管理条例 第八条"},
        {"code": "plot_area", "kind": "measure", "label": "单穴墓位面积", "limit_param": "max_single_plot_m2",
         "unit": "m²", "legal_basis": "殡葬管理条例 第十九条"},
        {"code": "eco_share", "kind": "number", "label": "节地生态安葬比例(%)", "min": 0, "max": 100},
        {"code": "remarks", "kind": "text", "label": "备注"},
    ],
}


def test_checklist_flags_each_over_limit_plot_with_legal_basis() -> None:
    answers = {"licence": {"ok": True}, "plot_area": [{"label": "A-01", "value": 0.48}, {"label": "A-02",
                                                                                        "value": "0.62"}],
               "eco_share": 35}
    findings = evaluate(TEMPLATE, answers)
    assert [(f.item, f.value) for f in findings] == [("plot_area", "0.62")]
    assert findings[0].legal_basis == "殡葬管理条例 第十九条" and "A-02" in findings[0].message
    # the limit is a parameter: a stricter override flags both plots
    assert len(evaluate(TEMPLATE, answers, {"max_single_plot_m2": "0.45"})) == 2


def test_checklist_failed_check_and_incomplete_answers() -> None:
    findings = evaluate(TEMPLATE, {"licence": {"ok": False, "note": "许可证已过期"}, "plot_area": []})
    assert findings[0].message == "「经营许可有效」不符合要求:许可证已过期"
    with pytest.raises(ChecklistError, match="单穴墓位面积"):
        evaluate(TEMPLATE, {"licence": {"ok": True}})
    with pytest.raises(ChecklistError, match="not a number"):
        evaluate(TEMPLATE, {"licence": {"ok": True}, "plot_area": [{"value": "abc"}]})

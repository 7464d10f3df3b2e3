"""The band table of the banded method: validation (contiguous, ascending, shares in [0, 1]) with Chinese
messages, and the explanation naming the table that was used."""

from __future__ import annotations

from decimal import Decimal

from workflows.dibao.amount import Member, band_ranges, compute_allowance, parse_bands

D = Decimal


def test_a_valid_table_skips_blank_rows_and_round_trips() -> None:
    bands, errors = parse_bands([("0", "0.3", "0.9"), ("", "", ""), ("0.3", "1", "0.4")])
    assert errors == []
    assert bands == [(D("0.3"), D("0.9")), (D("1"), D("0.4"))]
    assert band_ranges(bands) == [{"from": "0", "to": "0.3", "pay": "0.9"}, {"from": "0.3", "to": "1", "pay": "0.4"}]


def test_gaps_overlaps_order_and_negative_amounts_are_refused_in_chinese() -> None:
    cases = [
        ([("0", "0.3", "0.9"), ("0.4", "1", "0.4")], "第 2 档的下限 0.4 应等于上一档的上限 0.3"),  # gap
        ([("0", "0.5", "0.9"), ("0.4", "1", "0.4")], "第 2 档的下限 0.4 应等于上一档的上限 0.5"),  # overlap
        ([("0", "0.5", "0.9"), ("0.5", "0.3", "0.4")], "第 2 档的上限 0.3 应大于下限 0.5"),  # descending
        ([("0", "1", "-0.1")], "第 1 档的发放比例应在 0 到 1 之间"),
        ([("0.1", "1", "0.5")], "第 1 档的下限应为 0"),
        ([("0", "0.8", "0.5")], "最后一档的上限应为 1"),
        ([("0", "1.2", "0.5")], "第 1 档的上限不能超过 1"),
        ([("0", "abc", "0.5")], "第 1 档的上限应为 0 到 1 之间的数字"),
        ([("0", "NaN", "0.5")], "第 1 档的上限应为 0 到 1 之间的数字"),
        ([("", "", "")], "请至少填写一个档位"),
    ]
    for rows, message in cases:
        bands, errors = parse_bands(rows)
        assert bands == [] and any(message in e for e in errors), (rows, errors)


def test_the_explanation_names_the_band_table_and_the_band_hit() -> None:
    bands = [(D("0.4"), D("0.9")), (D("1"), D("0.5"))]
    members = [Member("甲", {"wage": D("900")}), Member("乙"), Member("丙")]  # per capita 300, S 630 → 2nd band
    r = compute_allowance(members, D("630"), method="banded", bands=bands, bands_label="东坡区 2026-01-01 起")
    assert r.base_amount == D("945.00")  # 0.5 × 630 × 3
    text = ";".join(r.steps)
    assert "分档表:东坡区 2026-01-01 起" in text and "第 2 档 [0.4S, 1S)" in text
    default = compute_allowance(members, D("630"), method="banded")
    assert "默认分档表" in ";".join(default.steps) and default.base_amount == D("1228.50")  # 0.65 × 630 × 3

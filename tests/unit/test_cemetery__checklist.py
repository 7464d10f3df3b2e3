"""The cemetery checklist template evaluated per cemetery type (pure: no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workflows.cemetery import checklist as cl
from workflows.common.checklist import ChecklistError, check_template

ALL_OK = {code: (True, "") for code in cl.CHECK_ITEMS}
BODY = cl.TEMPLATE_V1


def _rows(*plots: tuple[str, str]) -> list[cl.PlotRow]:
    return [cl.PlotRow(f"P{n}", kind, Decimal(area)) for n, (kind, area) in enumerate(plots, start=1)]


def _findings(cemetery_type: str, rows: list[cl.PlotRow], eco: str = "0.2", **failed: str) -> list[cl.Finding]:
    checks = {**ALL_OK, **{k: (False, v) for k, v in failed.items()}}
    answers = cl.build_answers(BODY, cemetery_type, checks, rows, Decimal(eco))
    return cl.evaluate_for(BODY, cemetery_type, answers)


def test_template_is_valid_and_cites_article_19_for_oversized_plots() -> None:
    check_template(BODY)
    measured = [i for i in BODY["items"] if i["kind"] == "measure"]
    assert measured and all("第十九条" in i["legal_basis"] for i in measured)
    assert all(i.get("legal_basis") for i in BODY["items"] if i["kind"] != "text")


def test_public_welfare_limits_are_half_a_square_metre_single_and_0_8_double() -> None:
    rows = _rows(("single", "0.50"), ("single", "0.51"), ("double", "0.80"), ("double", "0.81"), ("body", "3.9"))
    findings = _findings("public_welfare", rows)
    assert [(f.item, f.value) for f in findings] == [("plot_area_pw_single", "0.51"), ("plot_area_pw_double", "0.81")]
    assert "P2(单穴(骨灰)):0.51㎡ 超过限值 0.5㎡" in findings[0].message
    assert "第十九条" in findings[0].legal_basis


def test_commercial_ashes_limit_is_one_square_metre_for_single_and_double() -> None:
    rows = _rows(("single", "0.9"), ("double", "1.0"), ("double", "1.2"), ("body", "4.5"))
    findings = _findings("commercial", rows)
    assert [(f.item, f.value) for f in findings] == [("plot_area_com_ashes", "1.2"), ("plot_area_body", "4.5")]
    # The same 0.9 m² single plot fails at a public-welfare cemetery.
    assert [f.item for f in _findings("public_welfare", _rows(("single", "0.9")))] == ["plot_area_pw_single"]


def test_outsider_sales_item_applies_to_public_welfare_only() -> None:
    assert "no_outsider_sales" in {i["code"] for i in cl.items_for(BODY, "public_welfare")}
    assert "no_outsider_sales" not in {i["code"] for i in cl.items_for(BODY, "commercial")}
    assert cl.limit_for(BODY, "commercial", "single") == Decimal("1.0")
    assert cl.limit_for(BODY, "public_welfare", "double") == Decimal("0.8")


def test_failed_checks_and_low_eco_share_become_findings_with_their_basis() -> None:
    findings = _findings("public_welfare", _rows(("single", "0.4")), eco="0.05", no_forbidden_graves="发现活人墓 2 座")
    by_item = {f.item: f for f in findings}
    assert set(by_item) == {"no_forbidden_graves", "eco_burial_share"}
    assert "发现活人墓 2 座" in by_item["no_forbidden_graves"].message
    assert "第九条" in by_item["no_forbidden_graves"].legal_basis


def test_an_unanswered_check_is_an_incomplete_checklist() -> None:
    answers = cl.build_answers(BODY, "public_welfare", {}, _rows(("single", "0.4")), Decimal("0.2"))
    with pytest.raises(ChecklistError, match="检查未完成"):
        cl.evaluate_for(BODY, "public_welfare", answers)


def test_measured_rows_are_parsed_with_chinese_errors_and_flagged() -> None:
    rows, errors = cl.parse_rows(["A1", "", "A3", "A4"], ["single", "single", "double", "tomb"],
                                 ["0.7", "", "abc", "0.3"])
    assert [r.label for r in rows] == ["A1"]
    assert errors == ["第 3 行:实测面积须为大于 0 的数字(平方米)。", "第 4 行:请选择墓位类型。"]
    flagged = cl.flag_rows(BODY, "public_welfare", rows)
    assert flagged[0].over and flagged[0].limit == Decimal("0.5")


CHINESE_NUMERALS = {"八": 8, "九": 9, "十": 10, "十一": 11, "十九": 19}


def test_citations_of_the_funeral_regulation_are_the_articles_domain_md_names() -> None:
    """DOMAIN.md section 3 cites 殡葬管理条例 (2012) articles 8-11 and 19; no item cites another article of it."""
    import re

    cited = []
    for item in BODY["items"]:
        basis = item.get("legal_basis", "")
        for clause in basis.split(";"):
            if "殡葬管理条例" in clause:
                cited += re.findall(r"第([一二三四五六七八九十]+)条", clause)
    assert cited and all(CHINESE_NUMERALS.get(a) in {8, 9, 10, 11, 19} for a in cited), cited
    assert "1至3倍罚款" in cl.OVER_LIMIT_BASIS and "责令限期改正" in cl.OVER_LIMIT_BASIS
    eco = next(i for i in BODY["items"] if i["code"] == "eco_burial_share")
    assert "第七章第二节" in eco["legal_basis"]  # the plan, ch.7 §2

"""Process variables on the instance and task pages: Chinese labels and values, no ISO strings or raw names."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from web.display import display_value
from web.pages import summary_rows


def test_iso_values_read_as_chinese() -> None:
    assert display_value("2026-03-31T23:59:59+08:00") == "2026-03-31 23:59"
    assert display_value("2026-03-31T15:59:59+00:00") == "2026-03-31 23:59"  # shown in Beijing time
    assert display_value("P30D") == "30 天"
    assert display_value("P3M") == "3 个月"
    assert display_value("2026-13-45T99:00") == "2026-13-45T99:00"  # not a date: left as it is
    assert display_value("眉民发〔2026〕3号") == "眉民发〔2026〕3号"


def test_summary_labels_script_variables_and_hides_bookkeeping() -> None:
    deployed: Any = SimpleNamespace(field_titles={"grace": "催报宽限期"}, enum_labels={})
    data = {"grace": "P30D", "stage": "rectify_overdue", "published": True, "sales_status": "sales_frozen",
            "rectification_due": "2026-12-29T23:59:59+08:00", "case_org_unit": "511402", "monthly_amount": 250.0}
    assert summary_rows(data, deployed) == [
        ("催报宽限期", "30 天"), ("结果已公告", "是"), ("墓位销售状态", "暂停销售(限期整改)"),
        ("整改期限", "2026-12-29 23:59"), ("月保障金额(元)", "250.0")]

"""Display helpers for process variables shown to users (the UI speaks Chinese, not ISO 8601)."""

from __future__ import annotations

import re
from datetime import datetime

from web.render import SHANGHAI

# Chinese labels of the variables that scripts and services set (no form declares them, so the spec holds no title).
# A variable in neither the forms nor here is internal bookkeeping (e.g. stage) and is not shown.
VARIABLE_TITLES = {
    # 低保
    "publicity_objection": "公示有异议", "standard": "适用保障标准(元/人·月)", "covered_members": "保障人数",
    "per_capita_income": "家庭人均月收入(元)", "monthly_amount": "月保障金额(元)", "amount_explanation": "计算过程",
    # 社会组织年检 / 双随机抽查
    "reminded": "已催报", "published": "结果已公告", "audit_missing": "缺审计报告",
    "rectification_overdue": "整改逾期", "rectify_failed": "整改未通过",
    # 公墓年检
    "escalated": "逾期督办", "sales_status": "墓位销售状态", "rectification_due": "整改期限",
    "reinspection_due": "复检日期",
}
VALUE_LABELS = {"sales_status": {"open": "正常销售", "sales_frozen": "暂停销售(限期整改)", "closed": "已关闭"}}

_DURATION = re.compile(r"^P(\d+)([DWMY])$")
_DURATION_UNITS = {"D": "天", "W": "周", "M": "个月", "Y": "年"}
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def display_value(text: str) -> str:
    """An ISO 8601 timestamp as local 'YYYY-MM-DD HH:MM' and a simple duration (P30D, P3M) as '30 天', '3 个月';
    anything else unchanged."""
    if m := _DURATION.match(text):
        return f"{m.group(1)} {_DURATION_UNITS[m.group(2)]}"
    if _ISO_DATETIME.match(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if moment.tzinfo is not None:
            moment = moment.astimezone(SHANGHAI)
        return moment.strftime("%Y-%m-%d %H:%M")
    return text


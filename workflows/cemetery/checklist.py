"""The 公墓年检 checklist: template `cemetery_annual` (versioned, limits are parameters) and its evaluation.

The template is data in `common.ChecklistTemplate`, evaluated by the shared `workflows.common.checklist`.
Items carry `applies_to` (cemetery types); the measured-plot items differ by type:

    公益性 public_welfare   single ≤ pw_single_max_m2 (0.5, the plan)   double ≤ pw_double_max_m2 (0.8, provincial)
    经营性 commercial       ashes, single or double ≤ com_ashes_max_m2 (1.0, 民事发〔1998〕10号)
    both                    body burial ≤ body_max_m2 (4.0, where burial of bodies is allowed at all)

Changing a limit publishes a new template version; a ChecklistRecord keeps the version it was made with.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from workflows.common.checklist import ChecklistError, Finding, check_template, evaluate
from workflows.common.models import ChecklistTemplate

TEMPLATE_CODE = "cemetery_annual"
PLOT_KINDS = {"single": "单穴(骨灰)", "double": "双穴合葬(骨灰)", "body": "遗体墓"}
OVER_LIMIT_BASIS = ("《殡葬管理条例》第十九条:墓穴占地面积超过规定标准的,责令限期改正,没收违法所得,"
                    "可并处违法所得1至3倍罚款")

TEMPLATE_V1: dict[str, Any] = {
    "code": TEMPLATE_CODE,
    "version": 1,
    "title": "公墓年检检查表",
    "parameters": {
        "pw_single_max_m2": 0.5,
        "pw_double_max_m2": 0.8,
        "com_ashes_max_m2": 1.0,
        "body_max_m2": 4.0,
        "eco_share_min": 0.1,
        "measured_sample_min": 3,
        "rectification_days": 30,
    },
    "items": [
        {"code": "licences_valid", "kind": "check", "label": "建设批复、经营许可、用地、规划及价格批复齐全有效",
         "legal_basis": "《殡葬管理条例》第八条、第九条", "corrective_action": "补办或换发相关批准文件,过期前申请延续"},
        {"code": "plot_area_pw_single", "kind": "measure", "label": "单穴墓位占地面积(公益性)",
         "limit_param": "pw_single_max_m2", "unit": "㎡", "applies_to": ["public_welfare"],
         "legal_basis": OVER_LIMIT_BASIS, "corrective_action": "拆除超标部分,按标准恢复墓位占地面积"},
        {"code": "plot_area_pw_double", "kind": "measure", "label": "双穴合葬墓位占地面积(公益性)",
         "limit_param": "pw_double_max_m2", "unit": "㎡", "applies_to": ["public_welfare"],
         "legal_basis": OVER_LIMIT_BASIS, "corrective_action": "拆除超标部分,按标准恢复墓位占地面积"},
        {"code": "plot_area_com_ashes", "kind": "measure", "label": "骨灰墓位占地面积(经营性)",
         "limit_param": "com_ashes_max_m2", "unit": "㎡", "applies_to": ["commercial"],
         "legal_basis": OVER_LIMIT_BASIS, "corrective_action": "拆除超标部分,没收违法所得,按标准恢复墓位占地面积"},
        {"code": "plot_area_body", "kind": "measure", "label": "遗体墓位占地面积",
         "limit_param": "body_max_m2", "unit": "㎡", "legal_basis": OVER_LIMIT_BASIS,
         "corrective_action": "拆除超标部分,按标准恢复墓位占地面积"},
        {"code": "headstone_greening", "kind": "check", "label": "墓碑规格形式符合要求,园区绿化达标",
         "legal_basis": "民事发〔1998〕10号", "corrective_action": "更换超规格墓碑,补植绿化"},
        {"code": "no_forbidden_graves", "kind": "check", "label": "无宗族墓地、活人墓(寿穴)及封建迷信、宗教性建筑",
         "legal_basis": "《殡葬管理条例》第九条;民事发〔1998〕10号", "corrective_action": "限期拆除,恢复原状"},
        {"code": "no_outsider_sales", "kind": "check", "label": "公益性墓地未向本辖区村(居)民以外人员提供墓穴",
         "applies_to": ["public_welfare"], "legal_basis": "《殡葬管理条例》第九条",
         "corrective_action": "停止对外销售,清退违规销售墓穴,没收违法所得"},
        {"code": "contracts_receipts", "kind": "check", "label": "签订销售合同、开具票据,无预售、炒买炒卖",
         "legal_basis": "民事发〔1998〕10号", "corrective_action": "规范合同和票据,退还预售款项,停止炒买炒卖"},
        {"code": "prices_posted", "kind": "check", "label": "收费项目、标准等“六公示”在显著位置公示",
         "legal_basis": "《价格法》第十三条(明码标价)", "corrective_action": "在服务场所显著位置公示收费项目和标准"},
        {"code": "eco_burial_share", "kind": "number", "label": "生态安葬墓位占比", "min": "eco_share_min",
         "legal_basis": "眉山市“十四五”民政事业发展规划 第七章第二节(生态安葬)",
         "corrective_action": "增设树葬、草坪葬、花坛葬、壁葬等生态安葬区"},
        {"code": "burial_register", "kind": "check", "label": "安葬登记簿完整,按规定发放安葬(使用)证",
         "legal_basis": "民事发〔1998〕10号", "corrective_action": "补建安葬登记档案,补发安葬证"},
        {"code": "notes", "kind": "text", "label": "其他情况说明"},
    ],
}
CHECK_ITEMS = [i["code"] for i in TEMPLATE_V1["items"] if i["kind"] == "check"]


@dataclass(frozen=True)
class PlotRow:
    """One measured plot of the on-site sample."""

    label: str
    kind: str  # single / double / body
    area: Decimal


@dataclass(frozen=True)
class FlaggedRow:
    row: PlotRow
    limit: Decimal
    over: bool


async def ensure_template() -> ChecklistTemplate:
    """Seed v1 once; returns the newest version."""
    latest = await current_template()
    if latest is not None:
        return latest
    check_template(TEMPLATE_V1)
    return await ChecklistTemplate.create(code=TEMPLATE_CODE, version=1, title=TEMPLATE_V1["title"],
                                          body=copy.deepcopy(TEMPLATE_V1))


async def current_template() -> ChecklistTemplate | None:
    return await ChecklistTemplate.filter(code=TEMPLATE_CODE).order_by("-version").first()


async def publish_parameters(changes: Mapping[str, Any], *, actor: str) -> ChecklistTemplate:
    """A new template version with changed parameters; earlier records keep the version they used."""
    base = await ensure_template()
    body = copy.deepcopy(base.body)
    unknown = set(changes) - set(body["parameters"])
    if unknown:
        raise ChecklistError(f"unknown parameters: {sorted(unknown)}")
    body["parameters"].update(changes)
    body["version"] = base.version + 1
    check_template(body)
    return await ChecklistTemplate.create(code=TEMPLATE_CODE, version=base.version + 1, title=base.title, body=body,
                                          created_by=actor)


def items_for(body: Mapping[str, Any], cemetery_type: str) -> list[dict[str, Any]]:
    return [i for i in body["items"] if cemetery_type in i.get("applies_to", [cemetery_type])]


def template_for(body: Mapping[str, Any], cemetery_type: str) -> dict[str, Any]:
    """The template restricted to the items that apply to this cemetery type."""
    return {**body, "items": items_for(body, cemetery_type)}


def measure_item(cemetery_type: str, kind: str) -> str:
    if kind == "body":
        return "plot_area_body"
    if cemetery_type == "commercial":
        return "plot_area_com_ashes"
    return "plot_area_pw_double" if kind == "double" else "plot_area_pw_single"


def limit_for(body: Mapping[str, Any], cemetery_type: str, kind: str) -> Decimal:
    item = next(i for i in body["items"] if i["code"] == measure_item(cemetery_type, kind))
    return Decimal(str(body["parameters"][item["limit_param"]]))


def parse_rows(labels: Sequence[str], kinds: Sequence[str], areas: Sequence[str]) -> tuple[list[PlotRow], list[str]]:
    """Rows of the measured sample from the form's parallel lists; blank rows are skipped; errors in Chinese."""
    rows: list[PlotRow] = []
    errors: list[str] = []
    for n, (label, kind, area) in enumerate(zip(labels, kinds, areas, strict=False), start=1):
        label, area = label.strip(), area.strip()
        if not label and not area:
            continue
        if kind not in PLOT_KINDS:
            errors.append(f"第 {n} 行:请选择墓位类型。")
            continue
        try:
            value = Decimal(area)
            if not value.is_finite() or value <= 0 or value > 1000:
                raise InvalidOperation
        except InvalidOperation:
            errors.append(f"第 {n} 行:实测面积须为大于 0 的数字(平方米)。")
            continue
        rows.append(PlotRow(label or f"第 {n} 个墓位", kind, value))
    return rows, errors


def flag_rows(body: Mapping[str, Any], cemetery_type: str, rows: Sequence[PlotRow]) -> list[FlaggedRow]:
    out = []
    for row in rows:
        limit = limit_for(body, cemetery_type, row.kind)
        out.append(FlaggedRow(row, limit, row.area > limit))
    return out


def build_answers(body: Mapping[str, Any], cemetery_type: str, checks: Mapping[str, tuple[bool, str]],
                  rows: Sequence[PlotRow], eco_share: Decimal, notes: str = "") -> dict[str, Any]:
    """Answers keyed by item code, in the shape `workflows.common.checklist.evaluate` reads."""
    answers: dict[str, Any] = {}
    for item in items_for(body, cemetery_type):
        if item["kind"] == "measure":
            answers[item["code"]] = []
    for row in rows:
        answers[measure_item(cemetery_type, row.kind)].append(
            {"label": f"{row.label}({PLOT_KINDS[row.kind]})", "value": str(row.area)})
    for code, (ok, note) in checks.items():
        answers[code] = {"ok": ok, "note": note}
    answers["eco_burial_share"] = str(eco_share)
    answers["notes"] = notes
    return answers


def evaluate_for(body: Mapping[str, Any], cemetery_type: str, answers: Mapping[str, Any]) -> list[Finding]:
    return evaluate(template_for(body, cemetery_type), answers)


def corrective_action(body: Mapping[str, Any], item_code: str) -> str:
    item: Mapping[str, Any] = next((i for i in body["items"] if i["code"] == item_code), {})
    return str(item.get("corrective_action") or "按检查意见整改")

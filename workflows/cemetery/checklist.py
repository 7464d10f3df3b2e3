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
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from engine.audit import PendingEvent, append_events
from workflows.common.checklist import ChecklistError, Finding, check_template, evaluate
from workflows.common.models import ChecklistRecord, ChecklistTemplate

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


async def template_of(inspection: Any) -> ChecklistTemplate:
    """The version an inspection works with: the one current when it started (`template_id`); for inspections
    older than that column, the version of its on-site checklist, else the newest."""
    if inspection.template_id:
        row = await ChecklistTemplate.get_or_none(id=inspection.template_id, code=TEMPLATE_CODE)
        if row is not None:
            return row
    if inspection.checklist_record_id:
        record = await ChecklistRecord.get_or_none(id=inspection.checklist_record_id).prefetch_related("template")
        if record is not None and record.template.code == TEMPLATE_CODE:
            return record.template
    return await ensure_template()


# -- the limits page: the parameters a city may change, with their Chinese labels and bounds ---------------

@dataclass(frozen=True)
class ParamSpec:
    key: str
    label: str
    unit: str
    low: Decimal
    high: Decimal
    integer: bool = False
    percent: bool = False  # stored as a ratio (0.1), entered and shown as a percentage (10)
    note: str = ""


NATIONAL_ASHES_MAX = Decimal("1.0")  # 民事发〔1998〕10号: ashes plots at most 1 m²
NATIONAL_BODY_MAX = Decimal("4.0")  # and body burial at most 4 m²
PARAM_SPECS = [
    ParamSpec("pw_single_max_m2", "公益性公墓单穴(骨灰)墓位占地上限", "㎡", Decimal("0.1"), NATIONAL_ASHES_MAX,
              note="规划要求独立墓位不超过 0.5 ㎡"),
    ParamSpec("pw_double_max_m2", "公益性公墓双穴合葬(骨灰)墓位占地上限", "㎡", Decimal("0.1"), NATIONAL_ASHES_MAX,
              note="省内通行做法 0.8 ㎡,不得小于单穴上限"),
    ParamSpec("com_ashes_max_m2", "经营性公墓骨灰墓位占地上限", "㎡", Decimal("0.1"), NATIONAL_ASHES_MAX,
              note="国家标准不超过 1 ㎡"),
    ParamSpec("body_max_m2", "遗体墓位占地上限", "㎡", Decimal("0.5"), NATIONAL_BODY_MAX, note="国家标准不超过 4 ㎡"),
    ParamSpec("eco_share_min", "生态安葬墓位最低占比", "%", Decimal("0"), Decimal("100"), percent=True),
    ParamSpec("measured_sample_min", "每次检查最少实测墓位数", "个", Decimal("1"), Decimal("50"), integer=True),
    ParamSpec("rectification_days", "默认整改期限", "天", Decimal("1"), Decimal("365"), integer=True),
]
MAX_DOCUMENT_NUMBER = 100
MAX_PUBLISH_NOTE = 500


def shown_value(spec: ParamSpec, value: Any) -> str:
    """A stored parameter as the form shows it (a ratio as a percentage)."""
    number = Decimal(str(value))
    if spec.percent:
        number *= 100
    return f"{number.normalize():f}"


def parse_parameters(values: Mapping[str, str], current: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Changed parameters from the form (stored units), or Chinese errors keyed by parameter."""
    errors: dict[str, str] = {}
    clean: dict[str, Decimal] = {}
    for spec in PARAM_SPECS:
        raw = values.get(spec.key, "").strip()
        try:
            number = Decimal(raw)
            if not number.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors[spec.key] = f"{spec.label}须为数字。"
            continue
        if spec.integer and number != number.to_integral_value():
            errors[spec.key] = f"{spec.label}须为整数。"
        elif not spec.low <= number <= spec.high:
            errors[spec.key] = f"{spec.label}须在 {spec.low}–{spec.high} {spec.unit} 之间。"
        elif not spec.integer and number.as_tuple().exponent < -2:  # type: ignore[operator]
            errors[spec.key] = f"{spec.label}最多保留两位小数。"
        else:
            clean[spec.key] = number
    if "pw_single_max_m2" in clean and "pw_double_max_m2" in clean and \
            clean["pw_double_max_m2"] < clean["pw_single_max_m2"]:
        errors["pw_double_max_m2"] = "双穴合葬墓位上限不得小于单穴墓位上限。"
    changes: dict[str, Any] = {}
    for spec in PARAM_SPECS:
        if spec.key not in clean:
            continue
        number = clean[spec.key]
        stored: Any = int(number) if spec.integer else float(number / 100 if spec.percent else number)
        if Decimal(str(stored)) != Decimal(str(current.get(spec.key))):
            changes[spec.key] = stored
    return changes, errors


class PublishConflict(ChecklistError):
    """Someone published a version after the form was opened."""


async def publish_version(changes: Mapping[str, Any], *, base_version: int, document_number: str, note: str,
                          actor: str, now: datetime) -> ChecklistTemplate:
    """Publish the next version with changed limits, audited with who, when and the document (文号) behind it.
    Inspections started earlier keep their version (`template_of`)."""
    current = await ensure_template()
    if current.version != base_version:
        raise PublishConflict(f"检查表已由他人发布第 {current.version} 版,请核对后重新提交。")
    if not changes:
        raise ChecklistError("限值未作任何修改,无需发布新版本。")
    body = copy.deepcopy(current.body)
    unknown = set(changes) - set(body["parameters"])
    if unknown:
        raise ChecklistError(f"unknown parameters: {sorted(unknown)}")
    before = {k: body["parameters"][k] for k in changes}
    body["parameters"].update(changes)
    body["version"] = current.version + 1
    body["publication"] = {"document_number": document_number, "note": note, "published_by": actor,
                           "published_at": now.isoformat(), "changed": {k: [before[k], changes[k]] for k in changes}}
    check_template(body)
    try:
        async with in_transaction() as conn:
            row = await ChecklistTemplate.create(code=TEMPLATE_CODE, version=current.version + 1,
                                                 title=current.title, body=body, created_by=actor, using_db=conn)
            await append_events([PendingEvent(actor, "cemetery.checklist_published", None, None, {
                "template": TEMPLATE_CODE, "version": row.version, "document_number": document_number,
                "changed": body["publication"]["changed"]})], now, conn)
    except IntegrityError as exc:  # the same version published at the same moment
        raise PublishConflict("检查表已由他人同时发布新版本,请刷新后重新提交。") from exc
    return row


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

"""Editing the cemetery register: a cemetery's registration data and its documents (licences and approvals with
their expiry); progress on rectification items. Validation returns Chinese messages; every change is audited.

The sales status is not edited here (`sales.change_status` owns it), nor is the township of a registered
cemetery (its inspections copy the org path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.transactions import in_transaction

from engine import collab
from engine.audit import PendingEvent, append_events
from engine.collab import AttachmentStore
from engine.models import Attachment, HumanTask, OrgUnit, ProcessInstance
from workflows.cemetery.models import (
    AREA_KINDS,
    CEMETERY_TYPES,
    DOCUMENT_KINDS,
    Cemetery,
    CemeteryDocument,
    CemeteryInspection,
    Rectification,
)

PLOT_FIELDS = {"plots_single": "单穴墓位数", "plots_double": "双穴墓位数", "plots_ashes": "骨灰墓位数",
               "plots_body": "遗体墓位数", "plots_eco": "生态安葬墓位数"}
MAX_PLOTS = 10_000_000
PRICE_SPLIT = re.compile(r"\s*[,,|]\s*")


def prices_text(prices: list[dict[str, Any]]) -> str:
    return "\n".join(f"{p.get('item', '')},{p.get('price', '')},{p.get('unit', '')}" for p in prices)


def parse_prices(text: str) -> tuple[list[dict[str, str]], str | None]:
    """One price a line: 项目,价格,单位 (Chinese or ASCII commas)."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = PRICE_SPLIT.split(line.strip())
        if len(parts) != 3 or not parts[0] or not parts[2]:
            return [], f"收费标准第 {n} 行应为“项目,价格,单位”。"
        try:
            price = Decimal(parts[1])
            if not price.is_finite() or price < 0 or price > 10_000_000:
                raise InvalidOperation
        except InvalidOperation:
            return [], f"收费标准第 {n} 行的价格须为不小于 0 的数字。"
        out.append({"item": parts[0][:50], "price": str(price), "unit": parts[2][:20]})
    return out, None


async def validate_cemetery(values: Mapping[str, str], *, scope_path: str,
                            existing: Cemetery | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean field values for Cemetery, or Chinese errors keyed by form field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if existing is None:
        code = values.get("code", "").strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", code):
            errors["code"] = "编号为 1-32 位字母、数字、下划线或连字符。"
        elif await Cemetery.exists(code=code):
            errors["code"] = "该编号已登记。"
        clean["code"] = code
        town = await OrgUnit.get_or_none(code=values.get("township_code", "")[:32], level="township",
                                         path__startswith=scope_path)
        if town is None:
            errors["township_code"] = "请选择您管辖范围内的乡镇(街道)。"
        else:
            clean.update(township_code=town.code, county_code=str(town.parent_id or ""),  # type: ignore[attr-defined]
                         org_path=town.path)
    for key, label, limit in (("name", "公墓名称", 100), ("operator", "经营(管理)单位", 100)):
        value = values.get(key, "").strip()
        if not value:
            errors[key] = f"请填写{label}。"
        elif len(value) > limit:
            errors[key] = f"{label}不能超过 {limit} 个字。"
        clean[key] = value
    if values.get("cemetery_type") not in CEMETERY_TYPES:
        errors["cemetery_type"] = "请选择公墓类型。"
    if values.get("area_kind") not in AREA_KINDS:
        errors["area_kind"] = "请选择城乡类别。"
    clean.update(cemetery_type=values.get("cemetery_type"), area_kind=values.get("area_kind"))
    try:
        area = Decimal(values.get("area_m2", "").strip())
        if not area.is_finite() or area <= 0 or area >= Decimal("1e10"):
            raise InvalidOperation
        clean["area_m2"] = area.quantize(Decimal("0.01"))
    except InvalidOperation:
        errors["area_m2"] = "占地面积须为大于 0 的数字(平方米)。"
    for key, label in PLOT_FIELDS.items():
        raw = values.get(key, "").strip() or "0"
        if not raw.isdecimal() or int(raw) > MAX_PLOTS:
            errors[key] = f"{label}须为不小于 0 的整数。"
        else:
            clean[key] = int(raw)
    prices, problem = parse_prices(values.get("prices", ""))
    if problem:
        errors["prices"] = problem
    clean["prices"] = prices
    return clean, errors


async def save_cemetery(clean: Mapping[str, Any], *, actor: str, now: datetime,
                        existing: Cemetery | None = None) -> Cemetery:
    async with in_transaction() as conn:
        payload: dict[str, Any]
        if existing is None:
            cemetery = await Cemetery.create(using_db=conn, **clean)
            action, payload = "cemetery.registered", {"cemetery": cemetery.code, "name": cemetery.name}
        else:
            before = {k: str(getattr(existing, k)) for k in clean}
            existing.update_from_dict(dict(clean))
            await existing.save(using_db=conn, update_fields=sorted(clean))
            cemetery = existing
            after = {k: str(getattr(existing, k)) for k in clean}
            action = "cemetery.updated"
            payload = {"cemetery": cemetery.code, "changed": {k: [before[k], after[k]] for k in clean
                                                              if before[k] != after[k]}}
        await append_events([PendingEvent(actor, action, None, None, payload)], now, conn)
    return cemetery


def _date(raw: str) -> date | None:
    return date.fromisoformat(raw) if raw else None


def validate_document(values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {"kind": values.get("kind", ""), "number": values.get("number", "").strip(),
                             "issued_by": values.get("issued_by", "").strip()}
    if clean["kind"] not in DOCUMENT_KINDS:
        errors["kind"] = "请选择文件类别。"
    if not clean["number"] or len(clean["number"]) > 100:
        errors["number"] = "请填写文号(不超过 100 个字)。"
    if len(clean["issued_by"]) > 100:
        errors["issued_by"] = "发证(批准)机关不能超过 100 个字。"
    for key, label in (("issued_on", "发证日期"), ("expires_on", "有效期至")):
        try:
            clean[key] = _date(values.get(key, "").strip())
        except ValueError:
            errors[key] = f"{label}须为日期(年-月-日)。"
    if clean.get("issued_on") and clean.get("expires_on") and clean["expires_on"] <= clean["issued_on"]:
        errors["expires_on"] = "有效期至须晚于发证日期。"
    return clean, errors


async def add_document(cemetery: Cemetery, clean: Mapping[str, Any], *, actor: str,
                       now: datetime) -> CemeteryDocument:
    async with in_transaction() as conn:
        row = await CemeteryDocument.create(cemetery=cemetery, using_db=conn, **clean)
        await append_events([PendingEvent(actor, "cemetery.document_added", None, None, {
            "cemetery": cemetery.code, "kind": row.kind, "number": row.number,
            "expires_on": row.expires_on.isoformat() if row.expires_on else None})], now, conn)
    return row


async def remove_document(cemetery: Cemetery, document_id: int, *, actor: str, now: datetime) -> bool:
    row = await CemeteryDocument.get_or_none(id=document_id, cemetery=cemetery)
    if row is None:
        return False
    async with in_transaction() as conn:
        await row.delete(using_db=conn)
        await append_events([PendingEvent(actor, "cemetery.document_removed", None, None, {
            "cemetery": cemetery.code, "kind": row.kind, "number": row.number})], now, conn)
    return True


# -- rectification progress -------------------------------------------------------------------------

RECTIFIERS = frozenset({"township_clerk", "township_reviewer", "county_reviewer", "inspector", "admin"})
MAX_PROGRESS = 1000


async def report_progress(store: AttachmentStore, rectification: Rectification, *, actor: str, progress: str,
                          done: bool, filename: str | None, content: bytes, now: datetime,
                          uploaded: Sequence[Attachment] = ()) -> Attachment | None:
    """Record progress on an open item: a note, optional evidence (an attachment of the case, on the open 限期整改
    task if there is one; or `uploaded`, attachments of the case already stored, as the API passes them),
    optionally 已整改 (awaiting the acceptance inspection). Raises ValueError (Chinese) or the engine's
    FormValidationError for a refused file; nothing is written then."""
    if rectification.status != "open":
        raise ValueError("该整改事项已验收或关闭,不能再更新。")
    text = progress.strip()
    if len(text) > MAX_PROGRESS:
        raise ValueError(f"整改进展不能超过 {MAX_PROGRESS} 个字。")
    if not text and not done and not filename and not uploaded:
        raise ValueError("请填写整改进展、上传佐证材料或标记已整改。")
    if done and not text and not rectification.progress:
        raise ValueError("标记已整改前请填写整改情况。")
    inspection = await CemeteryInspection.get(id=rectification.inspection_id)  # type: ignore[attr-defined]
    instance = await ProcessInstance.get(id=inspection.instance_id) if inspection.instance_id else None
    attachment = None
    if filename:
        if instance is None:
            raise ValueError("该年检没有办件,不能上传佐证材料。")
        task = await HumanTask.filter(instance_id=instance.id, bpmn_id="Task_rectify",
                                      state__in=("READY", "CLAIMED")).first()
        attachment, _ = await collab.add_attachment(store, instance=instance, task=task, filename=filename,
                                                    content=content, actor=actor, now=now)
    async with in_transaction() as conn:
        fields_ = ["progress_at", "progress_by"]
        if text:
            rectification.progress = text
            fields_.append("progress")
        added = [a.id for a in [*uploaded, *([attachment] if attachment else [])]
                 if a.id not in (rectification.evidence or [])]
        if added:
            rectification.evidence = [*(rectification.evidence or []), *dict.fromkeys(added)]
            fields_.append("evidence")
        if done:
            rectification.reported_done_at = now
            fields_.append("reported_done_at")
        rectification.progress_at, rectification.progress_by = now, actor
        await rectification.save(using_db=conn, update_fields=fields_)
        await append_events([PendingEvent(actor, "cemetery.rectification_progress", inspection.instance_id, None, {
            "rectification": rectification.id, "item": rectification.item, "progress": text, "done": done,
            "attachment_id": attachment.id if attachment else None,
            "attachment_ids": [a.id for a in uploaded] or None})], now, conn)
    return attachment

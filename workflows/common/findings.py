"""Findings tracked to closure: every failed checklist item becomes a FindingRecord with a corrective action,
an owner and a due date; it is closed with a recorded closure (who, when, what was done, optional evidence).

    checklist evaluated ──▶ open_findings (one row per Finding, same transaction as the ChecklistRecord)
    open ──(close_finding: note required, evidence attachment optional)──▶ closed
    open ──(update_finding: owner / owner org unit, corrective action, due date; audited)──▶ open
    open ──(report_progress by the owner unit: note, optional evidence; audited)──▶ open (closing stays with
                                                                                 the authority)
    open and due_date < today ──▶ overdue (a query, not a state: it cannot go stale)

Who sees a finding: the authority that tracks it (scope_path in the viewer's subtree), and, when its owner is an
org unit, the users whose scope contains that unit (`visible`, `owned_by`).

Template data this module reads (all optional): item "corrective_action" (the default action text) and the
parameter "rectify_days" (due date = check day + days, default DEFAULT_RECTIFY_DAYS). Shared by the
social-organization spot checks and, later, the cemetery inspections: nothing here knows either domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from engine.audit import PendingEvent, append_events
from engine.models import Attachment, OrgUnit
from workflows.common.checklist import Finding
from workflows.common.models import ChecklistRecord, FindingProgress, FindingRecord

DEFAULT_RECTIFY_DAYS = 30
FINDING_STATUSES = {"open": "待整改", "closed": "已整改关闭"}


class FindingError(ValueError):
    """A closure the rules do not allow; the message is Chinese, for the page."""


def rectify_days(template: Mapping[str, Any]) -> int:
    raw = (template.get("parameters") or {}).get("rectify_days", DEFAULT_RECTIFY_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError):
        return DEFAULT_RECTIFY_DAYS
    return days if days > 0 else DEFAULT_RECTIFY_DAYS


def corrective_action(template: Mapping[str, Any], finding: Finding) -> str:
    item: Mapping[str, Any] = next((i for i in template.get("items") or [] if i.get("code") == finding.item), {})
    action = str(item.get("corrective_action") or "").strip()
    if not action:
        action = f"针对「{finding.label}」存在的问题限期整改,并报送整改情况及佐证材料"
    if finding.legal_basis:
        action += f"(依据:{finding.legal_basis})"
    return action[:1000]


async def open_findings(conn: BaseDBAsyncClient, record: ChecklistRecord, findings: Iterable[Finding],
                        template: Mapping[str, Any], *, scope_path: str, owner: str, check_day: date,
                        now: datetime, subject_name: str = "") -> list[FindingRecord]:
    """One open FindingRecord per finding, due `rectify_days` after the check; written on `conn`."""
    due = check_day + timedelta(days=rectify_days(template))
    rows = []
    for f in findings:
        rows.append(await FindingRecord.create(
            record_id=record.id, subject_type=record.subject_type, subject_id=record.subject_id,
            subject_name=subject_name[:200], scope_path=scope_path, item=f.item, label=f.label[:300],
            message=f.message[:1000], legal_basis=f.legal_basis[:200], severity=f.severity, value=f.value,
            corrective_action=corrective_action(template, f), owner=owner[:200], due_date=due, created_at=now,
            using_db=conn))
    return rows


async def reschedule(subject_type: str, subject_id: str, due: date) -> int:
    """Set the due date of a subject's open findings (e.g. the deadline of a 责令改正 decision)."""
    return await FindingRecord.filter(subject_type=subject_type, subject_id=subject_id, status="open").exclude(
        due_date=due).update(due_date=due)


async def close_finding(finding_id: int, *, actor: str, note: str, now: datetime,
                        evidence_attachment_id: int | None = None) -> FindingRecord:
    """Close an open finding; who, when and what was done are recorded. Closing twice is refused."""
    note = note.strip()
    if len(note) < 2:
        raise FindingError("请填写整改情况说明(整改措施、复查结论等)")
    updated = await FindingRecord.filter(id=finding_id, status="open").update(
        status="closed", closed_at=now, closed_by=actor, closure_note=note[:4000],
        evidence_attachment_id=evidence_attachment_id)
    if not updated:  # a conditional update: two people closing at once cannot both succeed
        raise FindingError("该问题不存在或已关闭")
    return await FindingRecord.get(id=finding_id)


MAX_DUE_DAYS = 366  # a due date more than a year after the check is a typing error, not a plan


async def update_finding(finding_id: int, *, actor: str, owner: str, owner_unit_code: str | None,
                         corrective_action: str, due_date: date, today: date, now: datetime) -> FindingRecord:
    """Change who carries out the corrective action (a name, or an org unit with its name as `owner`), the action
    and the due date of an open finding. The change and its before/after values are one audit event
    (finding.updated, on the checklist's instance), in the same transaction as a conditional update."""
    owner, action = owner.strip(), corrective_action.strip()
    if not owner:
        raise FindingError("请填写整改责任方")
    if len(owner) > 200:
        raise FindingError("整改责任方不能超过 200 字")
    if len(action) < 2:
        raise FindingError("请填写整改措施")
    if len(action) > 1000:
        raise FindingError("整改措施不能超过 1000 字")
    row = await FindingRecord.get_or_none(id=finding_id)
    if row is None or row.status != "open":
        raise FindingError("该问题不存在或已关闭,不能修改")
    if due_date < today:
        raise FindingError("整改期限不能早于今天")
    if (due_date - row.created_at.date()).days > MAX_DUE_DAYS:
        raise FindingError(f"整改期限不能晚于检查后 {MAX_DUE_DAYS} 天")
    new = {"owner": owner, "owner_unit_code": owner_unit_code, "corrective_action": action, "due_date": due_date}
    changes = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
    if not changes:
        raise FindingError("未作任何修改")
    record = await ChecklistRecord.get(id=row.record_id)
    async with in_transaction() as conn:
        updated = await FindingRecord.filter(id=row.id, status="open").using_db(conn).update(
            **{k: v[1] for k, v in changes.items()}, updated_at=now, updated_by=actor)
        if not updated:  # closed meanwhile
            raise FindingError("该问题不存在或已关闭,不能修改")
        await append_events([PendingEvent(actor, "finding.updated", record.instance_id, None, {
            "finding_id": row.id, "subject_type": row.subject_type, "subject_id": row.subject_id,
            "changes": {k: [str(a) if a is not None else None, str(b) if b is not None else None]
                        for k, (a, b) in changes.items()}})], now, conn)
    return await FindingRecord.get(id=row.id)


def in_scope(scope_path: str) -> QuerySet[FindingRecord]:
    return FindingRecord.filter(scope_path__startswith=scope_path)


OWNER_LEVELS = ("city", "county", "township")  # org units that may own a corrective action


async def owner_codes(org_path: str) -> list[str]:
    """The org units (city, county, township) in a scope: findings they own are visible to that scope."""
    return [str(c) for c in await OrgUnit.filter(path__startswith=org_path, level__in=OWNER_LEVELS).values_list(
        "code", flat=True)]


def visible(scope_path: str, codes: list[str] | None) -> QuerySet[FindingRecord]:
    """Findings tracked by the authority of `scope_path`, plus (when `codes` is given) those owned by one of the
    org units `codes`, i.e. the owner units in the viewer's scope."""
    if not codes:
        return in_scope(scope_path)
    return FindingRecord.filter(Q(scope_path__startswith=scope_path) | Q(owner_unit_code__in=codes))


def owned_by(row: FindingRecord, codes: list[str] | set[str]) -> bool:
    return bool(row.owner_unit_code) and row.owner_unit_code in codes


MAX_PROGRESS = 4000


async def report_progress(finding_id: int, *, actor: str, unit_code: str, note: str, now: datetime,
                          evidence_attachment_id: int | None = None) -> FindingProgress:
    """The owner reports what it has done on an open finding: a note and optionally one evidence attachment of
    the checklist's instance. Stored as a FindingProgress row and an audited finding.progress event in one
    transaction; the finding stays open (closing is the authority's review)."""
    note = note.strip()
    if len(note) < 2:
        raise FindingError("请填写整改进展说明")
    if len(note) > MAX_PROGRESS:
        raise FindingError(f"整改进展说明不能超过 {MAX_PROGRESS} 字")
    row = await FindingRecord.get_or_none(id=finding_id)
    if row is None or row.status != "open":
        raise FindingError("该问题不存在或已关闭,不能再报送进展")
    record = await ChecklistRecord.get(id=row.record_id)
    if evidence_attachment_id is not None and (record.instance_id is None or not await Attachment.filter(
            id=evidence_attachment_id, instance_id=record.instance_id).exists()):
        raise FindingError("佐证材料须是本检查办理流程中上传的文件")
    async with in_transaction() as conn:
        progress = await FindingProgress.create(
            finding_id=row.id, note=note, evidence_attachment_id=evidence_attachment_id, reported_by=actor,
            reported_unit=unit_code, reported_at=now, using_db=conn)
        await append_events([PendingEvent(actor, "finding.progress", record.instance_id, None, {
            "finding_id": row.id, "progress_id": progress.id, "unit": unit_code,
            "evidence_attachment_id": evidence_attachment_id})], now, conn)
    return progress


async def progress_of(finding_ids: list[int]) -> dict[int, list[FindingProgress]]:
    out: dict[int, list[FindingProgress]] = {}
    if finding_ids:
        for p in await FindingProgress.filter(finding_id__in=finding_ids).order_by("reported_at", "id"):
            out.setdefault(p.finding_id, []).append(p)
    return out


def overdue(qs: QuerySet[FindingRecord], today: date) -> QuerySet[FindingRecord]:
    return qs.filter(status="open", due_date__lt=today)


def is_overdue(row: FindingRecord, today: date) -> bool:
    return row.status == "open" and row.due_date < today

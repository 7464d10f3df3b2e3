"""The 低保 household file: who may open it, the log of each view, and payment changes (纠正).

    list      any user whose org subtree holds the case; ID numbers masked (510102********1234)
    full file actors on the case (completed, hold or could act on one of its tasks) and supervisors
              (county_reviewer / city_manager / admin) whose subtree holds the case; every view is logged
    log       CaseFileView rows, shown to supervisors on the case page and in the API
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from engine import authz
from engine.authz import Actor
from engine.calendar import SHANGHAI
from engine.models import HumanTask
from workflows.dibao.idnumber import mask_id_number
from workflows.dibao.models import CaseFileView, DibaoCase, PaymentChange, PostAudit

# Who works 低保 cases (or supervises them): only they see the ledger, notices and files, each in their org subtree.
# Other staff of the same unit (project managers, social-organization registrars, inspectors) do not.
STAFF_ROLES = frozenset({"admin", "city_manager", "county_reviewer", "township_clerk", "township_reviewer",
                         "village_clerk"})


def is_staff(actor: Actor) -> bool:
    return bool(actor.roles & STAFF_ROLES)


def in_scope(actor: Actor, case: DibaoCase) -> bool:
    return is_staff(actor) and authz.can_see_path(actor, case.org_path)


async def file_access(actor: Actor, case: DibaoCase) -> str | None:
    """Why the actor may open the full file ("actor" or "supervisor"), or None."""
    if not in_scope(actor, case):
        return None
    if actor.is_supervisor:
        return "supervisor"
    worked = await HumanTask.filter(
        Q(completed_by=actor.username) | Q(assignee=actor.username)
        | Q(state__in=authz.OPEN_STATES, assignee=None, org_unit=actor.org_code,
            candidate_role__in=sorted(actor.roles)),
        instance_id=case.instance_id).exists()
    return "actor" if worked else None


async def log_view(case: DibaoCase, actor: Actor, basis: str, channel: str, now: datetime) -> CaseFileView:
    return await CaseFileView.create(case=case, viewer=actor.username, viewer_org=actor.org_code, basis=basis,
                                     channel=channel, viewed_at=now)


def masked_members(case: DibaoCase) -> list[dict[str, str]]:
    return [{**m, "id_number": mask_id_number(m.get("id_number"))} for m in case.members or []]


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def _money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def summary_json(case: DibaoCase, deadline: datetime | None) -> dict[str, Any]:
    """One row of the case list: no full ID number, no member details."""
    return {"id": case.instance_id, "business_key": case.business_key, "org_unit": case.org_unit,
            "township_code": case.township_code, "county_code": case.county_code,
            "applicant_name": case.applicant_name,
            "applicant_id_number": mask_id_number(case.applicant_id_number) or None,
            "household_size": case.household_size, "separately_registered": case.separately_registered,
            "complaint": case.complaint, "delegated": case.delegated, "accepted_at": _iso(case.accepted_at),
            "deadline_at": _iso(deadline), "decision": case.decision, "decided_at": _iso(case.decided_at),
            "monthly_amount": _money(case.monthly_amount), "closed_at": _iso(case.closed_at)}


def change_json(row: PaymentChange) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "previous_amount": _money(row.previous_amount),
            "new_amount": _money(row.new_amount), "effective_from": row.effective_from.isoformat(),
            "reason": row.reason, "created_by": row.created_by, "created_at": _iso(row.created_at),
            "audit_id": row.audit_id}


async def file_json(case: DibaoCase, deadline: datetime | None, supervisor: bool) -> dict[str, Any]:
    changes = await PaymentChange.filter(case_id=case.instance_id).order_by("created_at", "id")
    body = {**summary_json(case, deadline), "applicant_id_number": case.applicant_id_number,
            "members": list(case.members or []), "amount_explanation": case.amount_explanation,
            "decided_by": case.decided_by, "extension_reason": case.extension_reason,
            "current_monthly_amount": _money(current_amount(case, changes)),
            "payment_changes": [change_json(c) for c in changes]}
    if supervisor:
        views = await CaseFileView.filter(case_id=case.instance_id).order_by("-viewed_at", "-id").limit(200)
        body["views"] = [{"viewer": v.viewer, "viewer_org": v.viewer_org, "basis": v.basis, "channel": v.channel,
                          "viewed_at": _iso(v.viewed_at)} for v in views]
    return body




def pay_from(case: DibaoCase) -> date | None:
    """Payment starts with the month after the decision (the 确认通知书 says so)."""
    if case.decided_at is None:
        return None
    decided = case.decided_at.astimezone(SHANGHAI)
    return date(decided.year + (decided.month == 12), decided.month % 12 + 1, 1)


@dataclass(frozen=True)
class PaymentPeriod:
    start: date
    amount: Decimal | None  # None: stopped (已停发)
    change: PaymentChange | None  # None: the decision itself


def payment_schedule(case: DibaoCase, changes: list[PaymentChange]) -> list[PaymentPeriod]:
    """The monthly amount from the first payment month, then after each recorded change (in recording order)."""
    start = pay_from(case)
    if case.decision != "approve" or start is None:
        return []
    periods = [PaymentPeriod(start, case.monthly_amount, None)]
    periods += [PaymentPeriod(c.effective_from, None if c.kind == "stop" else c.new_amount, c) for c in changes]
    return periods


def amount_on(case: DibaoCase, changes: list[PaymentChange], day: date) -> Decimal | None:
    """The monthly amount in force on `day`: after the latest recorded change that has taken effect by then
    (None once stopped), else the decided amount."""
    in_force = [c for c in changes if c.effective_from <= day]
    if not in_force:
        return case.monthly_amount
    return None if in_force[-1].kind == "stop" else in_force[-1].new_amount


def current_amount(case: DibaoCase, changes: list[PaymentChange]) -> Decimal | None:
    """The monthly amount after the latest recorded change (0 once stopped)."""
    if not changes:
        return case.monthly_amount
    last = changes[-1]
    return Decimal("0.00") if last.kind == "stop" else last.new_amount


async def record_correction(audit: PostAudit, kind: str, new_amount: str, effective_from: str, reason: str,
                            actor: str, now: datetime) -> PaymentChange:
    """纠正: record the payment change (stop, or a new amount from a date) together with the audit outcome."""
    case = await DibaoCase.get(instance_id=audit.case_id)
    if case.decision != "approve":
        raise ValueError("只有予以确认的案件才有保障金可停发或调整。")
    if kind not in ("stop", "adjust"):
        raise ValueError("请选择停发或调整金额。")
    amount: Decimal | None = None
    if kind == "adjust":
        try:
            amount = Decimal(new_amount.strip())
            if not amount.is_finite() or amount <= 0 or amount > 100000:
                raise InvalidOperation
        except InvalidOperation:
            raise ValueError("请填写调整后的月保障金额(大于 0 的数字,元)。") from None
        amount = amount.quantize(Decimal("0.01"))
    try:
        start = date.fromisoformat(effective_from.strip())
    except ValueError:
        raise ValueError("请填写有效的生效日期(YYYY-MM-DD)。") from None
    first = pay_from(case)
    if first is not None and start < first:
        raise ValueError(f"生效日期不能早于保障金起始发放日期 {first.isoformat()}。")
    if len(reason.strip()) < 4:
        raise ValueError("请填写纠正理由(至少 4 个字)。")
    if audit.outcome is not None:
        raise ValueError("该案件已有审计结论。")
    previous = current_amount(case, await PaymentChange.filter(case_id=case.instance_id).order_by("created_at",
                                                                                                  "id"))
    async with in_transaction() as conn:
        claimed = await PostAudit.filter(id=audit.id, outcome=None).using_db(conn).update(
            outcome="corrected", opinion=reason.strip(), audited_by=actor, audited_at=now)
        if claimed != 1:  # recorded meanwhile by someone else
            raise ValueError("该案件已有审计结论。")
        audit.outcome, audit.opinion, audit.audited_by, audit.audited_at = "corrected", reason.strip(), actor, now
        return await PaymentChange.create(case=case, audit=audit, kind=kind, previous_amount=previous,
                                          new_amount=amount, effective_from=start, reason=reason.strip()[:2000],
                                          created_by=actor, created_at=now, using_db=conn)

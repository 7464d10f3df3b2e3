"""The 低保 case record: kept in step with the workflow, in the same transaction, by `track_case`.

    受理 completed (materials complete) → accepted_at, overall deadline (20 WD delegated / 30 WD otherwise)
    审核确认 created                     → delegated? (routed to a township reviewer) and deadline re-based
    审核确认 completed                   → decision, decided_at/by
    instance completed                  → amount and its explanation, closed_at
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from engine.calendar import WorkingCalendar
from engine.orgs import ancestors_by_level
from engine.runtime import Engine, StepContext, StepListener
from workflows.dibao.models import DibaoCase

DELEGATED_LIMIT_WD = 20  # 2022 通知 §4.1
NORMAL_LIMIT_WD = 30  # 低保办法: 30 WD from 受理
EXTENDED_LIMIT_WD = 45  # extendable with a recorded reason


def make_tracker(engine: Engine) -> StepListener:
    async def track_case(ctx: StepContext) -> None:
        calendar = engine.calendar  # read per call: holidays may have been edited
        row = ctx.instance
        case = await DibaoCase.filter(instance_id=str(row.id)).using_db(ctx.conn).first()
        if case is None:
            levels = await ancestors_by_level(row.org_path, ("township", "county"), ctx.conn)
            case = DibaoCase(instance_id=str(row.id), business_key=row.business_key, org_unit=row.org_unit,
                             org_path=row.org_path, township_code=levels.get("township"),
                             county_code=levels.get("county"))
        data = ctx.data
        if ctx.completed_task == "Task_accept" and ctx.submitted and ctx.submitted.get("materials_complete"):
            case.accepted_at = ctx.now
            case.applicant_name = str(ctx.submitted.get("applicant_name") or "")[:50]
            case.household_size = int(ctx.submitted.get("household_size") or 0) or None
            case.separately_registered = bool(ctx.submitted.get("close_relative_of_staff"))
            case.applicant_id_number = str(ctx.submitted.get("applicant_id_number") or "")[:18] or None
            case.members = [{"name": str(m.get("name") or ""), "relation": str(m.get("relation") or ""),
                             "id_number": str(m.get("id_number") or ""), "special": str(m.get("special") or "none")}
                            for m in ctx.submitted.get("members") or () if isinstance(m, dict)]
            case.deadline_at = calendar.add_working_days(ctx.now, NORMAL_LIMIT_WD)
        if ctx.completed_task == "Task_prelim" and ctx.submitted:
            case.complaint = case.complaint or bool(ctx.submitted.get("complaint_received"))
        for task in ctx.created_tasks or ():
            if task.bpmn_id == "Task_confirm":
                case.delegated = task.candidate_role == "township_reviewer"
                if case.accepted_at and not case.extended_deadline_at:
                    limit = DELEGATED_LIMIT_WD if case.delegated else NORMAL_LIMIT_WD
                    case.deadline_at = calendar.add_working_days(case.accepted_at, limit)
        if ctx.completed_task == "Task_confirm" and ctx.submitted:
            case.decision = str(ctx.submitted.get("decision"))
            case.decided_at = ctx.now
            case.decided_by = ctx.actor
        if row.status in ("completed", "cancelled") and case.closed_at is None:
            case.closed_at = ctx.now
            if case.decision is None:
                case.decision = "terminated" if row.status == "cancelled" or not case.accepted_at else "not_eligible"
            if data.get("monthly_amount") is not None:
                try:
                    case.monthly_amount = Decimal(str(data["monthly_amount"]))
                except InvalidOperation:
                    case.monthly_amount = None
                case.amount_explanation = str(data.get("amount_explanation") or "")
        await case.save(using_db=ctx.conn)

    return track_case


def extend_deadline(case: DibaoCase, reason: str, calendar: WorkingCalendar, now: datetime) -> None:
    """Extend the overall clock to 45 WD from 受理; a reason is required (低保办法)."""
    if not reason.strip() or len(reason.strip()) < 4:
        raise ValueError("延期须填写理由(至少 4 个字)。")
    if case.accepted_at is None:
        raise ValueError("尚未受理的案件无需延期。")
    if case.closed_at is not None:
        raise ValueError("案件已办结。")
    if case.extended_deadline_at is not None:
        raise ValueError("该案件已延期,不能再次延期。")
    case.extended_deadline_at = calendar.add_working_days(case.accepted_at, EXTENDED_LIMIT_WD)
    case.extension_reason = reason.strip()[:500]


def effective_deadline(case: DibaoCase) -> datetime | None:
    return case.extended_deadline_at or case.deadline_at

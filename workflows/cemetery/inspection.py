"""The yearly inspection as domain commands around the engine, and how workflow decisions reach the register.

The diagram decides (outcome, sales status, deadlines); the cemetery tables record. Service tasks run inside
Spiff's synchronous step and cannot write, so `sync` copies the decisions from the instance's data into
`CemeteryInspection` / `Cemetery` (the latter only through `sales.change_status`, which enforces the freeze):

    domain command (start, submit checklist, complete)   in one transaction with the engine step
    router of the process (every new human task)         inside the engine's own transaction, so a task
                                                         completed from the generic task page or the API,
                                                         and a fired timer, take effect at once
    step listener (`services.install`, after every step)  likewise, also for steps that end the instance
                                                         (no next human task, so no router call)
    scheduler sweep (`sync_open_inspections`)            a safety net that re-applies the decisions

Checklist answers never enter the workflow: they are a `ChecklistRecord`; the workflow keeps its id and flags,
and `sync` refuses ids that the checklist page did not record for this inspection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from engine.calendar import SHANGHAI
from engine.calendar import local_date as local_day
from engine.errors import EngineError
from engine.forms import FieldError, FormValidationError
from engine.models import HumanTask, ProcessInstance
from engine.runtime import Engine, RouteContext, TaskRoute
from workflows.cemetery import checklist as cl
from workflows.cemetery.models import Cemetery, CemeteryInspection, InspectionCampaign, InspectionPhoto, Rectification
from workflows.cemetery.sales import SalesStatusError, change_status
from workflows.common.models import ChecklistRecord

log = logging.getLogger("civicflow.cemetery")
PROCESS_KEY = "cemetery_annual_inspection"
CHECKLIST_TASKS = {"Task_onsite": "onsite", "Task_acceptance": "acceptance"}
STAGE_OF_TASK = {"Task_self_report": "self_report", "Task_onsite": "onsite", "Task_city_review": "city_review",
                 "Task_rectify": "rectifying", "Task_acceptance": "acceptance", "Task_city_escalation": "escalated"}


class InspectionError(ValueError):
    """A command the inspection rules refuse; the message is for the user (Chinese)."""


def end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)


def _parse_when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


async def open_campaign(year: int, *, actor: str, now: datetime) -> InspectionCampaign:
    campaign, _ = await InspectionCampaign.get_or_create(
        year=year, defaults={"title": f"{year} 年度公墓年检", "opened_at": now, "opened_by": actor})
    return campaign


async def start_inspection(engine: Engine, cemetery: Cemetery, campaign: InspectionCampaign, *,
                           actor: str) -> CemeteryInspection:
    """Create the inspection row and its workflow instance together."""
    if cemetery.status == "closed":
        raise InspectionError(f"{cemetery.name}已关闭,不再年检。")
    try:
        async with in_transaction():
            template = await cl.ensure_template()
            inspection = await CemeteryInspection.create(cemetery=cemetery, campaign=campaign, year=campaign.year,
                                                         org_path=cemetery.org_path, template_id=template.id)
            row = await engine.start(PROCESS_KEY, org_unit=cemetery.township_code, actor=actor,
                                     business_key=f"GMNJ-{campaign.year}-{cemetery.code}",
                                     data={"cemetery_id": cemetery.id, "inspection_id": inspection.id,
                                           "year": campaign.year, "cemetery_name": cemetery.name})
            inspection.instance_id = str(row.id)
            await inspection.save(update_fields=["instance_id"])
    except IntegrityError as exc:
        raise InspectionError(f"{cemetery.name} {campaign.year} 年度年检已启动。") from exc
    return inspection


async def inspection_of_task(task: HumanTask) -> CemeteryInspection:
    inspection = await CemeteryInspection.get_or_none(instance_id=str(task.instance_id))
    if inspection is None:
        raise InspectionError("该事项不属于公墓年检。")
    return inspection


async def complete(engine: Engine, task_id: Any, data: Mapping[str, Any], *, actor: str) -> ProcessInstance:
    """Complete a task of this process and apply its consequences in the same transaction."""
    async with in_transaction():
        row = await engine.complete_task(task_id, data, actor=actor)
        await sync(row, now=engine.clock.now(), actor=actor)
    return row


async def submit_checklist(engine: Engine, task: HumanTask, *, actor: str, checks: Mapping[str, tuple[bool, str]],
                           rows: Sequence[cl.PlotRow], eco_share: Decimal, notes: str,
                           opinion: str) -> ChecklistRecord:
    """Record the on-site (or acceptance) checklist, turn findings into rectification items, complete the task."""
    kind = CHECKLIST_TASKS.get(task.bpmn_id)
    if kind is None:
        raise InspectionError("该事项不需要填写检查表。")
    inspection = await inspection_of_task(task)
    cemetery = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    template = await cl.template_of(inspection)
    answers = cl.build_answers(template.body, cemetery.cemetery_type, checks, rows, eco_share, notes)
    findings = cl.evaluate_for(template.body, cemetery.cemetery_type, answers)
    now = engine.clock.now()
    async with in_transaction():
        record = await ChecklistRecord.create(
            template=template, subject_type="cemetery", subject_id=str(cemetery.id), instance_id=inspection.instance_id,
            inspector=actor, answers=answers, findings=[f.as_dict() for f in findings], passed=not findings)
        await InspectionPhoto.filter(task_id=str(task.id), record_id=None).update(record_id=record.id)
        if kind == "onsite":
            await _open_rectifications(inspection, cemetery, record, template.body, now)
            inspection.checklist_record_id = record.id
            data: dict[str, Any] = {"checklist_record_id": record.id, "checklist_passed": not findings,
                                    "finding_count": len(findings), "inspector_opinion": opinion}
        else:
            failing = {f.item for f in findings}
            for item in await Rectification.filter(inspection=inspection, status="open"):
                if item.item not in failing:
                    item.status, item.verified_record_id = "verified", record.id
                    await item.save(update_fields=["status", "verified_record_id"])
                elif item.reported_done_at is not None:  # reported done, found still failing
                    item.reported_done_at = None
                    await item.save(update_fields=["reported_done_at"])
            inspection.acceptance_record_id = record.id
            data = {"acceptance_record_id": record.id, "acceptance_passed": not findings,
                    "acceptance_finding_count": len(findings), "acceptance_opinion": opinion}
        await inspection.save(update_fields=["checklist_record_id", "acceptance_record_id"])
        row = await engine.complete_task(task.id, data, actor=actor)
        await sync(row, now=now, actor=actor)
    return record


async def _open_rectifications(inspection: CemeteryInspection, cemetery: Cemetery, record: ChecklistRecord,
                               body: Mapping[str, Any], now: datetime) -> None:
    # A re-inspection (延期年检) supersedes the items of the earlier on-site checklist.
    await Rectification.filter(inspection=inspection, status="open").update(status="closed")
    due = local_day(now) + timedelta(days=int(body["parameters"].get("rectification_days", 30)))
    for finding in record.findings:
        await Rectification.create(
            inspection=inspection, checklist_record_id=record.id, item=finding["item"],
            finding=str(finding["message"])[:500], legal_basis=str(finding.get("legal_basis") or "")[:200],
            corrective_action=cl.corrective_action(body, finding["item"])[:500], owner=cemetery.operator[:100],
            due_on=due)


def _refuse(field: str, message: str) -> FormValidationError:
    # A FormValidationError, so the generic task page shows it on the form instead of failing the request.
    return FormValidationError([FieldError(field, "x-cemetery", message)])


async def sync(row: ProcessInstance, *, now: datetime, next_task: str | None = None, actor: str = "engine",
               data: Mapping[str, Any] | None = None) -> CemeteryInspection | None:
    """Copy the workflow's decisions into the inspection and the register (idempotent).

    `data` is the task data of the step (the router passes the new task's); default: the instance summary.
    """
    data = row.data or {} if data is None else data
    if row.process_key != PROCESS_KEY:
        return None
    inspection = await CemeteryInspection.get_or_none(id=data.get("inspection_id"))
    if inspection is None or inspection.instance_id not in (None, str(row.id)) or \
            inspection.cemetery_id != data.get("cemetery_id"):  # type: ignore[attr-defined]
        raise _refuse("inspection_id", "公墓年检须从公墓年检页面按登记簿启动。")
    if data.get("checklist_record_id") is not None and data["checklist_record_id"] != inspection.checklist_record_id:
        raise _refuse("checklist_record_id", "检查表须在公墓检查表页面填写。")
    if data.get("acceptance_record_id") is not None and \
            data["acceptance_record_id"] != inspection.acceptance_record_id:
        raise _refuse("acceptance_record_id", "验收检查表须在公墓检查表页面填写。")
    changed: set[str] = set()

    def put(field: str, value: Any) -> None:
        if getattr(inspection, field) != value:
            setattr(inspection, field, value)
            changed.add(field)

    if next_task is not None:
        put("stage", STAGE_OF_TASK.get(next_task, inspection.stage))
    elif row.status in ("completed", "cancelled"):
        put("stage", "done")
    else:
        open_task = await HumanTask.filter(instance_id=row.id, state__in=("READY", "CLAIMED")).first()
        if open_task is not None:
            put("stage", STAGE_OF_TASK.get(open_task.bpmn_id, inspection.stage))
        elif data.get("outcome") == "defer":
            put("stage", "reinspection")
    outcome = data.get("outcome")
    if outcome and (outcome != inspection.outcome or inspection.published_at is None):
        put("outcome", outcome)
        put("published_at", now)
    due = _parse_when(data.get("rectification_due"))
    if due is not None and due != inspection.rectification_due:
        put("rectification_due", due)
        await Rectification.filter(inspection=inspection, status="open").update(due_on=local_day(due))
    reinspect = _parse_when(data.get("reinspection_due"))
    if reinspect is not None:
        put("reinspection_due", reinspect)
    if data.get("escalated") and inspection.escalated_at is None:
        put("escalated_at", now)
    if changed:
        await inspection.save(update_fields=sorted(changed))
    await _apply_sales_status(inspection, data.get("sales_status"), now=now, actor=actor)
    return inspection


async def _apply_sales_status(inspection: CemeteryInspection, wanted: Any, *, now: datetime, actor: str) -> None:
    cemetery = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    year = inspection.year
    if wanted == "sales_frozen" and cemetery.frozen_inspection_id != inspection.id and cemetery.status != "closed":
        await change_status(cemetery, "sales_frozen", reason=f"{year} 年度年检限期整改,整改验收合格前暂停销售",
                            actor=actor, now=now, freezing_inspection=inspection)
    elif wanted == "open" and cemetery.status == "sales_frozen" and cemetery.frozen_inspection_id == inspection.id:
        await change_status(cemetery, "open", reason=f"{year} 年度年检整改验收合格,恢复销售", actor=actor, now=now)
    elif wanted == "closed" and cemetery.status != "closed":
        await change_status(cemetery, "closed", reason=f"{year} 年度年检逾期未整改,市级责令停止经营", actor=actor,
                            now=now)


def make_router(engine: Engine) -> Any:
    async def route(ctx: RouteContext) -> TaskRoute | None:
        await sync(ctx.instance, now=ctx.now, next_task=ctx.meta.bpmn_id, data=ctx.task_data)
        return None  # the diagram's candidateRole / orgLevel decide who works the task

    return route


async def sync_open_inspections(now: datetime) -> int:
    """The sweep: bring unfinished inspections up to date with their instances; returns how many failed."""
    failed = 0
    for inspection in await CemeteryInspection.exclude(stage="done").exclude(instance_id=None):
        row = await ProcessInstance.get_or_none(id=inspection.instance_id)
        if row is None:
            continue
        try:
            async with in_transaction():
                await sync(row, now=now)
        except (SalesStatusError, InspectionError, FormValidationError, EngineError) as exc:
            failed += 1
            log.warning("cemetery inspection %s not synced: %s", inspection.id, exc)
    return failed

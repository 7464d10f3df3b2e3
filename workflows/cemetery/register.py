"""Queries over the cemetery register, scoped by the actor's org path (ORM code lives with its tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise.queryset import QuerySet

from engine.authz import Actor
from engine.models import MAX_DB_INT, HumanTask
from workflows.cemetery.inspection import CHECKLIST_TASKS, PROCESS_KEY
from workflows.cemetery.models import Cemetery, CemeteryDocument, CemeteryInspection

EXPIRY_WARNING_DAYS = 90


def visible_cemeteries(actor: Actor) -> QuerySet[Cemetery]:
    return Cemetery.filter(org_path__startswith=actor.org_path)




def db_id(value: object) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number <= MAX_DB_INT else None


async def visible_cemetery(actor: Actor, cemetery_id: object) -> Cemetery | None:
    number = db_id(cemetery_id)
    return await visible_cemeteries(actor).filter(id=number).first() if number else None


@dataclass(frozen=True)
class DocumentState:
    document: CemeteryDocument
    state: str  # valid / expiring / expired

    @property
    def label(self) -> str:
        return {"valid": "有效", "expiring": "即将到期", "expired": "已过期"}[self.state]


def document_states(documents: list[CemeteryDocument], today: date) -> list[DocumentState]:
    out = []
    for d in documents:
        if d.expires_on is not None and d.expires_on < today:
            state = "expired"
        elif d.expires_on is not None and (d.expires_on - today).days <= EXPIRY_WARNING_DAYS:
            state = "expiring"
        else:
            state = "valid"
        out.append(DocumentState(d, state))
    return out


async def checklist_tasks_for(actor: Actor) -> list[tuple[HumanTask, CemeteryInspection]]:
    """Open on-site / acceptance tasks this actor may work, with their inspections."""
    tasks = await HumanTask.filter(process_key=PROCESS_KEY, bpmn_id__in=list(CHECKLIST_TASKS),
                                   state__in=("READY", "CLAIMED"), org_unit=actor.org_code,
                                   candidate_role__in=sorted(actor.roles)).order_by("created_at")
    tasks = [t for t in tasks if t.assignee in (None, actor.username)]
    inspections = {i.instance_id: i for i in await CemeteryInspection.filter(
        instance_id__in=[str(t.instance_id) for t in tasks]).select_related("cemetery")}
    return [(t, inspections[str(t.instance_id)]) for t in tasks if str(t.instance_id) in inspections]

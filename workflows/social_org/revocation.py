"""撤销登记 cases: the record opened after two bad years, tracked as a small state machine.

    filed (立案, opened by the projection) ──notify──▶ notified (撤销登记告知书 served, hearing rights stated)
    notified ──request_hearing──▶ hearing (the organization asked for a 听证 within the period)
    notified | hearing ──decide(revoke, hearing record if one was asked for)──▶ decided
    notified | hearing ──decide(drop)──▶ dropped (case closed, registration kept)
    decided ──announce──▶ announced (公告; the organization's status becomes revoked)

Every action is a RevocationEvent (who, the day it happened, the note), so the page shows the case's history.
A state machine rather than a BPMN: the steps are few, done by one office, and carry no deadlines the engine
would have to watch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from workflows.social_org.models import REVOCATION_STAGES, RevocationCase, RevocationEvent, SocialOrganization

ACTIONS = {"notify": "送达撤销登记告知书", "request_hearing": "申请听证", "decide": "作出决定", "announce": "公告"}
FROM_STAGES = {"notify": ("filed",), "request_hearing": ("notified",), "decide": ("notified", "hearing"),
               "announce": ("decided",)}


class RevocationError(ValueError):
    """A step the case cannot take now; the message is Chinese, for the page."""


@dataclass(frozen=True)
class Step:
    action: str
    on: date
    note: str = ""
    number: str = ""  # 告知书 / 决定书 / 公告 number
    decision: str = ""  # decide: revoke / drop
    hearing_on: date | None = None  # decide after a requested hearing: the day it was held


def _check(case: RevocationCase, step: Step, today: date) -> dict[str, Any]:
    if step.action not in ACTIONS:
        raise RevocationError("未知的办理步骤")
    if case.stage not in FROM_STAGES[step.action]:
        stage = REVOCATION_STAGES.get(case.stage, case.stage)
        raise RevocationError(f"案件当前为「{stage}」阶段,不能{ACTIONS[step.action]}")
    if step.on > today:
        raise RevocationError("办理日期不能晚于今天")
    last = max(d for d in (case.opened_on, case.notified_on, case.hearing_on, case.decided_on) if d is not None)
    if step.on < last:
        raise RevocationError(f"办理日期不能早于上一步骤({last})")
    changes: dict[str, Any]
    if step.action == "notify":
        if len(step.number) < 2:
            raise RevocationError("请填写告知书文号")
        changes = {"stage": "notified", "notice_no": step.number[:64], "notified_on": step.on}
    elif step.action == "request_hearing":
        changes = {"stage": "hearing", "hearing_requested": True}
    elif step.action == "decide":
        if step.decision not in ("revoke", "drop"):
            raise RevocationError("请选择决定:撤销登记 或 不予撤销")
        if len(step.note) < 4:
            raise RevocationError("请填写决定理由")
        if case.stage == "hearing":
            if step.hearing_on is None or step.hearing_on > step.on or step.hearing_on < (case.notified_on or step.on):
                raise RevocationError("当事人申请了听证:请填写听证举行日期(在告知之后、决定之前)")
        if step.decision == "revoke" and len(step.number) < 2:
            raise RevocationError("请填写撤销登记决定书文号")
        changes = {"stage": "decided" if step.decision == "revoke" else "dropped", "decision": step.decision,
                   "decision_no": step.number[:64] or None, "decided_on": step.on,
                   "hearing_on": step.hearing_on if case.stage == "hearing" else None}
        if step.decision == "drop":
            changes["status"] = "dropped"
    else:  # announce
        if len(step.number) < 2:
            raise RevocationError("请填写公告编号")
        changes = {"stage": "announced", "announcement_no": step.number[:64], "announced_on": step.on,
                   "status": "revoked"}
    return changes


async def advance(case_id: int, step: Step, *, actor: str, today: date) -> RevocationCase:
    """Take one step; the case row, its event and (on 公告) the organization's status change together."""
    async with in_transaction() as conn:
        case = await RevocationCase.filter(id=case_id).using_db(conn).select_for_update().first()
        if case is None:
            raise RevocationError("案件不存在")
        changes = _check(case, step, today)
        updated = await RevocationCase.filter(id=case.id, stage=case.stage).using_db(conn).update(**changes)
        if not updated:
            raise RevocationError("案件已被他人办理,请刷新后重试")
        await RevocationEvent.create(case_id=case.id, action=step.action, stage=changes["stage"], actor=actor,
                                     on=step.on, note=(step.note or step.number)[:4000], using_db=conn)
        if changes["stage"] == "announced":
            await SocialOrganization.filter(id=case.organization_id).using_db(conn).update(status="revoked")
        return await RevocationCase.filter(id=case.id).using_db(conn).get()

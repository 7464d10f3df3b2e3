"""Domain rows projected from the workflow: AnnualInspection, SpotCheckTarget, credit lists, revocation cases.

The diagrams keep small variables (`stage`, `conclusion`, `outcome`, ...); after each engine operation their
scalar summary lands in ProcessInstance.data. This module reads those summaries and brings the domain rows
up to date. It is idempotent (credit listings and revocation cases are unique per cause), so it can run after
every page action, in every scheduler sweep, and again after a restart.

Where it runs: inside each engine step, as a StepListener (workflows.social_org.listeners), so the rows
commit or roll back with the step; and in the scheduler sweep (Projector) as an idempotent catch-up after a
restart or for instances changed before the listener was installed. Pages may also project the instances
they show (project_ids), which is a no-op when the listener already did it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from engine.calendar import local_date
from engine.models import ProcessInstance
from workflows.common.findings import reschedule
from workflows.social_org.credit import list_abnormal
from workflows.social_org.models import AnnualInspection, RevocationCase, SpotCheckTarget
from workflows.social_org.register import parse_date
from workflows.social_org.spot_check import SUBJECT_TYPE

AI_PROCESS = "social_org_annual_inspection"
SC_PROCESS = "social_org_spot_check"
STAGE_STATUS = {"launched": "launched", "reminded": "reminded", "submitted": "submitted", "rectifying": "rectifying",
                "closed": "closed", "absent": "absent", "rectify_overdue": "rectify_overdue"}
BAD_CONCLUSION = "unqualified"


def is_bad_year(row: AnnualInspection | None) -> bool:
    """Absent, or 不合格 (after re-assessment where there was one)."""
    if row is None:
        return False
    return row.status == "absent" or (row.final_conclusion or row.conclusion) == BAD_CONCLUSION


async def open_revocation_if_due(org_id: int, year: int, day: date) -> RevocationCase | None:
    """Two consecutive bad years (absent or 不合格) → a 撤销登记 case, once."""
    rows = {r.year: r for r in await AnnualInspection.filter(organization_id=org_id, year__in=[year - 1, year])}
    if not (is_bad_year(rows.get(year)) and is_bad_year(rows.get(year - 1))):
        return None
    reasons = []
    for y in (year - 1, year):
        reasons.append(f"{y} 年度" + ("未参加年检" if rows[y].status == "absent" else "年检不合格"))
    case, _ = await RevocationCase.get_or_create(organization_id=org_id, year=year, defaults={
        "reason": "连续两年" + "、".join(reasons) + "(拟撤销登记)", "opened_on": day})
    return case


async def project_annual(instance: ProcessInstance, row: AnnualInspection, today: date) -> None:
    data: dict[str, Any] = instance.data or {}
    stage = str(data.get("stage") or "")
    changes: dict[str, Any] = {}
    status = STAGE_STATUS.get(stage, row.status)
    if status != row.status:
        changes["status"] = status
    if status not in ("launched", "reminded", "absent") and row.submitted_on is None:
        changes["submitted_on"] = today
    conclusion = data.get("conclusion")
    if conclusion and conclusion != row.conclusion:
        changes["conclusion"] = conclusion
        changes["concluded_on"] = row.concluded_on or today
    final = data.get("final_conclusion")
    if final and final != row.final_conclusion:
        changes["final_conclusion"] = final
    if bool(data.get("published")) and not row.published:
        changes["published"] = True
    if changes:
        await AnnualInspection.filter(id=row.id).update(**changes)
        for k, v in changes.items():
            setattr(row, k, v)
    if status == "absent":
        await list_abnormal(row.organization_id, f"未按规定报送 {row.year} 年度工作报告",
                            f"annual_report:{row.year}", today)
    if status == "rectify_overdue":
        await list_abnormal(row.organization_id, f"{row.year} 年度年检整改期满未报送整改报告",
                            f"rectification:{row.year}", today)
    if is_bad_year(row):
        await open_revocation_if_due(row.organization_id, row.year, today)


async def project_spot_check(instance: ProcessInstance, row: SpotCheckTarget, today: date) -> None:
    data: dict[str, Any] = instance.data or {}
    changes: dict[str, Any] = {}
    for key in ("notice_no", "outcome"):
        if data.get(key) and data[key] != getattr(row, key):
            changes[key] = data[key]
    if isinstance(data.get("checklist_record_id"), int) and data["checklist_record_id"] != row.checklist_record_id:
        changes["checklist_record_id"] = data["checklist_record_id"]
        changes["findings_count"] = int(data.get("findings_count") or 0)
    for key, source in (("rectify_deadline", "rectify_deadline"), ("result_date", "check_date")):
        value = parse_date(data.get(source)) if data.get(source) else None
        if value is not None and value != getattr(row, key):
            changes[key] = value
    if bool(data.get("published")) and not row.published:
        changes["published"] = True
    if changes:
        await SpotCheckTarget.filter(id=row.id).update(**changes)
    if changes.get("rectify_deadline"):  # 责令改正: the decision's deadline is the findings' due date
        await reschedule(SUBJECT_TYPE, str(row.id), changes["rectify_deadline"])
    if data.get("rectify_failed"):
        await list_abnormal(row.organization_id, "抽查责令改正,逾期未改正", f"spot_check:{row.id}", today)


async def project(instances: Iterable[ProcessInstance], now: datetime) -> int:
    today = local_date(now)
    rows = list(instances)
    ai_ids = [str(r.id) for r in rows if r.process_key == AI_PROCESS]
    sc_ids = [str(r.id) for r in rows if r.process_key == SC_PROCESS]
    annual = {r.instance_id: r for r in await AnnualInspection.filter(instance_id__in=ai_ids)} if ai_ids else {}
    spot = {r.instance_id: r for r in await SpotCheckTarget.filter(instance_id__in=sc_ids)} if sc_ids else {}
    n = 0
    for instance in rows:
        key = str(instance.id)
        if key in annual:
            await project_annual(instance, annual[key], today)
        elif key in spot:
            await project_spot_check(instance, spot[key], today)
        else:
            continue
        n += 1
    return n


class Projector:
    """Projects the instances changed since the last run (a watermark kept in memory; a restart re-projects)."""

    def __init__(self) -> None:
        self.since: datetime | None = None

    async def run(self, now: datetime) -> int:
        query = ProcessInstance.filter(process_key__in=[AI_PROCESS, SC_PROCESS])
        if self.since is not None:
            query = query.filter(updated_at__gte=self.since)
        rows = await query.only("id", "process_key", "data", "updated_at").order_by("updated_at")
        count = await project(rows, now)
        if rows:
            self.since = max(r.updated_at for r in rows)
        return count


async def project_ids(ids: Iterable[str], now: datetime) -> int:
    """Project specific instances right away (after a page action), without waiting for the sweep."""
    rows = await ProcessInstance.filter(id__in=list(ids)).only("id", "process_key", "data", "updated_at")
    return await project(rows, now)

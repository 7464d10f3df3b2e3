"""The sales status of a cemetery, and the one rule about it that the law makes hard.

    open ──限期整改──▶ sales_frozen ──整改验收合格──▶ open
      │                     │
      └──────── closed ◀────┘      closed ─▶ open only if no freeze is outstanding

Every page, API and workflow effect that changes `Cemetery.status` calls `change_status`; nothing else writes the
column. A frozen cemetery is reopened only by a *passed* acceptance checklist of the inspection that froze it.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from engine.audit import PendingEvent, append_events
from workflows.cemetery.models import SALES_STATUSES, Cemetery, CemeteryInspection
from workflows.common.models import ChecklistRecord


class SalesStatusError(ValueError):
    """A status change the rules refuse; the message is for the user (Chinese)."""


async def passed_acceptance(inspection_id: int, cemetery_id: int) -> ChecklistRecord | None:
    """The passed acceptance checklist recorded for this inspection, if any."""
    inspection = await CemeteryInspection.get_or_none(id=inspection_id, cemetery_id=cemetery_id)
    if inspection is None or inspection.acceptance_record_id is None:
        return None
    return await ChecklistRecord.get_or_none(id=inspection.acceptance_record_id, passed=True,
                                             subject_type="cemetery", subject_id=str(cemetery_id))


async def ensure_can_change(cemetery: Cemetery, new_status: str) -> None:
    """Raise SalesStatusError when `cemetery` may not move to `new_status`."""
    if new_status not in SALES_STATUSES:
        raise SalesStatusError(f"未知的销售状态:{new_status}")
    if new_status != "open" or cemetery.frozen_inspection_id is None:
        return
    if await passed_acceptance(cemetery.frozen_inspection_id, cemetery.id) is None:
        raise SalesStatusError("该公墓因年检限期整改暂停销售,须整改验收合格后方可恢复销售。")


async def change_status(cemetery: Cemetery, new_status: str, *, reason: str, actor: str, now: datetime,
                        freezing_inspection: CemeteryInspection | None = None) -> bool:
    """Apply a status change after `ensure_can_change`; returns False when nothing changed. Audited.

    Freezing needs the inspection that orders it (`freezing_inspection`); reopening clears it.
    """
    if new_status == "sales_frozen" and freezing_inspection is None:
        raise SalesStatusError("暂停销售须由年检限期整改决定。")
    await ensure_can_change(cemetery, new_status)
    if cemetery.status == new_status and (new_status != "sales_frozen" or cemetery.frozen_inspection_id
                                          == (freezing_inspection.id if freezing_inspection else None)):
        return False
    if not reason.strip():
        raise SalesStatusError("请填写状态变更原因。")
    before = {"status": cemetery.status, "reason": cemetery.status_reason}
    cemetery.status = new_status
    cemetery.status_reason = reason.strip()[:500]
    cemetery.status_changed_at = now
    if new_status == "sales_frozen" and freezing_inspection is not None:
        cemetery.frozen_inspection_id = freezing_inspection.id
    elif new_status == "open":
        cemetery.frozen_inspection_id = None
    async with in_transaction() as conn:
        await cemetery.save(using_db=conn, update_fields=["status", "status_reason", "status_changed_at",
                                                          "frozen_inspection_id"])
        await append_events([PendingEvent(actor, "cemetery.status_changed", None, None,
                                          {"cemetery": cemetery.code, "before": before,
                                           "after": {"status": new_status, "reason": cemetery.status_reason}})],
                            now, conn)
    return True

"""Credit lists (社会组织信用信息管理办法, 2018).

    normal ──(annual report not filed / rectification not done / unreachable)──▶ 活动异常名录 (abnormal)
    abnormal ──(obligation fulfilled: every open cause removed)──────────────────▶ normal
    abnormal ──(still listed after ABNORMAL_TO_SERIOUS_YEARS)────────────────────▶ 严重违法失信名单 (serious)
    serious ──(SERIOUS_CLEAN_YEARS without a new listing)────────────────────────▶ normal

Every listing is a CreditListEntry (cause, dates, removal, objection): the history. The organization row
carries the current status for fast filtering and the public lookup.

    entry ──(file_objection: the organization, public page)──▶ CreditObjection pending
    pending ──(decide_objection upheld)──▶ entry removed (reason 异议成立) and status recomputed
    pending ──(decide_objection rejected)──▶ entry stays; the decision is recorded either way
"""

from __future__ import annotations

from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from workflows.social_org.models import CreditListEntry, CreditObjection, SocialOrganization

ABNORMAL_TO_SERIOUS_YEARS = 2
SERIOUS_CLEAN_YEARS = 2


class CreditRuleError(ValueError):
    """A transition the rules do not allow; the message is Chinese, for the page."""


class IdentityMismatch(CreditRuleError):
    """The code or the legal representative named in an objection does not match the register (the public form
    counts these per entry and client address, so names cannot be guessed by trying)."""


def years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


async def list_abnormal(org_id: int, cause: str, cause_key: str, day: date, *, actor: str = "system") -> bool:
    """Put an organization on the 活动异常名录 for one cause; idempotent per cause_key. True if newly listed."""
    async with in_transaction() as conn:
        if await CreditListEntry.filter(organization_id=org_id, cause_key=cause_key).using_db(conn).exists():
            return False
        await CreditListEntry.create(organization_id=org_id, list_type="abnormal", cause=cause, cause_key=cause_key,
                                     entered_on=day, created_by=actor, using_db=conn)
        org = await SocialOrganization.filter(id=org_id).using_db(conn).get()
        if org.credit_status == "normal":
            await SocialOrganization.filter(id=org_id).using_db(conn).update(
                credit_status="abnormal", abnormal_since=day, abnormal_reason=cause[:300])
    return True


async def remove_abnormal(entry_id: int, reason: str, day: date) -> SocialOrganization:
    """Remove one abnormal-list cause (obligation fulfilled); the organization is normal once none is left."""
    if len(reason.strip()) < 2:
        raise CreditRuleError("请填写移出理由(如:已补报年度工作报告)")
    async with in_transaction() as conn:
        entry = await CreditListEntry.filter(id=entry_id).using_db(conn).first()
        if entry is None or entry.list_type != "abnormal" or entry.removed_on is not None:
            raise CreditRuleError("该名录记录不存在或已移出")
        await CreditListEntry.filter(id=entry_id).using_db(conn).update(removed_on=day, removal_reason=reason[:300])
        left = await CreditListEntry.filter(organization_id=entry.organization_id, list_type="abnormal",
                                            removed_on=None).using_db(conn).order_by("entered_on").first()
        org = await SocialOrganization.filter(id=entry.organization_id).using_db(conn).get()
        if org.credit_status == "abnormal":
            if left is None:
                await SocialOrganization.filter(id=org.id).using_db(conn).update(
                    credit_status="normal", abnormal_since=None, abnormal_reason=None)
            else:
                await SocialOrganization.filter(id=org.id).using_db(conn).update(
                    abnormal_since=left.entered_on, abnormal_reason=left.cause)
        return await SocialOrganization.filter(id=org.id).using_db(conn).get()


async def sweep(day: date) -> tuple[int, int]:
    """Apply the time rules on `day`: (escalated to the serious list, removed from it)."""
    escalated = removed = 0
    cutoff = years_after(day, -ABNORMAL_TO_SERIOUS_YEARS)
    for org in await SocialOrganization.filter(credit_status="abnormal", abnormal_since__lte=cutoff):
        async with in_transaction() as conn:
            open_entries = await CreditListEntry.filter(organization_id=org.id, list_type="abnormal",
                                                        removed_on=None).using_db(conn)
            cause = "列入活动异常名录满 2 年仍未履行相关义务:" + ";".join(e.cause for e in open_entries)
            await CreditListEntry.create(organization_id=org.id, list_type="serious", cause=cause[:300],
                                         cause_key=f"serious:{day.isoformat()}", entered_on=day, using_db=conn)
            await CreditListEntry.filter(id__in=[e.id for e in open_entries]).using_db(conn).update(
                removed_on=day, removal_reason="转入严重违法失信名单")
            await SocialOrganization.filter(id=org.id).using_db(conn).update(
                credit_status="serious", serious_since=day, serious_reason=cause[:300],
                abnormal_since=None, abnormal_reason=None)
        escalated += 1
    clean_since = years_after(day, -SERIOUS_CLEAN_YEARS)
    for org in await SocialOrganization.filter(credit_status="serious", serious_since__lte=clean_since):
        assert org.serious_since is not None
        if await CreditListEntry.filter(organization_id=org.id, entered_on__gt=org.serious_since).exists():
            continue  # a new listing since: not clean
        async with in_transaction() as conn:
            reason = f"列入严重违法失信名单满 {SERIOUS_CLEAN_YEARS} 年且期间无新的失信记录"
            await CreditListEntry.filter(organization_id=org.id, list_type="serious", removed_on=None).using_db(
                conn).update(removed_on=day, removal_reason=reason)
            await SocialOrganization.filter(id=org.id).using_db(conn).update(
                credit_status="normal", serious_since=None, serious_reason=None)
        removed += 1
    return escalated, removed


async def remove_serious_early(org_id: int, day: date) -> None:
    """Manual removal from the serious list is refused before the clean period has passed."""
    org = await SocialOrganization.get(id=org_id)
    if org.credit_status != "serious" or org.serious_since is None:
        raise CreditRuleError("该社会组织不在严重违法失信名单中")
    if years_after(org.serious_since, SERIOUS_CLEAN_YEARS) > day:
        raise CreditRuleError(f"列入严重违法失信名单未满 {SERIOUS_CLEAN_YEARS} 年,不得移出"
                              f"(可于 {years_after(org.serious_since, SERIOUS_CLEAN_YEARS)} 后移出)")
    await sweep(day)


# -- 异议 (objections) ----------------------------------------------------------------------------------------------

async def file_objection(entry_id: int, *, uscc: str, representative: str, applicant: str, contact: str,
                         reason: str, day: date) -> CreditObjection:
    """An organization contests one of its current listings. It proves who it is with its code and the name of its
    legal representative as registered (never shown back). One pending objection per entry."""
    errors = []
    if not 2 <= len(applicant.strip()) <= 50:
        errors.append("请填写提出人姓名")
    if not 5 <= len(contact.strip()) <= 50:
        errors.append("请填写联系电话")
    if not 10 <= len(reason.strip()) <= 4000:
        errors.append("请写明异议理由(10 字以上),可说明已履行的义务、列入依据有误等")
    if errors:
        raise CreditRuleError(";".join(errors))
    async with in_transaction() as conn:
        entry = await CreditListEntry.filter(id=entry_id).using_db(conn).select_for_update().first()
        if entry is None or entry.removed_on is not None:
            raise CreditRuleError("该名录记录不存在或已移出,无需提出异议")
        org = await SocialOrganization.filter(id=entry.organization_id).using_db(conn).get()
        if org.uscc != uscc.strip().upper() or not org.legal_representative \
                or org.legal_representative != representative.strip():
            raise IdentityMismatch("统一社会信用代码或法定代表人姓名与登记信息不一致")
        if await CreditObjection.filter(entry_id=entry_id, status="pending").using_db(conn).exists():
            raise CreditRuleError("该记录已有待处理的异议,请等待登记管理机关答复")
        return await CreditObjection.create(entry_id=entry_id, applicant=applicant.strip()[:50],
                                            contact=contact.strip()[:50], reason=reason.strip()[:4000],
                                            filed_on=day, using_db=conn)


async def _recompute_status(conn: BaseDBAsyncClient, org_id: int) -> None:
    """The organization's current status from its open entries (serious first, then abnormal)."""
    open_rows = await CreditListEntry.filter(organization_id=org_id, removed_on=None).using_db(conn).order_by(
        "entered_on", "id")
    serious = next((e for e in open_rows if e.list_type == "serious"), None)
    abnormal = next((e for e in open_rows if e.list_type == "abnormal"), None)
    if serious is not None:
        changes = {"credit_status": "serious", "serious_since": serious.entered_on,
                   "serious_reason": serious.cause}
    elif abnormal is not None:
        changes = {"credit_status": "abnormal", "abnormal_since": abnormal.entered_on,
                   "abnormal_reason": abnormal.cause, "serious_since": None, "serious_reason": None}
    else:
        changes = {"credit_status": "normal", "abnormal_since": None, "abnormal_reason": None,
                   "serious_since": None, "serious_reason": None}
    await SocialOrganization.filter(id=org_id).using_db(conn).update(**changes)


async def decide_objection(objection_id: int, *, upheld: bool, note: str, actor: str, day: date) -> CreditObjection:
    """The authority's recorded decision. Upheld: the entry is removed (history keeps it, with the reason) and the
    organization's status recomputed. Rejected: the listing stays."""
    if len(note.strip()) < 4:
        raise CreditRuleError("请填写处理意见(核查情况和结论)")
    async with in_transaction() as conn:
        objection = await CreditObjection.filter(id=objection_id).using_db(conn).select_for_update().first()
        if objection is None or objection.status != "pending":
            raise CreditRuleError("该异议不存在或已处理")
        entry = await CreditListEntry.filter(id=objection.entry_id).using_db(conn).get()
        await CreditObjection.filter(id=objection_id).using_db(conn).update(
            status="upheld" if upheld else "rejected", decision_note=note.strip()[:4000], decided_by=actor,
            decided_on=day)
        if upheld and entry.removed_on is None:
            await CreditListEntry.filter(id=entry.id).using_db(conn).update(
                removed_on=day, removal_reason=f"异议成立:{note.strip()}"[:300])
            await _recompute_status(conn, entry.organization_id)
        return await CreditObjection.filter(id=objection_id).using_db(conn).get()

"""The annual-inspection campaign: one workflow instance per organization due that year.

Due: active, registered by an authority in the campaign's scope before the cut-off (1 July of the year:
organizations registered in the last six months of the year are exempt), and not yet inspected for that
year (so a failed or interrupted launch can simply be run again). Deadlines are campaign parameters:
3-31 for organizations with a 业务主管单位 and for 基金会, 5-31 for the others.

The launch runs in batches, each batch one transaction (the engine's own transactions nest inside it as
savepoints), so SQLite commits once per batch instead of once per organization, and progress is stored on
the campaign row for the page to poll.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from engine.calendar import SHANGHAI, local_date
from engine.models import OrgUnit
from engine.runtime import Engine
from workflows.social_org.models import AnnualCampaign, AnnualInspection, SocialOrganization

PROCESS_KEY = "social_org_annual_inspection"
BATCH_SIZE = 100


@dataclass(frozen=True)
class CampaignParams:
    supervisor_month_day: tuple[int, int] = (3, 31)
    authority_month_day: tuple[int, int] = (5, 31)
    exempt_from_month_day: tuple[int, int] = (7, 1)  # registered on/after this day of the year: exempt
    grace_days: int = 30
    rectification_period: str = "P3M"


DEFAULTS = CampaignParams()


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, dtime(23, 59, 59), SHANGHAI)


async def open_campaign(year: int, authority: OrgUnit, actor: str, params: CampaignParams = DEFAULTS) -> AnnualCampaign:
    return await AnnualCampaign.create(
        year=year, authority_code=authority.code, authority_path=authority.path,
        cutoff=date(year, *params.exempt_from_month_day),
        supervisor_deadline=date(year + 1, *params.supervisor_month_day),
        authority_deadline=date(year + 1, *params.authority_month_day),
        grace_days=params.grace_days, created_by=actor)


async def due_and_exempt(campaign: AnnualCampaign) -> tuple[list[SocialOrganization], int]:
    """The organizations still to launch, and how many are exempt (registered in the second half-year)."""
    base = SocialOrganization.filter(authority_path__startswith=campaign.authority_path, status="active",
                                     registration_date__lte=date(campaign.year, 12, 31))
    exempt = await base.filter(registration_date__gte=campaign.cutoff).count()
    done = set(await AnnualInspection.filter(year=campaign.year).values_list("organization_id", flat=True))
    due = [o for o in await base.filter(registration_date__lt=campaign.cutoff).order_by("id") if o.id not in done]
    return due, exempt


def report_deadline(campaign: AnnualCampaign, org: SocialOrganization) -> date:
    early = org.supervisor_unit is not None or org.org_type == "foundation"
    return campaign.supervisor_deadline if early else campaign.authority_deadline


def start_data(campaign: AnnualCampaign, org: SocialOrganization, rectification_period: str) -> dict[str, Any]:
    return {"org_id": org.id, "org_name": org.name, "uscc": org.uscc, "org_type": org.org_type,
            "has_supervisor": org.supervisor_unit is not None, "year": campaign.year,
            "report_deadline": end_of_day(report_deadline(campaign, org)).isoformat(),
            "grace_period": f"P{campaign.grace_days}D", "rectification_period": rectification_period}


async def launch(engine: Engine, campaign_id: int, *, actor: str, batch_size: int = BATCH_SIZE,
                 params: CampaignParams = DEFAULTS) -> AnnualCampaign:
    """Start one instance per due organization; safe to re-run (already launched organizations are skipped)."""
    campaign = await AnnualCampaign.get(id=campaign_id)
    began = time.perf_counter()
    due, exempt = await due_and_exempt(campaign)
    already = await AnnualInspection.filter(campaign_id=campaign.id).count()
    await AnnualCampaign.filter(id=campaign.id).update(status="running", total=already + len(due), exempt=exempt,
                                                       launched=already, error=None)
    deployed = await engine.specs.latest(PROCESS_KEY)  # once: every organization of a campaign on one version
    try:
        for offset in range(0, len(due), batch_size):
            batch = due[offset:offset + batch_size]
            async with in_transaction() as conn:
                rows = []
                for org in batch:
                    instance = await engine.start(PROCESS_KEY, org_unit=org.authority_code, actor=actor,
                                                  business_key=f"NJ{campaign.year}-{org.uscc}",
                                                  data=start_data(campaign, org, params.rectification_period),
                                                  deployed=deployed)
                    rows.append(AnnualInspection(organization_id=org.id, campaign_id=campaign.id, year=campaign.year,
                                                 authority_path=org.authority_path, instance_id=str(instance.id),
                                                 report_deadline=report_deadline(campaign, org)))
                await AnnualInspection.bulk_create(rows, using_db=conn)
                await AnnualCampaign.filter(id=campaign.id).using_db(conn).update(launched=F("launched") + len(rows))
    except Exception as exc:
        await AnnualCampaign.filter(id=campaign.id).update(status="failed", error=str(exc)[:2000],
                                                           finished_at=engine.clock.now())
        raise
    await AnnualCampaign.filter(id=campaign.id).update(status="done", finished_at=engine.clock.now(),
                                                       seconds=round(time.perf_counter() - began, 3))
    return await AnnualCampaign.get(id=campaign.id)


def campaign_year_default(now: datetime) -> int:
    """Inspections in the spring of year N cover year N - 1."""
    return local_date(now).year - 1

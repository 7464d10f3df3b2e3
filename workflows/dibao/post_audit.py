"""County post-audit of delegated decisions: a verifiable random sample per township per month.

Ratio defaults to 30% (the 2012 rule and 特困办法 16; the 2021 低保办法 sets none), rounded up per
township; 单独登记备案 and complaint cases are always audited. Each township's draw is stored as a
`DrawRecord` (seed, population snapshot and hash, k, result), so anyone can re-run it.
"""

from __future__ import annotations

from datetime import date, datetime, time

from tortoise.transactions import in_transaction

from engine.calendar import SHANGHAI
from workflows.common.draw import draw_targets, new_seed
from workflows.common.models import DrawRecord
from workflows.dibao.models import DibaoCase, PostAudit

DEFAULT_RATIO = 0.30
OUTCOMES = {"upheld": "维持", "rectify": "责令整改", "corrected": "纠正(停发或调整)"}


def month_bounds(period: str) -> tuple[datetime, datetime]:
    try:
        year, month = (int(p) for p in period.split("-"))
        start = date(year, month, 1)
    except ValueError as exc:
        raise ValueError("期间格式应为 YYYY-MM。") from exc
    end = date(year + (month == 12), month % 12 + 1, 1)
    return (datetime.combine(start, time(), SHANGHAI), datetime.combine(end, time(), SHANGHAI))


async def draw_month(county_code: str, period: str, actor: str, now: datetime, ratio: float = DEFAULT_RATIO,
                     seed: str | None = None) -> list[PostAudit]:
    """Draw the month's sample for every township of the county; refuses to draw a period twice."""
    start, end = month_bounds(period)
    if await PostAudit.exists(county_code=county_code, period=period):
        raise ValueError(f"{period} 已抽取过,不能重复抽取。")
    cases = await DibaoCase.filter(county_code=county_code, delegated=True, decided_at__gte=start,
                                   decided_at__lt=end).order_by("instance_id")
    if not cases:
        raise ValueError(f"{period} 没有乡镇委托审核确认的案件。")
    seed = seed or new_seed()
    created: list[PostAudit] = []
    async with in_transaction() as conn:
        by_township: dict[str, list[DibaoCase]] = {}
        for case in cases:
            by_township.setdefault(case.township_code or "", []).append(case)
        for township, items in sorted(by_township.items()):
            mandatory = {c.instance_id for c in items if c.separately_registered or c.complaint}
            population = [c.instance_id for c in items]
            result = draw_targets(seed, population, ratio)
            record = await DrawRecord.create(
                purpose="dibao_post_audit", scope=f"{township}:{period}", seed=seed,
                population_hash=result.population_hash, population=population, ratio=ratio, k=result.k,
                selected=result.selected, drawn_at=now, drawn_by=actor, using_db=conn)
            for case in items:
                reason = "mandatory" if case.instance_id in mandatory else \
                    "sampled" if case.instance_id in result.selected else None
                if reason:
                    created.append(await PostAudit.create(
                        case=case, county_code=county_code, township_code=township, period=period, reason=reason,
                        draw_id=record.id, using_db=conn))
    return created


async def record_outcome(audit: PostAudit, outcome: str, opinion: str, actor: str, now: datetime) -> None:
    if outcome not in OUTCOMES:
        raise ValueError("请选择审计结论。")
    if outcome == "corrected":  # workflows.dibao.casefile.record_correction records it with the payment change
        raise ValueError("纠正须同时登记停发或调整后的金额、生效日期和理由。")
    if len(opinion.strip()) < 2:
        raise ValueError("请填写审计意见。")
    if audit.outcome is not None:
        raise ValueError("该案件已有审计结论。")
    audit.outcome, audit.opinion, audit.audited_by, audit.audited_at = outcome, opinion.strip(), actor, now
    await audit.save()
